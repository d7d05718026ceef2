//! Before a turn: the pre-checks of `PROTOCOL.md` §4.5 (each failure is one `error` for the
//! sender, without `sessionId`) and what the turn will send — model, system prompt, parameters,
//! and the conversation so far.

use serde_json::Value;

use super::preconfigs::{self, Preconfig};
use crate::app::AppState;
use crate::events::ServerEvent;
use crate::llm::ChatMessage;
use crate::llm::registry::{Registry, ResolveError, ResolvedModel};
use crate::store::{Scope, Session, SessionStatus, Store, StoreError};

/// Everything a turn needs that the pre-checks established.
#[derive(Debug, Clone)]
pub struct Plan {
    pub session: Session,
    pub model: ResolvedModel,
    pub system_prompt: Option<String>,
    pub temperature: Option<f32>,
    pub max_tokens: Option<u32>,
}

/// The most messages of a session sent to the provider (the newest ones).
const HISTORY_LIMIT: u32 = 1000;

/// Run the pre-checks; `Err` is the error event for the sender.
pub async fn prepare(app: &AppState, scope: &Scope, session_id: &str) -> Result<Plan, ServerEvent> {
    let session = match app.store.get_session(scope, session_id).await {
        Ok(s) => s,
        Err(StoreError::NotFound(_)) => {
            return Err(ServerEvent::error("not_found", "Session not found"));
        }
        Err(e) => return Err(internal(e)),
    };
    if session.status == SessionStatus::Closed {
        return Err(ServerEvent::error(
            "session_closed",
            "This session is closed; reopen it to continue",
        ));
    }
    let data_dir = &app.settings.data_dir;
    let preconfig: Option<Preconfig> = match session.preconfig_id.as_deref() {
        // Lenient: a session without a preconfig runs with the default one (or none).
        None | Some("") => preconfigs::load(data_dir)
            .await
            .into_iter()
            .find(|p| p.is_default),
        Some(id) => match preconfigs::find(data_dir, id).await {
            Some(p) => Some(p),
            None => {
                return Err(ServerEvent::error(
                    "no_preconfig",
                    format!("Preconfig not found: {id}"),
                ));
            }
        },
    };
    let registry = Registry::load(data_dir).await;
    let pick = |a: &Option<String>, b: Option<&String>| {
        a.as_deref()
            .filter(|s| !s.is_empty())
            .or(b.map(String::as_str))
            .map(str::to_owned)
    };
    let model_choice = pick(
        &session.selected_model,
        preconfig.as_ref().and_then(|p| p.model.as_ref()),
    );
    let provider_choice = pick(
        &session.selected_provider,
        preconfig.as_ref().and_then(|p| p.provider.as_ref()),
    );
    let model = registry
        .resolve(
            &app.settings.llm,
            model_choice.as_deref(),
            provider_choice.as_deref(),
        )
        .map_err(|e| {
            let code = match e {
                ResolveError::NoApiKey(_) => "no_api_key",
                ResolveError::UnknownProvider(_) => "unknown_provider",
            };
            ServerEvent::error(code, e.to_string())
        })?;
    let setting = |k: &str| preconfig.as_ref().and_then(|p| p.settings.get(k));
    Ok(Plan {
        model,
        system_prompt: preconfig
            .as_ref()
            .map(|p| p.system_prompt.trim().to_owned())
            .filter(|s| !s.is_empty()),
        temperature: app.settings.llm.temperature.or_else(|| {
            setting("temperature")
                .and_then(Value::as_f64)
                .map(|t| t as f32)
        }),
        max_tokens: app.settings.llm.max_tokens.or_else(|| {
            setting("maxTokens")
                .and_then(Value::as_u64)
                .and_then(|n| u32::try_from(n).ok())
        }),
        session,
    })
}

fn internal(e: StoreError) -> ServerEvent {
    tracing::error!(error = %e, "chat pre-check failed");
    ServerEvent::error("internal", "Internal error")
}

/// The system prompt, then every earlier message of the session as `{role, content}` (the
/// text parts joined; reasoning and empty replies left out).
pub async fn conversation(
    store: &Store,
    system_prompt: Option<&str>,
    session_id: &str,
) -> Result<Vec<ChatMessage>, StoreError> {
    let page = store.newest_messages(session_id, HISTORY_LIMIT).await?;
    let mut out = Vec::with_capacity(page.messages.len() + 1);
    if let Some(p) = system_prompt {
        out.push(ChatMessage::new("system", p));
    }
    for m in page.messages {
        let text: String = m
            .parts
            .iter()
            .filter(|p| p.kind() == "text")
            .filter_map(|p| p.data.get("text").and_then(Value::as_str))
            .collect::<Vec<_>>()
            .join("\n");
        if text.is_empty() {
            continue;
        }
        let role = match m.message.role.as_str() {
            "assistant" => "assistant",
            "system" => "system",
            _ => "user",
        };
        out.push(ChatMessage::new(role, text));
    }
    Ok(out)
}
