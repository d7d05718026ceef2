//! Chat turns over a real WebSocket against the fake provider: event order, reasoning, context,
//! interrupt, queue, provider failures, pre-checks, titles, and crash recovery with the binary.

mod failures;
pub mod recovery;
mod shutdown;
mod turn;

use std::time::Duration;

use jean2::config::{Secret, Settings};
use serde_json::{Value, json};

use crate::fake_llm::{FakeLlm, Script};
use crate::helpers::{HUNG, TestApp, WsClient, spawn_app_with, wait_until};

/// A server wired to `fake` (see [`use_fake`]).
pub async fn app_for(fake: &FakeLlm) -> TestApp {
    spawn_app_with(|s| use_fake(s, fake)).await
}

/// Point `s` at `fake`: an `openai` key and short retry delays. The idle timeout only stops a
/// hung test (a stream held at a gate is silent); the test of the timeout sets its own.
pub fn use_fake(s: &mut Settings, fake: &FakeLlm) {
    s.llm.base_url = Some(fake.base_url());
    s.llm
        .api_keys
        .insert("openai".into(), Secret::new("sk-test"));
    s.llm.retry_base_delay = Duration::from_millis(10);
    s.llm.max_retries = 2;
    s.llm.idle_timeout = HUNG;
}

/// A registered client that created and resumed a fresh session; returns it and the id.
pub async fn client_with_session(app: &TestApp) -> (WsClient, String) {
    let res = app.get("/api/workspaces").await;
    assert!(res.status().is_success(), "workspaces: {}", res.status());
    let mut ws = app.ws(None).await.expect("ws");
    ws.register().await;
    ws.send_json(&json!({"type": "session.create", "preconfigId": "general"}))
        .await;
    let created = ws.recv_json().await;
    assert_eq!(created["type"], "session.created", "{created}");
    let sid = created["session"]["id"].as_str().unwrap().to_owned();
    let resumed = resume(&mut ws, &sid).await;
    assert_eq!(resumed["isRunning"], false);
    (ws, sid)
}

/// `session.resume` → the `session.resumed` body (skips `ask.pending_sync`).
pub async fn resume(ws: &mut WsClient, sid: &str) -> Value {
    ws.send_json(&json!({"type": "session.resume", "sessionId": sid}))
        .await;
    let v = recv_type(ws, "session.resumed").await;
    let sync = ws.recv_json().await;
    assert_eq!(sync["type"], "ask.pending_sync", "{sync}");
    v
}

/// `session.resume` until the session no longer runs, and the frames that came meanwhile. A
/// session runs until its worker is done, so afterwards whatever the worker decided after
/// its last turn (a title, the next queued message) has been started.
pub async fn wait_idle(ws: &mut WsClient, sid: &str) -> Vec<Value> {
    let deadline = tokio::time::Instant::now() + HUNG;
    let mut meanwhile = Vec::new();
    loop {
        ws.send_json(&json!({"type": "session.resume", "sessionId": sid}))
            .await;
        let resumed = loop {
            let v = ws.recv_json().await;
            if v["type"] == "session.resumed" {
                break v;
            }
            meanwhile.push(v);
        };
        let sync = ws.recv_json().await;
        assert_eq!(sync["type"], "ask.pending_sync", "{sync}");
        if resumed["isRunning"] == false {
            return meanwhile;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{sid} still running after {HUNG:?}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Run one more turn that completes in `sid` (whose title is still the default) and check
/// that it is the first to ask the provider for a title: the turns before it asked for none.
/// Call it once the session is idle ([`wait_idle`]).
pub async fn assert_next_turn_asks_the_first_title(
    ws: &mut WsClient,
    fake: &FakeLlm,
    sid: &str,
    label: &str,
) {
    fake.push(Script::reply(&["fine"]));
    send_chat(ws, sid, "and now a title?").await;
    let events = recv_turn(ws).await;
    let done = find(&events, "message.updated");
    assert_eq!(done["message"]["status"], "completed", "{label}");
    wait_until(&format!("{label}: a title request"), async || {
        !fake.title_requests().is_empty()
    })
    .await;
    let titles = fake.title_requests();
    let asked = titles[0]["messages"][1]["content"].as_str().unwrap_or("");
    assert!(
        asked.contains("and now a title?"),
        "{label}: the first title request is for the last turn: {asked}"
    );
    assert_eq!(
        ws.expect("session.renamed").await["session"]["title"],
        "Fake Title",
        "{label}"
    );
    let titles = fake.title_requests();
    assert_eq!(titles.len(), 1, "{label}: one title request: {titles:#?}");
}

pub async fn send_chat(ws: &mut WsClient, sid: &str, content: &str) {
    ws.send_json(&json!({"type": "chat.message", "sessionId": sid, "content": content}))
        .await;
}

/// Frames until (and including) the first of type `kind`.
pub async fn recv_until(ws: &mut WsClient, kind: &str) -> Vec<Value> {
    let mut out = Vec::new();
    loop {
        let v = ws.recv_json().await;
        let done = v["type"] == kind;
        out.push(v);
        if done {
            return out;
        }
    }
}

/// Frames until the turn ends (`session.updated` with `runningAt: null`).
pub async fn recv_turn(ws: &mut WsClient) -> Vec<Value> {
    let mut out = Vec::new();
    loop {
        let v = ws.recv_json().await;
        let done = v["type"] == "session.updated" && v["session"]["runningAt"].is_null();
        out.push(v);
        if done {
            return out;
        }
    }
}

pub async fn recv_type(ws: &mut WsClient, kind: &str) -> Value {
    recv_until(ws, kind).await.pop().unwrap()
}

pub fn types(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .map(|e| e["type"].as_str().unwrap_or("?").to_owned())
        .collect()
}

/// The frame of `kind` among `events` (the first one).
pub fn find<'a>(events: &'a [Value], kind: &str) -> &'a Value {
    events
        .iter()
        .find(|e| e["type"] == kind)
        .unwrap_or_else(|| panic!("no {kind} in {:?}", types(events)))
}

/// The assistant text as the client reconstructs it: `part.created` then `part.append`s
/// (parts of the assistant messages created among `events`).
pub fn streamed_text(events: &[Value], field: &str) -> String {
    let assistants: Vec<&Value> = events
        .iter()
        .filter(|e| e["type"] == "message.created" && e["message"]["role"] == "assistant")
        .map(|e| &e["message"]["id"])
        .collect();
    let mut out = String::new();
    let mut part_id = None;
    for e in events {
        let of_assistant = assistants.contains(&&e["part"]["messageId"]);
        if e["type"] == "part.created" && e["part"]["type"] == field && of_assistant {
            part_id = e["part"]["id"].as_str().map(str::to_owned);
            out.push_str(e["part"]["text"].as_str().unwrap());
        }
        if e["type"] == "part.append" && e["field"] == field {
            assert_eq!(
                e["partId"].as_str(),
                part_id.as_deref(),
                "append before create"
            );
            out.push_str(e["delta"].as_str().unwrap());
        }
    }
    out
}
