//! The agent's tables on PostgreSQL: the queue, pending asks, permission grants and todos (see
//! `store/queue.rs`, `asks.rs`, `grants.rs`, `todos.rs`). Queuing locks the session's row, so
//! two instances queuing at once get distinct positions and the bound holds; it also bumps the
//! `wake` of the session's runner lease (`cluster.rs`), in the same transaction.

use std::sync::LazyLock;

use serde_json::Value;

use super::super::error::bad_json;
use super::super::grants::{COLS as GRANT_COLS, Grant, from_row as grant_from_row};
use super::super::queue::{COLS, QueueError, QueuedMessage, from_row};
use super::super::rows::{int, str};
use super::super::{Entity, Scope, StoreError};
use super::{Postgres, db, exec_in, query_in};

impl Postgres {
    pub async fn enqueue(
        &self,
        session_id: &str,
        content: &str,
        attachments: Option<Value>,
        created_at: i64,
        max: u32,
    ) -> Result<QueuedMessage, QueueError> {
        static INSERT: LazyLock<String> = LazyLock::new(|| {
            format!(
                "INSERT INTO queued_messages ({COLS}) \
                 SELECT $1, $2, $3, COALESCE(MAX(position) + 1, 0), $4, $5 \
                 FROM queued_messages WHERE session_id = $2 RETURNING {COLS}"
            )
        });
        let attachments = match attachments {
            Some(a) => Some(serde_json::to_string(&a).map_err(bad_json("attachments"))?),
            None => None,
        };
        let id = uuid::Uuid::new_v4().to_string();
        let mut c = self.conn().await?;
        let tx = c.transaction().await.map_err(db)?;
        let locked = query_in(
            &tx,
            "SELECT 1 FROM sessions WHERE id = $1 FOR UPDATE",
            &[&session_id],
        )
        .await?;
        if locked.is_empty() {
            return Err(StoreError::NotFound(Entity::Session).into());
        }
        let waiting = query_in(
            &tx,
            "SELECT COUNT(*) FROM queued_messages WHERE session_id = $1",
            &[&session_id],
        )
        .await?;
        let waiting = waiting
            .first()
            .map(|r| int(r, 0))
            .transpose()
            .map_err(StoreError::from)?
            .unwrap_or(0);
        if waiting >= i64::from(max) {
            return Err(QueueError::Full(max));
        }
        let rows = query_in(
            &tx,
            &INSERT,
            &[&id, &session_id, &content, &created_at, &attachments],
        )
        .await?;
        exec_in(
            &tx,
            "UPDATE session_runners SET wake = wake + 1 WHERE session_id = $1",
            &[&session_id],
        )
        .await?;
        tx.commit().await.map_err(db)?;
        let row = rows.first().ok_or(StoreError::NotFound(Entity::Session))?;
        Ok(from_row(row).map_err(StoreError::from)?)
    }

    pub async fn queued(&self, session_id: &str) -> Result<Vec<QueuedMessage>, StoreError> {
        static SQL: LazyLock<String> = LazyLock::new(|| {
            format!("SELECT {COLS} FROM queued_messages WHERE session_id = $1 ORDER BY position")
        });
        let rows = self.query(&SQL, &[&session_id]).await?;
        rows.iter().map(|r| Ok(from_row(r)?)).collect()
    }

    pub async fn take_queued(&self, session_id: &str) -> Result<Option<QueuedMessage>, StoreError> {
        static SQL: LazyLock<String> = LazyLock::new(|| {
            format!(
                "DELETE FROM queued_messages WHERE id = (SELECT id FROM queued_messages \
                 WHERE session_id = $1 ORDER BY position LIMIT 1 FOR UPDATE SKIP LOCKED) \
                 RETURNING {COLS}"
            )
        });
        let row = self.query_opt(&SQL, &[&session_id]).await?;
        row.map(|r| Ok(from_row(&r)?)).transpose()
    }

    pub async fn unqueue(&self, queue_id: &str) -> Result<Option<QueuedMessage>, StoreError> {
        static SQL: LazyLock<String> =
            LazyLock::new(|| format!("DELETE FROM queued_messages WHERE id = $1 RETURNING {COLS}"));
        let row = self.query_opt(&SQL, &[&queue_id]).await?;
        row.map(|r| Ok(from_row(&r)?)).transpose()
    }

    pub async fn queued_message(
        &self,
        queue_id: &str,
    ) -> Result<Option<QueuedMessage>, StoreError> {
        static SQL: LazyLock<String> =
            LazyLock::new(|| format!("SELECT {COLS} FROM queued_messages WHERE id = $1"));
        let row = self.query_opt(&SQL, &[&queue_id]).await?;
        row.map(|r| Ok(from_row(&r)?)).transpose()
    }

    pub async fn add_pending_ask(
        &self,
        request_id: &str,
        session_id: &str,
        tool_call_id: &str,
        request: &Value,
        created_at: i64,
        expires_at: i64,
    ) -> Result<(), StoreError> {
        let request = serde_json::to_string(request).map_err(bad_json("pending_asks.request"))?;
        self.execute(
            "INSERT INTO pending_asks \
             (request_id, session_id, tool_call_id, request, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
            &[
                &request_id,
                &session_id,
                &tool_call_id,
                &request,
                &created_at,
                &expires_at,
            ],
        )
        .await?;
        Ok(())
    }

    pub async fn close_pending_ask(
        &self,
        request_id: &str,
        status: &str,
    ) -> Result<(), StoreError> {
        self.execute(
            "UPDATE pending_asks SET status = $2 WHERE request_id = $1 AND status = 'pending'",
            &[&request_id, &status],
        )
        .await?;
        Ok(())
    }

    pub async fn pending_asks(&self, session_id: &str) -> Result<Vec<Value>, StoreError> {
        let rows = self
            .query(
                "SELECT request FROM pending_asks WHERE session_id = $1 AND status = 'pending' \
                 ORDER BY created_at, seq",
                &[&session_id],
            )
            .await?;
        rows.iter()
            .map(|r| serde_json::from_str(str(r, 0)?).map_err(bad_json("pending_asks.request")))
            .collect()
    }

    pub async fn expire_pending_asks(&self) -> Result<usize, StoreError> {
        let n = self
            .execute(
                "UPDATE pending_asks SET status = 'expired' WHERE status = 'pending'",
                &[],
            )
            .await?;
        Ok(usize::try_from(n).unwrap_or(usize::MAX))
    }

    pub async fn add_grants(&self, grants: Vec<Grant>) -> Result<(), StoreError> {
        static SQL: LazyLock<String> = LazyLock::new(|| {
            format!(
                "INSERT INTO permission_grants ({GRANT_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, \
                 $8, $9, $10, $11, $12, $13, $14, $15, $16)"
            )
        });
        if grants.is_empty() {
            return Ok(());
        }
        let mut c = self.conn().await?;
        let tx = c.transaction().await.map_err(db)?;
        for g in grants {
            let patterns =
                serde_json::to_string(&g.patterns).map_err(bad_json("grants.patterns"))?;
            let metadata = g.metadata.to_string();
            exec_in(
                &tx,
                &SQL,
                &[
                    &g.id,
                    &g.workspace_id,
                    &g.tool_name,
                    &g.resource,
                    &g.action,
                    &g.scope,
                    &g.matcher,
                    &patterns,
                    &g.allowed,
                    &g.granted_at,
                    &g.expires_ms,
                    &g.granted_by,
                    &g.revoked_at,
                    &g.revoked_by,
                    &metadata,
                    &g.bound_root_session_id,
                ],
            )
            .await?;
        }
        tx.commit().await.map_err(db)
    }

    pub async fn grants(
        &self,
        workspace_id: &str,
        include_revoked: bool,
    ) -> Result<Vec<Grant>, StoreError> {
        static SQL: LazyLock<String> = LazyLock::new(|| {
            format!(
                "SELECT {GRANT_COLS} FROM permission_grants WHERE workspace_id = $1 \
                 AND ($2 OR revoked_at IS NULL) ORDER BY granted_at DESC, seq DESC"
            )
        });
        let rows = self.query(&SQL, &[&workspace_id, &include_revoked]).await?;
        rows.iter().map(|r| Ok(grant_from_row(r)?)).collect()
    }

    pub async fn revoke_grant(
        &self,
        scope: &Scope,
        grant_id: &str,
        now: &str,
    ) -> Result<(), StoreError> {
        self.execute(
            "UPDATE permission_grants SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL \
             AND workspace_id IN (SELECT id FROM workspaces WHERE $3::text IS NULL OR owner_id = $3)",
            &[&grant_id, &now, &scope.owner()],
        )
        .await?;
        Ok(())
    }

    pub async fn revoke_all_grants(
        &self,
        workspace_id: &str,
        now: &str,
    ) -> Result<u64, StoreError> {
        self.execute(
            "UPDATE permission_grants SET revoked_at = $2 \
             WHERE workspace_id = $1 AND revoked_at IS NULL",
            &[&workspace_id, &now],
        )
        .await
    }

    pub async fn todos(&self, session_id: &str) -> Result<Value, StoreError> {
        let row = self
            .query_opt(
                "SELECT items FROM todos WHERE session_id = $1",
                &[&session_id],
            )
            .await?;
        match row {
            Some(r) => serde_json::from_str(str(&r, 0)?).map_err(bad_json("todos.items")),
            None => Ok(Value::Array(Vec::new())),
        }
    }

    pub async fn set_todos(&self, session_id: &str, items: &Value) -> Result<(), StoreError> {
        let items = items.to_string();
        self.execute(
            "INSERT INTO todos (session_id, items) VALUES ($1, $2) \
             ON CONFLICT (session_id) DO UPDATE SET items = excluded.items",
            &[&session_id, &items],
        )
        .await?;
        Ok(())
    }
}
