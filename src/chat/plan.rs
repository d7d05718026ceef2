//! Before a turn: the pre-checks of `PROTOCOL.md` §4.5 (each failure is a [`Refusal`], which
//! the sender hears as one `error` without `sessionId`) and what the turn will send — model,
//! system prompt, parameters, and the conversation so far.

use serde_json::Value;

use super::Chat;
use super::context::{self, PromptInputs};
use super::preconfigs::{self, Preconfig};
use crate::config::LlmSettings;
use crate::events::ServerEvent;
use crate::llm::registry::{Registry, ResolveError, ResolvedModel};
use crate::llm::{ChatMessage, ChatRequest};
use crate::store::{Scope, Session, SessionStatus, StoreError, Workspace};

/// Everything a turn needs that the pre-checks established.
#[derive(Debug, Clone)]
pub struct Plan {
    pub session: Session,
    pub model: ResolvedModel,
    pub system_prompt: Option<String>,
    pub temperature: Option<f32>,
    pub max_tokens: Option<u32>,
    /// The tools the preconfig offers the model (names; the installed ones among them).
    pub tools: Vec<String>,
    /// Their definitions, as the provider takes them.
    pub tool_specs: Vec<Value>,
    /// The session's workspace (gone only if deleted meanwhile).
    pub workspace: Option<Workspace>,
}

impl Plan {
    /// The provider request of one step.
    pub fn request(&self, messages: Vec<ChatMessage>) -> ChatRequest {
        let m = &self.model;
        let mut r = ChatRequest::new(&m.base_url, Some(m.api_key.clone()), &m.model_id);
        r.messages = messages;
        r.temperature = self.temperature;
        r.max_tokens = self.max_tokens;
        r.tools = self.tool_specs.clone();
        // The selected variant's provider options (e.g. a reasoning effort).
        r.extra = m.options.clone();
        r
    }
}

/// Why a chat message cannot run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("Session not found")]
    SessionNotFound,
    #[error("This session is closed; reopen it to continue")]
    SessionClosed,
    #[error("Preconfig not found: {0}")]
    NoPreconfig(String),
    #[error("{0}")]
    NoApiKey(String),
    #[error("{0}")]
    UnknownProvider(String),
    /// The session's queue is full.
    #[error(
        "The queue of this session is full ({0} messages wait); wait for the reply or remove a queued message"
    )]
    QueueFull(u32),
    /// The store failed (logged where it happened).
    #[error("Internal error")]
    Internal,
}

impl Refusal {
    /// The `code` of the wire error.
    pub fn code(&self) -> &'static str {
        match self {
            Refusal::SessionNotFound => "not_found",
            Refusal::SessionClosed => "session_closed",
            Refusal::NoPreconfig(_) => "no_preconfig",
            Refusal::NoApiKey(_) => "no_api_key",
            Refusal::UnknownProvider(_) => "unknown_provider",
            Refusal::QueueFull(_) => "queue_full",
            Refusal::Internal => "internal",
        }
    }

    /// The `error` event the sender gets (no `sessionId`, as upstream).
    pub fn event(&self) -> ServerEvent {
        ServerEvent::error(self.code(), self.to_string())
    }
}

/// Run the pre-checks and gather what the turn sends.
pub async fn prepare(chat: &Chat, scope: &Scope, session_id: &str) -> Result<Plan, Refusal> {
    let session = match chat.store().get_session(scope, session_id).await {
        Ok(s) => s,
        Err(StoreError::NotFound(_)) => return Err(Refusal::SessionNotFound),
        Err(e) => return Err(internal(e)),
    };
    if session.status == SessionStatus::Closed {
        return Err(Refusal::SessionClosed);
    }
    let preconfig = preconfig_of(chat, &session).await?;
    let llm = chat.llm_settings();
    let model = model_for(chat, &llm, &session, preconfig.as_ref()).await?;
    let workspace = match chat
        .store()
        .get_workspace(&Scope::All, &session.workspace_id)
        .await
    {
        Ok(w) => Some(w),
        Err(StoreError::NotFound(_)) => None,
        Err(e) => return Err(internal(e)),
    };
    let today = crate::time::now_iso();
    let system_prompt = context::system_prompt(PromptInputs {
        preconfig_prompt: preconfig.as_ref().map(|p| p.system_prompt.as_str()),
        data_dir: chat.data_dir(),
        workspace: workspace
            .as_ref()
            .map(|w| (w.path.as_str(), w.additional_paths.as_slice())),
        today: today.get(..10).unwrap_or(&today),
    })
    .await;
    let setting = |k: &str| preconfig.as_ref().and_then(|p| p.settings.get(k));
    let tools = offered_tools(preconfig.as_ref(), session.owner_id.is_none());
    let tool_specs = tools
        .iter()
        .filter_map(|t| crate::tools::definition(t))
        .map(|d| d.openai_json())
        .collect();
    Ok(Plan {
        model,
        system_prompt,
        temperature: llm.temperature.or_else(|| {
            setting("temperature")
                .and_then(Value::as_f64)
                .map(|t| t as f32)
        }),
        max_tokens: llm.max_tokens.or_else(|| {
            setting("maxTokens")
                .and_then(Value::as_u64)
                .and_then(|n| u32::try_from(n).ok())
        }),
        tools,
        tool_specs,
        workspace,
        session,
    })
}

/// The model a session's turns call (its choice, else its preconfig's, else the default), for
/// a call of the server's own on the session (a compaction).
pub async fn model_of(chat: &Chat, session: &Session) -> Result<ResolvedModel, Refusal> {
    let preconfig = preconfig_of(chat, session).await?;
    model_for(chat, &chat.llm_settings(), session, preconfig.as_ref()).await
}

/// The tools a turn offers: the preconfig's list, those installed, in its order; `shell` only
/// in the server owner's sessions (users and apps work in a confined folder).
fn offered_tools(preconfig: Option<&Preconfig>, owners_session: bool) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for name in preconfig.map(|p| p.tools.as_slice()).unwrap_or_default() {
        let installed = crate::tools::definition(name).is_some();
        let allowed = owners_session || name != "shell";
        if installed && allowed && !out.contains(name) {
            out.push(name.clone());
        }
    }
    out
}

/// The session's preconfig: the one it names (which must exist), or the default one (or none)
/// for a session that names none.
async fn preconfig_of(chat: &Chat, session: &Session) -> Result<Option<Preconfig>, Refusal> {
    let data_dir = chat.data_dir();
    match session.preconfig_id.as_deref() {
        None | Some("") => Ok(preconfigs::load(data_dir)
            .await
            .into_iter()
            .find(|p| p.is_default)),
        Some(id) => match preconfigs::find(data_dir, id).await {
            Some(p) => Ok(Some(p)),
            None => Err(Refusal::NoPreconfig(id.to_owned())),
        },
    }
}

/// The model to call: the session's choice, else the preconfig's, else the default.
async fn model_for(
    chat: &Chat,
    llm: &LlmSettings,
    session: &Session,
    preconfig: Option<&Preconfig>,
) -> Result<ResolvedModel, Refusal> {
    let registry = Registry::load(chat.data_dir()).await;
    let pick = |a: &Option<String>, b: Option<&String>| {
        a.as_deref()
            .filter(|s| !s.is_empty())
            .or(b.map(String::as_str))
            .map(str::to_owned)
    };
    let model_choice = pick(
        &session.selected_model,
        preconfig.and_then(|p| p.model.as_ref()),
    );
    let provider_choice = pick(
        &session.selected_provider,
        preconfig.and_then(|p| p.provider.as_ref()),
    );
    let variant = pick(
        &session.selected_variant,
        preconfig.and_then(|p| p.variant.as_ref()),
    );
    registry
        .resolve_variant(
            llm,
            model_choice.as_deref(),
            provider_choice.as_deref(),
            variant.as_deref(),
        )
        .map_err(|e| match e {
            ResolveError::NoApiKey(_) => Refusal::NoApiKey(e.to_string()),
            ResolveError::UnknownProvider(_) => Refusal::UnknownProvider(e.to_string()),
        })
}

fn internal(e: StoreError) -> Refusal {
    tracing::error!(error = %e, "chat pre-check failed");
    Refusal::Internal
}
