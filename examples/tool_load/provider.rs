//! The fake OpenAI-compatible provider of the tool-step benchmark: each chat request gets the
//! next tool call of its turn (or the answer once `steps` calls are done), and the moments that
//! matter are kept per call id: the end of the stream that made the call, and the arrival of the
//! request that carries its result. Title requests get a title.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Instant;

use anyhow::bail;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::response::Response;
use serde_json::{Value, json};

static EPOCH: OnceLock<Instant> = OnceLock::new();

pub fn now_ns() -> u64 {
    EPOCH.get_or_init(Instant::now).elapsed().as_nanos() as u64
}

/// The provider's side: per call id, when its stream ended and when the request carrying its
/// result arrived.
#[derive(Default)]
pub struct Marks {
    pub stream_end: HashMap<String, u64>,
    pub request_at: HashMap<String, u64>,
}

pub struct Fake {
    pub steps: usize,
    pub tool: String,
    pub args: Value,
    pub marks: Mutex<Marks>,
}

fn chunk(delta: Value, finish: Option<&str>) -> String {
    let c = json!({"id": "chatcmpl-bench", "object": "chat.completion.chunk", "model": "bench",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]});
    format!("data: {c}\n\n")
}

fn usage() -> String {
    let u = json!({"id": "chatcmpl-bench", "choices": [],
        "usage": {"prompt_tokens": 100, "completion_tokens": 10, "total_tokens": 110}});
    format!("data: {u}\n\n")
}

fn text_reply(text: &str) -> Vec<String> {
    vec![
        chunk(json!({"content": text}), None),
        chunk(json!({}), Some("stop")),
        usage(),
        "data: [DONE]\n\n".to_owned(),
    ]
}

/// An SSE response of `frames`; with `mark`, the moment its last frame is handed out is kept
/// as the end of that call's stream.
fn sse(frames: Vec<String>, mark: Option<(Arc<Fake>, String)>) -> Response {
    let n = frames.len();
    let stream = futures_util::stream::iter(frames.into_iter().enumerate().map(move |(i, f)| {
        if i + 1 == n
            && let Some((fake, id)) = &mark
        {
            let mut m = fake.marks.lock().unwrap_or_else(|e| e.into_inner());
            m.stream_end.insert(id.clone(), now_ns());
        }
        Ok::<_, std::io::Error>(Bytes::from(f))
    }));
    let mut res = Response::new(Body::from_stream(stream));
    res.headers_mut().insert(
        axum::http::header::CONTENT_TYPE,
        axum::http::HeaderValue::from_static("text/event-stream"),
    );
    res
}

pub async fn completions(State(fake): State<Arc<Fake>>, body: Bytes) -> Response {
    let arrived = now_ns();
    let req: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let msgs = req["messages"].as_array().cloned().unwrap_or_default();
    let system = msgs
        .first()
        .and_then(|m| m["content"].as_str())
        .unwrap_or("");
    if system.contains("short title") {
        return sse(text_reply("Bench"), None);
    }
    let last_user = msgs.iter().rposition(|m| m["role"] == "user").unwrap_or(0);
    let session = msgs
        .get(last_user)
        .and_then(|m| m["content"].as_str())
        .unwrap_or("")
        .trim_start_matches("go ")
        .to_owned();
    let after = msgs.get(last_user + 1..).unwrap_or(&[]);
    let done = after.iter().filter(|m| m["role"] == "tool").count();
    if let Some(id) = after
        .iter()
        .rev()
        .find(|m| m["role"] == "tool")
        .and_then(|m| m["tool_call_id"].as_str())
    {
        let mut m = fake.marks.lock().unwrap_or_else(|e| e.into_inner());
        m.request_at.insert(id.to_owned(), arrived);
    }
    if done >= fake.steps {
        return sse(text_reply("Done."), None);
    }
    let id = format!("call_{session}_{done}");
    let args = fake.args.to_string();
    let (head, tail) = args.split_at(args.len() / 2);
    let frames = vec![
        chunk(
            json!({"tool_calls": [{"index": 0, "id": id, "type": "function",
            "function": {"name": fake.tool, "arguments": head}}]}),
            None,
        ),
        chunk(
            json!({"tool_calls": [{"index": 0, "function": {"arguments": tail}}]}),
            None,
        ),
        chunk(json!({}), Some("tool_calls")),
        usage(),
        "data: [DONE]\n\n".to_owned(),
    ];
    sse(frames, Some((fake.clone(), id)))
}

/// The tool name and arguments each step calls for `--tool`.
pub fn tool_args(tool: &str) -> anyhow::Result<(String, Value)> {
    Ok(match tool {
        "read-file" => (tool.to_owned(), json!({"path": "README.md"})),
        "ls" => (tool.to_owned(), json!({"path": "."})),
        "shell" => (tool.to_owned(), json!({"command": "true"})),
        // Not in the preconfig: the part ends as an error without running anything.
        "none" => ("no-such-tool".to_owned(), json!({})),
        _ => bail!("--tool must be read-file, ls, shell or none"),
    })
}
