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
//! `runningAt`) and [`Store::set_session_tokens`].

use std::sync::LazyLock;

use rusqlite::{Row, ToSql};
use serde::Serialize;
use serde_json::Value;

use super::error::is_foreign_key_violation;
use super::kinds::{MessageStatus, Role};
pub use super::parts::Part;
use super::rows::{all, int, json_col, one, opt_str, str};
use super::{Entity, Fail, Store, StoreError};

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
    pub status: MessageStatus,
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
    /// `true` on the summary a compaction writes (`mode: "compaction"`); left out otherwise.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub summary: bool,
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
    pub role: Role,
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
            role: Role::User,
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
            role: Role::Assistant,
            created_at,
            sequence: 0,
            assistant: Some(AssistantFields {
                status: MessageStatus::Streaming,
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
    pub status: Option<MessageStatus>,
    pub tokens: Option<MessageTokens>,
    pub cost: Option<f64>,
    pub completed_at: Option<i64>,
    pub error: Option<String>,
}

pub(super) const MSG_COLS: &str = "id, session_id, role, created_at, status, model_id, \
    provider_id, agent, tokens_prompt, tokens_completion, tokens_cache_read, tokens_cache_write, \
    tokens_no_cache, cost, completed_at, error, mode, parent_id, structured_output, sequence, \
    summary";

fn own(s: Option<&str>) -> Option<String> {
    s.map(str::to_owned)
}

pub(super) fn message_from_row(row: &Row<'_>) -> Result<Message, Fail> {
    let role = Role::from_db(str(row, 2)?);
    let assistant = if role == Role::Assistant {
        Some(AssistantFields {
            status: MessageStatus::from_db(opt_str(row, 4)?),
            model_id: own(opt_str(row, 5)?),
            provider_id: own(opt_str(row, 6)?),
            tokens: MessageTokens {
                prompt: int(row, 8)?,
                completion: int(row, 9)?,
                cache_read: int(row, 10)?,
                cache_write: int(row, 11)?,
                no_cache: int(row, 12)?,
            },
            cost: row.get::<_, Option<f64>>(13)?.unwrap_or(0.0),
            completed_at: row.get(14)?,
            error: own(opt_str(row, 15)?),
            agent: own(opt_str(row, 7)?),
            mode: own(opt_str(row, 16)?),
            summary: super::rows::flag(row, 20)?,
            parent_id: own(opt_str(row, 17)?),
            structured_output: match opt_str(row, 18)? {
                None | Some("") => None,
                Some(t) => Some(json_col("messages.structured_output", t)?),
            },
        })
    } else {
        None
    };
    Ok(Message {
        id: str(row, 0)?.to_owned(),
        session_id: str(row, 1)?.to_owned(),
        role,
        created_at: int(row, 3)?,
        sequence: int(row, 19)?,
        assistant,
    })
}

impl Store {
    /// Insert `msg`, allocating its `sequence` as MAX+1 in its session in the same statement
    /// (on the one writer, so two messages never get the same number).
    pub async fn create_message(&self, msg: &Message) -> Result<Message, StoreError> {
        let mut out = msg.clone();
        let m = msg.clone();
        out.sequence = self.write(move |c, _| insert_message(c, &m)).await?;
        Ok(out)
    }

    /// One message.
    pub async fn get_message(&self, id: &str) -> Result<Message, StoreError> {
        let id = id.to_owned();
        self.read(move |c| get_message(c, &id)).await
    }

    /// Update an assistant message's end state; returns the message as stored.
    pub async fn update_message(&self, id: &str, u: &MessageUpdate) -> Result<Message, StoreError> {
        static SQL: LazyLock<String> = LazyLock::new(|| {
            format!(
                "UPDATE messages SET status = COALESCE(?1, status), \
                 tokens_prompt = COALESCE(?2, tokens_prompt), \
                 tokens_completion = COALESCE(?3, tokens_completion), \
                 tokens_cache_read = COALESCE(?4, tokens_cache_read), \
                 tokens_cache_write = COALESCE(?5, tokens_cache_write), \
                 tokens_no_cache = COALESCE(?6, tokens_no_cache), cost = COALESCE(?7, cost), \
                 completed_at = COALESCE(?8, completed_at), error = COALESCE(?9, error) \
                 WHERE id = ?10 RETURNING {MSG_COLS}"
            )
        });
        let (id, u) = (id.to_owned(), u.clone());
        self.write(move |c, _| {
            let t = u.tokens;
            let params: [&dyn ToSql; 10] = [
                &u.status.map(MessageStatus::as_str),
                &t.map(|t| t.prompt),
                &t.map(|t| t.completion),
                &t.map(|t| t.cache_read),
                &t.map(|t| t.cache_write),
                &t.map(|t| t.no_cache),
                &u.cost,
                &u.completed_at,
                &u.error,
                &id,
            ];
            let mut st = c.prepare_cached(&SQL)?;
            one(&mut st, &params[..], message_from_row)?
                .ok_or(Fail::Store(StoreError::NotFound(Entity::Message)))
        })
        .await
    }

    /// Assistant messages still `streaming` (left so by a crash), for recovery at start.
    pub async fn streaming_message_ids(&self) -> Result<Vec<String>, StoreError> {
        self.read(|c| {
            let mut st = c.prepare_cached(
                "SELECT id FROM messages WHERE role = 'assistant' AND status = 'streaming' \
                 ORDER BY id",
            )?;
            all(&mut st, [], |r| Ok(str(r, 0)?.to_owned()))
        })
        .await
    }

    /// One message with its parts.
    pub async fn message_with_parts(&self, id: &str) -> Result<MessageWithParts, StoreError> {
        let id = id.to_owned();
        self.read(move |c| {
            let message = get_message(c, &id)?;
            let mut list = super::parts::attach_parts(c, vec![message])?;
            list.pop()
                .ok_or(Fail::Store(StoreError::NotFound(Entity::Message)))
        })
        .await
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
        static SQL: LazyLock<String> = LazyLock::new(|| {
            format!(
                "SELECT {MSG_COLS} FROM messages WHERE session_id = ?1 \
                 AND (?2 IS NULL OR sequence < ?2) ORDER BY sequence DESC LIMIT ?3"
            )
        });
        let session_id = session_id.to_owned();
        self.read(move |c| {
            let mut st = c.prepare_cached(&SQL)?;
            let mut messages = all(
                &mut st,
                (session_id, before, i64::from(limit) + 1),
                message_from_row,
            )?;
            let has_older = messages.len() > limit as usize;
            messages.truncate(limit as usize);
            messages.reverse();
            let oldest_sequence = messages.first().map(|m| m.sequence);
            let newest_sequence = messages.last().map(|m| m.sequence);
            Ok(TranscriptPage {
                messages: super::parts::attach_parts(c, messages)?,
                has_older,
                oldest_sequence,
                newest_sequence,
            })
        })
        .await
    }
}

/// Insert `msg` on `c` (a transaction's connection, or the writer), allocating its `sequence`
/// as MAX+1 in its session; the sequence. A missing session is `NotFound(Session)`.
pub(crate) fn insert_message(c: &rusqlite::Connection, msg: &Message) -> Result<i64, Fail> {
    let a = msg.assistant.clone().unwrap_or_default();
    let status = msg.assistant.as_ref().map(|a| a.status.as_str());
    let structured = a.structured_output.as_ref().map(Value::to_string);
    let mut st = c.prepare_cached(
        "INSERT INTO messages (id, session_id, role, created_at, status, model_id, \
         provider_id, agent, tokens_prompt, tokens_completion, tokens_cache_read, \
         tokens_cache_write, tokens_no_cache, cost, completed_at, error, mode, \
         parent_id, structured_output, summary, sequence) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, \
         ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, \
         (SELECT COALESCE(MAX(sequence), 0) + 1 FROM messages WHERE session_id = ?2)) \
         RETURNING sequence",
    )?;
    let params: [&dyn ToSql; 20] = [
        &msg.id,
        &msg.session_id,
        &msg.role.as_str(),
        &msg.created_at,
        &status,
        &a.model_id,
        &a.provider_id,
        &a.agent,
        &a.tokens.prompt,
        &a.tokens.completion,
        &a.tokens.cache_read,
        &a.tokens.cache_write,
        &a.tokens.no_cache,
        &a.cost,
        &a.completed_at,
        &a.error,
        &a.mode,
        &a.parent_id,
        &structured,
        &a.summary,
    ];
    match one(&mut st, &params[..], |r| int(r, 0)) {
        // A missing session is a foreign-key failure; say it in domain terms.
        Err(f) if is_foreign_key_violation(&f) => {
            Err(Fail::Store(StoreError::NotFound(Entity::Session)))
        }
        other => Ok(other?.unwrap_or(0)),
    }
}

fn get_message(c: &rusqlite::Connection, id: &str) -> Result<Message, Fail> {
    static SQL: LazyLock<String> =
        LazyLock::new(|| format!("SELECT {MSG_COLS} FROM messages WHERE id = ?1"));
    let mut st = c.prepare_cached(&SQL)?;
    one(&mut st, [id], message_from_row)?.ok_or(Fail::Store(StoreError::NotFound(Entity::Message)))
}

#[cfg(test)]
#[path = "messages_tests.rs"]
mod tests;
