//! Messages and parts on PostgreSQL (see `store/messages.rs`, `store/parts.rs`).

use std::collections::HashMap;
use std::sync::LazyLock;

use deadpool_postgres::Transaction;
use serde_json::{Map, Value};
use tokio_postgres::types::ToSql;

use super::super::error::bad_json;
use super::super::kinds::MessageStatus;
use super::super::messages::{
    AssistantFields, MSG_COLS, Message, MessageUpdate, MessageWithParts, TranscriptPage,
    message_from_row,
};
use super::super::parts::{Part, part_from_row};
use super::super::rows::str;
use super::super::{Entity, StoreError};
use super::{Postgres, db, exec_in};

fn no_message() -> StoreError {
    StoreError::NotFound(Entity::Message)
}

/// `parts.data` of open tool calls set to interrupted (`$1`: the time, Unix ms).
pub(super) const INTERRUPT_TOOL: &str = "data = (jsonb_set(jsonb_set(jsonb_set(jsonb_set(\
    data::jsonb, '{state,status}', '\"interrupted\"'), '{state,reason}', '\"error\"'), \
    '{state,interruptedAt}', to_jsonb($1::bigint)), '{state,startedAt}', \
    COALESCE(data::jsonb #> '{state,startedAt}', to_jsonb($1::bigint))))::text";

/// Tool parts still pending or running.
pub(super) const OPEN_TOOL: &str =
    "type = 'tool' AND (data::jsonb #>> '{state,status}') IN ('pending', 'running')";

/// Insert a message, its `sequence` MAX+1 in its session (`$2`); returns the sequence.
const INSERT_MESSAGE: &str = "INSERT INTO messages (id, session_id, role, created_at, status, \
    model_id, provider_id, agent, tokens_prompt, tokens_completion, tokens_cache_read, \
    tokens_cache_write, tokens_no_cache, cost, completed_at, error, mode, parent_id, \
    structured_output, summary, sequence) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, \
    $12, $13, $14, $15, $16, $17, $18, $19, $20, \
    (SELECT COALESCE(MAX(sequence), 0) + 1 FROM messages WHERE session_id = $2)) \
    RETURNING sequence";

/// The column values of a message that are not plain fields of it.
struct MessageValues {
    a: AssistantFields,
    status: Option<&'static str>,
    structured: Option<String>,
    role: &'static str,
    summary: i64,
}

impl MessageValues {
    fn of(msg: &Message) -> MessageValues {
        let a = msg.assistant.clone().unwrap_or_default();
        MessageValues {
            status: msg.assistant.as_ref().map(|a| a.status.as_str()),
            structured: a.structured_output.as_ref().map(Value::to_string),
            role: msg.role.as_str(),
            summary: i64::from(a.summary),
            a,
        }
    }

    /// The parameters of [`INSERT_MESSAGE`].
    fn params<'a>(&'a self, msg: &'a Message) -> [&'a (dyn ToSql + Sync); 20] {
        let a = &self.a;
        [
            &msg.id,
            &msg.session_id,
            &self.role,
            &msg.created_at,
            &self.status,
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
            &self.structured,
            &self.summary,
        ]
    }
}

/// Insert `msg` inside a transaction; its sequence. A missing session is `NotFound(Session)`.
/// No retry on a taken sequence: the callers (compaction, fork) hold the session's worker
/// slot or write a session nobody else sees yet, so no other writer races them.
pub(super) async fn insert_message_in(
    tx: &Transaction<'_>,
    msg: &Message,
) -> Result<i64, StoreError> {
    let values = MessageValues::of(msg);
    let st = tx.prepare_cached(INSERT_MESSAGE).await.map_err(db)?;
    match tx.query_one(&st, &values.params(msg)).await {
        Ok(row) => Ok(super::super::rows::int(&row, 0)?),
        Err(e) if is_fk(&e) => Err(StoreError::NotFound(Entity::Session)),
        Err(e) => Err(db(e)),
    }
}

/// Insert `part` inside a transaction.
pub(super) async fn insert_part_in(tx: &Transaction<'_>, part: &Part) -> Result<(), StoreError> {
    let data = serde_json::to_string(&part.data).map_err(bad_json("parts.data"))?;
    let call_id = part.data.get("callId").and_then(Value::as_str);
    let kind = part.kind();
    exec_in(
        tx,
        INSERT_PART,
        &[
            &part.id,
            &part.message_id,
            &part.session_id,
            &kind,
            &call_id,
            &data,
            &part.created_at,
        ],
    )
    .await?;
    Ok(())
}

const INSERT_PART: &str = "INSERT INTO parts (id, message_id, session_id, type, call_id, data, \
    created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)";

impl Postgres {
    pub async fn create_message(&self, msg: &Message) -> Result<Message, StoreError> {
        let mut out = msg.clone();
        let values = MessageValues::of(msg);
        let params = values.params(msg);
        // Two writers may pick the same next number; the unique index sends one back here.
        let mut tries = 0;
        let row = loop {
            let c = self.conn().await?;
            let st = c.prepare_cached(INSERT_MESSAGE).await.map_err(db)?;
            match c.query_one(&st, &params).await {
                Ok(row) => break row,
                Err(e) if is_fk(&e) => return Err(StoreError::NotFound(Entity::Session)),
                Err(e) if tries < 5 && super::connect::unique_violation(&e).is_some() => {
                    tries += 1;
                }
                Err(e) => return Err(db(e)),
            }
        };
        out.sequence = super::super::rows::int(&row, 0)?;
        Ok(out)
    }

    pub async fn get_message(&self, id: &str) -> Result<Message, StoreError> {
        static SQL: LazyLock<String> =
            LazyLock::new(|| format!("SELECT {MSG_COLS} FROM messages WHERE id = $1"));
        let row = self.query_opt(&SQL, &[&id]).await?.ok_or_else(no_message)?;
        Ok(message_from_row(&row)?)
    }

    pub async fn update_message(&self, id: &str, u: &MessageUpdate) -> Result<Message, StoreError> {
        static SQL: LazyLock<String> = LazyLock::new(|| {
            format!(
                "UPDATE messages SET status = COALESCE($1, status), \
                 tokens_prompt = COALESCE($2, tokens_prompt), \
                 tokens_completion = COALESCE($3, tokens_completion), \
                 tokens_cache_read = COALESCE($4, tokens_cache_read), \
                 tokens_cache_write = COALESCE($5, tokens_cache_write), \
                 tokens_no_cache = COALESCE($6, tokens_no_cache), cost = COALESCE($7, cost), \
                 completed_at = COALESCE($8, completed_at), error = COALESCE($9, error) \
                 WHERE id = $10 RETURNING {MSG_COLS}"
            )
        });
        let t = u.tokens;
        let status = u.status.map(MessageStatus::as_str);
        let (p, c, r, w, n) = (
            t.map(|t| t.prompt),
            t.map(|t| t.completion),
            t.map(|t| t.cache_read),
            t.map(|t| t.cache_write),
            t.map(|t| t.no_cache),
        );
        let params: [&(dyn ToSql + Sync); 10] = [
            &status,
            &p,
            &c,
            &r,
            &w,
            &n,
            &u.cost,
            &u.completed_at,
            &u.error,
            &id,
        ];
        let row = self
            .query_opt(&SQL, &params)
            .await?
            .ok_or_else(no_message)?;
        Ok(message_from_row(&row)?)
    }

    pub async fn streaming_message_ids(&self) -> Result<Vec<String>, StoreError> {
        let rows = self
            .query(
                "SELECT id FROM messages WHERE role = 'assistant' AND status = 'streaming' \
                 ORDER BY id",
                &[],
            )
            .await?;
        rows.iter().map(|r| Ok(str(r, 0)?.to_owned())).collect()
    }

    pub async fn message_with_parts(&self, id: &str) -> Result<MessageWithParts, StoreError> {
        let message = self.get_message(id).await?;
        let mut list = self.attach_parts(vec![message]).await?;
        list.pop().ok_or_else(no_message)
    }

    pub async fn newest_messages(
        &self,
        session_id: &str,
        limit: u32,
    ) -> Result<TranscriptPage, StoreError> {
        self.page(session_id, None, limit).await
    }

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
                "SELECT {MSG_COLS} FROM messages WHERE session_id = $1 \
                 AND ($2::bigint IS NULL OR sequence < $2) ORDER BY sequence DESC LIMIT $3"
            )
        });
        let rows = self
            .query(&SQL, &[&session_id, &before, &(i64::from(limit) + 1)])
            .await?;
        let mut messages: Vec<Message> = rows
            .iter()
            .map(message_from_row)
            .collect::<Result<_, _>>()?;
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

    /// Each message with its parts, ordered by `(createdAt, id)`.
    pub(super) async fn attach_parts(
        &self,
        messages: Vec<Message>,
    ) -> Result<Vec<MessageWithParts>, StoreError> {
        if messages.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<&str> = messages.iter().map(|m| m.id.as_str()).collect();
        let rows = self
            .query(
                "SELECT id, message_id, session_id, data, created_at FROM parts \
                 WHERE message_id = ANY($1) ORDER BY created_at, id",
                &[&ids],
            )
            .await?;
        let mut out: Vec<MessageWithParts> = messages
            .into_iter()
            .map(|message| MessageWithParts {
                message,
                parts: Vec::new(),
            })
            .collect();
        let index: HashMap<String, usize> = out
            .iter()
            .enumerate()
            .map(|(i, m)| (m.message.id.clone(), i))
            .collect();
        for row in &rows {
            let part = part_from_row(row)?;
            if let Some(&i) = index.get(&part.message_id) {
                out[i].parts.push(part);
            }
        }
        Ok(out)
    }

    pub async fn create_part(&self, part: &Part) -> Result<(), StoreError> {
        let data = serde_json::to_string(&part.data).map_err(bad_json("parts.data"))?;
        let call_id = part.data.get("callId").and_then(Value::as_str);
        let kind = part.kind();
        self.execute(
            INSERT_PART,
            &[
                &part.id,
                &part.message_id,
                &part.session_id,
                &kind,
                &call_id,
                &data,
                &part.created_at,
            ],
        )
        .await?;
        Ok(())
    }

    pub async fn interrupt_open_tool_parts(&self, now_ms: i64) -> Result<usize, StoreError> {
        static SQL: LazyLock<String> =
            LazyLock::new(|| format!("UPDATE parts SET {INTERRUPT_TOOL} WHERE {OPEN_TOOL}"));
        let n = self.execute(&SQL, &[&now_ms]).await?;
        Ok(usize::try_from(n).unwrap_or(usize::MAX))
    }

    pub async fn update_part_data(
        &self,
        part_id: &str,
        data: &Map<String, Value>,
    ) -> Result<(), StoreError> {
        let data = serde_json::to_string(data).map_err(bad_json("parts.data"))?;
        let n = self
            .execute(
                "UPDATE parts SET data = $1 WHERE id = $2",
                &[&data, &part_id],
            )
            .await?;
        if n == 0 {
            return Err(StoreError::NotFound(Entity::Part));
        }
        Ok(())
    }
}

fn is_fk(e: &tokio_postgres::Error) -> bool {
    e.code() == Some(&tokio_postgres::error::SqlState::FOREIGN_KEY_VIOLATION)
}
