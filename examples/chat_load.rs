//! Chat streaming load test (issue 4 part 9): a fake OpenAI-compatible provider in this
//! process emits `CHUNKS` chunks per reply as fast as it can; `SESSIONS` sessions stream at
//! once through a real `jean2 server` process, each watched by its own resumed WebSocket client.
//! Prints the latency from the provider writing a chunk to the client reading its `part.append`
//! (p50, p99, max) and the server's CPU time per chunk (from /proc).
//!
//! Usage: `chat_load <path to jean2> [sessions] [chunks] [interval µs]` (see
//! scripts/bench-chat.sh). With no interval the provider bursts, so the latency printed is mostly
//! the time chunks wait in buffers behind earlier ones; a paced run (e.g. 1000 µs) shows the
//! latency the server adds to each chunk.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a benchmark fails loudly"
)]

use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::response::Response;
use axum::routing::post;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

static EPOCH: OnceLock<Instant> = OnceLock::new();
static CHUNKS: OnceLock<usize> = OnceLock::new();
/// Time between two chunks of one reply; zero sends as fast as possible.
static INTERVAL: OnceLock<Duration> = OnceLock::new();

fn now_ns() -> u64 {
    EPOCH.get_or_init(Instant::now).elapsed().as_nanos() as u64
}

async fn completions(body: Bytes) -> Response {
    let req: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let is_title = req["messages"][0]["content"]
        .as_str()
        .is_some_and(|c| c.contains("title"));
    let n = if is_title { 1 } else { *CHUNKS.get().unwrap() };
    let interval = *INTERVAL.get().unwrap();
    let start = tokio::time::Instant::now();
    let stream = futures_util::stream::unfold(0usize, move |i| async move {
        if !interval.is_zero() && i < n {
            tokio::time::sleep_until(start + interval * i as u32).await;
        }
        let frame = if i < n {
            let c =
                json!({"choices": [{"index": 0, "delta": {"content": format!("{} ", now_ns())}}]});
            format!("data: {c}\n\n")
        } else if i == n {
            let u = json!({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}],
                           "usage": {"prompt_tokens": 10, "completion_tokens": n}});
            format!("data: {u}\n\ndata: [DONE]\n\n")
        } else {
            return None;
        };
        Some((Ok::<_, std::io::Error>(Bytes::from(frame)), i + 1))
    });
    Response::builder()
        .header("content-type", "text/event-stream")
        .body(Body::from_stream(stream))
        .unwrap()
}

/// utime + stime of a process, in seconds.
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let after = &stat[stat.rfind(')').unwrap() + 2..];
    let f: Vec<&str> = after.split_whitespace().collect();
    let ticks: f64 = f[11].parse::<f64>().unwrap() + f[12].parse::<f64>().unwrap();
    ticks / 100.0 // CLK_TCK is 100 on Linux
}

/// The server process, killed when this goes out of scope (also when a client panics).
struct Server(std::process::Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn recv(ws: &mut Ws) -> Value {
    loop {
        match ws.next().await.expect("ws open").expect("ws read") {
            Message::Text(t) => return serde_json::from_str(&t).unwrap(),
            _ => continue,
        }
    }
}

async fn send(ws: &mut Ws, v: Value) {
    ws.send(Message::Text(v.to_string().into())).await.unwrap();
}

/// One client: create + resume a session, wait for the start signal, send a message, collect
/// the latency of every streamed chunk until the turn ends.
async fn client(port: u16, start: tokio::sync::watch::Receiver<bool>) -> Vec<u64> {
    let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://127.0.0.1:{port}/ws"))
        .await
        .unwrap();
    send(&mut ws, json!({"type": "client.register", "client": {"clientId": uuid::Uuid::new_v4().to_string(),
        "clientType": "sdk", "displayName": "load", "interactionMode": "headless", "capabilities": []}})).await;
    // Every client hears every session.created: the title tells ours apart.
    let title = format!("load {}", uuid::Uuid::new_v4());
    send(
        &mut ws,
        json!({"type": "session.create", "preconfigId": "general", "title": title}),
    )
    .await;
    let sid = loop {
        let v = recv(&mut ws).await;
        if v["type"] == "session.created" && v["session"]["title"] == title.as_str() {
            break v["session"]["id"].as_str().unwrap().to_owned();
        }
    };
    send(&mut ws, json!({"type": "session.resume", "sessionId": sid})).await;
    loop {
        if recv(&mut ws).await["type"] == "session.resumed" {
            break;
        }
    }
    let mut start = start;
    start.wait_for(|s| *s).await.unwrap();
    send(
        &mut ws,
        json!({"type": "chat.message", "sessionId": sid, "content": "go"}),
    )
    .await;
    let mut lat = Vec::with_capacity(*CHUNKS.get().unwrap());
    let mut assistant = None;
    loop {
        let v = recv(&mut ws).await;
        let now = now_ns();
        let delta = match v["type"].as_str().unwrap_or("") {
            "message.created" if v["message"]["role"] == "assistant" => {
                assistant = v["message"]["id"].as_str().map(str::to_owned);
                None
            }
            "part.created"
                if v["part"]["type"] == "text"
                    && v["part"]["messageId"].as_str() == assistant.as_deref() =>
            {
                v["part"]["text"].as_str().map(str::to_owned)
            }
            "part.append" => v["delta"].as_str().map(str::to_owned),
            "message.updated" => {
                assert_eq!(v["message"]["status"], "completed", "{v}");
                return lat;
            }
            "error" => panic!("error: {v}"),
            _ => None,
        };
        if let Some(d) = delta {
            for stamp in d.split_whitespace() {
                lat.push(now.saturating_sub(stamp.parse().unwrap()));
            }
        }
    }
}

fn pct(sorted: &[u64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i] as f64 / 1e6
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let bin = args
        .get(1)
        .expect("usage: chat_load <jean2 binary> [sessions] [chunks] [interval µs]")
        .clone();
    let sessions: usize = args.get(2).map_or(50, |s| s.parse().unwrap());
    CHUNKS
        .set(args.get(3).map_or(2000, |s| s.parse().unwrap()))
        .unwrap();
    let interval_us: u64 = args.get(4).map_or(0, |s| s.parse().unwrap());
    INTERVAL.set(Duration::from_micros(interval_us)).unwrap();
    now_ns();

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let fake = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(
            listener,
            Router::new().route("/v1/chat/completions", post(completions)),
        )
        .await
        .unwrap();
    });

    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(&bin)
        .args(["server", "-p", &port.to_string()])
        .env_clear()
        .env("HOME", dir.path())
        .env("JEAN2_DATA_DIR", dir.path())
        .env("JEAN2_LLM_BASE_URL", format!("http://{fake}/v1"))
        .env("JEAN2_LLM_OPENAI_API_KEY", "sk-bench")
        .env("JEAN2_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start jean2");
    let server = Server(child);
    let http = reqwest::Client::new();
    let base = format!("http://127.0.0.1:{port}");
    for _ in 0..200 {
        if http.get(format!("{base}/api/health")).send().await.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    http.get(format!("{base}/api/workspaces"))
        .send()
        .await
        .unwrap();

    let (go, start) = tokio::sync::watch::channel(false);
    let tasks: Vec<_> = (0..sessions)
        .map(|_| tokio::spawn(client(port, start.clone())))
        .collect();
    tokio::time::sleep(Duration::from_millis(500)).await; // let every client resume
    let cpu0 = cpu_seconds(server.0.id());
    let t0 = Instant::now();
    go.send(true).unwrap();
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    let wall = t0.elapsed();
    let cpu = cpu_seconds(server.0.id()) - cpu0;
    drop(server);

    all.sort_unstable();
    let chunks = all.len();
    println!(
        "sessions: {sessions}, chunks per reply: {}, chunk interval: {interval_us} µs (0: as fast as possible), chunks delivered: {chunks}",
        CHUNKS.get().unwrap()
    );
    println!(
        "wall time: {:.2} s ({:.0} chunks/s)",
        wall.as_secs_f64(),
        chunks as f64 / wall.as_secs_f64()
    );
    println!(
        "provider -> client latency per chunk: p50 {:.3} ms, p99 {:.3} ms, max {:.3} ms",
        pct(&all, 0.50),
        pct(&all, 0.99),
        pct(&all, 1.0)
    );
    println!(
        "server CPU: {:.2} s total, {:.1} µs per chunk",
        cpu,
        cpu * 1e6 / chunks as f64
    );
}
