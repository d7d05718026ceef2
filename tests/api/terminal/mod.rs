//! Terminals over real HTTP and WebSocket (`PROTOCOL-AGENT.md` §13.9): a shell runs `echo`, its
//! output comes back, the scrollback is replayed on reconnect, the tab list follows on the
//! events socket, and closing a terminal ends the shell and its background jobs.

mod shell;
mod sockets;

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use jean2::terminal::frames;
use nix::unistd::Pid;
use reqwest::Method;
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::helpers::{TOKEN, TestApp, spawn_app_with, urlencode};

/// A server with the shared token whose `.env` names `HOME` (so shells must not see it), and a
/// folder workspace.
pub async fn setup() -> (TestApp, String, tempfile::TempDir) {
    assert!(
        std::env::var_os("HOME").is_some(),
        "the test needs HOME set"
    );
    let app = spawn_app_with(|s| {
        s.auth_token = Some(jean2::config::Secret::new(TOKEN));
        s.env_file_keys = vec!["HOME".to_owned()];
        // Not the machine's login shell: its startup files (a `~/.bashrc` that stalls without
        // HOME, say) are not what these tests are about.
        s.terminal_shell = Some("/bin/sh".to_owned());
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let ws = workspace_at(&app, dir.path()).await;
    (app, ws, dir)
}

/// A folder workspace at `dir`, created with the owner's token; its id.
pub async fn workspace_at(app: &TestApp, dir: &std::path::Path) -> String {
    let body = json!({"name": "t", "path": dir, "isVirtual": false});
    let res = app
        .client
        .post(app.url("/api/workspaces"))
        .bearer_auth(TOKEN)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let ws: Value = res.json().await.unwrap();
    ws["workspace"]["id"].as_str().unwrap().to_owned()
}

pub async fn call(app: &TestApp, method: Method, path: &str) -> (u16, Value) {
    let res = app
        .client
        .request(method, app.url(path))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

pub async fn create(app: &TestApp, ws: &str) -> Value {
    let (status, body) = call(
        app,
        Method::POST,
        &format!("/api/workspaces/{ws}/terminals"),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    body["session"].clone()
}

pub type Stream = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// A `/ws/terminal` or `/ws/terminal/events` client.
pub struct Sock(pub Stream);

impl Sock {
    pub async fn open(app: &TestApp, path: &str, query: &[(&str, &str)]) -> Result<Sock, u16> {
        let mut q: Vec<String> = query
            .iter()
            .map(|(k, v)| format!("{k}={}", urlencode(v)))
            .collect();
        q.push(format!("token={}", urlencode(TOKEN)));
        let url = format!("ws://{}{path}?{}", app.addr, q.join("&"));
        match tokio_tungstenite::connect_async(url).await {
            Ok((s, _)) => Ok(Sock(s)),
            Err(tokio_tungstenite::tungstenite::Error::Http(res)) => Err(res.status().as_u16()),
            Err(e) => panic!("ws connect: {e}"),
        }
    }

    pub async fn attach(app: &TestApp, ws: &str, sid: &str) -> Sock {
        Sock::open(
            app,
            "/ws/terminal",
            &[("cwd", "/"), ("workspaceId", ws), ("sessionId", sid)],
        )
        .await
        .expect("terminal socket")
    }

    pub async fn next(&mut self) -> Message {
        tokio::time::timeout(Duration::from_secs(10), self.0.next())
            .await
            .expect("a frame within 10 s")
            .expect("socket open")
            .expect("ws read")
    }

    /// The next binary frame: (opcode, payload).
    pub async fn frame(&mut self) -> (u8, Vec<u8>) {
        loop {
            match self.next().await {
                Message::Binary(b) => return (b[0], b[1..].to_vec()),
                Message::Close(f) => panic!("closed: {f:?}"),
                _ => {}
            }
        }
    }

    /// The next frame's JSON payload, checking its opcode (`OUTPUT` frames before it skipped).
    pub async fn json_frame(&mut self, op: u8) -> Value {
        let (mut got, mut payload) = self.frame().await;
        while got == frames::OUTPUT {
            (got, payload) = self.frame().await;
        }
        assert_eq!(
            got,
            op,
            "expected opcode {op}, got {got}: {}",
            String::from_utf8_lossy(&payload)
        );
        serde_json::from_slice(&payload).unwrap()
    }

    /// Read `OUTPUT` until it contains `needle`; everything read so far.
    pub async fn output_until(&mut self, needle: &str) -> String {
        let mut seen = String::new();
        while !seen.contains(needle) {
            let (op, payload) = self.frame().await;
            if op == frames::OUTPUT {
                seen.push_str(&String::from_utf8_lossy(&payload));
            }
        }
        seen
    }

    pub async fn send(&mut self, op: u8, payload: &[u8]) {
        self.0
            .send(Message::Binary(frames::encode(op, payload)))
            .await
            .unwrap();
    }

    pub async fn type_line(&mut self, line: &str) {
        self.send(frames::INPUT, format!("{line}\r").as_bytes())
            .await;
    }

    pub async fn event(&mut self) -> Value {
        loop {
            if let Message::Text(t) = self.next().await {
                return serde_json::from_str(&t).unwrap();
            }
        }
    }

    pub async fn close_frame(&mut self) -> Option<CloseFrame> {
        loop {
            match self.next().await {
                Message::Close(f) => return f,
                Message::Binary(b) if b[0] == frames::OUTPUT => {}
                other => panic!("expected a close, got {other:?}"),
            }
        }
    }
}

/// Field 5 of `/proc/<pid>/stat`.
pub fn process_group(pid: i64) -> i64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let rest = &stat[stat.rfind(')').unwrap() + 1..];
    rest.split_whitespace().nth(2).unwrap().parse().unwrap()
}

pub fn alive(pid: i64) -> bool {
    jean2::terminal::kill::alive(Pid::from_raw(i32::try_from(pid).unwrap()))
}
