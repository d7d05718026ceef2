//! Revert and edit on PostgreSQL (see `store/session_ops.rs`), each one transaction.

use serde_json::Value;

use super::super::error::bad_json;
use super::super::parts::part_from_row;
use super::super::rows::{int, str};
use super::super::session_ops::{Edited, REVERTED_ERROR, Reverted};
use super::super::{Entity, StoreError};
use super::{Postgres, db, exec_in, query_in};

type Tx<'a> = deadpool_postgres::Transaction<'a>;

impl Postgres {
    pub async fn revert_session(
        &self,
        session_id: &str,
        message_id: &str,
        keep_target: bool,
    ) -> Result<Reverted, StoreError> {
        let mut c = self.conn().await?;
        let tx = c.transaction().await.map_err(db)?;
        let reverted = revert(&tx, session_id, message_id, keep_target).await?;
        tx.commit().await.map_err(db)?;
        Ok(reverted)
    }

    pub async fn edit_user_message(
        &self,
        session_id: &str,
        message_id: &str,
        text: &str,
    ) -> Result<Edited, StoreError> {
        let mut c = self.conn().await?;
        let tx = c.transaction().await.map_err(db)?;
        let role = query_in(
            &tx,
            "SELECT role FROM messages WHERE id = $1 AND session_id = $2",
            &[&message_id, &session_id],
        )
        .await?;
        if role.first().map(|r| str(r, 0)).transpose()? != Some("user") {
            return Ok(Edited::NotUserMessage);
        }
        let first = query_in(
            &tx,
            "SELECT id, message_id, session_id, data, created_at FROM parts \
             WHERE message_id = $1 AND type = 'text' ORDER BY created_at, id LIMIT 1",
            &[&message_id],
        )
        .await?;
        let Some(row) = first.first() else {
            return Ok(Edited::NoText);
        };
        let mut part = part_from_row(row)?;
        part.data
            .insert("text".into(), Value::String(text.to_owned()));
        let data = serde_json::to_string(&part.data).map_err(bad_json("parts.data"))?;
        exec_in(
            &tx,
            "UPDATE parts SET data = $1 WHERE id = $2",
            &[&data, &part.id],
        )
        .await?;
        let reverted = revert(&tx, session_id, message_id, true).await?;
        tx.commit().await.map_err(db)?;
        Ok(Edited::Done { part, reverted })
    }
}

/// The revert itself, inside the caller's transaction.
async fn revert(
    tx: &Tx<'_>,
    sid: &str,
    mid: &str,
    keep_target: bool,
) -> Result<Reverted, StoreError> {
    let target = query_in(
        tx,
        "SELECT sequence FROM messages WHERE id = $1 AND session_id = $2",
        &[&mid, &sid],
    )
    .await?;
    let target = int(
        target
            .first()
            .ok_or(StoreError::NotFound(Entity::Message))?,
        0,
    )?;
    let index = query_in(
        tx,
        "SELECT COUNT(*) FROM messages WHERE session_id = $1 AND sequence < $2",
        &[&sid, &target],
    )
    .await?;
    let index = index.first().map(|r| int(r, 0)).transpose()?.unwrap_or(0);
    let clear_all = index == 0 && !keep_target;
    // Messages from this sequence on go.
    let from = if clear_all { target } else { target + 1 };
    let removed = query_in(
        tx,
        "SELECT id FROM messages WHERE session_id = $1 AND sequence >= $2 ORDER BY sequence",
        &[&sid, &from],
    )
    .await?;
    let removed_ids = removed
        .iter()
        .map(|r| Ok(str(r, 0)?.to_owned()))
        .collect::<Result<Vec<_>, StoreError>>()?;
    let parts = query_in(
        tx,
        "SELECT COUNT(*) FROM parts WHERE message_id IN \
         (SELECT id FROM messages WHERE session_id = $1 AND sequence >= $2)",
        &[&sid, &from],
    )
    .await?;
    let removed_parts = parts.first().map(|r| int(r, 0)).transpose()?.unwrap_or(0);
    // Parts go with their messages (ON DELETE CASCADE).
    exec_in(
        tx,
        "DELETE FROM messages WHERE session_id = $1 AND sequence >= $2",
        &[&sid, &from],
    )
    .await?;
    exec_in(
        tx,
        "UPDATE messages SET status = 'error', error = $2 \
         WHERE session_id = $1 AND role = 'assistant' AND status = 'streaming'",
        &[&sid, &REVERTED_ERROR],
    )
    .await?;
    Ok(Reverted {
        message_id: (!clear_all).then(|| mid.to_owned()),
        message_count: if clear_all { 0 } else { index },
        removed_ids,
        removed_parts,
    })
}
