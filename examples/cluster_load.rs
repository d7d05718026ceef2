//! Cross-instance event latency (issue 16 item 6): two real `jean2 server` processes, A and B,
//! on one PostgreSQL database; a fake OpenAI-compatible provider in this process stamps every
//! chunk with the time it wrote it. For each of `SESSIONS` sessions a client on B sends the
//! message (the turn runs on B) and a client on A watches the same session. Prints, per chunk,
//! the latency from the provider to B's client (the single-instance path: B's hub) and to A's
//! client (B's hub → NOTIFY → A's hub), p50/p99/max.
//!
//! Usage: `cluster_load <path to jean2> <postgres URL> [sessions] [chunks] [interval µs]`
//! (see scripts/bench-scale.sh, which makes the database).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a benchmark fails loudly"
)]

use std::process::{Child, Command, Stdio};
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

/// A server process, killed when this goes out of scope (its data dir goes after it).
struct Server {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(bin: &str, url: &str, fake: std::net::SocketAddr) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(bin)
        .args(["server", "-p", &port.to_string()])
        .env_clear()
        .env("HOME", dir.path())
        .env("JEAN2_DATA_DIR", dir.path())
        .env("JEAN2_DATABASE_URL", url)
        .env("JEAN2_LLM_BASE_URL", format!("http://{fake}/v1"))
        .env("JEAN2_LLM_OPENAI_API_KEY", "sk-bench")
        .env("JEAN2_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start jean2");
    Server {
        child,
        port,
        _dir: dir,
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

async fn connect(port: u16) -> Ws {
    let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://127.0.0.1:{port}/ws"))
        .await
        .unwrap();
    send(&mut ws, json!({"type": "client.register", "client": {"clientId": uuid::Uuid::new_v4().to_string(),
        "clientType": "sdk", "displayName": "load", "interactionMode": "headless", "capabilities": []}})).await;
    ws
}

async fn resume(ws: &mut Ws, sid: &str) {
    send(ws, json!({"type": "session.resume", "sessionId": sid})).await;
    while recv(ws).await["type"] != "session.resumed" {}
}

/// The latency of every streamed chunk on `ws` until the reply completes.
async fn watch(mut ws: Ws) -> Vec<u64> {
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
            "message.updated" if v["message"]["role"] == "assistant" => {
                assert_eq!(v["message"]["status"], "completed", "{v}");
                return lat;
            }
            "error" => panic!("error: {v}"),
            _ => None,
        };
        for stamp in delta.iter().flat_map(|d| d.split_whitespace()) {
            lat.push(now.saturating_sub(stamp.parse().unwrap()));
        }
    }
}

/// One session: created on B, watched on A and B; returns (B's latencies, A's latencies).
async fn session(a: u16, b: u16, go: tokio::sync::watch::Receiver<bool>) -> (Vec<u64>, Vec<u64>) {
    let mut on_b = connect(b).await;
    send(
        &mut on_b,
        json!({"type": "session.create", "preconfigId": "general"}),
    )
    .await;
    let sid = loop {
        let v = recv(&mut on_b).await;
        if v["type"] == "session.created" {
            break v["session"]["id"].as_str().unwrap().to_owned();
        }
    };
    resume(&mut on_b, &sid).await;
    let mut on_a = connect(a).await;
    resume(&mut on_a, &sid).await;
    let mut go = go;
    go.wait_for(|g| *g).await.unwrap();
    send(
        &mut on_b,
        json!({"type": "chat.message", "sessionId": sid, "content": "go"}),
    )
    .await;
    let there = tokio::spawn(watch(on_a));
    let here = watch(on_b).await;
    (here, there.await.unwrap())
}

fn pct(sorted: &[u64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i] as f64 / 1e6
}

fn report(label: &str, mut lat: Vec<u64>) {
    lat.sort_unstable();
    println!(
        "{label}: {} chunks, p50 {:.3} ms, p99 {:.3} ms, max {:.3} ms",
        lat.len(),
        pct(&lat, 0.50),
        pct(&lat, 0.99),
        pct(&lat, 1.0)
    );
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let usage =
        "usage: cluster_load <jean2 binary> <postgres URL> [sessions] [chunks] [interval µs]";
    let bin = args.get(1).expect(usage).clone();
    let url = args.get(2).expect(usage).clone();
    let sessions: usize = args.get(3).map_or(20, |s| s.parse().unwrap());
    CHUNKS
        .set(args.get(4).map_or(500, |s| s.parse().unwrap()))
        .unwrap();
    let interval_us: u64 = args.get(5).map_or(1000, |s| s.parse().unwrap());
    INTERVAL.set(Duration::from_micros(interval_us)).unwrap();
    now_ns();

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let fake = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let app = Router::new().route("/v1/chat/completions", post(completions));
        axum::serve(listener, app).await.unwrap();
    });
    let (a, b) = (start(&bin, &url, fake), start(&bin, &url, fake));
    let http = reqwest::Client::new();
    for port in [a.port, b.port] {
        let base = format!("http://127.0.0.1:{port}");
        for _ in 0..400 {
            if http.get(format!("{base}/api/health")).send().await.is_ok() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    let base = format!("http://127.0.0.1:{}", b.port);
    http.get(format!("{base}/api/workspaces"))
        .send()
        .await
        .unwrap();

    let (go, start_rx) = tokio::sync::watch::channel(false);
    let tasks: Vec<_> = (0..sessions)
        .map(|_| tokio::spawn(session(a.port, b.port, start_rx.clone())))
        .collect();
    tokio::time::sleep(Duration::from_millis(1000)).await; // every client has resumed
    go.send(true).unwrap();
    let (mut here, mut there) = (Vec::new(), Vec::new());
    for t in tasks {
        let (h, t) = t.await.unwrap();
        here.extend(h);
        there.extend(t);
    }
    println!(
        "sessions: {sessions}, chunks per reply: {}, one chunk every {interval_us} µs per session",
        CHUNKS.get().unwrap()
    );
    report(
        "provider -> client on B (the instance running the turn)",
        here,
    );
    report(
        "provider -> client on A (relayed through PostgreSQL)   ",
        there,
    );
}
