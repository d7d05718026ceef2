//! Forking a session on PostgreSQL (see `store/fork.rs`), in one transaction. The new session
//! is invisible to everyone else until the commit, so the copied messages' sequences race no
//! one. The attachment copies a copied part shows are recorded with it, as on SQLite.

use std::collections::HashMap;
use std::sync::LazyLock;

use serde_json::Value;
use tokio_postgres::types::ToSql;

use super::super::fork::{ForkRequest, Forked, copies, fork_metadata, refuse_streaming};
use super::super::messages::{MSG_COLS, Message, MessageWithParts, message_from_row};
use super::super::parts::part_from_row;
use super::super::rows::{int, opt_str};
use super::super::sessions::{COLS, Session, from_row};
use super::super::{Entity, Scope, StoreError};
use super::messages::{insert_message_in, insert_part_in};
use super::pins::insert_attachment_in;
use super::{Postgres, db, query_in};

type Tx<'a> = deadpool_postgres::Transaction<'a>;

impl Postgres {
    pub async fn fork_session(
        &self,
        scope: &Scope,
        req: ForkRequest,
    ) -> Result<Forked, StoreError> {
        static SOURCE: LazyLock<String> = LazyLock::new(|| {
            format!(
                "SELECT {} FROM sessions WHERE id = $1 AND ($2::text IS NULL OR workspace_id IN \
                 (SELECT id FROM workspaces WHERE owner_id = $2))",
                *COLS
            )
        });
        static UP_TO: LazyLock<String> = LazyLock::new(|| {
            format!(
                "SELECT {MSG_COLS} FROM messages WHERE session_id = $1 AND sequence <= $2 \
                 ORDER BY sequence"
            )
        });
        let mut c = self.conn().await?;
        let tx = c.transaction().await.map_err(db)?;
        let rows = query_in(&tx, &SOURCE, &[&req.source_id, &scope.owner()]).await?;
        let source = from_row(rows.first().ok_or(StoreError::NotFound(Entity::Session))?)?;
        let target = query_in(
            &tx,
            "SELECT sequence FROM messages WHERE id = $1 AND session_id = $2",
            &[&req.message_id, &source.id],
        )
        .await?;
        let target = int(
            target
                .first()
                .ok_or(StoreError::NotFound(Entity::Message))?,
            0,
        )?;
        let rows = query_in(&tx, &UP_TO, &[&source.id, &target]).await?;
        let messages: Vec<Message> = rows
            .iter()
            .map(message_from_row)
            .collect::<Result<_, _>>()?;
        refuse_streaming(&messages)?;
        let session = insert_fork_session(&tx, &source, &req).await?;
        let (mut messages, attachments) =
            copies(&session.id, with_parts(&tx, messages).await?, &req);
        for m in &mut messages {
            m.message.sequence = insert_message_in(&tx, &m.message).await?;
            for part in &m.parts {
                insert_part_in(&tx, part).await?;
            }
        }
        for a in &attachments {
            insert_attachment_in(&tx, a).await?;
        }
        tx.commit().await.map_err(db)?;
        Ok(Forked {
            session,
            messages,
            attachments,
        })
    }
}

/// The new session row, from the source's (the approval level falls back on the
/// workspace's setting, then `low`, as on SQLite).
async fn insert_fork_session(
    tx: &Tx<'_>,
    source: &Session,
    req: &ForkRequest,
) -> Result<Session, StoreError> {
    static SQL: LazyLock<String> = LazyLock::new(|| {
        format!(
            "INSERT INTO sessions (id, workspace_id, preconfig_id, title, status, created_at, \
             updated_at, metadata, selected_model, selected_provider, prompt_tokens, \
             completion_tokens, total_tokens, parent_id, auto_approve_severity) \
             SELECT $1, s.workspace_id, s.preconfig_id, $2, 'active', $3, $3, $4, \
             s.selected_model, s.selected_provider, s.prompt_tokens, s.completion_tokens, \
             s.total_tokens, NULL, $6 FROM sessions s WHERE s.id = $5 RETURNING {}",
            *COLS
        )
    });
    let (title, metadata) = (req.title_for(source), fork_metadata(source));
    let severity = match &source.auto_approve_severity {
        Some(s) => s.clone(),
        None => workspace_severity(tx, &source.workspace_id).await?,
    };
    let params: [&(dyn ToSql + Sync); 6] = [
        &req.new_id,
        &title,
        &req.now,
        &metadata,
        &source.id,
        &severity,
    ];
    let rows = query_in(tx, &SQL, &params).await?;
    Ok(from_row(
        rows.first().ok_or(StoreError::NotFound(Entity::Session))?,
    )?)
}

/// The workspace's `autoApproveSeverity` setting, `low` when it has none (or no valid JSON).
async fn workspace_severity(tx: &Tx<'_>, workspace_id: &str) -> Result<String, StoreError> {
    let rows = query_in(
        tx,
        "SELECT settings FROM workspaces WHERE id = $1",
        &[&workspace_id],
    )
    .await?;
    let settings = rows.first().map(|r| opt_str(r, 0)).transpose()?.flatten();
    let value = settings
        .and_then(|s| serde_json::from_str::<Value>(s).ok())
        .and_then(|v| v.get("autoApproveSeverity").cloned());
    Ok(match value {
        None | Some(Value::Null) => "low".to_owned(),
        Some(Value::String(s)) => s,
        Some(other) => other.to_string(),
    })
}

/// Each message with its parts, ordered by `(createdAt, id)`, read inside the transaction.
async fn with_parts(
    tx: &Tx<'_>,
    messages: Vec<Message>,
) -> Result<Vec<MessageWithParts>, StoreError> {
    let ids: Vec<&str> = messages.iter().map(|m| m.id.as_str()).collect();
    let rows = query_in(
        tx,
        "SELECT id, message_id, session_id, data, created_at FROM parts \
         WHERE message_id = ANY($1) ORDER BY created_at, id",
        &[&ids],
    )
    .await?;
    let index: HashMap<&str, usize> = ids.iter().enumerate().map(|(i, id)| (*id, i)).collect();
    let mut parts = vec![Vec::new(); messages.len()];
    for row in &rows {
        let part = part_from_row(row)?;
        if let Some(&i) = index.get(part.message_id.as_str()) {
            parts[i].push(part);
        }
    }
    Ok(messages
        .into_iter()
        .zip(parts)
        .map(|(message, parts)| MessageWithParts { message, parts })
        .collect())
}
