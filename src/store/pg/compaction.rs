//! Compaction on PostgreSQL (see `store/compaction.rs`): the same boundary, the same reads and
//! one transaction per step. `compacting` is a boolean column here, `summary` a number.

use std::sync::LazyLock;

use tokio_postgres::types::ToSql;

use super::super::compaction::{CompactionDone, CompactionSource};
use super::super::messages::{MSG_COLS, Message, MessageWithParts, message_from_row};
use super::super::parts::{Part, texts_of};
use super::super::rows::{int, str};
use super::super::sessions::{COLS, Session, from_row};
use super::super::{Entity, StoreError};
use super::messages::{insert_message_in, insert_part_in};
use super::{Postgres, db, exec_in, query_in};

/// The latest compaction with a summary: `(trigger sequence, summary sequence)`.
const BOUNDARY: &str = "SELECT t.sequence, s.sequence FROM messages s \
    JOIN messages t ON t.id = s.parent_id AND t.session_id = s.session_id \
    WHERE s.session_id = $1 AND s.role = 'assistant' AND s.summary = 1 \
      AND s.mode = 'compaction' \
      AND EXISTS (SELECT 1 FROM parts p WHERE p.message_id = t.id AND p.type = 'compaction') \
    ORDER BY s.sequence DESC LIMIT 1";

static SET_FLAG: LazyLock<String> = LazyLock::new(|| {
    format!(
        "UPDATE sessions SET compacting = $2, updated_at = $3 WHERE id = $1 RETURNING {}",
        *COLS
    )
});

fn no_session() -> StoreError {
    StoreError::NotFound(Entity::Session)
}

/// Set or clear the flag inside a transaction.
async fn set_flag(
    tx: &deadpool_postgres::Transaction<'_>,
    sid: &str,
    on: bool,
    now: &str,
) -> Result<Session, StoreError> {
    let rows = query_in(tx, &SET_FLAG, &[&sid, &on, &now]).await?;
    Ok(from_row(rows.first().ok_or_else(no_session)?)?)
}

async fn insert_all(
    tx: &deadpool_postgres::Transaction<'_>,
    message: &Message,
    parts: &[Part],
) -> Result<i64, StoreError> {
    let sequence = insert_message_in(tx, message).await?;
    for p in parts {
        insert_part_in(tx, p).await?;
    }
    Ok(sequence)
}

impl Postgres {
    async fn boundary(&self, sid: &str) -> Result<Option<(i64, i64)>, StoreError> {
        match self.query_opt(BOUNDARY, &[&sid]).await? {
            Some(r) => Ok(Some((int(&r, 0)?, int(&r, 1)?))),
            None => Ok(None),
        }
    }

    /// The newest `limit` messages of `sid` with a sequence in `from..=until`, ascending.
    async fn messages_in(
        &self,
        sid: &str,
        (from, until): (i64, i64),
        limit: u32,
    ) -> Result<Vec<MessageWithParts>, StoreError> {
        static SQL: LazyLock<String> = LazyLock::new(|| {
            format!(
                "SELECT {MSG_COLS} FROM messages WHERE session_id = $1 AND sequence >= $2 \
                 AND sequence <= $3 ORDER BY sequence DESC LIMIT $4"
            )
        });
        let rows = self
            .query(&SQL, &[&sid, &from, &until, &i64::from(limit)])
            .await?;
        let mut messages: Vec<Message> = rows
            .iter()
            .map(message_from_row)
            .collect::<Result<_, _>>()?;
        messages.reverse();
        self.attach_parts(messages).await
    }

    pub async fn context_messages(
        &self,
        session_id: &str,
        limit: u32,
    ) -> Result<Vec<MessageWithParts>, StoreError> {
        let from = self.boundary(session_id).await?.map_or(0, |b| b.0);
        self.messages_in(session_id, (from, i64::MAX), limit).await
    }

    pub async fn compaction_source(
        &self,
        session_id: &str,
        limit: u32,
    ) -> Result<CompactionSource, StoreError> {
        let Some((_, summary)) = self.boundary(session_id).await? else {
            return Ok(CompactionSource {
                previous_summary: None,
                messages: self.messages_in(session_id, (0, i64::MAX), limit).await?,
            });
        };
        let mut previous = self.messages_in(session_id, (summary, summary), 1).await?;
        Ok(CompactionSource {
            previous_summary: previous.pop().map(|m| texts_of(&m.parts)),
            messages: self
                .messages_in(session_id, (summary + 1, i64::MAX), limit)
                .await?,
        })
    }

    pub async fn set_compacting(
        &self,
        session_id: &str,
        on: bool,
        now: &str,
    ) -> Result<Session, StoreError> {
        let row = self
            .query_opt(&SET_FLAG, &[&session_id, &on, &now])
            .await?
            .ok_or_else(no_session)?;
        Ok(from_row(&row)?)
    }

    pub async fn create_message_with_parts(
        &self,
        message: &Message,
        parts: &[Part],
    ) -> Result<Message, StoreError> {
        let mut c = self.conn().await?;
        let tx = c.transaction().await.map_err(db)?;
        let mut message = message.clone();
        message.sequence = insert_all(&tx, &message, parts).await?;
        tx.commit().await.map_err(db)?;
        Ok(message)
    }

    pub async fn finish_compaction(&self, done: CompactionDone) -> Result<Session, StoreError> {
        static SQL: LazyLock<String> = LazyLock::new(|| {
            format!(
                "UPDATE sessions SET prompt_tokens = $2, completion_tokens = $3, \
                 total_tokens = $2::bigint + $3::bigint, cache_read_tokens = $4, \
                 cache_write_tokens = $5, no_cache_tokens = $6, compacting = FALSE, updated_at = $7 WHERE id = $1 \
                 RETURNING {}",
                *COLS
            )
        });
        let mut c = self.conn().await?;
        let tx = c.transaction().await.map_err(db)?;
        insert_all(&tx, &done.summary, std::slice::from_ref(&done.text)).await?;
        for id in &done.pruned {
            exec_in(
                &tx,
                "UPDATE parts SET data = jsonb_set(data::jsonb, '{state,compactedAt}', \
                 to_jsonb($2::bigint))::text WHERE id = $1 AND type = 'tool'",
                &[id, &done.compacted_at],
            )
            .await?;
        }
        let t = done.tokens;
        let params: [&(dyn ToSql + Sync); 7] = [
            &done.summary.session_id,
            &t.prompt,
            &t.completion,
            &t.cache_read,
            &t.cache_write,
            &t.no_cache,
            &done.now,
        ];
        let rows = query_in(&tx, &SQL, &params).await?;
        let s = from_row(rows.first().ok_or_else(no_session)?)?;
        tx.commit().await.map_err(db)?;
        Ok(s)
    }

    pub async fn fail_compaction(
        &self,
        message: &Message,
        parts: &[Part],
        now: &str,
    ) -> Result<Session, StoreError> {
        let mut c = self.conn().await?;
        let tx = c.transaction().await.map_err(db)?;
        insert_all(&tx, message, parts).await?;
        let s = set_flag(&tx, &message.session_id, false, now).await?;
        tx.commit().await.map_err(db)?;
        Ok(s)
    }

    pub async fn recover_compactions(
        &self,
        failure: impl Fn(&str, &str) -> (Message, Vec<Part>) + Send + 'static,
        now: &str,
    ) -> Result<usize, StoreError> {
        const ORPHANS: &str = "SELECT t.id FROM messages t WHERE t.session_id = $1 \
            AND t.role = 'user' \
            AND EXISTS (SELECT 1 FROM parts p WHERE p.message_id = t.id AND p.type = 'compaction') \
            AND NOT EXISTS (SELECT 1 FROM messages o WHERE o.session_id = t.session_id \
                            AND o.parent_id = t.id) \
            ORDER BY t.sequence";
        let mut c = self.conn().await?;
        let tx = c.transaction().await.map_err(db)?;
        let rows = query_in(
            &tx,
            "SELECT id FROM sessions WHERE compacting ORDER BY id",
            &[],
        )
        .await?;
        let ids = rows
            .iter()
            .map(|r| Ok(str(r, 0)?.to_owned()))
            .collect::<Result<Vec<_>, StoreError>>()?;
        for sid in &ids {
            let triggers = query_in(&tx, ORPHANS, &[sid]).await?;
            for t in &triggers {
                let (message, parts) = failure(sid, str(t, 0)?);
                insert_all(&tx, &message, &parts).await?;
            }
            set_flag(&tx, sid, false, now).await?;
        }
        tx.commit().await.map_err(db)?;
        Ok(ids.len())
    }
}
