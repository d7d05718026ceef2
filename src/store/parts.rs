//! Parts of a message (`parts`): `{id, messageId, createdAt}` merged flat with the `data` JSON
//! column (which holds `type` and every type-specific field). See `messages.rs` for the API.

use std::collections::HashMap;

use rusqlite::{Connection, Row};
use serde::Serialize;
use serde_json::{Map, Value};

use super::error::bad_json;
use super::messages::{Message, MessageWithParts};
use super::rows::{int, json_col, str};
use super::{Entity, Fail, Store, StoreError};

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

pub(super) fn part_from_row(row: &Row<'_>) -> Result<Part, Fail> {
    Ok(Part {
        id: str(row, 0)?.to_owned(),
        message_id: str(row, 1)?.to_owned(),
        session_id: str(row, 2)?.to_owned(),
        data: json_col("parts.data", str(row, 3)?)?,
        created_at: int(row, 4)?,
    })
}

impl Store {
    /// Insert a part (its message must exist).
    pub async fn create_part(&self, part: &Part) -> Result<(), StoreError> {
        let part = part.clone();
        self.write(move |c, _| insert_part(c, &part)).await
    }

    /// At start-up: every tool part a turn left `pending` or `running` ends `interrupted` with
    /// `reason: "error"` (its turn is gone; nothing it started is touched). How many.
    pub async fn interrupt_open_tool_parts(&self, now_ms: i64) -> Result<usize, StoreError> {
        self.exec(
            "UPDATE parts SET data = json_set(data, \
                '$.state.status', 'interrupted', '$.state.reason', 'error', \
                '$.state.interruptedAt', ?1, \
                '$.state.startedAt', COALESCE(json_extract(data, '$.state.startedAt'), ?1)) \
             WHERE type = 'tool' \
               AND json_extract(data, '$.state.status') IN ('pending', 'running')",
            [now_ms],
        )
        .await
    }

    /// Replace a part's data (e.g. the text streamed so far).
    pub async fn update_part_data(
        &self,
        part_id: &str,
        data: &Map<String, Value>,
    ) -> Result<(), StoreError> {
        let data = serde_json::to_string(data).map_err(bad_json("parts.data"))?;
        let id = part_id.to_owned();
        self.write(move |c, _| {
            let n = c
                .prepare_cached("UPDATE parts SET data = ?1 WHERE id = ?2")?
                .execute((data, id))?;
            super::touched(n, Entity::Part)
        })
        .await
    }
}

/// The text of the `text` parts among `parts`, joined by newlines.
pub fn texts_of(parts: &[Part]) -> String {
    parts
        .iter()
        .filter(|p| p.kind() == "text")
        .filter_map(|p| p.data.get("text").and_then(Value::as_str))
        .filter(|t| !t.is_empty())
        .collect::<Vec<_>>()
        .join("\n")
}

/// Insert `part` on `c` (a transaction's connection, or the writer).
pub(crate) fn insert_part(c: &Connection, part: &Part) -> Result<(), Fail> {
    let data = serde_json::to_string(&part.data).map_err(bad_json("parts.data"))?;
    let call_id = part.data.get("callId").and_then(Value::as_str);
    c.prepare_cached(
        "INSERT INTO parts (id, message_id, session_id, type, call_id, data, created_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute((
        &part.id,
        &part.message_id,
        &part.session_id,
        part.kind(),
        call_id,
        data,
        part.created_at,
    ))?;
    Ok(())
}

/// Each message with its parts, ordered by `(createdAt, id)`; messages keep their order.
pub(crate) fn attach_parts(
    c: &Connection,
    messages: Vec<Message>,
) -> Result<Vec<MessageWithParts>, Fail> {
    if messages.is_empty() {
        return Ok(Vec::new());
    }
    // One bound JSON array instead of one parameter per message: any page size fits.
    let ids: Vec<&str> = messages.iter().map(|m| m.id.as_str()).collect();
    let ids = serde_json::to_string(&ids).map_err(bad_json("messages.id"))?;
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
    let mut st = c.prepare_cached(
        "SELECT id, message_id, session_id, data, created_at FROM parts \
         WHERE message_id IN (SELECT value FROM json_each(?1)) ORDER BY created_at, id",
    )?;
    let mut rows = st.query([ids])?;
    while let Some(row) = rows.next()? {
        let part = part_from_row(row)?;
        if let Some(&i) = index.get(&part.message_id) {
            out[i].parts.push(part);
        }
    }
    Ok(out)
}
