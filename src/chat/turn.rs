//! One chat turn, in exactly the order of `PROTOCOL.md` §4.5, steps 1–9: the user message,
//! `runningAt` set, the assistant message and its steps ([`super::steps`]), and its end state
//! (`completed`, `error` or `interrupted`). Step 10 (`runningAt: null`) belongs to the worker
//! in [`super::worker`], which sends it after every turn however the turn ended.

use tokio_util::sync::CancellationToken;

use super::plan::Plan;
use super::{Chat, history, steps};
use crate::events::event::{ProviderError, Usage as WireUsage};
use crate::events::{Audience, ConnId, ServerEvent};
use crate::llm::{LlmError, LlmErrorKind, RetryNotice};
use crate::store::messages::{MessageTokens, MessageUpdate};
use crate::store::{Message, MessageStatus, Part, Session, StoreError};
use crate::time::{now_iso, now_ms};

/// What the turn produced, for the worker (title generation).
pub struct Outcome {
    pub completed: bool,
    pub reply_text: String,
    /// Whether the queue may drain after this turn: after a completed or interrupted turn, a
    /// server error or a timeout; not after a rate limit or a fatal error (§10).
    pub drain: bool,
    /// The provider's message when the turn failed because the conversation no longer fits
    /// the model's window (the worker then compacts and replays, §11.5).
    pub overflow: Option<String>,
    /// Input tokens of the turn's last step (reported, else estimated): what the automatic
    /// compaction threshold is compared with.
    pub input_tokens: Option<i64>,
}

/// Run steps 1–9. Store failures end the turn early (logged; the worker still clears
/// `runningAt`).
pub async fn run(
    chat: &Chat,
    plan: &Plan,
    content: &str,
    origin: Option<ConnId>,
    cancel: &CancellationToken,
) -> Result<Outcome, StoreError> {
    run_with(chat, plan, content, None, origin, cancel).await
}

/// [`run`] for a message with attachments (`[{id, kind}]`): each becomes a part after the
/// text part, and the model receives them ([`super::attachments`]).
pub async fn run_with(
    chat: &Chat,
    plan: &Plan,
    content: &str,
    attachments: Option<&serde_json::Value>,
    origin: Option<ConnId>,
    cancel: &CancellationToken,
) -> Result<Outcome, StoreError> {
    let sid = plan.session.id.as_str();
    let store = chat.store();
    let publish = |e: &ServerEvent| chat.hub().publish(Audience::Session(sid), e);

    // 1–2: the user message, its text part and one part per attachment.
    let now = now_ms();
    let user = store.create_message(&Message::user(sid, now)).await?;
    publish(&ServerEvent::MessageCreated {
        message: Box::new(user.clone()),
    });
    let mut data = serde_json::Map::new();
    data.insert("type".into(), "text".into());
    data.insert("text".into(), content.into());
    let part = Part::new(&user, now, data);
    store.create_part(&part).await?;
    publish(&ServerEvent::PartCreated {
        session_id: sid.to_owned(),
        part: Box::new(part),
    });
    for part in super::attachments::user_parts(store, &user, now, attachments).await? {
        publish(&ServerEvent::PartCreated {
            session_id: sid.to_owned(),
            part: Box::new(part),
        });
    }
    respond(chat, plan, origin, cancel).await
}

/// Steps 3–9 for the session's last user message as stored (a turn on an edited message starts
/// here, `PROTOCOL-AGENT.md` §11.3).
pub async fn respond(
    chat: &Chat,
    plan: &Plan,
    origin: Option<ConnId>,
    cancel: &CancellationToken,
) -> Result<Outcome, StoreError> {
    let sid = plan.session.id.as_str();
    let store = chat.store();
    let publish = |e: &ServerEvent| chat.hub().publish(Audience::Session(sid), e);

    // 3: running, to everyone.
    let at = now_iso();
    let session = store.set_running(sid, Some(&at), &at).await?;
    publish_session_updated(chat, session);

    // 4–5: the assistant message and its steps.
    let media = Some((chat.data_dir(), plan.model.takes_images));
    let system = plan.system_prompt.as_deref();
    let messages = history::conversation_with(store, system, sid, media).await?;
    let m = &plan.model;
    let assistant = Message::assistant(sid, now_ms(), &m.model_id, &m.provider_id);
    let assistant = store.create_message(&assistant).await?;
    publish(&ServerEvent::MessageCreated {
        message: Box::new(assistant.clone()),
    });
    let result = steps::reply(chat, plan, &assistant, messages, origin, cancel).await;
    if result.is_err() {
        // The store failed mid-reply: still end the message, so no client waits on it.
        let update = MessageUpdate {
            status: Some(MessageStatus::Error),
            error: Some("The reply could not be saved".into()),
            ..MessageUpdate::default()
        };
        if let Ok(m) = store.update_message(&assistant.id, &update).await {
            publish(&ServerEvent::MessageUpdated {
                message: Box::new(m),
            });
        }
    }
    result
}

/// `session.updated` (the running state) to everyone who may see the session.
pub(super) fn publish_session_updated(chat: &Chat, session: Session) {
    let owner = session.owner_id.clone();
    chat.hub().publish(
        Audience::Viewers {
            owner: owner.as_deref(),
        },
        &ServerEvent::session_updated(session),
    );
}

pub(super) fn wire_usage(t: &MessageTokens) -> WireUsage {
    WireUsage {
        prompt_tokens: t.prompt,
        completion_tokens: t.completion,
        total_tokens: t.prompt + t.completion,
        cache_read_tokens: t.cache_read,
        cache_write_tokens: t.cache_write,
        no_cache_tokens: t.no_cache,
    }
}

pub(super) fn retry_event(sid: &str, n: &RetryNotice) -> ServerEvent {
    let delay_ms = u64::try_from(n.delay.as_millis()).unwrap_or(u64::MAX);
    let scheduled = n.phase == crate::llm::RetryPhase::Scheduled;
    ServerEvent::ChatRetry {
        session_id: sid.to_owned(),
        status: n.phase.as_str(),
        retry_number: n.retry_number,
        max_retries: n.max_retries,
        error_type: n.error.kind.code(),
        message: n.error.message.clone(),
        delay_ms: scheduled.then_some(delay_ms),
        retry_at: scheduled.then(|| now_ms() + delay_ms as i64),
    }
}

/// The error event that ends a failed turn: `error.rate_limit`, `error.server`,
/// `error.timeout`, or `error` (auth, malformed stream, network, refused request).
pub fn provider_error_event(e: &LlmError, sid: &str) -> ServerEvent {
    let body = |code: &str| ProviderError {
        code: code.to_owned(),
        message: e.message.clone(),
        retry_after_ms: e.retry_after_ms(),
        session_id: Some(sid.to_owned()),
    };
    match e.kind {
        LlmErrorKind::RateLimit => ServerEvent::ErrorRateLimit(body("rate_limit")),
        LlmErrorKind::Server => ServerEvent::ErrorServer(body("server_error")),
        LlmErrorKind::Timeout => ServerEvent::ErrorTimeout(body("timeout")),
        other => ServerEvent::session_error(other.code(), e.message.clone(), sid),
    }
}
