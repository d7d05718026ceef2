//! A fake OpenAI-compatible provider: a real HTTP server on port 0 answering
//! `POST /v1/chat/completions` with scripted SSE streams (chunks, reasoning, usage, 429 then
//! success, 500, streams held at a [`Gate`] until the test opens it, malformed
//! chunks, early disconnects). It records every request body so tests can check the
//! conversation that was sent, and counts the streams the server cut. Title-generation
//! requests (their system prompt mentions a "title") and compaction summaries (one user message
//! starting with [`SUMMARY_START`]) are answered separately so they never eat a script. With a
//! context window set ([`FakeLlm::set_context_window`]) it behaves like a real model: usage
//! reports the request's size (a quarter of its characters), and a request larger than the
//! window is refused with a 400 "maximum context length" error.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::post;
use bytes::Bytes;
use serde_json::Value;

mod script;

use script::respond;
pub use script::{Gate, Script};

#[derive(Default)]
struct Inner {
    scripts: VecDeque<Script>,
    requests: Vec<Value>,
    title_requests: Vec<Value>,
    /// `None`: answer title requests with "Fake Title"; `Some(status)`: fail with it.
    title_failure: Option<u16>,
    summary_requests: Vec<Value>,
    /// `Some(status)`: fail summary requests with it.
    summary_failure: Option<u16>,
    /// Summary streams wait here before their text, while set.
    summary_gate: Option<Gate>,
    /// The window in (estimated) tokens: larger requests are refused, usage is their size.
    context_window: Option<i64>,
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

    /// Compaction summary request bodies received so far.
    pub fn summary_requests(&self) -> Vec<Value> {
        self.inner.lock().unwrap().summary_requests.clone()
    }

    pub fn fail_summaries(&self, status: u16) {
        self.inner.lock().unwrap().summary_failure = Some(status);
    }

    /// Hold every summary stream at `gate` (before its text) until the test opens it.
    pub fn hold_summaries(&self, gate: &Gate) {
        self.inner.lock().unwrap().summary_gate = Some(gate.clone());
    }

    /// Behave like a model with a window of `tokens` (see the module doc).
    pub fn set_context_window(&self, tokens: i64) {
        self.inner.lock().unwrap().context_window = Some(tokens);
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

/// How the server's compaction summary requests begin.
pub const SUMMARY_START: &str = "Summarize the conversation below";

/// The text of every summary the fake writes (`n`: the how-many-th summary request).
pub fn summary_text(n: usize) -> String {
    format!("SUMMARY #{n}: the user and the assistant talked at length.")
}

fn is_title_request(body: &Value) -> bool {
    body["messages"][0]["role"] == "system"
        && body["messages"][0]["content"]
            .as_str()
            .is_some_and(|c| c.to_lowercase().contains("title"))
}

fn is_summary_request(body: &Value) -> bool {
    let messages = body["messages"].as_array().map_or(&[][..], Vec::as_slice);
    messages.len() == 1
        && messages[0]["role"] == "user"
        && messages[0]["content"]
            .as_str()
            .is_some_and(|c| c.starts_with(SUMMARY_START))
}

/// A request's size in tokens as the fake counts them: a quarter of the characters of its
/// messages' contents and tool-call arguments.
pub fn estimate_tokens(body: &Value) -> i64 {
    let mut chars = 0;
    for m in body["messages"].as_array().map_or(&[][..], Vec::as_slice) {
        chars += m["content"].as_str().map_or(0, str::len);
        for call in m["tool_calls"].as_array().map_or(&[][..], Vec::as_slice) {
            chars += call["function"]["arguments"].as_str().map_or(0, str::len);
        }
    }
    (chars as i64 + 3) / 4
}

/// The error a real provider gives for a request over the window.
pub fn overflow_message(window: i64, tokens: i64) -> String {
    format!(
        "This model's maximum context length is {window} tokens. However, your messages \
         resulted in {tokens} tokens. Please reduce the length of the messages."
    )
}

async fn completions(State(inner): State<Arc<Mutex<Inner>>>, body: Bytes) -> Response {
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let script = {
        let mut g = inner.lock().unwrap();
        let size = estimate_tokens(&body);
        let window = g.context_window;
        let over = window.filter(|w| size > *w);
        let usage = window.map(|_| size);
        if is_title_request(&body) {
            g.title_requests.push(body);
            match g.title_failure {
                Some(status) => Script::status(status, None),
                None => Script::reply(&["Fake", " Title"]),
            }
        } else if is_summary_request(&body) {
            g.summary_requests.push(body);
            let n = g.summary_requests.len();
            let text = summary_text(n);
            let script = match (over, g.summary_failure, &g.summary_gate) {
                (Some(w), _, _) => Script::message(400, &overflow_message(w, size)),
                (None, Some(status), _) => Script::status(status, None),
                (None, None, Some(gate)) => Script::held(&[&text], 0, gate),
                (None, None, None) => Script::reply(&[&text]),
            };
            return respond(script, None, usage);
        } else {
            g.requests.push(body);
            let script = g
                .scripts
                .pop_front()
                .unwrap_or_else(|| Script::reply(&["Hello", " there"]));
            let script = match over {
                Some(w) => Script::message(400, &overflow_message(w, size)),
                None => script,
            };
            let guard = LiveGuard::new(g.streams.clone());
            return respond(script, Some(guard), usage);
        }
    };
    respond(script, None, None)
}
