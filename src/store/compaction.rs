//! Compaction in the store (`PROTOCOL-AGENT.md` §11.5). A compaction is a *trigger* (a user
//! message with a `compaction` part) and its *outcome*: a summary (an assistant message with
//! `summary`, `mode: "compaction"` and `parentId` = the trigger) or a failure (`mode:
//! "compact_failed"`). The latest trigger that has a summary is the *boundary*: the model
//! receives the messages from it on ([`Store::context_messages`]), and the next compaction
//! summarises what came after that summary ([`Store::compaction_source`]).
//!
//! Each step is one transaction: the flag and the trigger, then the summary together with the
//! pruned tool outputs, the session's tokens and the cleared flag (or the failure and the
//! cleared flag). A crash in between leaves a flag and maybe a trigger without outcome, which
//! [`Store::recover_compactions`] ends at the next start.

use std::sync::LazyLock;

use rusqlite::{Connection, ToSql};

use super::messages::{MSG_COLS, Message, MessageWithParts, insert_message, message_from_row};
use super::parts::{Part, attach_parts, insert_part};
use super::rows::{all, one, str};
use super::sessions::{COLS, Session, TokenTotals, from_row};
use super::{Entity, Fail, Store, StoreError};

/// The trigger and summary sequences of the latest compaction that has a summary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Boundary {
    trigger: i64,
    summary: i64,
}

/// What a compaction summarises: the previous summary's text (when there is one) and the
/// messages after it, ascending.
#[derive(Debug, Clone, Default)]
pub struct CompactionSource {
    pub previous_summary: Option<String>,
    pub messages: Vec<MessageWithParts>,
}

/// The outcome of a successful compaction, written at once.
#[derive(Debug, Clone)]
pub struct CompactionDone {
    pub summary: Message,
    pub text: Part,
    /// Tool parts whose output is now cleared for the model (`state.compactedAt`).
    pub pruned: Vec<String>,
    /// Unix ms stored as `compactedAt`.
    pub compacted_at: i64,
    /// The summary call's usage, which becomes the session's token counts.
    pub tokens: TokenTotals,
    /// ISO `updatedAt`.
    pub now: String,
}

/// The error text of a compaction cut off by a crash or stop.
pub const INTERRUPTED_COMPACTION: &str =
    "Compaction interrupted (the server stopped before it finished)";

fn boundary(c: &Connection, session_id: &str) -> Result<Option<Boundary>, Fail> {
    let mut st = c.prepare_cached(
        "SELECT t.sequence, s.sequence FROM messages s \
         JOIN messages t ON t.id = s.parent_id AND t.session_id = s.session_id \
         WHERE s.session_id = ?1 AND s.role = 'assistant' AND s.summary = 1 \
           AND s.mode = 'compaction' \
           AND EXISTS (SELECT 1 FROM parts p WHERE p.message_id = t.id AND p.type = 'compaction') \
         ORDER BY s.sequence DESC LIMIT 1",
    )?;
    one(&mut st, [session_id], |r| {
        Ok(Boundary {
            trigger: super::rows::int(r, 0)?,
            summary: super::rows::int(r, 1)?,
        })
    })
}

/// Messages of `session_id` with a sequence in `from..=until`: the newest `limit` of them,
/// ascending.
fn messages_in(
    c: &Connection,
    session_id: &str,
    (from, until): (i64, i64),
    limit: u32,
) -> Result<Vec<MessageWithParts>, Fail> {
    static SQL: LazyLock<String> = LazyLock::new(|| {
        format!(
            "SELECT {MSG_COLS} FROM messages WHERE session_id = ?1 AND sequence >= ?2 \
             AND sequence <= ?3 ORDER BY sequence DESC LIMIT ?4"
        )
    });
    let mut messages = all(
        &mut *c.prepare_cached(&SQL)?,
        (session_id, from, until, i64::from(limit)),
        message_from_row,
    )?;
    messages.reverse();
    attach_parts(c, messages)
}

fn set_flag(c: &Connection, session_id: &str, on: bool, now: &str) -> Result<Session, Fail> {
    static SQL: LazyLock<String> = LazyLock::new(|| {
        format!(
            "UPDATE sessions SET compacting = ?2, updated_at = ?3 WHERE id = ?1 RETURNING {}",
            *COLS
        )
    });
    one(
        &mut *c.prepare_cached(&SQL)?,
        (session_id, on, now),
        from_row,
    )?
    .ok_or(Fail::Store(StoreError::NotFound(Entity::Session)))
}

fn insert_all(c: &Connection, message: &Message, parts: &[Part]) -> Result<(), Fail> {
    insert_message(c, message)?;
    for p in parts {
        insert_part(c, p)?;
    }
    Ok(())
}

impl Store {
    /// What the model receives of a session: the newest `limit` messages from the latest
    /// boundary's trigger on (every message when the session was never compacted), ascending.
    pub async fn context_messages(
        &self,
        session_id: &str,
        limit: u32,
    ) -> Result<Vec<MessageWithParts>, StoreError> {
        let sid = session_id.to_owned();
        self.read(move |c| {
            let from = boundary(c, &sid)?.map_or(0, |b| b.trigger);
            messages_in(c, &sid, (from, i64::MAX), limit)
        })
        .await
    }

    /// What the next compaction of a session summarises (the newest `limit` messages after the
    /// latest summary, and that summary's text).
    pub async fn compaction_source(
        &self,
        session_id: &str,
        limit: u32,
    ) -> Result<CompactionSource, StoreError> {
        let sid = session_id.to_owned();
        self.read(move |c| {
            let Some(b) = boundary(c, &sid)? else {
                let messages = messages_in(c, &sid, (0, i64::MAX), limit)?;
                return Ok(CompactionSource {
                    previous_summary: None,
                    messages,
                });
            };
            let mut summary = messages_in(c, &sid, (b.summary, b.summary), 1)?;
            let previous = summary.pop().map(|m| super::parts::texts_of(&m.parts));
            Ok(CompactionSource {
                previous_summary: previous,
                messages: messages_in(c, &sid, (b.summary + 1, i64::MAX), limit)?,
            })
        })
        .await
    }

    /// Set or clear a session's `compacting` flag; the session as it now is.
    pub async fn set_compacting(
        &self,
        session_id: &str,
        on: bool,
        now: &str,
    ) -> Result<Session, StoreError> {
        let (sid, now) = (session_id.to_owned(), now.to_owned());
        self.write(move |c, pages| {
            let s = set_flag(c, &sid, on, &now)?;
            pages.bump_sessions(&s.workspace_id);
            Ok(s)
        })
        .await
    }

    /// Insert a message and its parts together (a compaction trigger).
    pub async fn create_message_with_parts(
        &self,
        message: &Message,
        parts: &[Part],
    ) -> Result<Message, StoreError> {
        let (mut message, parts) = (message.clone(), parts.to_vec());
        self.write(move |c, _| {
            let tx = c.transaction()?;
            message.sequence = insert_message(&tx, &message)?;
            for p in &parts {
                insert_part(&tx, p)?;
            }
            tx.commit()?;
            Ok(message)
        })
        .await
    }

    /// Write a successful compaction: the summary and its text, `compactedAt` on the pruned
    /// tool parts, the summary call's usage as the session's tokens, the flag cleared.
    pub async fn finish_compaction(&self, done: CompactionDone) -> Result<Session, StoreError> {
        static SQL: LazyLock<String> = LazyLock::new(|| {
            format!(
                "UPDATE sessions SET prompt_tokens = ?2, completion_tokens = ?3, \
                 total_tokens = ?2 + ?3, cache_read_tokens = ?4, cache_write_tokens = ?5, \
                 no_cache_tokens = ?6, compacting = 0, updated_at = ?7 WHERE id = ?1 \
                 RETURNING {}",
                *COLS
            )
        });
        self.write(move |c, pages| {
            let tx = c.transaction()?;
            insert_all(&tx, &done.summary, std::slice::from_ref(&done.text))?;
            for id in &done.pruned {
                tx.prepare_cached(
                    "UPDATE parts SET data = json_set(data, '$.state.compactedAt', ?2) \
                     WHERE id = ?1 AND type = 'tool'",
                )?
                .execute((id, done.compacted_at))?;
            }
            let t = done.tokens;
            let params: [&dyn ToSql; 7] = [
                &done.summary.session_id,
                &t.prompt,
                &t.completion,
                &t.cache_read,
                &t.cache_write,
                &t.no_cache,
                &done.now,
            ];
            let s = one(&mut *tx.prepare_cached(&SQL)?, &params[..], from_row)?
                .ok_or(Fail::Store(StoreError::NotFound(Entity::Session)))?;
            tx.commit()?;
            pages.bump_sessions(&s.workspace_id);
            Ok(s)
        })
        .await
    }

    /// Write a failed compaction's outcome (its message and parts) and clear the flag.
    pub async fn fail_compaction(
        &self,
        message: &Message,
        parts: &[Part],
        now: &str,
    ) -> Result<Session, StoreError> {
        let (message, parts, now) = (message.clone(), parts.to_vec(), now.to_owned());
        self.write(move |c, pages| {
            let tx = c.transaction()?;
            insert_all(&tx, &message, &parts)?;
            let s = set_flag(&tx, &message.session_id, false, &now)?;
            tx.commit()?;
            pages.bump_sessions(&s.workspace_id);
            Ok(s)
        })
        .await
    }

    /// At start-up: every session left `compacting` gets the flag cleared, and each of its
    /// triggers without an outcome gets the failure `failure(session, trigger)` builds. The
    /// sessions recovered.
    pub async fn recover_compactions(
        &self,
        failure: impl Fn(&str, &str) -> (Message, Vec<Part>) + Send + 'static,
        now: &str,
    ) -> Result<usize, StoreError> {
        let now = now.to_owned();
        self.write(move |c, pages| {
            let tx = c.transaction()?;
            let ids = all(
                &mut *tx.prepare_cached("SELECT id FROM sessions WHERE compacting != 0")?,
                [],
                |r| Ok(str(r, 0)?.to_owned()),
            )?;
            for sid in &ids {
                for trigger in orphan_triggers(&tx, sid)? {
                    let (message, parts) = failure(sid, &trigger);
                    insert_all(&tx, &message, &parts)?;
                }
                let s = set_flag(&tx, sid, false, &now)?;
                pages.bump_sessions(&s.workspace_id);
            }
            tx.commit()?;
            Ok(ids.len())
        })
        .await
    }
}

/// The triggers of a session that have neither a summary nor a failure.
fn orphan_triggers(c: &Connection, session_id: &str) -> Result<Vec<String>, Fail> {
    let mut st = c.prepare_cached(
        "SELECT t.id FROM messages t WHERE t.session_id = ?1 AND t.role = 'user' \
         AND EXISTS (SELECT 1 FROM parts p WHERE p.message_id = t.id AND p.type = 'compaction') \
         AND NOT EXISTS (SELECT 1 FROM messages o WHERE o.session_id = t.session_id \
                         AND o.parent_id = t.id) \
         ORDER BY t.sequence",
    )?;
    all(&mut st, [session_id], |r| Ok(str(r, 0)?.to_owned()))
}

#[cfg(test)]
#[path = "compaction_tests.rs"]
mod tests;
