//! Server → client WebSocket messages (`PROTOCOL.md` §4). Each serializes to one JSON object
//! with a `type` field.

use serde::Serialize;
use serde_json::Value;

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
    /// Pending `ask` requests of a session (none: this server asks nothing yet).
    #[serde(rename = "ask.pending_sync", rename_all = "camelCase")]
    AskPendingSync {
        session_id: String,
        requests: Vec<Value>,
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
        item: QueuedItem,
    },
    #[serde(rename = "queue.removed", rename_all = "camelCase")]
    QueueRemoved {
        session_id: String,
        queue_id: String,
    },
    /// The queue of a session (after `session.resume` when it is not empty).
    #[serde(rename = "queue.list", rename_all = "camelCase")]
    QueueList {
        session_id: String,
        items: Vec<QueuedItem>,
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

/// A message waiting behind a running turn (kept in memory only).
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct QueuedItem {
    pub id: String,
    pub session_id: String,
    pub content: String,
    /// Unix ms.
    pub created_at: i64,
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
