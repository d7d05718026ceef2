//! What the fake provider answers: the [`Script`]s a test queues, and the SSE streams (with
//! their delays and [`Gate`]s) made from them.

use std::time::Duration;

use axum::body::Body;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use super::LiveGuard;

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
    /// Stream these content deltas, then these tool calls `(id, name, arguments)`, each call's
    /// arguments split in two pieces as providers do, then `finish_reason: "tool_calls"`.
    Tools {
        content: Vec<String>,
        calls: Vec<(String, String, String)>,
    },
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

    /// A step that calls tools: `calls` are `(id, name, arguments JSON)`.
    pub fn tools(content: &[&str], calls: &[(&str, &str, Value)]) -> Script {
        Script::Tools {
            content: content.iter().map(|s| s.to_string()).collect(),
            calls: calls
                .iter()
                .map(|(id, name, args)| (id.to_string(), name.to_string(), args.to_string()))
                .collect(),
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

    /// An error answer with this status and provider message.
    pub fn message(status: u16, message: &str) -> Script {
        Script::Status {
            status,
            retry_after: None,
            message: message.to_owned(),
        }
    }

    /// What a provider answers to a conversation that does not fit its window.
    pub fn overflow() -> Script {
        Script::message(400, &super::overflow_message(1000, 1500))
    }

    pub fn status(status: u16, retry_after: Option<&str>) -> Script {
        Script::Status {
            status,
            retry_after: retry_after.map(str::to_owned),
            message: format!("scripted {status}"),
        }
    }
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

/// The response to `script`; `prompt_tokens` replaces the usage's prompt count when set (a
/// fake with a window reports each request's size).
pub(super) fn respond(
    script: Script,
    mut guard: Option<LiveGuard>,
    prompt_tokens: Option<i64>,
) -> Response {
    let usage_of = |(p, c, cached): (i64, i64, i64)| (prompt_tokens.unwrap_or(p), c, cached);
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
            frames.extend(ending(usage_of(usage)));
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
            frames.extend(ending(usage_of(usage)));
            frames[sent + 1].0 = Before::Gate(gate);
            sse(frames, None, guard)
        }
        Script::Tools { content, calls } => {
            let mut frames = content_frames(&content);
            for (i, (id, name, args)) in calls.iter().enumerate() {
                let (head, tail) = args.split_at(args.len() / 2);
                let first = json!({"tool_calls": [{"index": i, "id": id, "type": "function",
                    "function": {"name": name, "arguments": head}}]});
                let rest = json!({"tool_calls": [{"index": i, "function": {"arguments": tail}}]});
                frames.push((Before::Sleep(Duration::ZERO), chunk(first, None)));
                frames.push((Before::Sleep(Duration::ZERO), chunk(rest, None)));
            }
            let mut end = ending(usage_of((10, 5, 0)));
            end[0].1 = chunk(json!({}), Some("tool_calls"));
            frames.extend(end);
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
