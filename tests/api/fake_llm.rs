//! A fake OpenAI-compatible provider: a real HTTP server on port 0 answering
//! `POST /v1/chat/completions` with scripted SSE streams (chunks, reasoning, usage, 429 then
//! success, 500, streams held at a [`Gate`] until the test opens it, malformed
//! chunks, early disconnects). It records every request body so tests can check the
//! conversation that was sent, and counts the streams the server cut. Title-generation
//! requests (their system prompt mentions a "title") are answered separately so they never eat
//! a script.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use bytes::Bytes;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

/// A point where a [`Script::Held`] stream waits until the test opens it: "while the turn
/// runs" without racing a timer.
#[derive(Debug, Clone, Default)]
pub struct Gate(CancellationToken);

impl Gate {
    pub fn new() -> Gate {
        Gate::default()
    }

    /// Let every stream waiting here go on.
    pub fn open(&self) {
        self.0.cancel();
    }
}

/// What the fake does for one chat request.
#[derive(Debug, Clone)]
pub enum Script {
    /// Stream these reasoning deltas, then these content deltas, then usage and `[DONE]`,
    /// waiting `delay` before each chunk.
    Reply {
        reasoning: Vec<String>,
        content: Vec<String>,
        usage: (i64, i64, i64),
        delay: Duration,
    },
    /// Answer with this status (and `Retry-After` seconds if set) and an OpenAI error body.
    Status {
        status: u16,
        retry_after: Option<String>,
        message: String,
    },
    /// Stream these content deltas, then a chunk that is not JSON.
    Malformed { content: Vec<String> },
    /// Stream these content deltas, then cut the connection (no finish, no `[DONE]`).
    Disconnect { content: Vec<String> },
    /// Send the headers, then these deltas, then nothing at all (for idle timeouts).
    Stall { content: Vec<String> },
    /// Stream the first `sent` content deltas (waiting `delay` before each), wait until `gate`
    /// opens, then stream the rest and end like [`Script::Reply`].
    Held {
        content: Vec<String>,
        sent: usize,
        gate: Gate,
        delay: Duration,
    },
}

impl Script {
    pub fn reply(content: &[&str]) -> Script {
        Script::Reply {
            reasoning: vec![],
            content: content.iter().map(|s| s.to_string()).collect(),
            usage: (10, content.len() as i64, 0),
            delay: Duration::ZERO,
        }
    }

    /// A reply that stops after `sent` deltas until `gate` opens.
    pub fn held(content: &[&str], sent: usize, gate: &Gate) -> Script {
        Script::Held {
            content: content.iter().map(|s| s.to_string()).collect(),
            sent,
            gate: gate.clone(),
            delay: Duration::ZERO,
        }
    }

    pub fn status(status: u16, retry_after: Option<&str>) -> Script {
        Script::Status {
            status,
            retry_after: retry_after.map(str::to_owned),
            message: format!("scripted {status}"),
        }
    }
}

#[derive(Default)]
struct Inner {
    scripts: VecDeque<Script>,
    requests: Vec<Value>,
    title_requests: Vec<Value>,
    /// `None`: answer title requests with "Fake Title"; `Some(status)`: fail with it.
    title_failure: Option<u16>,
    /// Chat response bodies still open, and those the client dropped before their end.
    streams: Arc<StreamCounts>,
}

#[derive(Default)]
struct StreamCounts {
    open: AtomicUsize,
    cut: AtomicUsize,
}

/// Counts one open chat response body while it lives, and a cut if it is dropped before its
/// last frame was handed out (the server stopped reading: an interrupt, a deleted session).
struct LiveGuard {
    counts: Arc<StreamCounts>,
    finished: bool,
}

impl LiveGuard {
    fn new(counts: Arc<StreamCounts>) -> Self {
        counts.open.fetch_add(1, Ordering::SeqCst);
        Self {
            counts,
            finished: false,
        }
    }

    fn mark_finished(&mut self) {
        self.finished = true;
    }
}

impl Drop for LiveGuard {
    fn drop(&mut self) {
        if !self.finished {
            self.counts.cut.fetch_add(1, Ordering::SeqCst);
        }
        self.counts.open.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Handle to a running fake provider.
#[derive(Clone)]
pub struct FakeLlm {
    pub addr: SocketAddr,
    inner: Arc<Mutex<Inner>>,
}

impl FakeLlm {
    /// Start on 127.0.0.1:0. With no script queued a request gets `reply(["Hello", " there"])`.
    pub async fn start() -> FakeLlm {
        let inner = Arc::new(Mutex::new(Inner::default()));
        let app = Router::new()
            .route("/v1/chat/completions", post(completions))
            .with_state(inner.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        FakeLlm { addr, inner }
    }

    /// The base URL to configure (`…/v1`).
    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    pub fn push(&self, script: Script) -> &Self {
        self.inner.lock().unwrap().scripts.push_back(script);
        self
    }

    pub fn fail_titles(&self, status: u16) {
        self.inner.lock().unwrap().title_failure = Some(status);
    }

    /// Chat request bodies received so far (title requests excluded).
    pub fn requests(&self) -> Vec<Value> {
        self.inner.lock().unwrap().requests.clone()
    }

    pub fn title_requests(&self) -> Vec<Value> {
        self.inner.lock().unwrap().title_requests.clone()
    }

    /// How many chat response streams are still open: a client that stops reading (an
    /// interrupted turn) makes this drop as soon as the server notices.
    pub fn open_streams(&self) -> usize {
        self.inner
            .lock()
            .unwrap()
            .streams
            .open
            .load(Ordering::SeqCst)
    }

    /// How many chat response streams the server dropped before their last frame: proof that
    /// it stopped a reply while the provider was still sending, with no clock involved.
    pub fn cut_streams(&self) -> usize {
        self.inner
            .lock()
            .unwrap()
            .streams
            .cut
            .load(Ordering::SeqCst)
    }

    /// Wait until no chat response stream is open (the server noticed the end or the cut).
    pub async fn wait_no_open_streams(&self) {
        crate::helpers::wait_until("no provider stream open", async || self.open_streams() == 0)
            .await;
    }
}

fn is_title_request(body: &Value) -> bool {
    body["messages"][0]["role"] == "system"
        && body["messages"][0]["content"]
            .as_str()
            .is_some_and(|c| c.to_lowercase().contains("title"))
}

async fn completions(State(inner): State<Arc<Mutex<Inner>>>, body: Bytes) -> Response {
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let script = {
        let mut g = inner.lock().unwrap();
        if is_title_request(&body) {
            g.title_requests.push(body);
            match g.title_failure {
                Some(status) => Script::status(status, None),
                None => Script::reply(&["Fake", " Title"]),
            }
        } else {
            g.requests.push(body);
            let script = g
                .scripts
                .pop_front()
                .unwrap_or_else(|| Script::reply(&["Hello", " there"]));
            let guard = LiveGuard::new(g.streams.clone());
            return respond(script, Some(guard));
        }
    };
    respond(script, None)
}

fn chunk(delta: Value, finish: Option<&str>) -> String {
    let v = json!({
        "id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": 0, "model": "fake",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    });
    format!("data: {v}\n\n")
}

/// What a frame waits for before it is sent.
enum Before {
    Sleep(Duration),
    Gate(Gate),
}

fn sse(
    frames: Vec<(Before, String)>,
    end: Option<std::io::Error>,
    guard: Option<LiveGuard>,
) -> Response {
    let stream = async_stream(frames, end, guard);
    Response::builder()
        .header(header::CONTENT_TYPE, "text/event-stream")
        .body(Body::from_stream(stream))
        .unwrap()
}

/// Frames with delays, then optionally an error that aborts the connection, or a hang. The
/// guard (of a chat request) is marked finished when the last frame is handed out.
fn async_stream(
    frames: Vec<(Before, String)>,
    end: Option<std::io::Error>,
    guard: Option<LiveGuard>,
) -> impl futures_util::Stream<Item = Result<Bytes, std::io::Error>> {
    let stall = end
        .as_ref()
        .is_some_and(|e| e.kind() == std::io::ErrorKind::WouldBlock);
    let end = end.filter(|_| !stall);
    futures_util::stream::unfold(
        (frames.into_iter(), end, stall, guard),
        |(mut it, end, stall, mut guard)| async move {
            match it.next() {
                Some((before, text)) => {
                    match before {
                        Before::Sleep(d) if d.is_zero() => {}
                        Before::Sleep(d) => tokio::time::sleep(d).await,
                        Before::Gate(gate) => gate.0.cancelled().await,
                    }
                    if it.len() == 0
                        && let Some(g) = guard.as_mut()
                    {
                        g.mark_finished();
                    }
                    Some((Ok(Bytes::from(text)), (it, end, stall, guard)))
                }
                None if stall => {
                    tokio::time::sleep(Duration::from_secs(3600)).await;
                    None
                }
                None => {
                    // Let the chunks already written reach the client before the cut.
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    end.map(|e| (Err(e), (it, None, false, guard)))
                }
            }
        },
    )
}

fn respond(script: Script, mut guard: Option<LiveGuard>) -> Response {
    let content_frames = |content: &[String]| -> Vec<(Before, String)> {
        content
            .iter()
            .map(|c| {
                (
                    Before::Sleep(Duration::ZERO),
                    chunk(json!({"content": c}), None),
                )
            })
            .collect()
    };
    match script {
        Script::Reply {
            reasoning,
            content,
            usage,
            delay,
        } => {
            let mut frames = vec![(Before::Sleep(delay), ": keep-alive\n\n".to_owned())];
            for r in &reasoning {
                let frame = chunk(json!({"reasoning_content": r}), None);
                frames.push((Before::Sleep(delay), frame));
            }
            for c in &content {
                frames.push((Before::Sleep(delay), chunk(json!({"content": c}), None)));
            }
            frames.extend(ending(usage));
            sse(frames, None, guard)
        }
        Script::Held {
            content,
            sent,
            gate,
            delay,
        } => {
            let mut frames = vec![(Before::Sleep(delay), ": keep-alive\n\n".to_owned())];
            for c in &content {
                frames.push((Before::Sleep(delay), chunk(json!({"content": c}), None)));
            }
            let usage = (10, content.len() as i64, 0);
            frames.extend(ending(usage));
            frames[sent + 1].0 = Before::Gate(gate);
            sse(frames, None, guard)
        }
        Script::Status {
            status,
            retry_after,
            message,
        } => {
            // Not a stream: nothing to cut.
            if let Some(g) = guard.as_mut() {
                g.mark_finished();
            }
            let mut res = (
                StatusCode::from_u16(status).unwrap(),
                axum::Json(json!({"error": {"message": message, "type": "fake"}})),
            )
                .into_response();
            if let Some(r) = retry_after {
                res.headers_mut()
                    .insert(header::RETRY_AFTER, r.parse().unwrap());
            }
            res
        }
        Script::Malformed { content } => {
            let mut frames = content_frames(&content);
            let broken = "data: {\"choices\":[{\"delta\":\n\n".to_owned();
            frames.push((Before::Sleep(Duration::ZERO), broken));
            frames.push((Before::Sleep(Duration::ZERO), "data: [DONE]\n\n".to_owned()));
            sse(frames, None, guard)
        }
        Script::Disconnect { content } => sse(
            content_frames(&content),
            Some(std::io::Error::other("scripted disconnect")),
            guard,
        ),
        Script::Stall { content } => sse(
            content_frames(&content),
            Some(std::io::Error::from(std::io::ErrorKind::WouldBlock)),
            guard,
        ),
    }
}

/// The end of a complete reply: the finish reason, the usage, `[DONE]`.
fn ending((p, c, cached): (i64, i64, i64)) -> Vec<(Before, String)> {
    let usage = json!({"id": "chatcmpl-fake", "choices": [], "usage": {
        "prompt_tokens": p, "completion_tokens": c, "total_tokens": p + c,
        "prompt_tokens_details": {"cached_tokens": cached}}});
    vec![
        (
            Before::Sleep(Duration::ZERO),
            chunk(json!({}), Some("stop")),
        ),
        (
            Before::Sleep(Duration::ZERO),
            format!("data: {usage}\r\n\r\n"),
        ),
        (Before::Sleep(Duration::ZERO), "data: [DONE]\n\n".to_owned()),
    ]
}
