//! The agent (`PROTOCOL-AGENT.md` §8–10) over a real WebSocket against the fake provider, which
//! scripts tool calls: the multi-step turn and its event order, tools in a folder workspace,
//! permission asks and their answers, interrupts during a tool, restarts, and the queue.

mod asks;
mod queue;
mod restart;
mod turn;

use serde_json::{Value, json};

use crate::chat::{app_for, recv_type, resume};
use crate::fake_llm::FakeLlm;
use crate::helpers::{TestApp, WsClient};

/// A server on `fake` with a folder workspace at `dir`, a registered client, and a resumed
/// session with the `code` preconfig (every built-in tool); the client, session and workspace.
pub async fn agent_session(
    fake: &FakeLlm,
    dir: &std::path::Path,
) -> (TestApp, WsClient, String, String) {
    let app = app_for(fake).await;
    let (ws, sid, wid) = session_in(&app, dir).await;
    (app, ws, sid, wid)
}

/// A registered client with a resumed `code` session in a folder workspace at `dir`.
pub async fn session_in(app: &TestApp, dir: &std::path::Path) -> (WsClient, String, String) {
    let res = app
        .post_json("/api/workspaces", &json!({"name": "project", "path": dir}))
        .await;
    assert_eq!(res.status(), 201);
    let wid = res.json::<Value>().await.unwrap()["workspace"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut ws = app.ws(None).await.expect("ws");
    ws.register().await;
    ws.send_json(&json!({"type": "session.create", "preconfigId": "code", "workspaceId": wid}))
        .await;
    let sid = recv_type(&mut ws, "session.created").await["session"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    resume(&mut ws, &sid).await;
    (ws, sid, wid)
}

/// Set the session's `autoApproveSeverity` (as the chat header does, over REST).
pub async fn auto_approve(app: &TestApp, sid: &str, level: &str) {
    let res = app
        .client
        .put(app.url(&format!("/api/sessions/{sid}")))
        .json(&json!({ "autoApproveSeverity": level }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
}

/// The tool part events of a list of frames, by `callId`.
pub fn tool_parts<'a>(events: &'a [Value], call_id: &str) -> Vec<&'a Value> {
    events
        .iter()
        .filter(|e| e["part"]["type"] == "tool" && e["part"]["callId"] == call_id)
        .collect()
}

/// The provider request messages of chat request `n` (title requests not counted).
pub fn request_messages(fake: &FakeLlm, n: usize) -> Vec<Value> {
    fake.requests()[n]["messages"].as_array().unwrap().clone()
}
