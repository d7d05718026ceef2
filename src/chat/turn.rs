//! One chat turn, in exactly the order of `PROTOCOL.md` §4.5, steps 1–9: the user message,
//! `runningAt` set, the assistant message streamed from the provider, and its end state
//! (`completed`, `error` or `interrupted`). Step 10 (`runningAt: null`) belongs to the worker
//! in [`super::worker`], which sends it after every turn however the turn ended.

use serde_json::json;
use tokio_util::sync::CancellationToken;

use super::plan::{self, Plan};
use super::reply::Reply;
use super::stream::{End, stream};
use crate::app::AppState;
use crate::events::event::{ProviderError, Usage as WireUsage};
use crate::events::{Audience, ConnId, ServerEvent};
use crate::llm::{ChatRequest, LlmError, LlmErrorKind, RetryNotice, Usage};
use crate::store::messages::{MessageTokens, MessageUpdate};
use crate::store::sessions::TokenTotals;
use crate::store::{Message, MessageStatus, Part, StoreError};
use crate::time::{now_iso, now_ms};

/// What the turn produced, for the worker (title generation).
pub struct Outcome {
    pub completed: bool,
    pub reply_text: String,
}

/// Run steps 1–9. Store failures end the turn early (logged; the worker still clears
/// `runningAt`).
pub async fn run(
    app: &AppState,
    plan: &Plan,
    content: &str,
    origin: ConnId,
    cancel: &CancellationToken,
) -> Result<Outcome, StoreError> {
    let sid = plan.session.id.as_str();
    let publish = |e: &ServerEvent| app.hub.publish(Audience::Session(sid), e);

    // 1–2: the user message and its text part.
    let now = now_ms();
    let user = app.store.create_message(&Message::user(sid, now)).await?;
    publish(&ServerEvent::MessageCreated {
        message: Box::new(user.clone()),
    });
    let mut data = serde_json::Map::new();
    data.insert("type".into(), "text".into());
    data.insert("text".into(), content.into());
    let part = Part::new(&user, now, data);
    app.store.create_part(&part).await?;
    publish(&ServerEvent::PartCreated {
        session_id: sid.to_owned(),
        part: Box::new(part),
    });

    // 3: running, to everyone.
    let at = now_iso();
    let session = app.store.set_running(sid, Some(&at), &at).await?;
    let owner = app.store.workspace_owner(&session.workspace_id).await?;
    app.hub.publish_owned(
        Audience::All,
        owner.as_deref(),
        &ServerEvent::session_updated(session),
    );

    // 4–5: the assistant message and its step.
    let messages = plan::conversation(&app.store, plan.system_prompt.as_deref(), sid).await?;
    let m = &plan.model;
    let assistant = Message::assistant(sid, now_ms(), &m.model_id, &m.provider_id);
    let assistant = app.store.create_message(&assistant).await?;
    publish(&ServerEvent::MessageCreated {
        message: Box::new(assistant.clone()),
    });
    let result = reply_and_finish(app, plan, &assistant, messages, origin, cancel).await;
    if result.is_err() {
        // The store failed mid-reply: still end the message, so no client waits on it.
        let update = MessageUpdate {
            status: Some(MessageStatus::Error),
            completed_at: Some(now_ms()),
            error: Some("The reply could not be saved".into()),
            ..MessageUpdate::default()
        };
        if let Ok(m) = app.store.update_message(&assistant.id, &update).await {
            publish(&ServerEvent::MessageUpdated {
                message: Box::new(m),
            });
        }
    }
    result
}

/// Steps 5–9 for the assistant message just created.
async fn reply_and_finish(
    app: &AppState,
    plan: &Plan,
    assistant: &Message,
    messages: Vec<crate::llm::ChatMessage>,
    origin: ConnId,
    cancel: &CancellationToken,
) -> Result<Outcome, StoreError> {
    let sid = plan.session.id.as_str();
    let m = &plan.model;
    let publish = |e: &ServerEvent| app.hub.publish(Audience::Session(sid), e);
    let mut reply = Reply::new(app.clone(), assistant.clone(), assistant.created_at);
    let mut step = reply
        .create_part(json!({"type": "step", "number": 1, "status": "started"}))
        .await?;

    // 6: stream.
    let request = ChatRequest {
        base_url: m.base_url.clone(),
        api_key: Some(m.api_key.clone()),
        model: m.model_id.clone(),
        messages,
        temperature: plan.temperature,
        max_tokens: plan.max_tokens,
    };
    let mut usage: Option<Usage> = None;
    let end = stream(app, sid, &request, &mut reply, &mut usage, cancel).await;
    reply.finish().await;

    // 7: the step ends.
    let u = usage.unwrap_or_default();
    let tokens = MessageTokens {
        prompt: u.prompt_tokens,
        completion: u.completion_tokens,
        cache_read: u.cached_tokens,
        cache_write: 0,
        no_cache: (u.prompt_tokens - u.cached_tokens).max(0),
    };
    let finish_reason = match &end {
        End::Completed { finish } => finish.clone(),
        End::Failed(_) => "error".to_owned(),
        End::Interrupted(_) => "interrupted".to_owned(),
    };
    step.data.insert("status".into(), "finished".into());
    step.data
        .insert("finishReason".into(), finish_reason.into());
    step.data.insert(
        "tokens".into(),
        serde_json::to_value(tokens).unwrap_or_default(),
    );
    app.store.update_part_data(&step.id, &step.data).await?;
    publish(&ServerEvent::PartUpdated {
        session_id: sid.to_owned(),
        part: Box::new(step),
    });
    let chat_usage = ServerEvent::ChatUsage {
        session_id: sid.to_owned(),
        usage: wire_usage(&tokens),
        model: m.model_id.clone(),
    };
    if usage.is_some() {
        publish(&chat_usage);
    }

    // 8: the message's end state.
    let (status, error) = match &end {
        End::Completed { .. } => (MessageStatus::Completed, None),
        End::Failed(e) => (MessageStatus::Error, Some(e.message.clone())),
        End::Interrupted(why) => (MessageStatus::Interrupted, Some((*why).to_owned())),
    };
    let update = MessageUpdate {
        status: Some(status),
        tokens: Some(tokens),
        completed_at: Some(now_ms()),
        error,
        ..MessageUpdate::default()
    };
    let done = app.store.update_message(&assistant.id, &update).await?;
    publish(&ServerEvent::MessageUpdated {
        message: Box::new(done),
    });
    if usage.is_some() {
        let totals = TokenTotals {
            prompt: tokens.prompt,
            completion: tokens.completion,
            cache_read: tokens.cache_read,
            cache_write: tokens.cache_write,
            no_cache: tokens.no_cache,
        };
        app.store
            .add_session_tokens(sid, totals, &now_iso())
            .await?;
    }
    match &end {
        // 9: the final totals.
        End::Completed { .. } => {
            publish(&chat_usage);
        }
        End::Failed(e) => {
            tracing::warn!(session.id = sid, error = %e, kind = ?e.kind, "chat turn failed");
            app.hub
                .publish(Audience::Conn(origin), &provider_error_event(e, sid));
        }
        End::Interrupted(_) => {}
    }
    Ok(Outcome {
        completed: matches!(end, End::Completed { .. }),
        reply_text: reply.text().to_owned(),
    })
}

fn wire_usage(t: &MessageTokens) -> WireUsage {
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
