//! Two real jean2 processes on one PostgreSQL database: `kill -9` of the one running a turn,
//! and the other ends that turn (reply interrupted, session idle, with the events) and runs the
//! message queued behind it.

use std::path::Path;
use std::time::Instant;

use serde_json::{Value, json};

use super::streaming;
use crate::chat::recovery::{connect, start};
use crate::chat::{recv_turn, recv_until, resume, send_chat, streamed_text};
use crate::fake_llm::{FakeLlm, Gate, Script};
use crate::helpers::{WsClient, on_sqlite, test_database};

/// Point a data dir at the database `url` (the binary reads the data dir's `.env`).
fn use_database(dir: &Path, url: &str) {
    std::fs::write(dir.join(".env"), format!("JEAN2_DATABASE_URL={url}\n")).unwrap();
}

/// A new session on the server at `port`, and a connection that resumed it.
async fn new_session(port: u16) -> (WsClient, String) {
    let res = reqwest::get(format!("http://127.0.0.1:{port}/api/workspaces"))
        .await
        .unwrap();
    assert!(res.status().is_success(), "workspaces: {}", res.status());
    let mut ws = connect(port).await;
    ws.send_json(&json!({"type": "session.create", "preconfigId": "general"}))
        .await;
    let created = ws.recv_json().await;
    assert_eq!(created["type"], "session.created", "{created}");
    let sid = created["session"]["id"].as_str().unwrap().to_owned();
    resume(&mut ws, &sid).await;
    (ws, sid)
}

fn ended(e: &Value) -> bool {
    e["type"] == "message.updated" && e["message"]["status"] == "interrupted"
}

#[tokio::test]
async fn after_kill_9_of_the_instance_running_a_turn_another_ends_it_and_runs_the_queue() {
    if on_sqlite() {
        return;
    }
    let fake = FakeLlm::start().await;
    let url = test_database().await.expect("a PostgreSQL run");
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    use_database(dir_a.path(), url.expose());
    use_database(dir_b.path(), url.expose());
    let mut a = start(dir_a.path(), &fake).await;
    let b = start(dir_b.path(), &fake).await;
    let gate = Gate::new();
    fake.push(Script::held(&["a", "b"], 1, &gate));
    fake.push(Script::reply(&["after the crash"]));

    let (mut on_a, sid) = new_session(a.port).await;
    let mut on_b = connect(b.port).await;
    resume(&mut on_b, &sid).await;
    send_chat(&mut on_a, &sid, "first").await;
    streaming(&mut on_b).await;
    send_chat(&mut on_b, &sid, "queued on B").await;
    recv_until(&mut on_b, "queue.added").await;

    a.child.kill().unwrap(); // SIGKILL
    let killed = Instant::now();
    let mut seen = Vec::new();
    while !seen.iter().any(ended) {
        seen.push(on_b.recv_json().await);
    }
    let idle = recv_turn(&mut on_b).await;
    eprintln!(
        "the survivor ended the dead instance's turn {:?} after the kill",
        killed.elapsed()
    );
    let reply = seen.iter().find(|e| ended(e)).unwrap();
    assert_eq!(reply["message"]["sessionId"], sid.as_str(), "{reply}");
    assert!(
        idle.last().unwrap()["session"]["runningAt"].is_null(),
        "the session is idle: {idle:?}"
    );
    recv_until(&mut on_b, "queue.sending").await;
    let next = recv_turn(&mut on_b).await;
    assert_eq!(streamed_text(&next, "text"), "after the crash");
    drop(on_a);
}
