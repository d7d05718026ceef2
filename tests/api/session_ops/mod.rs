//! The session operations (`PROTOCOL-AGENT.md` §11) over a real WebSocket, driven as the SDK's
//! `sessions.*` calls drive them, against the fake provider: revert, fork, edit and re-run,
//! regenerate the title, compaction (manual, automatic near the window, after an overflow, and
//! across a crash). Each checks the events in order, what the store holds afterwards (through a
//! resume), what the provider received, and that a refused operation changes nothing.

mod compaction;
mod edit;
mod fork;
mod overflow;
mod revert;
mod title;

use std::time::Duration;

use serde_json::{Value, json};

use crate::chat::{recv_turn, recv_until, resume, send_chat};
use crate::fake_llm::FakeLlm;
use crate::helpers::{HUNG, TestApp, WsClient};

/// One chat turn that completes; its frames (up to `runningAt: null`).
pub async fn turn(ws: &mut WsClient, sid: &str, text: &str) -> Vec<Value> {
    send_chat(ws, sid, text).await;
    let events = recv_turn(ws).await;
    let done = events
        .iter()
        .find(|e| e["type"] == "message.updated")
        .unwrap_or_else(|| panic!("no message.updated in {events:#?}"));
    assert_eq!(done["message"]["status"], "completed", "{done}");
    events
}

/// The transcript as stored: `(role, text of its text parts)` per message, from a resume.
pub async fn transcript(ws: &mut WsClient, sid: &str) -> Vec<(String, String)> {
    let resumed = resume(ws, sid).await;
    texts_of(&resumed["messages"])
}

/// `(role, text)` of each message of a `MessageWithParts` list.
pub fn texts_of(messages: &Value) -> Vec<(String, String)> {
    messages
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            let text: Vec<&str> = m["parts"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|p| p["type"] == "text")
                .map(|p| p["text"].as_str().unwrap())
                .collect();
            (
                m["message"]["role"].as_str().unwrap().to_owned(),
                text.join("\n"),
            )
        })
        .collect()
}

/// The message ids of a resumed session, in order.
pub async fn message_ids(ws: &mut WsClient, sid: &str) -> Vec<String> {
    let resumed = resume(ws, sid).await;
    resumed["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["message"]["id"].as_str().unwrap().to_owned())
        .collect()
}

/// `(role, content)` of the messages of chat request `n` (system prompt left out).
pub fn sent(fake: &FakeLlm, n: usize) -> Vec<(String, String)> {
    fake.requests()[n]["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["role"] != "system")
        .map(|m| {
            (
                m["role"].as_str().unwrap().to_owned(),
                m["content"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect()
}

/// The last chat request's messages, as [`sent`].
pub fn last_sent(fake: &FakeLlm) -> Vec<(String, String)> {
    sent(fake, fake.requests().len() - 1)
}

/// Resume until the session neither runs nor compacts, and the frames that came meanwhile.
pub async fn settle(ws: &mut WsClient, sid: &str) -> Vec<Value> {
    let deadline = tokio::time::Instant::now() + HUNG;
    let mut meanwhile = Vec::new();
    loop {
        ws.send_json(&json!({"type": "session.resume", "sessionId": sid}))
            .await;
        let mut frames = recv_until(ws, "session.resumed").await;
        let resumed = frames.pop().unwrap();
        meanwhile.extend(frames);
        // `queue.list` (when messages wait), then `ask.pending_sync`.
        recv_until(ws, "ask.pending_sync").await;
        if resumed["isRunning"] == false && resumed["session"]["compacting"] == false {
            return meanwhile;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{sid} never settled"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Make the catalog's default a model of the fake (`openai`/`fake-small`) with this window.
pub fn small_model(app: &TestApp, context_window: u64, max_output: u64) {
    let catalog = json!({
        "providers": [{"id": "openai", "name": "OpenAI", "models": [{
            "id": "fake-small", "name": "Fake small", "contextWindow": context_window,
            "maxOutputTokens": max_output, "tier": "budget"}]}],
        "defaultModel": "fake-small", "defaultProvider": "openai",
    });
    let path = app.data_dir.path().join("models.json");
    std::fs::write(path, catalog.to_string()).unwrap();
}

/// Send an operation and return the `error` it is refused with (other frames are skipped).
pub async fn refused(ws: &mut WsClient, msg: Value) -> Value {
    ws.send_json(&msg).await;
    recv_until(ws, "error").await.pop().unwrap()
}

/// The `type`s of `events` with the detail that tells them apart in these tests.
pub fn shape(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .map(|e| {
            let t = e["type"].as_str().unwrap_or("?");
            match t {
                "message.created" => format!("{t} {}", e["message"]["role"].as_str().unwrap()),
                "part.created" | "part.updated" => {
                    format!("{t} {}", e["part"]["type"].as_str().unwrap())
                }
                "session.updated" if e["session"]["compacting"] == true => {
                    format!("{t} compacting")
                }
                "session.updated" if !e["session"]["runningAt"].is_null() => {
                    format!("{t} running")
                }
                "session.updated" => format!("{t} idle"),
                _ => t.to_owned(),
            }
        })
        .collect()
}
