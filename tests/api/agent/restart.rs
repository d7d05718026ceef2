//! Restarts: a stop while a tool waits for its ask leaves nothing dangling — the ask is gone
//! from `ask.pending_sync`, the tool card and the reply are `interrupted`; the same after a
//! `kill -9` of the real binary.

use serde_json::{Value, json};

use super::*;
use crate::chat::recovery::{connect, start};
use crate::chat::{recv_until, send_chat};
use crate::fake_llm::Script;
use crate::helpers::spawn_on;

/// Resume `sid` and return the `session.resumed` body and the `ask.pending_sync` requests.
async fn resume_with_asks(ws: &mut WsClient, sid: &str) -> (Value, Value) {
    ws.send_json(&json!({"type": "session.resume", "sessionId": sid}))
        .await;
    let resumed = ws.expect("session.resumed").await;
    let sync = ws.expect("ask.pending_sync").await;
    (resumed, sync["requests"].clone())
}

fn reply_parts(resumed: &Value) -> (Value, Vec<Value>) {
    let reply = resumed["messages"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    let parts = reply["parts"].as_array().unwrap().clone();
    (reply["message"].clone(), parts)
}

#[tokio::test]
async fn a_pending_ask_is_shown_while_it_waits_and_ended_by_a_stop() {
    let fake = FakeLlm::start().await;
    let (dir, outside) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let args = json!({"path": outside.path().join("x.txt"), "content": "x"});
    fake.push(Script::tools(&[], &[("call_p", "write-file", args)]));
    let (app, mut ws, sid, _) = agent_session(&fake, dir.path()).await;
    let settings = app.settings.clone();
    send_chat(&mut ws, &sid, "write").await;
    recv_until(&mut ws, "ask.request").await;

    // A second client (a reload) sees the open ask.
    let mut other = app.ws(None).await.unwrap();
    other.register().await;
    let (_, asks) = resume_with_asks(&mut other, &sid).await;
    assert_eq!(asks.as_array().unwrap().len(), 1, "{asks}");
    assert_eq!(asks[0]["toolCallId"], "call_p");

    drop((ws, other));
    let data = app.stop().await;
    let app = spawn_on(data, settings).await;
    let mut ws = app.ws(None).await.unwrap();
    ws.register().await;
    let (resumed, asks) = resume_with_asks(&mut ws, &sid).await;
    assert_eq!(asks, json!([]), "no ask survives its tool");
    assert_eq!(resumed["isRunning"], false);
    let (message, parts) = reply_parts(&resumed);
    assert_eq!(message["status"], "interrupted", "{message}");
    let tool = parts.iter().find(|p| p["type"] == "tool").unwrap();
    assert_eq!(tool["state"]["status"], "interrupted", "{tool}");
    assert!(!outside.path().join("x.txt").exists());
}

#[tokio::test]
async fn after_kill_9_during_a_pending_ask_the_next_start_ends_the_card_and_the_ask() {
    let fake = FakeLlm::start().await;
    let (dir, outside) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let data = tempfile::tempdir().unwrap();
    let args = json!({"path": outside.path().join("y.txt"), "content": "y"});
    fake.push(Script::tools(&[], &[("call_k", "write-file", args)]));
    let mut server = start(data.path(), &fake).await;
    let http = reqwest::Client::new();
    let base = format!("http://127.0.0.1:{}", server.port);
    let res = http
        .post(format!("{base}/api/workspaces"))
        .json(&json!({"name": "p", "path": dir.path()}))
        .send()
        .await
        .unwrap();
    let wid = res.json::<Value>().await.unwrap()["workspace"]["id"].clone();
    let mut ws = connect(server.port).await;
    ws.send_json(&json!({"type": "session.create", "preconfigId": "code", "workspaceId": wid}))
        .await;
    let sid = ws.expect("session.created").await["session"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    resume_with_asks(&mut ws, &sid).await;
    send_chat(&mut ws, &sid, "write").await;
    recv_until(&mut ws, "ask.request").await;

    server.child.kill().unwrap(); // SIGKILL
    server.child.wait().unwrap();
    drop(ws);
    let server = start(data.path(), &fake).await;
    let mut ws = connect(server.port).await;
    let (resumed, asks) = resume_with_asks(&mut ws, &sid).await;
    assert_eq!(asks, json!([]));
    assert_eq!(resumed["isRunning"], false);
    let (message, parts) = reply_parts(&resumed);
    assert_eq!(message["status"], "interrupted");
    let tool = parts.iter().find(|p| p["type"] == "tool").unwrap();
    assert_eq!(tool["state"]["status"], "interrupted", "{tool}");
    assert_eq!(tool["state"]["reason"], "error");
}
