//! Parts of a message (`parts`): `{id, messageId, createdAt}` merged flat with the `data` JSON
//! column (which holds `type` and every type-specific field). See `messages.rs` for the API.

use std::collections::HashMap;

use serde::Serialize;
use serde_json::{Map, Value};
use sqlx::Row;
use sqlx::sqlite::SqliteRow;

use super::messages::{Message, MessageWithParts};
use super::{Store, StoreError, json_col};

/// A part: `{id, messageId, createdAt}` merged flat with its `data` (which holds `type`).
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Part {
    pub id: String,
    pub message_id: String,
    #[serde(skip)]
    pub session_id: String,
    /// Unix ms.
    pub created_at: i64,
    #[serde(flatten)]
    pub data: Map<String, Value>,
}

impl Part {
    /// A part with a fresh id; `data` must hold `type` (e.g. `{"type":"text","text":"Hi"}`).
    pub fn new(message: &Message, created_at: i64, data: Map<String, Value>) -> Self {
        Self {
            id: uuid::Uuid::new_v4().to_string(),
            message_id: message.id.clone(),
            session_id: message.session_id.clone(),
            created_at,
            data,
        }
    }

    /// The `type` field of the data.
    pub fn kind(&self) -> &str {
        self.data.get("type").and_then(Value::as_str).unwrap_or("")
    }
}

fn part_from_row(row: &SqliteRow) -> Result<Part, StoreError> {
    let data: String = row.try_get("data")?;
    Ok(Part {
        id: row.try_get("id")?,
        message_id: row.try_get("message_id")?,
        session_id: row.try_get("session_id")?,
        created_at: row.try_get("created_at")?,
        data: json_col("parts.data", &data)?,
    })
}

impl Store {
    /// Insert a part (its message must exist).
    pub async fn create_part(&self, part: &Part) -> Result<(), StoreError> {
        let call_id = part.data.get("callId").and_then(Value::as_str);
        sqlx::query(
            "INSERT INTO parts (id, message_id, session_id, type, call_id, data, created_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&part.id)
        .bind(&part.message_id)
        .bind(&part.session_id)
        .bind(part.kind())
        .bind(call_id)
        .bind(Value::Object(part.data.clone()).to_string())
        .bind(part.created_at)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Replace a part's data (e.g. the text streamed so far).
    pub async fn update_part_data(
        &self,
        part_id: &str,
        data: &Map<String, Value>,
    ) -> Result<(), StoreError> {
        let done = sqlx::query("UPDATE parts SET data = ? WHERE id = ?")
            .bind(Value::Object(data.clone()).to_string())
            .bind(part_id)
            .execute(self.pool())
            .await?;
        super::touched(&done)?;
        Ok(())
    }

    /// Each message with its parts, ordered by `(createdAt, id)`; messages keep their order.
    pub(crate) async fn attach_parts(
        &self,
        messages: Vec<Message>,
    ) -> Result<Vec<MessageWithParts>, StoreError> {
        if messages.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<&str> = messages.iter().map(|m| m.id.as_str()).collect();
        let ids = serde_json::to_string(&ids).map_err(|source| StoreError::BadJson {
            column: "messages.id",
            source,
        })?;
        let rows = sqlx::query(
            "SELECT id, message_id, session_id, data, created_at FROM parts \
             WHERE message_id IN (SELECT value FROM json_each(?1)) ORDER BY created_at, id",
        )
        .bind(ids)
        .fetch_all(self.pool())
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
}
