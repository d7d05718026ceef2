//! Server → client WebSocket messages (`PROTOCOL.md` §4). Each serializes to one JSON object
//! with a `type` field.

use serde::Serialize;
use serde_json::Value;

use crate::store::messages::MessageTokens;
use crate::store::queue::QueuedMessage;
use crate::store::{Message, MessageWithParts, Part, Session};

#[derive(Debug, Clone, Serialize)]
#[serde(tag = "type")]
pub enum ServerEvent {
    #[serde(rename = "ping")]
    Ping,
    #[serde(rename = "client.registered", rename_all = "camelCase")]
    ClientRegistered {
        client: Value,
        connection_id: String,
        server_time: i64,
    },
    #[serde(rename = "client.rejected")]
    ClientRejected { code: String, message: String },
    /// `{"type":"error","code":…,"message":…,"sessionId"?:…}`; every one becomes a client toast.
    #[serde(rename = "error", rename_all = "camelCase")]
    Error {
        code: String,
        message: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        session_id: Option<String>,
    },
    /// A new session: to its creator, and to every other connection.
    #[serde(rename = "session.created")]
    SessionCreated { session: Box<Session> },
    /// The answer to `session.resume`.
    #[serde(rename = "session.resumed")]
    SessionResumed(Box<Resumed>),
    /// Every pending ask of a session, after `session.resume` (authoritative: the client
    /// replaces its list with it).
    #[serde(rename = "ask.pending_sync", rename_all = "camelCase")]
    AskPendingSync {
        session_id: String,
        requests: Vec<Value>,
    },
    /// A tool asks for permission (`PROTOCOL-AGENT.md` §9.1); the body is one pending request.
    #[serde(rename = "ask.request")]
    AskRequest(Value),
    /// An ask is no longer open (answered by timeout, ended with its tool, or interrupted).
    #[serde(rename = "ask.timeout", rename_all = "camelCase")]
    AskTimeout {
        session_id: String,
        tool_call_id: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        request_id: Option<String>,
    },
    /// An `ask.response` the server would not take (§9.3).
    #[serde(rename = "ask.response_rejected")]
    AskResponseRejected(Value),
    /// The answer to `session.interrupt` (§8.4).
    #[serde(rename = "session.interrupted", rename_all = "camelCase")]
    SessionInterrupted { session_id: String, result: Value },
    /// The grants of a workspace (`permission.list`, to the sender).
    #[serde(rename = "permission.list", rename_all = "camelCase")]
    PermissionList {
        workspace_id: String,
        grants: Vec<Value>,
    },
    #[serde(rename = "permission.revoked", rename_all = "camelCase")]
    PermissionRevoked { grant_id: String },
    #[serde(rename = "permission.all_revoked", rename_all = "camelCase")]
    PermissionAllRevoked { workspace_id: String, count: u64 },
    /// A queued message is taken off the queue to run now (§10).
    #[serde(rename = "queue.sending", rename_all = "camelCase")]
    QueueSending {
        session_id: String,
        queue_id: String,
    },
    /// A session changed (`runningAt`, model, preconfig…).
    #[serde(rename = "session.updated")]
    SessionUpdated { session: Box<Session> },
    #[serde(rename = "session.renamed")]
    SessionRenamed { session: Box<Session> },
    #[serde(rename = "session.closed", rename_all = "camelCase")]
    SessionClosed { session_id: String },
    #[serde(rename = "session.reopened")]
    SessionReopened { session: Box<Session> },
    #[serde(rename = "session.deleted", rename_all = "camelCase")]
    SessionDeleted { session_id: String },
    // ---- the chat turn (`PROTOCOL.md` §4.5) ----
    #[serde(rename = "message.created")]
    MessageCreated { message: Box<Message> },
    /// An assistant message changed state (`completed`, `error`, `interrupted`).
    #[serde(rename = "message.updated")]
    MessageUpdated { message: Box<Message> },
    #[serde(rename = "part.created", rename_all = "camelCase")]
    PartCreated { session_id: String, part: Box<Part> },
    #[serde(rename = "part.updated", rename_all = "camelCase")]
    PartUpdated { session_id: String, part: Box<Part> },
    /// One streamed delta for a part the client has seen `part.created` for.
    #[serde(rename = "part.append", rename_all = "camelCase")]
    PartAppend {
        session_id: String,
        part_id: String,
        /// `text` or `reasoning`.
        field: &'static str,
        delta: String,
    },
    #[serde(rename = "chat.usage", rename_all = "camelCase")]
    ChatUsage {
        session_id: String,
        usage: Usage,
        model: String,
    },
    /// A provider retry: `scheduled` (with `delayMs`, `retryAt`), `started`, `exhausted`,
    /// `cancelled`.
    #[serde(rename = "chat.retry", rename_all = "camelCase")]
    ChatRetry {
        session_id: String,
        status: &'static str,
        retry_number: u32,
        max_retries: u32,
        error_type: &'static str,
        message: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        delay_ms: Option<u64>,
        #[serde(skip_serializing_if = "Option::is_none")]
        retry_at: Option<i64>,
    },
    /// `error.rate_limit`, `error.server`, `error.timeout`: a provider failure ending a turn.
    #[serde(rename = "error.rate_limit", rename_all = "camelCase")]
    ErrorRateLimit(ProviderError),
    #[serde(rename = "error.server", rename_all = "camelCase")]
    ErrorServer(ProviderError),
    #[serde(rename = "error.timeout", rename_all = "camelCase")]
    ErrorTimeout(ProviderError),
    /// A message was queued behind the running turn.
    #[serde(rename = "queue.added", rename_all = "camelCase")]
    QueueAdded {
        session_id: String,
        message: QueuedMessage,
    },
    #[serde(rename = "queue.removed", rename_all = "camelCase")]
    QueueRemoved {
        session_id: String,
        queue_id: String,
    },
    // ---- session operations (`PROTOCOL-AGENT.md` §11) ----
    /// Messages after one were deleted (`revertedTo: {messageId, messageCount}`,
    /// `removed: {messageIds, partCount}`); the client only logs it.
    #[serde(rename = "session.reverted", rename_all = "camelCase")]
    SessionReverted {
        session_id: String,
        reverted_to: Value,
        removed: Value,
    },
    /// The newest page of a transcript: the client replaces what it shows with it.
    #[serde(rename = "session.state", rename_all = "camelCase")]
    SessionState {
        session_id: String,
        messages: Vec<MessageWithParts>,
    },
    /// A fork of `originalSessionId`, with the newest page of its messages.
    #[serde(rename = "session.forked", rename_all = "camelCase")]
    SessionForked {
        original_session_id: String,
        forked_session: Box<Session>,
        messages: Vec<MessageWithParts>,
    },
    /// A requested compaction finished (to its sender), with the summary call's usage.
    #[serde(rename = "compaction.complete", rename_all = "camelCase")]
    CompactionComplete {
        session_id: String,
        tokens_used: MessageTokens,
    },
    /// The queue of a session (after `session.resume` when it is not empty).
    #[serde(rename = "queue.list", rename_all = "camelCase")]
    QueueList {
        session_id: String,
        messages: Vec<QueuedMessage>,
    },
}

/// The body of `error.rate_limit` / `error.server` / `error.timeout`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProviderError {
    pub code: String,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_after_ms: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
}

/// The body of `session.resumed` (`PROTOCOL.md` §4.4).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Resumed {
    pub session: Session,
    /// The newest page, ascending (the same list as `transcript.messages`).
    pub messages: Vec<MessageWithParts>,
    pub transcript: Transcript,
    /// Present only when the session has used tokens.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub usage: Option<Usage>,
    pub is_running: bool,
    pub control: Value,
}

/// `{messages, pagination}` of a transcript page (also the body of the REST transcript).
#[derive(Debug, Clone, Serialize)]
pub struct Transcript {
    pub messages: Vec<MessageWithParts>,
    pub pagination: TranscriptPagination,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TranscriptPagination {
    pub has_older: bool,
    pub oldest_sequence: Option<i64>,
    pub newest_sequence: Option<i64>,
    pub limit: u32,
}

impl Transcript {
    pub fn from_page(page: crate::store::TranscriptPage, limit: u32) -> Self {
        Transcript {
            messages: page.messages,
            pagination: TranscriptPagination {
                has_older: page.has_older,
                oldest_sequence: page.oldest_sequence,
                newest_sequence: page.newest_sequence,
                limit,
            },
        }
    }
}

/// Token totals of a session (`usage`).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Usage {
    pub prompt_tokens: i64,
    pub completion_tokens: i64,
    pub total_tokens: i64,
    pub cache_read_tokens: i64,
    pub cache_write_tokens: i64,
    pub no_cache_tokens: i64,
}

impl Usage {
    /// The session's totals, or `None` when it has used no tokens.
    pub fn of(s: &Session) -> Option<Usage> {
        (s.total_tokens > 0).then_some(Usage {
            prompt_tokens: s.prompt_tokens,
            completion_tokens: s.completion_tokens,
            total_tokens: s.total_tokens,
            cache_read_tokens: s.cache_read_tokens,
            cache_write_tokens: s.cache_write_tokens,
            no_cache_tokens: s.no_cache_tokens,
        })
    }
}

impl ServerEvent {
    pub fn error(code: &str, message: impl Into<String>) -> Self {
        ServerEvent::Error {
            code: code.to_owned(),
            message: message.into(),
            session_id: None,
        }
    }

    pub fn session_error(code: &str, message: impl Into<String>, session_id: &str) -> Self {
        ServerEvent::Error {
            code: code.to_owned(),
            message: message.into(),
            session_id: Some(session_id.to_owned()),
        }
    }

    pub fn session_created(s: Session) -> Self {
        ServerEvent::SessionCreated {
            session: Box::new(s),
        }
    }

    pub fn session_updated(s: Session) -> Self {
        ServerEvent::SessionUpdated {
            session: Box::new(s),
        }
    }

    /// The JSON text frame.
    pub fn to_frame(&self) -> super::link::Frame {
        match serde_json::to_string(self) {
            Ok(s) => s.into(),
            Err(e) => {
                tracing::error!(error = %e, "cannot serialize a server event");
                super::link::Frame::from_static(
                    r#"{"type":"error","code":"internal","message":"internal error"}"#,
                )
            }
        }
    }
}
