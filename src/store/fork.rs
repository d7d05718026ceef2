//! Forking a session at a message (`PROTOCOL-AGENT.md` §11.1), in one transaction: a new
//! session with the source's workspace, preconfig, model, token counts and approval level, and
//! a copy of every message up to and including the target — messages and parts (tool parts
//! too) with new ids, contents and `createdAt` kept, assistant messages `completed`, a
//! `parentId` pointing at a copied message mapped to its copy. An image or file part that shows
//! one of the source's attachments points at a copy of it (a new row with its own id and key;
//! the caller puts the bytes in place), so nothing is shared afterwards.

use std::collections::HashMap;
use std::sync::LazyLock;

use rusqlite::{Connection, OptionalExtension, ToSql};
use serde_json::{Map, Value};

use super::attachments::{Attachment, in_content_url};
use super::kinds::MessageStatus;
use super::messages::{MSG_COLS, Message, MessageWithParts, insert_message, message_from_row};
use super::parts::{attach_parts, insert_part};
use super::rows::{all, one};
use super::sessions::{COLS, Session, VISIBLE, from_row};
use super::{Entity, Fail, Scope, Sqlite, StoreError};

/// A fork to make.
#[derive(Debug, Clone)]
pub struct ForkRequest {
    pub source_id: String,
    /// The last message copied.
    pub message_id: String,
    /// The new session's title; `None`: `"<source title> (fork)"`.
    pub title: Option<String>,
    /// ISO time of the new session.
    pub now: String,
    /// The new session's id, chosen by the caller (who prepares the attachments' bytes under it).
    pub new_id: String,
    /// Copies of the source's attachments for the new session, by the source attachment's id.
    /// Only those a copied part shows are recorded.
    pub attachments: HashMap<String, Attachment>,
}

/// The new session and its messages (ascending).
#[derive(Debug, Clone)]
pub struct Forked {
    pub session: Session,
    pub messages: Vec<MessageWithParts>,
    /// The attachment copies recorded for the fork (the caller may drop the others' bytes).
    pub attachments: Vec<Attachment>,
}

/// Why a reply that is still streaming cannot be forked at (a [`StoreError::Conflict`]).
pub const FORK_STREAMING: &str = "Wait until the reply has finished before forking at it";

impl Sqlite {
    /// Fork as `req` says. `NotFound(Session)` for a source `scope` cannot see,
    /// `NotFound(Message)` for a message that is not the source's, and `Conflict` when a copied
    /// reply is still streaming; in every case nothing is written.
    pub async fn fork_session(
        &self,
        scope: &Scope,
        req: ForkRequest,
    ) -> Result<Forked, StoreError> {
        let owner = scope.owner().map(str::to_owned);
        self.write(move |c, pages| {
            let tx = c.transaction()?;
            let forked = fork(&tx, owner.as_deref(), &req)?;
            tx.commit()?;
            pages.bump_sessions(&forked.session.workspace_id);
            Ok(forked)
        })
        .await
    }
}

fn fork(c: &Connection, owner: Option<&str>, req: &ForkRequest) -> Result<Forked, Fail> {
    static SOURCE: LazyLock<String> =
        LazyLock::new(|| format!("SELECT {} FROM sessions WHERE id = ?1 AND {VISIBLE}", *COLS));
    static UP_TO: LazyLock<String> = LazyLock::new(|| {
        format!(
            "SELECT {MSG_COLS} FROM messages WHERE session_id = ?1 AND sequence <= ?2 \
             ORDER BY sequence"
        )
    });
    let source = one(
        &mut *c.prepare_cached(&SOURCE)?,
        (&req.source_id, owner),
        from_row,
    )?
    .ok_or(Fail::Store(StoreError::NotFound(Entity::Session)))?;
    let target: i64 = c
        .prepare_cached("SELECT sequence FROM messages WHERE id = ?1 AND session_id = ?2")?
        .query_row((&req.message_id, &source.id), |r| r.get(0))
        .optional()?
        .ok_or(Fail::Store(StoreError::NotFound(Entity::Message)))?;
    let messages = all(
        &mut *c.prepare_cached(&UP_TO)?,
        (&source.id, target),
        message_from_row,
    )?;
    refuse_streaming(&messages)?;
    let session = insert_fork_session(c, &source, req)?;
    let (mut messages, attachments) = copies(&session.id, attach_parts(c, messages)?, req);
    for m in &mut messages {
        m.message.sequence = insert_message(c, &m.message)?;
        for part in &m.parts {
            insert_part(c, part)?;
        }
    }
    for a in &attachments {
        super::attachments::insert(c, a)?;
    }
    Ok(Forked {
        session,
        messages,
        attachments,
    })
}

/// The new session row, from the source's.
fn insert_fork_session(
    c: &Connection,
    source: &Session,
    req: &ForkRequest,
) -> Result<Session, Fail> {
    static SQL: LazyLock<String> = LazyLock::new(|| {
        format!(
            "INSERT INTO sessions (id, workspace_id, preconfig_id, title, status, created_at, \
             updated_at, metadata, selected_model, selected_provider, prompt_tokens, \
             completion_tokens, total_tokens, parent_id, auto_approve_severity) \
             SELECT ?1, s.workspace_id, s.preconfig_id, ?2, 'active', ?3, ?3, ?4, \
             s.selected_model, s.selected_provider, s.prompt_tokens, s.completion_tokens, \
             s.total_tokens, NULL, COALESCE(s.auto_approve_severity, \
               CASE WHEN json_valid(w.settings) \
                 THEN json_extract(w.settings, '$.autoApproveSeverity') END, 'low') \
             FROM sessions s JOIN workspaces w ON w.id = s.workspace_id WHERE s.id = ?5 \
             RETURNING {}",
            *COLS
        )
    });
    let (title, metadata) = (req.title_for(source), fork_metadata(source));
    let params: [&dyn ToSql; 5] = [&req.new_id, &title, &req.now, &metadata, &source.id];
    one(&mut *c.prepare_cached(&SQL)?, &params[..], from_row)?
        .ok_or(Fail::Store(StoreError::NotFound(Entity::Session)))
}

impl ForkRequest {
    /// The new session's title: the one asked for, else `"<source title> (fork)"`.
    pub(super) fn title_for(&self, source: &Session) -> String {
        match self.title.as_deref().map(str::trim) {
            Some(t) if !t.is_empty() => t.to_owned(),
            _ => {
                let base = Some(source.title.as_str()).filter(|t| !t.trim().is_empty());
                format!("{} (fork)", base.unwrap_or("Untitled"))
            }
        }
    }
}

/// The new session's metadata: the source's, with `forkedFrom` naming it (JSON text).
pub(super) fn fork_metadata(source: &Session) -> String {
    let mut metadata = match &source.metadata {
        Some(Value::Object(m)) => m.clone(),
        _ => Map::new(),
    };
    metadata.insert("forkedFrom".into(), Value::String(source.id.clone()));
    Value::Object(metadata).to_string()
}

/// `Conflict` when a reply to copy is still streaming.
pub(super) fn refuse_streaming(messages: &[Message]) -> Result<(), StoreError> {
    let streaming = messages.iter().any(|m| {
        m.assistant
            .as_ref()
            .is_some_and(|a| a.status == MessageStatus::Streaming)
    });
    if streaming {
        return Err(StoreError::Conflict(FORK_STREAMING.into()));
    }
    Ok(())
}

/// The copies of `originals` for session `sid`, in order, as the backend then inserts them:
/// new message and part ids, `parentId`s mapped to the copies, assistant messages
/// `completed`, and parts that show one of the source's attachments pointed at the copy of it
/// offered in `req`. Also the attachment copies so taken (each once).
pub(super) fn copies(
    sid: &str,
    originals: Vec<MessageWithParts>,
    req: &ForkRequest,
) -> (Vec<MessageWithParts>, Vec<Attachment>) {
    let ids: HashMap<String, String> = originals
        .iter()
        .map(|m| (m.message.id.clone(), uuid::Uuid::new_v4().to_string()))
        .collect();
    let mut used: Vec<Attachment> = Vec::new();
    let mut out = Vec::with_capacity(originals.len());
    for MessageWithParts { mut message, parts } in originals {
        message.id = ids.get(&message.id).cloned().unwrap_or_default();
        message.session_id = sid.to_owned();
        if let Some(a) = message.assistant.as_mut() {
            a.status = MessageStatus::Completed;
            if let Some(p) = a.parent_id.as_mut()
                && let Some(mapped) = ids.get(p.as_str())
            {
                *p = mapped.clone();
            }
        }
        let mut copied = Vec::with_capacity(parts.len());
        for mut part in parts {
            part.id = uuid::Uuid::new_v4().to_string();
            part.message_id = message.id.clone();
            part.session_id = sid.to_owned();
            if let Some(copy) = repoint(&mut part.data, &req.source_id, &req.attachments)
                && !used.iter().any(|a| a.id == copy.id)
            {
                used.push(copy.clone());
            }
            copied.push(part);
        }
        out.push(MessageWithParts {
            message,
            parts: copied,
        });
    }
    (out, used)
}

/// Point `part` at the copy (in `offered`) of the attachment of session `source` it shows, if
/// it shows one; that copy.
fn repoint<'a>(
    part: &mut Map<String, Value>,
    source: &str,
    offered: &'a HashMap<String, Attachment>,
) -> Option<&'a Attachment> {
    let Some(Value::String(url)) = part.get("url") else {
        return None;
    };
    let copy = match in_content_url(url) {
        Some((sid, id)) if sid == source => offered.get(id)?,
        _ => return None,
    };
    part.insert("url".into(), copy.content_url().into());
    Some(copy)
}
