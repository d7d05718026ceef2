//! Crash recovery with the real binary: kill -9 in the middle of a reply, start again, and the
//! transcript is consistent (reply `interrupted` with the text saved so far, not running).

use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use super::*;
use crate::fake_llm::{Gate, Script};
use crate::helpers::{WsClient, wait_until};

pub struct Server {
    pub child: Child,
    pub port: u16,
    /// What the binary wrote to its terminal (`jean2` at debug), printed if the test fails.
    log: PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            let text = std::fs::read_to_string(&self.log).unwrap_or_default();
            eprintln!(
                "\n===== {} (jean2 server, port {}) =====\n{text}===== end =====",
                self.log.display(),
                self.port
            );
        }
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub async fn start(data_dir: &Path, fake: &FakeLlm) -> Server {
    let port = free_port();
    let log = data_dir.join(format!("terminal-{port}.log"));
    let out = std::fs::File::create(&log).expect("terminal log");
    let child = Command::new(env!("CARGO_BIN_EXE_jean2"))
        .args(["server", "-p", &port.to_string()])
        .env_clear()
        .env("HOME", data_dir)
        .env("JEAN2_DATA_DIR", data_dir)
        .env("JEAN2_LLM_BASE_URL", fake.base_url())
        .env("JEAN2_LLM_OPENAI_API_KEY", "sk-test")
        .env("JEAN2_LOG", "info,jean2=debug")
        .stdout(out.try_clone().expect("terminal log"))
        .stderr(out)
        .spawn()
        .expect("start jean2");
    let server = Server { child, port, log };
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

pub async fn connect(port: u16) -> WsClient {
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
    // 60 words at 10 ms apiece (a few 300 ms flushes), then the provider waits for ever.
    fake.push(Script::Held {
        content: (0..400).map(|i| format!("word{i} ")).collect(),
        sent: 60,
        gate: Gate::new(),
        delay: Duration::from_millis(10),
    });
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

    let mut events = Vec::new();
    while streamed_text(&events, "text").split_whitespace().count() < 60 {
        events.push(ws.recv_json().await);
    }
    let received = streamed_text(&events, "text");
    // While the provider waits, the server saves what it has: a resume (which reads the
    // database) shows all of it once saved.
    let mut watcher = connect(server.port).await;
    wait_until("the streamed text is saved", async || {
        saved_reply(&resume(&mut watcher, &sid).await).1 == received
    })
    .await;

    server.child.kill().unwrap(); // SIGKILL
    server.child.wait().unwrap();
    drop((ws, watcher));

    let server = start(dir.path(), &fake).await;
    let mut ws = connect(server.port).await;
    let resumed = resume(&mut ws, &sid).await;
    assert_eq!(resumed["isRunning"], false);
    assert!(resumed["session"]["runningAt"].is_null());
    let messages = resumed["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 2, "user + assistant");
    let (reply, saved) = saved_reply(&resumed);
    assert_eq!(reply["message"]["status"], "interrupted");
    assert!(reply["message"]["error"].is_string());
    assert_eq!(saved, received, "everything saved before the crash is kept");

    // The session works again after recovery.
    fake.push(Script::reply(&["back"]));
    send_chat(&mut ws, &sid, "still there?").await;
    let events = recv_turn(&mut ws).await;
    assert_eq!(streamed_text(&events, "text"), "back");
}

/// The assistant message of a resumed session and the text of its text part.
fn saved_reply(resumed: &Value) -> (Value, String) {
    let reply = resumed["messages"][1].clone();
    let text = reply["parts"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|p| p["type"] == "text")
        .filter_map(|p| p["text"].as_str())
        .collect();
    (reply, text)
}
