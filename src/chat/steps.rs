//! The steps of a turn (`PROTOCOL-AGENT.md` §8.3): each step is a `step` part, one provider
//! call streamed into the reply, then the tool calls it made ([`super::act`]) and the step's end
//! (`finishReason`, its usage in `chat.usage`). The turn goes on while the model calls tools,
//! up to `JEAN2_LLM_MAX_STEPS`; then the assistant message gets its end state.

use serde_json::json;
use tokio_util::sync::CancellationToken;

use super::Chat;
use super::act::act;
use super::plan::Plan;
use super::reply::Reply;
use super::stream::{End, stream, why_stopped};
use super::turn::{Outcome, provider_error_event, wire_usage};
use crate::events::{Audience, ConnId, ServerEvent};
use crate::llm::{ChatMessage, LlmErrorKind, Usage};
use crate::store::messages::{MessageTokens, MessageUpdate};
use crate::store::sessions::TokenTotals;
use crate::store::{Message, MessageStatus, StoreError};
use crate::time::{now_iso, now_ms};

/// How one step ended.
struct StepEnd {
    end: End,
    usage: Option<Usage>,
    /// The model called tools and they ran: another step follows (budget permitting).
    more: bool,
}

/// Steps 5–9 of §4.5 for the assistant message just created, with as many steps as the model
/// needs (and the budget allows).
pub async fn reply(
    chat: &Chat,
    plan: &Plan,
    assistant: &Message,
    mut history: Vec<ChatMessage>,
    origin: Option<ConnId>,
    cancel: &CancellationToken,
) -> Result<Outcome, StoreError> {
    let mut reply = Reply::new(chat.clone(), assistant.clone(), assistant.created_at);
    let max_steps = chat.llm_settings().max_steps.max(1);
    let mut last_usage = None;
    let mut input_tokens = None;
    let mut end = End::Completed {
        finish: "stop".into(),
    };
    for number in 1..=max_steps {
        // What this step sends, in case the provider reports no usage.
        let estimate = estimate_tokens(&history);
        let step = step(chat, plan, &mut reply, &mut history, number, cancel).await?;
        input_tokens = Some(step.usage.map_or(estimate, |u| u.prompt_tokens));
        last_usage = step.usage.or(last_usage);
        end = step.end;
        if !step.more {
            break;
        }
    }
    reply.finish().await;
    finish(chat, plan, assistant, &end, last_usage, origin).await?;
    let drain = match &end {
        End::Completed { .. } | End::Interrupted(_) => true,
        End::Failed(e) => matches!(e.kind, LlmErrorKind::Server | LlmErrorKind::Timeout),
    };
    let overflow = match &end {
        End::Failed(e) if e.kind == LlmErrorKind::ContextOverflow => Some(e.message.clone()),
        _ => None,
    };
    Ok(Outcome {
        completed: matches!(end, End::Completed { .. }),
        reply_text: reply.text().to_owned(),
        drain,
        overflow,
        input_tokens,
    })
}

/// A rough token count of a request (a quarter of its JSON), for providers that report none.
fn estimate_tokens(history: &[ChatMessage]) -> i64 {
    let chars = serde_json::to_string(history).map_or(0, |s| s.len());
    i64::try_from(chars / 4).unwrap_or(i64::MAX)
}

/// One step: its part, the provider call, the tools it asked for, and its end.
async fn step(
    chat: &Chat,
    plan: &Plan,
    reply: &mut Reply,
    history: &mut Vec<ChatMessage>,
    number: u32,
    cancel: &CancellationToken,
) -> Result<StepEnd, StoreError> {
    let mut part = reply
        .create_part(json!({"type": "step", "number": number, "status": "started"}))
        .await?;
    let request = plan.request(history.clone());
    let out = stream(chat, &plan.session.id, &request, reply, cancel).await;
    reply.close_live();
    let step_text = reply.take_step_text();
    let mut end = out.end;
    let mut more = false;
    if !out.calls.is_empty() && matches!(end, End::Completed { .. }) {
        let acted = act(chat, plan, reply, &out.calls, step_text, cancel).await?;
        if acted.interrupted {
            end = End::Interrupted(why_stopped(chat));
        } else {
            history.extend(acted.messages);
            more = true;
        }
    }
    // The reasons the SDK knows (`stop`, `tool-calls`, `length`, `error`); a step cut by an
    // interrupt has none, as upstream's never reaches its step callback.
    let finish_reason = match &end {
        End::Completed { .. } if more => Some("tool-calls".to_owned()),
        End::Completed { finish } => Some(finish.replace('_', "-")),
        End::Failed(_) => Some("error".to_owned()),
        End::Interrupted(_) => None,
    };
    let tokens = tokens_of(out.usage);
    part.data.insert("status".into(), "finished".into());
    if let Some(reason) = finish_reason {
        part.data.insert("finishReason".into(), reason.into());
    }
    part.data.insert("tokens".into(), json!(tokens));
    reply.update_part(&part).await?;
    // An interrupted turn sends no `chat.usage` (§8.4 step 5).
    if out.usage.is_some() && !matches!(end, End::Interrupted(_)) {
        publish(chat, plan, &usage_event(plan, &tokens));
    }
    Ok(StepEnd {
        end,
        usage: out.usage,
        more,
    })
}

fn tokens_of(usage: Option<Usage>) -> MessageTokens {
    let u = usage.unwrap_or_default();
    MessageTokens {
        prompt: u.prompt_tokens,
        completion: u.completion_tokens,
        cache_read: u.cached_tokens,
        cache_write: 0,
        no_cache: (u.prompt_tokens - u.cached_tokens).max(0),
    }
}

fn usage_event(plan: &Plan, tokens: &MessageTokens) -> ServerEvent {
    ServerEvent::ChatUsage {
        session_id: plan.session.id.clone(),
        usage: wire_usage(tokens),
        model: plan.model.model_id.clone(),
    }
}

fn publish(chat: &Chat, plan: &Plan, event: &ServerEvent) {
    chat.hub()
        .publish(Audience::Session(&plan.session.id), event);
}

/// Steps 8–9: the message's end state with the last step's usage, written over the session's
/// token fields (it stands for the current context size, §8.3: not a sum), and the final
/// `chat.usage` (or the error for the sender).
async fn finish(
    chat: &Chat,
    plan: &Plan,
    assistant: &Message,
    end: &End,
    usage: Option<Usage>,
    origin: Option<ConnId>,
) -> Result<(), StoreError> {
    let sid = plan.session.id.as_str();
    let tokens = tokens_of(usage);
    let (status, error) = match end {
        End::Completed { .. } => (MessageStatus::Completed, None),
        End::Failed(e) => (MessageStatus::Error, Some(e.message.clone())),
        End::Interrupted(why) => (MessageStatus::Interrupted, Some((*why).to_owned())),
    };
    let update = MessageUpdate {
        status: Some(status),
        tokens: Some(tokens),
        // Only a completed reply has a `completedAt`; an interrupted or failed one has none (§8.4).
        completed_at: matches!(end, End::Completed { .. }).then(now_ms),
        error,
        ..MessageUpdate::default()
    };
    let done = chat.store().update_message(&assistant.id, &update).await?;
    publish(
        chat,
        plan,
        &ServerEvent::MessageUpdated {
            message: Box::new(done),
        },
    );
    if usage.is_some() {
        let totals = TokenTotals {
            prompt: tokens.prompt,
            completion: tokens.completion,
            cache_read: tokens.cache_read,
            cache_write: tokens.cache_write,
            no_cache: tokens.no_cache,
        };
        chat.store()
            .set_session_tokens(sid, totals, &now_iso())
            .await?;
    }
    match end {
        // 9: the final totals.
        End::Completed { .. } if usage.is_some() => {
            publish(chat, plan, &usage_event(plan, &tokens))
        }
        End::Completed { .. } | End::Interrupted(_) => {}
        // No error yet: the worker compacts and replays (§8.4); it reports if that fails.
        End::Failed(e) if e.kind == LlmErrorKind::ContextOverflow => {
            tracing::info!(session.id = sid, error = %e, "the conversation overflowed the model's window");
        }
        End::Failed(e) => {
            tracing::warn!(session.id = sid, error = %e, kind = ?e.kind, "chat turn failed");
            let event = provider_error_event(e, sid);
            match origin {
                Some(conn) => chat.hub().publish(Audience::Conn(conn), &event),
                // A turn from the queue: its sender may be gone; the session hears it.
                None => chat.hub().publish(Audience::Session(sid), &event),
            };
        }
    }
    Ok(())
}
