//! Forking a session at a message (`PROTOCOL-AGENT.md` §11.1), in one transaction: a new
//! session with the source's workspace, preconfig, model, token counts and approval level, and
//! a copy of every message up to and including the target — messages and parts (tool parts
//! too) with new ids, contents and `createdAt` kept, assistant messages `completed`, a
//! `parentId` pointing at a copied message mapped to its copy. Nothing is shared afterwards.

use std::collections::HashMap;
use std::sync::LazyLock;

use rusqlite::{Connection, OptionalExtension, ToSql};
use serde_json::{Map, Value};

use super::kinds::MessageStatus;
use super::messages::{MSG_COLS, MessageWithParts, insert_message, message_from_row};
use super::parts::{attach_parts, insert_part};
use super::rows::{all, one};
use super::sessions::{COLS, Session, VISIBLE, from_row};
use super::{Entity, Fail, Scope, Store, StoreError};

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
}

/// The new session and its messages (ascending).
#[derive(Debug, Clone)]
pub struct Forked {
    pub session: Session,
    pub messages: Vec<MessageWithParts>,
}

/// Why a reply that is still streaming cannot be forked at (a [`StoreError::Conflict`]).
pub const FORK_STREAMING: &str = "Wait until the reply has finished before forking at it";

impl Store {
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
    let streaming = messages.iter().any(|m| {
        m.assistant
            .as_ref()
            .is_some_and(|a| a.status == MessageStatus::Streaming)
    });
    if streaming {
        return Err(Fail::Store(StoreError::Conflict(FORK_STREAMING.into())));
    }
    let session = insert_fork_session(c, &source, req)?;
    let originals = attach_parts(c, messages)?;
    let messages = copy_messages(c, &session.id, originals)?;
    Ok(Forked { session, messages })
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
    let title = match req.title.as_deref().map(str::trim) {
        Some(t) if !t.is_empty() => t.to_owned(),
        _ => {
            let base = Some(source.title.as_str()).filter(|t| !t.trim().is_empty());
            format!("{} (fork)", base.unwrap_or("Untitled"))
        }
    };
    let mut metadata = match &source.metadata {
        Some(Value::Object(m)) => m.clone(),
        _ => Map::new(),
    };
    metadata.insert("forkedFrom".into(), Value::String(source.id.clone()));
    let metadata = Value::Object(metadata).to_string();
    let id = uuid::Uuid::new_v4().to_string();
    let params: [&dyn ToSql; 5] = [&id, &title, &req.now, &metadata, &source.id];
    one(&mut *c.prepare_cached(&SQL)?, &params[..], from_row)?
        .ok_or(Fail::Store(StoreError::NotFound(Entity::Session)))
}

/// Copy `originals` into session `sid` with new ids, in order.
fn copy_messages(
    c: &Connection,
    sid: &str,
    originals: Vec<MessageWithParts>,
) -> Result<Vec<MessageWithParts>, Fail> {
    let ids: HashMap<String, String> = originals
        .iter()
        .map(|m| (m.message.id.clone(), uuid::Uuid::new_v4().to_string()))
        .collect();
    let mut out = Vec::with_capacity(originals.len());
    for MessageWithParts { mut message, parts } in originals {
        let new_id = ids.get(&message.id).cloned().unwrap_or_default();
        message.id = new_id;
        message.session_id = sid.to_owned();
        if let Some(a) = message.assistant.as_mut() {
            a.status = MessageStatus::Completed;
            if let Some(p) = a.parent_id.as_mut()
                && let Some(mapped) = ids.get(p.as_str())
            {
                *p = mapped.clone();
            }
        }
        message.sequence = insert_message(c, &message)?;
        let mut copied = Vec::with_capacity(parts.len());
        for mut part in parts {
            part.id = uuid::Uuid::new_v4().to_string();
            part.message_id = message.id.clone();
            part.session_id = sid.to_owned();
            insert_part(c, &part)?;
            copied.push(part);
        }
        out.push(MessageWithParts {
            message,
            parts: copied,
        });
    }
    Ok(out)
}
