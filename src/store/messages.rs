//! Messages and their parts (`messages`, `parts`), shaped as `PROTOCOL.md` §5.
//!
//! The API a chat turn uses (all on [`Store`]; times are parameters, Unix ms):
//! - [`Store::create_message`]`(&Message) -> Message`: inserts and allocates `sequence` as
//!   MAX+1 within the session in the same statement (the returned message carries it).
//! - [`Store::create_part`]`(&Part)` (in `parts.rs`): inserts a part; `part.data` holds `type` and every
//!   type-specific field (`text`, `state`, …), stored as the `data` JSON column.
//! - [`Store::update_part_data`]`(part_id, &data)`: replaces a part's data (a streamed text
//!   snapshot, a tool state change).
//! - [`Store::update_message`]`(id, &MessageUpdate) -> Message`: status, tokens, cost,
//!   completedAt, error of an assistant message.
//! - [`Store::get_message`], [`Store::message_with_parts`].
//! - [`Store::newest_messages`]`(session_id, limit)` and
//!   [`Store::messages_before`]`(session_id, before_sequence, limit)`: a [`TranscriptPage`] in
//!   ascending order, each message with its parts ordered by `(createdAt, id)`.
//!
//! Session-level state of a turn lives in `sessions.rs`: [`Store::set_running`] (set/clear
//! `runningAt`) and [`Store::add_session_tokens`].

use serde::Serialize;
use serde_json::Value;
use sqlx::Row;
use sqlx::sqlite::SqliteRow;

pub use super::parts::Part;
use super::{Store, StoreError, json_col};

/// Messages in a transcript page unless asked otherwise (the newest page `session.resumed` sends).
pub const TRANSCRIPT_PAGE: u32 = 50;

/// Token counts of an assistant message (`tokens` on the wire).
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct MessageTokens {
    pub prompt: i64,
    pub completion: i64,
    pub cache_read: i64,
    pub cache_write: i64,
    pub no_cache: i64,
}

/// The fields only assistant messages carry.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct AssistantFields {
    /// `streaming`, `completed`, `error` or `interrupted`.
    pub status: String,
    pub model_id: Option<String>,
    pub provider_id: Option<String>,
    pub tokens: MessageTokens,
    pub cost: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub completed_at: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agent: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub structured_output: Option<Value>,
}

/// A message: `{id, sessionId, role, createdAt}`, plus [`AssistantFields`] for assistant
/// messages (flattened).
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Message {
    pub id: String,
    pub session_id: String,
    /// `user`, `assistant` or `system`.
    pub role: String,
    /// Unix ms.
    pub created_at: i64,
    /// Position in the session (1, 2, …); allocated by [`Store::create_message`]. Not on the wire.
    #[serde(skip)]
    pub sequence: i64,
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub assistant: Option<AssistantFields>,
}

impl Message {
    /// A user message with a fresh id.
    pub fn user(session_id: &str, created_at: i64) -> Self {
        Self {
            id: uuid::Uuid::new_v4().to_string(),
            session_id: session_id.to_owned(),
            role: "user".into(),
            created_at,
            sequence: 0,
            assistant: None,
        }
    }

    /// An assistant message with a fresh id, `streaming`, zero tokens.
    pub fn assistant(session_id: &str, created_at: i64, model_id: &str, provider_id: &str) -> Self {
        Self {
            id: uuid::Uuid::new_v4().to_string(),
            session_id: session_id.to_owned(),
            role: "assistant".into(),
            created_at,
            sequence: 0,
            assistant: Some(AssistantFields {
                status: "streaming".into(),
                model_id: Some(model_id.to_owned()),
                provider_id: Some(provider_id.to_owned()),
                ..AssistantFields::default()
            }),
        }
    }
}

/// `{"message": Message, "parts": Part[]}`.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct MessageWithParts {
    pub message: Message,
    pub parts: Vec<Part>,
}

/// A page of a transcript, ascending by sequence.
#[derive(Debug, Clone, PartialEq)]
pub struct TranscriptPage {
    pub messages: Vec<MessageWithParts>,
    /// Whether messages before this page exist.
    pub has_older: bool,
    /// Sequence of the first and last message of the page (`None` when empty).
    pub oldest_sequence: Option<i64>,
    pub newest_sequence: Option<i64>,
}

/// The end state of an assistant message (`None` leaves a field unchanged).
#[derive(Debug, Clone, Default)]
pub struct MessageUpdate {
    pub status: Option<String>,
    pub tokens: Option<MessageTokens>,
    pub cost: Option<f64>,
    pub completed_at: Option<i64>,
    pub error: Option<String>,
}

const MSG_COLS: &str = "id, session_id, role, created_at, status, model_id, provider_id, agent, \
    tokens_prompt, tokens_completion, tokens_cache_read, tokens_cache_write, tokens_no_cache, \
    cost, completed_at, error, mode, parent_id, structured_output, sequence";

fn message_from_row(row: &SqliteRow) -> Result<Message, StoreError> {
    let role: String = row.try_get("role")?;
    let n =
        |c: &str| -> Result<i64, StoreError> { Ok(row.try_get::<Option<i64>, _>(c)?.unwrap_or(0)) };
    let assistant = if role == "assistant" {
        let structured: Option<String> = row.try_get("structured_output")?;
        Some(AssistantFields {
            status: row
                .try_get::<Option<String>, _>("status")?
                .unwrap_or_else(|| "completed".into()),
            model_id: row.try_get("model_id")?,
            provider_id: row.try_get("provider_id")?,
            tokens: MessageTokens {
                prompt: n("tokens_prompt")?,
                completion: n("tokens_completion")?,
                cache_read: n("tokens_cache_read")?,
                cache_write: n("tokens_cache_write")?,
                no_cache: n("tokens_no_cache")?,
            },
            cost: row.try_get::<Option<f64>, _>("cost")?.unwrap_or(0.0),
            completed_at: row.try_get("completed_at")?,
            error: row.try_get("error")?,
            agent: row.try_get("agent")?,
            mode: row.try_get("mode")?,
            parent_id: row.try_get("parent_id")?,
            structured_output: match structured.as_deref() {
                None | Some("") => None,
                Some(t) => Some(json_col("messages.structured_output", t)?),
            },
        })
    } else {
        None
    };
    Ok(Message {
        id: row.try_get("id")?,
        session_id: row.try_get("session_id")?,
        role,
        created_at: row.try_get("created_at")?,
        sequence: n("sequence")?,
        assistant,
    })
}

impl Store {
    /// Insert `msg`, allocating its `sequence` as MAX+1 in its session atomically.
    pub async fn create_message(&self, msg: &Message) -> Result<Message, StoreError> {
        let a = msg.assistant.clone().unwrap_or_default();
        let is_assistant = msg.assistant.is_some();
        let sequence: i64 = sqlx::query_scalar(
            "INSERT INTO messages (id, session_id, role, created_at, status, model_id, provider_id, \
             agent, tokens_prompt, tokens_completion, tokens_cache_read, tokens_cache_write, \
             tokens_no_cache, cost, completed_at, error, mode, parent_id, structured_output, sequence) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, \
             (SELECT COALESCE(MAX(sequence), 0) + 1 FROM messages WHERE session_id = ?2)) \
             RETURNING sequence",
        )
        .bind(&msg.id)
        .bind(&msg.session_id)
        .bind(&msg.role)
        .bind(msg.created_at)
        .bind(is_assistant.then_some(a.status.as_str()))
        .bind(&a.model_id)
        .bind(&a.provider_id)
        .bind(&a.agent)
        .bind(a.tokens.prompt)
        .bind(a.tokens.completion)
        .bind(a.tokens.cache_read)
        .bind(a.tokens.cache_write)
        .bind(a.tokens.no_cache)
        .bind(a.cost)
        .bind(a.completed_at)
        .bind(&a.error)
        .bind(&a.mode)
        .bind(&a.parent_id)
        .bind(a.structured_output.as_ref().map(Value::to_string))
        .fetch_one(self.pool())
        .await
        .map_err(|e| match StoreError::from(e) {
            // A missing session is a foreign-key failure; say it in domain terms.
            StoreError::Db(sqlx::Error::Database(db)) if db.is_foreign_key_violation() => {
                StoreError::NotFound
            }
            other => other,
        })?;
        let mut out = msg.clone();
        out.sequence = sequence;
        Ok(out)
    }

    /// One message.
    pub async fn get_message(&self, id: &str) -> Result<Message, StoreError> {
        let row = sqlx::query(&format!("SELECT {MSG_COLS} FROM messages WHERE id = ?"))
            .bind(id)
            .fetch_one(self.pool())
            .await?;
        message_from_row(&row)
    }

    /// Update an assistant message's end state; returns the message as stored.
    pub async fn update_message(&self, id: &str, u: &MessageUpdate) -> Result<Message, StoreError> {
        let t = u.tokens;
        let done = sqlx::query(
            "UPDATE messages SET status = COALESCE(?1, status), \
             tokens_prompt = COALESCE(?2, tokens_prompt), tokens_completion = COALESCE(?3, tokens_completion), \
             tokens_cache_read = COALESCE(?4, tokens_cache_read), tokens_cache_write = COALESCE(?5, tokens_cache_write), \
             tokens_no_cache = COALESCE(?6, tokens_no_cache), cost = COALESCE(?7, cost), \
             completed_at = COALESCE(?8, completed_at), error = COALESCE(?9, error) WHERE id = ?10",
        )
        .bind(&u.status)
        .bind(t.map(|t| t.prompt))
        .bind(t.map(|t| t.completion))
        .bind(t.map(|t| t.cache_read))
        .bind(t.map(|t| t.cache_write))
        .bind(t.map(|t| t.no_cache))
        .bind(u.cost)
        .bind(u.completed_at)
        .bind(&u.error)
        .bind(id)
        .execute(self.pool())
        .await?;
        super::touched(&done)?;
        self.get_message(id).await
    }

    /// Assistant messages still `streaming` (left so by a crash), for recovery at start.
    pub async fn streaming_message_ids(&self) -> Result<Vec<String>, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT id FROM messages WHERE role = 'assistant' AND status = 'streaming' ORDER BY id",
        )
        .fetch_all(self.pool())
        .await?)
    }

    /// One message with its parts.
    pub async fn message_with_parts(&self, id: &str) -> Result<MessageWithParts, StoreError> {
        let message = self.get_message(id).await?;
        let mut list = self.attach_parts(vec![message]).await?;
        list.pop().ok_or(StoreError::NotFound)
    }

    /// The newest `limit` messages of a session, ascending.
    pub async fn newest_messages(
        &self,
        session_id: &str,
        limit: u32,
    ) -> Result<TranscriptPage, StoreError> {
        self.page(session_id, None, limit).await
    }

    /// The `limit` messages right before `before` (a sequence), ascending.
    pub async fn messages_before(
        &self,
        session_id: &str,
        before: i64,
        limit: u32,
    ) -> Result<TranscriptPage, StoreError> {
        self.page(session_id, Some(before), limit).await
    }

    async fn page(
        &self,
        session_id: &str,
        before: Option<i64>,
        limit: u32,
    ) -> Result<TranscriptPage, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {MSG_COLS} FROM messages WHERE session_id = ?1 \
             AND (?2 IS NULL OR sequence < ?2) ORDER BY sequence DESC LIMIT ?3"
        ))
        .bind(session_id)
        .bind(before)
        .bind(i64::from(limit) + 1)
        .fetch_all(self.pool())
        .await?;
        let mut messages = rows
            .iter()
            .map(message_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        let has_older = messages.len() > limit as usize;
        messages.truncate(limit as usize);
        messages.reverse();
        let oldest_sequence = messages.first().map(|m| m.sequence);
        let newest_sequence = messages.last().map(|m| m.sequence);
        Ok(TranscriptPage {
            messages: self.attach_parts(messages).await?,
            has_older,
            oldest_sequence,
            newest_sequence,
        })
    }
}

#[cfg(test)]
#[path = "messages_tests.rs"]
mod tests;
