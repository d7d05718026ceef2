//! Crash recovery with the real binary: kill -9 in the middle of a reply, start again, and the
//! transcript is consistent (reply `interrupted` with the text saved so far, not running).

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::*;
use crate::fake_llm::Script;
use crate::helpers::WsClient;

struct Server {
    child: Child,
    port: u16,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn start(data_dir: &std::path::Path, fake: &FakeLlm) -> Server {
    let port = free_port();
    let child = Command::new(env!("CARGO_BIN_EXE_jean2"))
        .args(["server", "-p", &port.to_string()])
        .env_clear()
        .env("HOME", data_dir)
        .env("JEAN2_DATA_DIR", data_dir)
        .env("JEAN2_LLM_BASE_URL", fake.base_url())
        .env("JEAN2_LLM_OPENAI_API_KEY", "sk-test")
        .env("JEAN2_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start jean2");
    let server = Server { child, port };
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    let url = format!("http://127.0.0.1:{port}/api/health");
    while !client
        .get(&url)
        .send()
        .await
        .is_ok_and(|r| r.status().is_success())
    {
        assert!(Instant::now() < deadline, "jean2 did not start");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    server
}

async fn connect(port: u16) -> WsClient {
    let (stream, _) = tokio_tungstenite::connect_async(format!("ws://127.0.0.1:{port}/ws"))
        .await
        .expect("ws connect");
    let mut ws = WsClient { stream };
    ws.register().await;
    ws
}

#[tokio::test]
async fn after_kill_9_mid_reply_the_next_start_shows_it_interrupted_with_the_saved_text() {
    let fake = FakeLlm::start().await;
    let words: Vec<String> = (0..400).map(|i| format!("word{i} ")).collect();
    let words: Vec<&str> = words.iter().map(String::as_str).collect();
    fake.push(Script::slow(&words, Duration::from_millis(25)));
    let dir = tempfile::tempdir().unwrap();
    let mut server = start(dir.path(), &fake).await;

    let http = reqwest::Client::new();
    let ws_res = http
        .get(format!("http://127.0.0.1:{}/api/workspaces", server.port))
        .send()
        .await
        .unwrap();
    assert!(ws_res.status().is_success());
    let mut ws = connect(server.port).await;
    ws.send_json(&json!({"type": "session.create", "preconfigId": "general"}))
        .await;
    let sid = recv_type(&mut ws, "session.created").await["session"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    resume(&mut ws, &sid).await;
    send_chat(&mut ws, &sid, "tell me a long story").await;

    // Stream for a while: well past a few 300 ms flushes.
    let mut events = Vec::new();
    let until = Instant::now() + Duration::from_millis(1200);
    while Instant::now() < until {
        events.push(ws.recv_json().await);
    }
    let received = streamed_text(&events, "text");
    assert!(received.len() > 40, "streamed: {received:?}");

    server.child.kill().unwrap(); // SIGKILL
    server.child.wait().unwrap();
    drop(ws);

    let server = start(dir.path(), &fake).await;
    let mut ws = connect(server.port).await;
    let resumed = resume(&mut ws, &sid).await;
    assert_eq!(resumed["isRunning"], false);
    assert!(resumed["session"]["runningAt"].is_null());
    let messages = resumed["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 2, "user + assistant");
    let reply = &messages[1];
    assert_eq!(reply["message"]["status"], "interrupted");
    assert!(reply["message"]["error"].is_string());
    let saved = reply["parts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["type"] == "text")
        .expect("text part saved")["text"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(!saved.is_empty());
    assert!(
        received.starts_with(&saved),
        "saved text is a prefix of what streamed"
    );
    // At most ~300 ms of text (≈ 12 chunks at 25 ms) may be lost; allow slack for scheduling.
    let lost_words = received[saved.len()..].split_whitespace().count();
    assert!(lost_words <= 30, "lost {lost_words} words");

    // The session works again after recovery.
    fake.push(Script::reply(&["back"]));
    send_chat(&mut ws, &sid, "still there?").await;
    let events = recv_turn(&mut ws).await;
    assert_eq!(streamed_text(&events, "text"), "back");
}
