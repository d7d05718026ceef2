//! Pinned messages (`pinned_messages`, `PROTOCOL-AGENT.md` §16 item 10): assistant messages a
//! person keeps at hand per workspace, with the session's title and a short preview of the
//! text. Pinning is idempotent; a pin goes with its message, session or workspace.

use rusqlite::{Connection, OptionalExtension};
use serde::Serialize;

use super::rows::{all, int, opt_str, str};
use super::{Fail, Store, StoreError};

/// The longest preview, in characters.
const PREVIEW_CHARS: usize = 240;

/// A pin as the clients see it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PinnedMessage {
    pub id: String,
    pub workspace_id: String,
    pub session_id: String,
    pub message_id: String,
    /// Unix ms.
    pub created_at: i64,
    pub session_title: Option<String>,
    /// Unix ms.
    pub message_created_at: i64,
    /// The message's text, whitespace folded, at most 240 characters.
    pub preview: String,
}

/// Why a message cannot be pinned (upstream's error codes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PinRefusal {
    #[error("Workspace not found")]
    WorkspaceNotFound,
    #[error("Session not found")]
    SessionNotFound,
    #[error("Session does not belong to this workspace")]
    SessionWorkspaceMismatch,
    #[error("Message not found")]
    MessageNotFound,
    #[error("Message does not belong to this session")]
    MessageSessionMismatch,
    #[error("Only assistant messages can be pinned")]
    NotAssistant,
}

impl PinRefusal {
    /// The `error` code of the wire body.
    pub fn code(self) -> &'static str {
        match self {
            PinRefusal::WorkspaceNotFound => "workspace_not_found",
            PinRefusal::SessionNotFound => "session_not_found",
            PinRefusal::SessionWorkspaceMismatch => "session_workspace_mismatch",
            PinRefusal::MessageNotFound => "message_not_found",
            PinRefusal::MessageSessionMismatch => "message_session_mismatch",
            PinRefusal::NotAssistant => "message_not_assistant",
        }
    }
}

/// Whitespace folded to single spaces, cut to [`PREVIEW_CHARS`] (with `...`); upstream's
/// stand-in for a message without text.
fn preview(text: &str) -> String {
    let folded = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if folded.is_empty() {
        return "Assistant message".to_owned();
    }
    if folded.chars().count() <= PREVIEW_CHARS {
        return folded;
    }
    let mut cut: String = folded.chars().take(PREVIEW_CHARS - 3).collect();
    cut.push_str("...");
    cut
}

/// The text parts of a message, in order, joined by spaces.
fn message_text(c: &Connection, message_id: &str) -> Result<String, Fail> {
    let texts = all(
        &mut *c.prepare_cached(
            "SELECT json_extract(data, '$.text') FROM parts \
             WHERE message_id = ?1 AND type = 'text' ORDER BY created_at, id",
        )?,
        [message_id],
        |r| Ok(opt_str(r, 0)?.unwrap_or("").to_owned()),
    )?;
    Ok(texts.join(" "))
}

const LIST: &str = "SELECT pm.id, pm.workspace_id, pm.session_id, pm.message_id, pm.created_at, \
    s.title, m.created_at FROM pinned_messages pm \
    JOIN sessions s ON s.id = pm.session_id JOIN messages m ON m.id = pm.message_id";

fn pin_from_row(c: &Connection, r: &rusqlite::Row<'_>) -> Result<PinnedMessage, Fail> {
    let message_id = str(r, 3)?.to_owned();
    Ok(PinnedMessage {
        id: str(r, 0)?.to_owned(),
        workspace_id: str(r, 1)?.to_owned(),
        session_id: str(r, 2)?.to_owned(),
        created_at: int(r, 4)?,
        session_title: opt_str(r, 5)?.map(str::to_owned),
        message_created_at: int(r, 6)?,
        preview: preview(&message_text(c, &message_id)?),
        message_id,
    })
}

/// The pin of `message_id` in `workspace_id`, if there is one.
fn existing_pin(
    c: &Connection,
    workspace_id: &str,
    message_id: &str,
) -> Result<Option<PinnedMessage>, Fail> {
    let mut st = c.prepare_cached(&format!(
        "{LIST} WHERE pm.workspace_id = ?1 AND pm.message_id = ?2"
    ))?;
    let mut rows = st.query((workspace_id, message_id))?;
    match rows.next()? {
        Some(r) => Ok(Some(pin_from_row(c, r)?)),
        None => Ok(None),
    }
}

/// Check a pin request in upstream's order: workspace, session, session in workspace,
/// message, message in session, assistant message.
fn check(
    c: &Connection,
    workspace_id: &str,
    session_id: &str,
    message_id: &str,
) -> Result<Result<(), PinRefusal>, Fail> {
    let workspace: Option<i64> = c
        .prepare_cached("SELECT 1 FROM workspaces WHERE id = ?1")?
        .query_row([workspace_id], |r| r.get(0))
        .optional()?;
    if workspace.is_none() {
        return Ok(Err(PinRefusal::WorkspaceNotFound));
    }
    let session: Option<String> = c
        .prepare_cached("SELECT workspace_id FROM sessions WHERE id = ?1")?
        .query_row([session_id], |r| r.get(0))
        .optional()?;
    match session {
        None => return Ok(Err(PinRefusal::SessionNotFound)),
        Some(w) if w != workspace_id => return Ok(Err(PinRefusal::SessionWorkspaceMismatch)),
        Some(_) => {}
    }
    let message: Option<(String, String)> = c
        .prepare_cached("SELECT session_id, role FROM messages WHERE id = ?1")?
        .query_row([message_id], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    Ok(match message {
        None => Err(PinRefusal::MessageNotFound),
        Some((s, _)) if s != session_id => Err(PinRefusal::MessageSessionMismatch),
        Some((_, role)) if role != "assistant" => Err(PinRefusal::NotAssistant),
        Some(_) => Ok(()),
    })
}

impl Store {
    /// A workspace's pins, newest first.
    pub async fn pinned_messages(
        &self,
        workspace_id: &str,
    ) -> Result<Vec<PinnedMessage>, StoreError> {
        let wid = workspace_id.to_owned();
        self.read(move |c| {
            let mut st = c.prepare_cached(&format!(
                "{LIST} WHERE pm.workspace_id = ?1 ORDER BY pm.created_at DESC, pm.rowid DESC"
            ))?;
            let mut rows = st.query([wid])?;
            let mut out = Vec::new();
            while let Some(r) = rows.next()? {
                out.push(pin_from_row(c, r)?);
            }
            Ok(out)
        })
        .await
    }

    /// Pin an assistant message of `session_id` in `workspace_id` (created at `now_ms`), or
    /// return the pin it already has.
    pub async fn pin_message(
        &self,
        workspace_id: &str,
        session_id: &str,
        message_id: &str,
        now_ms: i64,
    ) -> Result<Result<PinnedMessage, PinRefusal>, StoreError> {
        let (wid, sid, mid) = (
            workspace_id.to_owned(),
            session_id.to_owned(),
            message_id.to_owned(),
        );
        self.write(move |c, _| {
            let tx = c.transaction()?;
            if let Err(refusal) = check(&tx, &wid, &sid, &mid)? {
                return Ok(Err(refusal));
            }
            if existing_pin(&tx, &wid, &mid)?.is_none() {
                tx.prepare_cached(
                    "INSERT INTO pinned_messages (id, workspace_id, session_id, message_id, \
                     created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                )?
                .execute((
                    uuid::Uuid::new_v4().to_string(),
                    &wid,
                    &sid,
                    &mid,
                    now_ms,
                ))?;
            }
            let pin = existing_pin(&tx, &wid, &mid)?;
            tx.commit()?;
            pin.map(Ok)
                .ok_or_else(|| Fail::Store(StoreError::NotFound(super::Entity::Message)))
        })
        .await
    }

    /// Unpin a message of a workspace; whether it was pinned.
    pub async fn unpin_message(
        &self,
        workspace_id: &str,
        message_id: &str,
    ) -> Result<bool, StoreError> {
        let n = self
            .exec(
                "DELETE FROM pinned_messages WHERE workspace_id = ?1 AND message_id = ?2",
                (workspace_id.to_owned(), message_id.to_owned()),
            )
            .await?;
        Ok(n > 0)
    }
}

#[cfg(test)]
#[path = "pins_tests.rs"]
mod tests;
