//! The transcript changes of the session operations (`PROTOCOL-AGENT.md` §11.2–11.3), each one
//! transaction, so a failure halfway leaves the session as it was:
//! - [`Store::revert_session`]: delete every message after one (or all of them, reverting to
//!   the first), and end a reply left `streaming`;
//! - [`Store::edit_user_message`]: replace a user message's first text and delete what follows.
//!
//! Forks are in `fork.rs`, compactions in `compaction.rs`.

use rusqlite::{Connection, OptionalExtension};
use serde_json::Value;

use super::error::bad_json;
use super::parts::{Part, part_from_row};
use super::rows::{all, str};
use super::{Entity, Fail, Store, StoreError};

/// What a revert removed and where it left the session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reverted {
    /// The message the session now ends with; `None` when everything was cleared.
    pub message_id: Option<String>,
    /// That message's 0-based index in the session (0 when cleared).
    pub message_count: i64,
    /// The deleted messages, in order.
    pub removed_ids: Vec<String>,
    /// How many parts went with them.
    pub removed_parts: i64,
}

/// What became of an edit.
#[derive(Debug, Clone, PartialEq)]
pub enum Edited {
    /// The text part as it now is, and what was deleted after the message.
    Done { part: Part, reverted: Reverted },
    /// The message is not a user message of this session.
    NotUserMessage,
    /// The user message has no text part.
    NoText,
}

/// The error of a reply a revert cut off.
pub const REVERTED_ERROR: &str = "Reverted before completion";

impl Store {
    /// Delete every message of `session_id` after `message_id`; when it is the session's first
    /// message and `keep_target` is false, delete it too (a revert to the first message clears
    /// the session). `NotFound(Message)` when the message is not in the session.
    pub async fn revert_session(
        &self,
        session_id: &str,
        message_id: &str,
        keep_target: bool,
    ) -> Result<Reverted, StoreError> {
        let (sid, mid) = (session_id.to_owned(), message_id.to_owned());
        self.write(move |c, _| {
            let tx = c.transaction()?;
            let reverted = revert(&tx, &sid, &mid, keep_target)?;
            tx.commit()?;
            Ok(reverted)
        })
        .await
    }

    /// Replace the text of the first text part of user message `message_id` and delete every
    /// message after it, in one transaction.
    pub async fn edit_user_message(
        &self,
        session_id: &str,
        message_id: &str,
        text: &str,
    ) -> Result<Edited, StoreError> {
        let (sid, mid, text) = (
            session_id.to_owned(),
            message_id.to_owned(),
            text.to_owned(),
        );
        self.write(move |c, _| {
            let tx = c.transaction()?;
            let role: Option<String> = tx
                .prepare_cached("SELECT role FROM messages WHERE id = ?1 AND session_id = ?2")?
                .query_row((&mid, &sid), |r| r.get(0))
                .optional()?;
            if role.as_deref() != Some("user") {
                return Ok(Edited::NotUserMessage);
            }
            let Some(mut part) = first_text_part(&tx, &mid)? else {
                return Ok(Edited::NoText);
            };
            part.data.insert("text".into(), Value::String(text));
            let data = serde_json::to_string(&part.data).map_err(bad_json("parts.data"))?;
            tx.prepare_cached("UPDATE parts SET data = ?1 WHERE id = ?2")?
                .execute((data, &part.id))?;
            let reverted = revert(&tx, &sid, &mid, true)?;
            tx.commit()?;
            Ok(Edited::Done { part, reverted })
        })
        .await
    }
}

fn first_text_part(c: &Connection, message_id: &str) -> Result<Option<Part>, Fail> {
    let mut st = c.prepare_cached(
        "SELECT id, message_id, session_id, data, created_at FROM parts \
         WHERE message_id = ?1 AND type = 'text' ORDER BY created_at, id LIMIT 1",
    )?;
    super::rows::one(&mut st, [message_id], part_from_row)
}

/// The revert itself, inside the caller's transaction.
fn revert(c: &Connection, sid: &str, mid: &str, keep_target: bool) -> Result<Reverted, Fail> {
    let target: i64 = c
        .prepare_cached("SELECT sequence FROM messages WHERE id = ?1 AND session_id = ?2")?
        .query_row((mid, sid), |r| r.get(0))
        .optional()?
        .ok_or(Fail::Store(StoreError::NotFound(Entity::Message)))?;
    let index: i64 = c
        .prepare_cached("SELECT COUNT(*) FROM messages WHERE session_id = ?1 AND sequence < ?2")?
        .query_row((sid, target), |r| r.get(0))?;
    let clear_all = index == 0 && !keep_target;
    // Messages from this sequence on go.
    let from = if clear_all { target } else { target + 1 };
    let removed_ids = all(
        &mut *c.prepare_cached(
            "SELECT id FROM messages WHERE session_id = ?1 AND sequence >= ?2 ORDER BY sequence",
        )?,
        (sid, from),
        |r| Ok(str(r, 0)?.to_owned()),
    )?;
    let removed_parts: i64 = c
        .prepare_cached(
            "SELECT COUNT(*) FROM parts WHERE message_id IN \
             (SELECT id FROM messages WHERE session_id = ?1 AND sequence >= ?2)",
        )?
        .query_row((sid, from), |r| r.get(0))?;
    // Parts go with their messages (ON DELETE CASCADE).
    c.prepare_cached("DELETE FROM messages WHERE session_id = ?1 AND sequence >= ?2")?
        .execute((sid, from))?;
    c.prepare_cached(
        "UPDATE messages SET status = 'error', error = ?2 \
         WHERE session_id = ?1 AND role = 'assistant' AND status = 'streaming'",
    )?
    .execute((sid, REVERTED_ERROR))?;
    Ok(Reverted {
        message_id: (!clear_all).then(|| mid.to_owned()),
        message_count: if clear_all { 0 } else { index },
        removed_ids,
        removed_parts,
    })
}

#[cfg(test)]
#[path = "session_ops_tests.rs"]
mod tests;
