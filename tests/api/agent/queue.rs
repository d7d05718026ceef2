//! The queue (`PROTOCOL-AGENT.md` §10): kept in the store, so it survives a restart, listed to
//! a resuming client, and bounded per session.

use serde_json::json;

use super::*;
use crate::chat::send_chat;
use crate::fake_llm::{Gate, Script};
use crate::helpers::spawn_on;

/// Wait until the reply streams (its text part holds the first chunk, "a"): the turn runs.
async fn streaming(ws: &mut WsClient) {
    loop {
        let v = ws.recv_json().await;
        if v["type"] == "part.created" && v["part"]["text"] == "a" {
            return;
        }
    }
}

#[tokio::test]
async fn a_queued_message_survives_a_restart_and_is_listed_on_resume() {
    let fake = FakeLlm::start().await;
    let dir = tempfile::tempdir().unwrap();
    let gate = Gate::new();
    fake.push(Script::held(&["a", "b"], 1, &gate));
    let (app, mut ws, sid, _) = agent_session(&fake, dir.path()).await;
    let settings = app.settings.clone();
    send_chat(&mut ws, &sid, "first").await;
    streaming(&mut ws).await;
    ws.send_json(&json!({"type": "queue.add", "sessionId": sid, "content": "later, please"}))
        .await;
    let added = ws.expect("queue.added").await;
    assert_eq!(added["message"]["content"], "later, please");
    drop(ws);
    let data = app.stop().await;

    let app = spawn_on(data, settings).await;
    let mut ws = app.ws(None).await.unwrap();
    ws.register().await;
    ws.send_json(&json!({"type": "session.resume", "sessionId": sid}))
        .await;
    ws.expect("session.resumed").await;
    let list = ws.recv_json().await;
    assert_eq!(list["type"], "queue.list", "{list}");
    assert_eq!(list["messages"][0]["id"], added["message"]["id"]);
    assert_eq!(ws.recv_json().await["type"], "ask.pending_sync");
}

#[tokio::test]
async fn a_full_queue_refuses_more_with_a_clear_error() {
    let fake = FakeLlm::start().await;
    let dir = tempfile::tempdir().unwrap();
    let gate = Gate::new();
    fake.push(Script::held(&["a", "b"], 1, &gate));
    let (_app, mut ws, sid, _) = agent_session(&fake, dir.path()).await;
    send_chat(&mut ws, &sid, "first").await;
    streaming(&mut ws).await;
    for n in 0..32 {
        send_chat(&mut ws, &sid, &format!("queued {n}")).await;
        ws.expect("queue.added").await;
    }
    send_chat(&mut ws, &sid, "one too many").await;
    let e = ws.expect("error").await;
    assert_eq!(e["code"], "queue_full", "{e}");
    gate.open();
}

/// A client that saw a turn end (`runningAt: null`) and finds the queue empty starts the next
/// turn at once: the worker gives up the session before that news goes out, never after.
#[tokio::test]
async fn a_message_sent_once_the_turn_ended_starts_a_turn_and_is_not_queued() {
    let fake = FakeLlm::start().await;
    let dir = tempfile::tempdir().unwrap();
    let (_app, mut ws, sid, _) = agent_session(&fake, dir.path()).await;
    for n in 0..10 {
        fake.push(Script::reply(&["done"]));
        send_chat(&mut ws, &sid, &format!("message {n}")).await;
        let running = loop {
            let v = ws.recv_json().await;
            assert_ne!(v["type"], "queue.added", "message {n} was queued: {v}");
            if v["type"] == "session.updated" {
                break v;
            }
        };
        assert!(running["session"]["runningAt"].is_string(), "{running}");
        loop {
            let v = ws.recv_json().await;
            assert_ne!(v["type"], "queue.added", "{v}");
            if v["type"] == "session.updated" && v["session"]["runningAt"].is_null() {
                break;
            }
        }
    }
}
