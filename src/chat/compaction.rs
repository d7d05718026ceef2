//! A compaction (`PROTOCOL-AGENT.md` §11.5): summarise a session's history with one call to
//! its model, so that later turns send only the summary and what follows. The caller holds the
//! session's worker slot (no turn runs meanwhile). In order, with the events the clients see:
//! 1. `compacting` set (`session.updated`);
//! 2. the trigger: a user message with a `compaction` part (`message.created`, `part.created`);
//! 3. the summary call (no tools, no system prompt) on the conversation since the last summary;
//! 4. the summary message and its text, with old tool outputs marked `compactedAt`, the call's
//!    usage as the session's tokens and `compacting` cleared, written at once
//!    (`message.created`, `part.created`, `session.updated`);
//!
//! or, when it fails after the trigger, a `compact_failed` message saying why and the flag
//! cleared. A crash in between is ended by [`crate::chat::recover`] at the next start.

use serde_json::{Map, Value, json};
use tokio_util::sync::CancellationToken;

use super::Chat;
use super::stream::why_stopped;
use super::summary::{self, TOO_SHORT};
use super::turn::publish_session_updated;
use crate::events::{Audience, ServerEvent};
use crate::llm::registry::ResolvedModel;
use crate::llm::{ChatMessage, ChatRequest, Delta, LlmError};
use crate::store::compaction::{CompactionDone, CompactionSource};
use crate::store::messages::MessageTokens;
use crate::store::sessions::TokenTotals;
use crate::store::{Message, MessageStatus, Part, StoreError};
use crate::time::{now_iso, now_ms};

/// The most messages a compaction reads (the newest ones since the last summary).
const SOURCE_LIMIT: u32 = 1000;
/// What a summary cut short by its output limit ends with.
const TRUNCATED_NOTE: &str =
    "\n\n[The summary was cut short by the model's output limit; some details may be missing.]";

/// Why a compaction runs: the `auto` and `overflow` flags of its `compaction` part.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// `session.compact`.
    Manual,
    /// A turn's input neared the model's window.
    Auto,
    /// The provider refused a turn for its length.
    Overflow,
}

/// A compaction that did not happen (`began: false`, nothing written) or failed (its
/// failure is in the transcript).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failed {
    pub message: String,
    pub began: bool,
}

impl Failed {
    fn before(message: impl Into<String>) -> Self {
        Failed {
            message: message.into(),
            began: false,
        }
    }
}

fn publish(chat: &Chat, sid: &str, event: &ServerEvent) {
    chat.hub().publish(Audience::Session(sid), event);
}

fn created(chat: &Chat, message: &Message, parts: &[Part]) {
    let sid = &message.session_id;
    let event = ServerEvent::MessageCreated {
        message: Box::new(message.clone()),
    };
    publish(chat, sid, &event);
    for p in parts {
        let event = ServerEvent::PartCreated {
            session_id: sid.clone(),
            part: Box::new(p.clone()),
        };
        publish(chat, sid, &event);
    }
}

fn part(message: &Message, at: i64, data: Value) -> Part {
    let data = match data {
        Value::Object(m) => m,
        _ => Map::new(),
    };
    Part::new(message, at, data)
}

fn store_failed(e: StoreError) -> Failed {
    tracing::error!(error = %e, "compaction could not be saved");
    Failed::before("The compaction could not be saved")
}

/// Compact session `sid` with `model` (see the module doc); the summary call's usage.
pub async fn compact(
    chat: &Chat,
    sid: &str,
    model: &ResolvedModel,
    reason: Reason,
    cancel: &CancellationToken,
) -> Result<MessageTokens, Failed> {
    let store = chat.store();
    let on = store
        .set_compacting(sid, true, &now_iso())
        .await
        .map_err(store_failed)?;
    publish_session_updated(chat, on);
    let source = match store.compaction_source(sid, SOURCE_LIMIT).await {
        Ok(s) if summary::worth_compacting(&s.messages) => s,
        Ok(_) => return Err(clear(chat, sid, Failed::before(TOO_SHORT)).await),
        Err(e) => return Err(clear(chat, sid, store_failed(e)).await),
    };
    let at = now_ms();
    let trigger = Message::user(sid, at);
    let flags = json!({"type": "compaction", "auto": reason != Reason::Manual,
                       "overflow": reason == Reason::Overflow});
    let trigger_part = part(&trigger, at, flags);
    let trigger = match store
        .create_message_with_parts(&trigger, std::slice::from_ref(&trigger_part))
        .await
    {
        Ok(t) => t,
        Err(e) => return Err(clear(chat, sid, store_failed(e)).await),
    };
    created(chat, &trigger, &[trigger_part]);
    let summarised = tokio::select! {
        biased;
        _ = cancel.cancelled() => Err(why_stopped(chat).to_owned()),
        r = summarise(chat, model, &source) => r.map_err(|e| e.message),
    };
    match summarised {
        Ok((text, tokens)) => finish(chat, &trigger, model, &source, text, tokens).await,
        Err(why) => Err(fail(chat, &trigger, why).await),
    }
}

/// Clear the flag after a refusal before the trigger; `failed` back.
async fn clear(chat: &Chat, sid: &str, failed: Failed) -> Failed {
    match chat.store().set_compacting(sid, false, &now_iso()).await {
        Ok(s) => publish_session_updated(chat, s),
        Err(e) => tracing::error!(session.id = sid, error = %e, "cannot clear compacting"),
    }
    failed
}

/// The summary call: its text and usage.
async fn summarise(
    chat: &Chat,
    model: &ResolvedModel,
    source: &CompactionSource,
) -> Result<(String, MessageTokens), LlmError> {
    let max = summary::summary_max_tokens(model.context_window, model.max_output_tokens);
    let budget = summary::conversation_budget(model.context_window, max);
    let conversation = summary::conversation_text(&source.messages, budget);
    let prompt = summary::prompt(source.previous_summary.as_deref(), &conversation);
    let mut request = ChatRequest::new(
        &model.base_url,
        Some(model.api_key.clone()),
        &model.model_id,
    );
    request.messages = vec![ChatMessage::new("user", prompt)];
    request.max_tokens = u32::try_from(max).ok();
    let mut stream = chat.llm().stream(&request, |_| {}).await?;
    let (mut text, mut tokens, mut finish) = (String::new(), MessageTokens::default(), None);
    while let Some(d) = stream.next().await? {
        match d {
            Delta::Content(t) => text.push_str(&t),
            Delta::Usage(u) => {
                tokens = MessageTokens {
                    prompt: u.prompt_tokens,
                    completion: u.completion_tokens,
                    cache_read: u.cached_tokens,
                    cache_write: 0,
                    no_cache: (u.prompt_tokens - u.cached_tokens).max(0),
                }
            }
            Delta::Finish(f) => finish = Some(f),
            _ => {}
        }
    }
    let text = text.trim().to_owned();
    if text.is_empty() {
        return Err(LlmError::new(
            crate::llm::LlmErrorKind::Malformed,
            "The model returned an empty summary",
        ));
    }
    if finish.as_deref() == Some("length") {
        return Ok((text + TRUNCATED_NOTE, tokens));
    }
    Ok((text, tokens))
}

/// Write the summary (step 4) and tell the session.
async fn finish(
    chat: &Chat,
    trigger: &Message,
    model: &ResolvedModel,
    source: &CompactionSource,
    text: String,
    tokens: MessageTokens,
) -> Result<MessageTokens, Failed> {
    let at = now_ms().max(trigger.created_at + 1);
    let mut summary =
        Message::assistant(&trigger.session_id, at, &model.model_id, &model.provider_id);
    if let Some(a) = summary.assistant.as_mut() {
        a.status = MessageStatus::Completed;
        a.tokens = tokens;
        a.completed_at = Some(at);
        a.summary = true;
        a.mode = Some("compaction".into());
        a.parent_id = Some(trigger.id.clone());
    }
    let text = part(&summary, at, json!({"type": "text", "text": text}));
    let done = CompactionDone {
        summary: summary.clone(),
        text: text.clone(),
        pruned: summary::outputs_to_clear(&source.messages),
        compacted_at: at,
        tokens: TokenTotals {
            prompt: tokens.prompt,
            completion: tokens.completion,
            cache_read: tokens.cache_read,
            cache_write: tokens.cache_write,
            no_cache: tokens.no_cache,
        },
        now: now_iso(),
    };
    match chat.store().finish_compaction(done).await {
        Ok(session) => {
            created(chat, &summary, &[text]);
            publish_session_updated(chat, session);
            Ok(tokens)
        }
        Err(e) => {
            tracing::error!(session.id = %trigger.session_id, error = %e, "cannot save a summary");
            Err(fail(chat, trigger, "The summary could not be saved".into()).await)
        }
    }
}

/// The `compact_failed` outcome of `trigger` (also what recovery writes after a crash).
pub fn failure_outcome(
    session_id: &str,
    trigger_id: &str,
    why: &str,
    at: i64,
) -> (Message, Vec<Part>) {
    let mut m = Message::assistant(session_id, at, "", "");
    if let Some(a) = m.assistant.as_mut() {
        a.status = MessageStatus::Error;
        a.completed_at = Some(at);
        a.error = Some(why.to_owned());
        a.mode = Some("compact_failed".into());
        a.parent_id = Some(trigger_id.to_owned());
    }
    let text = part(
        &m,
        at,
        json!({"type": "text", "text": format!("Compaction failed: {why}")}),
    );
    (m, vec![text])
}

/// Record a failure after the trigger and tell the session.
async fn fail(chat: &Chat, trigger: &Message, why: String) -> Failed {
    let sid = &trigger.session_id;
    tracing::warn!(session.id = %sid, error = %why, "compaction failed");
    let at = now_ms().max(trigger.created_at + 1);
    let (message, parts) = failure_outcome(sid, &trigger.id, &why, at);
    match chat
        .store()
        .fail_compaction(&message, &parts, &now_iso())
        .await
    {
        Ok(session) => {
            publish_session_updated(chat, session);
            created(chat, &message, &parts);
        }
        Err(e) => {
            tracing::error!(session.id = %sid, error = %e, "cannot record a failed compaction")
        }
    }
    Failed {
        message: why,
        began: true,
    }
}

/// The text a turn replays after an overflow: `"Replay: <the last user text>"`.
pub async fn replay_text(chat: &Chat, sid: &str) -> Option<String> {
    let page = chat.store().newest_messages(sid, 20).await.ok()?;
    page.messages
        .iter()
        .rev()
        .filter(|m| m.message.role == crate::store::Role::User)
        .map(|m| crate::store::parts::texts_of(&m.parts))
        .find(|t| !t.trim().is_empty())
        .map(|t| format!("Replay: {}", t.trim_start_matches("Replay: ")))
}
