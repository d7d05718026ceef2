//! Several jean2 instances on one PostgreSQL database (issue 16): a client on one instance
//! sees, in order and complete, a turn that runs on another; a message sent to one while
//! another runs the session is queued once and run once; an interrupt reaches the instance that
//! runs the turn. Runs on the PostgreSQL pass only (one SQLite file belongs to one server).

use serde_json::json;

use crate::chat::{
    client_with_session, recv_turn, recv_until, resume, send_chat, streamed_text, types, use_fake,
};
use crate::fake_llm::{FakeLlm, Gate, Script};
use crate::helpers::{TestApp, WsClient, on_sqlite, spawn_app_with, test_database};

/// Two instances on one fresh database, both talking to `fake`.
async fn two_instances(fake: &FakeLlm) -> (TestApp, TestApp) {
    let url = test_database().await.expect("a PostgreSQL run");
    let start = || {
        spawn_app_with(|s| {
            use_fake(s, fake);
            s.database_url = Some(url.clone());
        })
    };
    let a = start().await;
    let b = start().await;
    (a, b)
}

#[tokio::test]
async fn a_turn_on_one_instance_reaches_a_client_of_another_in_order_and_complete() {
    if on_sqlite() {
        return;
    }
    let fake = FakeLlm::start().await;
    let (a, b) = two_instances(&fake).await;
    let (mut on_b, sid) = client_with_session(&b).await;
    let mut on_a = a.ws(None).await.expect("ws");
    on_a.register().await;
    resume(&mut on_a, &sid).await;
    // One chunk over NOTIFY's 8000-byte payload limit: it travels by reference.
    let big = "x".repeat(20_000);
    fake.push(Script::reply(&["Hel", &big, "lo"]));
    send_chat(&mut on_b, &sid, "Hi there").await;

    let here = recv_turn(&mut on_b).await;
    let there = recv_turn(&mut on_a).await;
    assert_eq!(
        types(&there),
        types(&here),
        "the same events, in the same order"
    );
    assert_eq!(there, here, "the same bodies");
    assert!(
        there.iter().any(|e| e.to_string().len() > 8000),
        "a frame over NOTIFY's limit was relayed"
    );
    let text = streamed_text(&there, "text");
    assert_eq!(
        text,
        format!("Hel{big}lo"),
        "every chunk, the large one too"
    );
}

/// Wait until the reply streams on `ws` (its text part holds the first chunk, "a").
pub(crate) async fn streaming(ws: &mut WsClient) {
    loop {
        let v = ws.recv_json().await;
        if v["type"] == "part.created" && v["part"]["text"] == "a" {
            return;
        }
    }
}

/// A connection to `app` that resumed `sid`.
async fn watching(app: &TestApp, sid: &str) -> WsClient {
    let mut ws = app.ws(None).await.expect("ws");
    ws.register().await;
    resume(&mut ws, sid).await;
    ws
}

#[tokio::test]
async fn a_message_sent_to_one_instance_while_another_runs_the_session_is_queued_and_run_once() {
    if on_sqlite() {
        return;
    }
    let fake = FakeLlm::start().await;
    let gate = Gate::new();
    fake.push(Script::held(&["a", "b"], 1, &gate));
    fake.push(Script::reply(&["second reply"]));
    let (a, b) = two_instances(&fake).await;
    let (mut on_b, sid) = client_with_session(&b).await;
    let mut on_a = watching(&a, &sid).await;
    send_chat(&mut on_b, &sid, "first").await;
    streaming(&mut on_a).await;

    send_chat(&mut on_a, &sid, "second").await;
    let added = recv_until(&mut on_a, "queue.added").await.pop().unwrap();
    assert_eq!(added["message"]["content"], "second");
    gate.open();
    for ws in [&mut on_a, &mut on_b] {
        let sending = recv_until(ws, "queue.sending").await.pop().unwrap();
        assert_eq!(sending["queueId"], added["message"]["id"]);
        let turn = recv_turn(ws).await;
        assert_eq!(streamed_text(&turn, "text"), "second reply");
    }
    let asked: Vec<String> = fake
        .requests()
        .iter()
        .map(|r| r["messages"].as_array().unwrap().last().unwrap()["content"].to_string())
        .collect();
    assert_eq!(asked.len(), 2, "two turns, each run once: {asked:?}");
    assert!(asked[1].contains("second"), "{asked:?}");
}

#[tokio::test]
async fn an_interrupt_sent_to_one_instance_stops_the_turn_running_on_another() {
    if on_sqlite() {
        return;
    }
    let fake = FakeLlm::start().await;
    let gate = Gate::new();
    fake.push(Script::held(&["a", "b"], 1, &gate));
    let (a, b) = two_instances(&fake).await;
    let (mut on_b, sid) = client_with_session(&b).await;
    let mut on_a = watching(&a, &sid).await;
    send_chat(&mut on_b, &sid, "first").await;
    streaming(&mut on_a).await;

    on_a.send_json(&json!({"type": "session.interrupt", "sessionId": sid}))
        .await;
    let stopped = recv_until(&mut on_a, "session.interrupted")
        .await
        .pop()
        .unwrap();
    assert_eq!(stopped["result"]["success"], true, "{stopped}");
    for ws in [&mut on_a, &mut on_b] {
        let turn = recv_turn(ws).await;
        let reply = turn
            .iter()
            .rev()
            .find(|e| e["type"] == "message.updated" && e["message"]["role"] == "assistant")
            .expect("the reply's end");
        assert_eq!(reply["message"]["status"], "interrupted", "{reply}");
    }
}

mod processes;

#[tokio::test]
async fn an_ask_of_a_turn_on_one_instance_is_listed_and_answered_through_another() {
    if on_sqlite() {
        return;
    }
    let fake = FakeLlm::start().await;
    let (dir, outside) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let target = outside.path().join("out.txt");
    let args = json!({"path": target, "content": "written\n"});
    fake.push(Script::tools(&[], &[("call_w", "write-file", args)]));
    fake.push(Script::reply(&["Done."]));
    let (a, b) = two_instances(&fake).await;
    let (mut on_b, sid, _) = crate::agent::session_in(&b, dir.path()).await;
    send_chat(&mut on_b, &sid, "write it").await;
    let ask = recv_until(&mut on_b, "ask.request").await.pop().unwrap();

    // A client that comes to the other instance is told of the ask, and answers it there.
    let mut on_a = a.ws(None).await.expect("ws");
    on_a.register().await;
    on_a.send_json(&json!({"type": "session.resume", "sessionId": sid}))
        .await;
    let sync = recv_until(&mut on_a, "ask.pending_sync")
        .await
        .pop()
        .unwrap();
    assert_eq!(sync["requests"][0]["requestId"], ask["requestId"], "{sync}");
    on_a.send_json(&json!({"type": "ask.response", "toolCallId": "call_w",
        "requestId": ask["requestId"], "response": {"type": "permission", "grant": "once"}}))
        .await;
    let events = recv_turn(&mut on_b).await;
    let end = events.iter().rev().find(|e| e["type"] == "message.updated");
    assert_eq!(end.unwrap()["message"]["status"], "completed", "{events:?}");
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "written\n");
}

#[tokio::test]
async fn an_edit_sent_to_one_instance_while_another_runs_the_session_is_refused_as_busy() {
    if on_sqlite() {
        return;
    }
    let fake = FakeLlm::start().await;
    let gate = Gate::new();
    fake.push(Script::held(&["a", "b"], 1, &gate));
    let (a, b) = two_instances(&fake).await;
    let (mut on_b, sid) = client_with_session(&b).await;
    let mut on_a = watching(&a, &sid).await;
    send_chat(&mut on_b, &sid, "first").await;
    let before = recv_until(&mut on_a, "part.created").await;
    let user = before
        .iter()
        .find(|e| e["type"] == "message.created" && e["message"]["role"] == "user")
        .expect("the user message, relayed");
    on_a.send_json(&json!({"type": "session.edit_message", "sessionId": sid,
        "messageId": user["message"]["id"], "content": "x"}))
        .await;
    let e = recv_until(&mut on_a, "error").await.pop().unwrap();
    assert_eq!(e["code"], "session_busy", "{e}");
    gate.open();
    recv_turn(&mut on_b).await;
}

#[tokio::test]
async fn a_folder_workspace_whose_path_is_missing_here_lists_no_silent_empty_tree() {
    let app = crate::helpers::spawn_app().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("project");
    std::fs::create_dir(&path).unwrap();
    let res = app
        .post_json("/api/workspaces", &json!({"name": "p", "path": path}))
        .await;
    assert_eq!(res.status(), 201);
    let wid = res.json::<serde_json::Value>().await.unwrap()["workspace"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // As on an instance whose disk does not have the folder another instance made.
    std::fs::remove_dir(&path).unwrap();
    let res = app.get(&format!("/api/workspaces/{wid}/files")).await;
    let status = res.status();
    let body = res.text().await.unwrap();
    assert_eq!(status, 404, "{body}");
    assert!(body.contains("Path not found"), "{body}");
}
