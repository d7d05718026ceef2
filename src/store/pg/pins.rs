//! Attachments and pinned messages on PostgreSQL (see `store/attachments.rs`, `store/pins.rs`).
//! A pin is checked and made in one transaction that locks the message's row, so two requests
//! pinning the same message at once make one pin, as SQLite's single writer does.

use std::sync::LazyLock;

use deadpool_postgres::GenericClient;
use tokio_postgres::Row;

use super::super::attachments::{Attachment, COLS, from_row};
use super::super::pins::{LIST, PinRefusal, PinnedMessage, preview};
use super::super::rows::{int, opt_str, str};
use super::super::{Entity, StoreError};
use super::{Postgres, db, dollars};

/// The text parts of a message, in order, joined by spaces.
async fn message_text<C: GenericClient>(c: &C, message_id: &str) -> Result<String, StoreError> {
    let st = c
        .prepare_cached(
            "SELECT data::jsonb ->> 'text' FROM parts \
             WHERE message_id = $1 AND type = 'text' ORDER BY created_at, id",
        )
        .await
        .map_err(db)?;
    let rows = c.query(&st, &[&message_id]).await.map_err(db)?;
    let texts: Vec<String> = rows
        .iter()
        .map(|r| Ok(opt_str(r, 0)?.unwrap_or("").to_owned()))
        .collect::<Result<_, StoreError>>()?;
    Ok(texts.join(" "))
}

async fn pin_from_row<C: GenericClient>(c: &C, r: &Row) -> Result<PinnedMessage, StoreError> {
    let message_id = str(r, 3)?.to_owned();
    Ok(PinnedMessage {
        id: str(r, 0)?.to_owned(),
        workspace_id: str(r, 1)?.to_owned(),
        session_id: str(r, 2)?.to_owned(),
        created_at: int(r, 4)?,
        session_title: opt_str(r, 5)?.map(str::to_owned),
        message_created_at: int(r, 6)?,
        preview: preview(&message_text(c, &message_id).await?),
        message_id,
    })
}

async fn one<C: GenericClient>(
    c: &C,
    sql: &str,
    params: super::Params<'_>,
) -> Result<Option<Row>, StoreError> {
    let st = c.prepare_cached(sql).await.map_err(db)?;
    c.query_opt(&st, params).await.map_err(db)
}

async fn existing_pin<C: GenericClient>(
    c: &C,
    workspace_id: &str,
    message_id: &str,
) -> Result<Option<PinnedMessage>, StoreError> {
    static SQL: LazyLock<String> =
        LazyLock::new(|| format!("{LIST} WHERE pm.workspace_id = $1 AND pm.message_id = $2"));
    match one(c, &SQL, &[&workspace_id, &message_id]).await? {
        Some(r) => Ok(Some(pin_from_row(c, &r).await?)),
        None => Ok(None),
    }
}

/// Check a pin request in upstream's order (see `store/pins.rs`).
async fn check<C: GenericClient>(
    c: &C,
    workspace_id: &str,
    session_id: &str,
    message_id: &str,
) -> Result<Result<(), PinRefusal>, StoreError> {
    if one(
        c,
        "SELECT 1 FROM workspaces WHERE id = $1",
        &[&workspace_id],
    )
    .await?
    .is_none()
    {
        return Ok(Err(PinRefusal::WorkspaceNotFound));
    }
    match one(
        c,
        "SELECT workspace_id FROM sessions WHERE id = $1",
        &[&session_id],
    )
    .await?
    {
        None => return Ok(Err(PinRefusal::SessionNotFound)),
        Some(r) if str(&r, 0)? != workspace_id => {
            return Ok(Err(PinRefusal::SessionWorkspaceMismatch));
        }
        Some(_) => {}
    }
    let message = one(
        c,
        "SELECT session_id, role FROM messages WHERE id = $1 FOR UPDATE",
        &[&message_id],
    )
    .await?;
    Ok(match message {
        None => Err(PinRefusal::MessageNotFound),
        Some(r) if str(&r, 0)? != session_id => Err(PinRefusal::MessageSessionMismatch),
        Some(r) if str(&r, 1)? != "assistant" => Err(PinRefusal::NotAssistant),
        Some(_) => Ok(()),
    })
}

static INSERT_ATTACHMENT: LazyLock<String> = LazyLock::new(|| {
    dollars(&format!(
        "INSERT INTO attachments ({COLS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"
    ))
});

fn attachment_params(a: &Attachment) -> [&(dyn tokio_postgres::types::ToSql + Sync); 10] {
    [
        &a.id,
        &a.session_id,
        &a.workspace_id,
        &a.kind,
        &a.filename,
        &a.mime_type,
        &a.content_type,
        &a.size_bytes,
        &a.access_key,
        &a.created_at,
    ]
}

/// Insert one attachment row inside a transaction (a fork's copies).
pub(super) async fn insert_attachment_in(
    tx: &deadpool_postgres::Transaction<'_>,
    a: &Attachment,
) -> Result<(), StoreError> {
    super::exec_in(tx, &INSERT_ATTACHMENT, &attachment_params(a)).await?;
    Ok(())
}

impl Postgres {
    pub async fn create_attachment(&self, a: &Attachment) -> Result<(), StoreError> {
        let c = self.conn().await?;
        let st = c.prepare_cached(&INSERT_ATTACHMENT).await.map_err(db)?;
        match c.execute(&st, &attachment_params(a)).await {
            Ok(_) => Ok(()),
            Err(e) if e.code() == Some(&tokio_postgres::error::SqlState::FOREIGN_KEY_VIOLATION) => {
                Err(StoreError::NotFound(Entity::Session))
            }
            Err(e) => Err(db(e)),
        }
    }

    pub async fn attachment(&self, id: &str) -> Result<Option<Attachment>, StoreError> {
        static SQL: LazyLock<String> =
            LazyLock::new(|| format!("SELECT {COLS} FROM attachments WHERE id = $1"));
        let row = self.query_opt(&SQL, &[&id]).await?;
        row.map(|r| Ok(from_row(&r)?)).transpose()
    }

    pub async fn session_attachments(
        &self,
        session_id: &str,
    ) -> Result<Vec<Attachment>, StoreError> {
        static SQL: LazyLock<String> = LazyLock::new(|| {
            format!(
                "SELECT {COLS} FROM attachments WHERE session_id = $1 \
                 ORDER BY created_at DESC, seq DESC"
            )
        });
        let rows = self.query(&SQL, &[&session_id]).await?;
        rows.iter().map(|r| Ok(from_row(r)?)).collect()
    }

    pub async fn sessions_with_attachments(&self) -> Result<Vec<String>, StoreError> {
        let rows = self
            .query("SELECT DISTINCT session_id FROM attachments", &[])
            .await?;
        rows.iter().map(|r| Ok(str(r, 0)?.to_owned())).collect()
    }

    pub async fn pinned_messages(
        &self,
        workspace_id: &str,
    ) -> Result<Vec<PinnedMessage>, StoreError> {
        static SQL: LazyLock<String> = LazyLock::new(|| {
            format!("{LIST} WHERE pm.workspace_id = $1 ORDER BY pm.created_at DESC, pm.seq DESC")
        });
        let c = self.conn().await?;
        let st = c.prepare_cached(&SQL).await.map_err(db)?;
        let rows = c.query(&st, &[&workspace_id]).await.map_err(db)?;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            out.push(pin_from_row(&c, r).await?);
        }
        Ok(out)
    }

    pub async fn pin_message(
        &self,
        workspace_id: &str,
        session_id: &str,
        message_id: &str,
        now_ms: i64,
    ) -> Result<Result<PinnedMessage, PinRefusal>, StoreError> {
        let mut c = self.conn().await?;
        let tx = c.transaction().await.map_err(db)?;
        if let Err(refusal) = check(&tx, workspace_id, session_id, message_id).await? {
            return Ok(Err(refusal));
        }
        if existing_pin(&tx, workspace_id, message_id).await?.is_none() {
            let id = uuid::Uuid::new_v4().to_string();
            super::exec_in(
                &tx,
                "INSERT INTO pinned_messages (id, workspace_id, session_id, message_id, \
                 created_at) VALUES ($1, $2, $3, $4, $5)",
                &[&id, &workspace_id, &session_id, &message_id, &now_ms],
            )
            .await?;
        }
        let pin = existing_pin(&tx, workspace_id, message_id).await?;
        tx.commit().await.map_err(db)?;
        pin.map(Ok).ok_or(StoreError::NotFound(Entity::Message))
    }

    pub async fn unpin_message(
        &self,
        workspace_id: &str,
        message_id: &str,
    ) -> Result<bool, StoreError> {
        let n = self
            .execute(
                "DELETE FROM pinned_messages WHERE workspace_id = $1 AND message_id = $2",
                &[&workspace_id, &message_id],
            )
            .await?;
        Ok(n > 0)
    }
}
