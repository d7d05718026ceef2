//! The provider stream of one step: start it (retries announced as `chat.retry`), forward each
//! text and reasoning delta into the reply's parts, collect the tool calls, flush snapshots on
//! time, and stop at once on interrupt or shutdown. When the session's readers fall behind,
//! deltas already delivered are merged so a bursting provider cannot fill a client's queue
//! until it is evicted.

use futures_util::FutureExt;
use tokio_util::sync::CancellationToken;

use super::Chat;
use super::calls::{Call, Calls};
use super::reply::{Field, Reply};
use super::turn::retry_event;
use crate::events::{Audience, Hub, ServerEvent};
use crate::llm::{ChatRequest, ChatStream, Delta, LlmError, LlmErrorKind, RetryNotice, Usage};

/// The `error` of a reply the user stopped.
pub const INTERRUPTED: &str = "Interrupted by user";
/// The `error` of a reply cut by a graceful shutdown.
pub const SHUTDOWN: &str = "Interrupted: the server shut down";

/// How the provider stream ended.
#[derive(Debug)]
pub enum End {
    Completed { finish: String },
    Failed(LlmError),
    Interrupted(&'static str),
}

/// What one step's stream produced.
pub struct StepStream {
    pub end: End,
    pub usage: Option<Usage>,
    /// The tool calls the model made, in the order it made them.
    pub calls: Vec<Call>,
}

/// Why a turn's cancel token fired: a shutdown cancels every turn (their tokens are its
/// children), an interrupt only its own.
pub fn why_stopped(chat: &Chat) -> &'static str {
    if chat.shutdown_token().is_cancelled() {
        SHUTDOWN
    } else {
        INTERRUPTED
    }
}

/// Call the provider and forward every delta until the step ends, fails or is interrupted.
pub async fn stream(
    chat: &Chat,
    sid: &str,
    request: &ChatRequest,
    reply: &mut Reply,
    cancel: &CancellationToken,
) -> StepStream {
    let mut out = StepStream {
        end: End::Completed {
            finish: "stop".into(),
        },
        usage: None,
        calls: Vec::new(),
    };
    let mut provider = match start(chat, sid, request, cancel).await {
        Ok(p) => p,
        Err(end) => {
            out.end = end;
            return out;
        }
    };
    let mut calls = Calls::default();
    out.end = forward(
        chat,
        sid,
        &mut provider,
        reply,
        cancel,
        &mut calls,
        &mut out.usage,
    )
    .await;
    out.calls = calls.finish();
    out
}

/// Open the stream, with retries; an `Err` is how the step ended instead.
async fn start(
    chat: &Chat,
    sid: &str,
    request: &ChatRequest,
    cancel: &CancellationToken,
) -> Result<ChatStream, End> {
    let mut retried = None;
    let on_retry = |n: RetryNotice| {
        retried = Some((n.retry_number, n.max_retries, n.error.kind));
        chat.hub()
            .publish(Audience::Session(sid), &retry_event(sid, &n));
    };
    let started = tokio::select! {
        biased;
        _ = cancel.cancelled() => None,
        r = chat.llm().stream(request, on_retry) => Some(r),
    };
    match started {
        Some(Ok(s)) => Ok(s),
        Some(Err(e)) => Err(End::Failed(e)),
        None => {
            let why = why_stopped(chat);
            if let Some((n, max, kind)) = retried {
                chat.hub().publish(
                    Audience::Session(sid),
                    &ServerEvent::ChatRetry {
                        session_id: sid.to_owned(),
                        status: "cancelled",
                        retry_number: n,
                        max_retries: max,
                        error_type: kind.code(),
                        message: why.to_owned(),
                        delay_ms: None,
                        retry_at: None,
                    },
                );
            }
            Err(End::Interrupted(why))
        }
    }
}

/// Forward deltas until the stream ends.
async fn forward(
    chat: &Chat,
    sid: &str,
    provider: &mut ChatStream,
    reply: &mut Reply,
    cancel: &CancellationToken,
    calls: &mut Calls,
    usage: &mut Option<Usage>,
) -> End {
    let mut finish = None;
    // A delta read ahead while merging, handled before reading more.
    let mut carry = None;
    loop {
        let next = match carry.take() {
            Some(n) => n,
            None => {
                let due = reply.flush_due();
                tokio::select! {
                    biased;
                    _ = cancel.cancelled() => return End::Interrupted(why_stopped(chat)),
                    _ = sleep_until(due) => {
                        reply.flush();
                        continue;
                    }
                    n = provider.next() => n,
                }
            }
        };
        let result = match next {
            Ok(Some(Delta::Content(mut t))) => {
                carry = coalesce(chat.hub(), sid, provider, Field::Text, &mut t);
                reply.push(Field::Text, t).await
            }
            Ok(Some(Delta::Reasoning(mut t))) => {
                carry = coalesce(chat.hub(), sid, provider, Field::Reasoning, &mut t);
                reply.push(Field::Reasoning, t).await
            }
            Ok(Some(Delta::ToolCall(piece))) => {
                // A tool call closes the text before it (§8.3).
                if calls.push(piece) {
                    reply.close_live();
                }
                Ok(())
            }
            Ok(Some(Delta::Usage(u))) => {
                *usage = Some(u);
                Ok(())
            }
            Ok(Some(Delta::Finish(f))) => {
                finish = Some(f);
                Ok(())
            }
            Ok(None) => {
                return End::Completed {
                    finish: finish.unwrap_or_else(|| "stop".into()),
                };
            }
            Err(e) => return End::Failed(e),
        };
        if let Err(e) = result {
            tracing::error!(session.id = sid, error = %e, "cannot save a streamed part");
            return End::Failed(LlmError::new(
                LlmErrorKind::Request,
                "The reply could not be saved",
            ));
        }
    }
}

/// Frames waiting for the slowest participant above which deltas are merged.
const COALESCE_AT: usize = 32;
/// The most deltas merged into one `part.append`.
const COALESCE_MAX: usize = 256;

/// When the session's readers fall behind, append to `buf` the deltas of the same field that
/// the provider has already delivered (without waiting), so one `part.append` carries them.
/// Returns a delta of another kind read on the way, to be handled next.
fn coalesce(
    hub: &Hub,
    sid: &str,
    provider: &mut ChatStream,
    field: Field,
    buf: &mut String,
) -> Option<Result<Option<Delta>, LlmError>> {
    if hub.session_backlog(sid) < COALESCE_AT {
        return None;
    }
    for _ in 0..COALESCE_MAX {
        // `next` is cancel-safe: a poll that finds nothing ready loses nothing.
        match provider.next().now_or_never()? {
            Ok(Some(Delta::Content(t))) if field == Field::Text => buf.push_str(&t),
            Ok(Some(Delta::Reasoning(t))) if field == Field::Reasoning => buf.push_str(&t),
            other => return Some(other),
        }
    }
    None
}

async fn sleep_until(due: Option<std::time::Instant>) {
    match due {
        Some(t) => tokio::time::sleep_until(t.into()).await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Scope;

    const CHUNKS: [&str; 4] = [
        "data: {\"choices\":[{\"delta\":{\"content\":\"a\"}}]}\n\n",
        "data: {\"choices\":[{\"delta\":{\"content\":\"b\"}}]}\n\n",
        "data: {\"choices\":[{\"delta\":{\"content\":\"c\"}}]}\n\n",
        "data: {\"choices\":[{\"delta\":{\"reasoning\":\"r\"}}]}\n\n",
    ];

    #[tokio::test]
    async fn deltas_are_merged_only_while_readers_fall_behind() {
        let hub = Hub::new();
        let conn = hub.register(Scope::All, crate::events::Credential::Open);
        hub.join_session(conn.id, "s");

        let mut provider = ChatStream::from_sse(CHUNKS.to_vec());
        let mut buf = String::new();
        assert!(coalesce(&hub, "s", &mut provider, Field::Text, &mut buf).is_none());
        assert_eq!(buf, "", "a reader keeping up gets every chunk on its own");

        for _ in 0..COALESCE_AT {
            hub.publish(Audience::Session("s"), &ServerEvent::Ping);
        }
        let mut buf = String::from("a");
        provider.next().await.unwrap(); // "a", already in buf
        let carry = coalesce(&hub, "s", &mut provider, Field::Text, &mut buf);
        assert_eq!(buf, "abc", "the ready text deltas are merged");
        assert!(
            matches!(carry, Some(Ok(Some(Delta::Reasoning(ref r)))) if r == "r"),
            "a delta of another kind is handed back: {carry:?}"
        );
        let _ = conn.link.take();
    }
}
