//! Listing sessions: filters, keyset pages on `(updated_at DESC, id DESC)`, and the children
//! of a page's roots. The SQL is assembled from the filters actually given, so SQLite can use
//! the `(workspace_id, [status,] updated_at DESC, id DESC)` indexes (a `?x IS NULL OR …`
//! condition would defeat them).

use sqlx::{QueryBuilder, Sqlite};

use super::sessions::{COLS, SessionPage, SessionQuery, from_row};
use super::{Scope, Session, Store, StoreError};

impl Store {
    /// List sessions, newest `updatedAt` first (ties: larger id first). With `root_only`, the
    /// children of the page's roots are appended after the page (same order).
    pub async fn list_sessions(
        &self,
        scope: &Scope,
        q: &SessionQuery,
    ) -> Result<SessionPage, StoreError> {
        let mut sql: QueryBuilder<Sqlite> =
            QueryBuilder::new(format!("SELECT {COLS} FROM sessions WHERE 1 = 1"));
        if let Some(owner) = scope.owner() {
            sql.push(" AND workspace_id IN (SELECT id FROM workspaces WHERE owner_id = ")
                .push_bind(owner.to_owned())
                .push(")");
        }
        if let Some(w) = &q.workspace_id {
            sql.push(" AND workspace_id = ").push_bind(w.clone());
        }
        if let Some(status) = &q.status {
            sql.push(" AND status = ").push_bind(status.clone());
        }
        if q.root_only {
            sql.push(" AND parent_id IS NULL");
        }
        if let Some((updated_at, id)) = &q.after {
            sql.push(" AND (updated_at, id) < (")
                .push_bind(updated_at.clone())
                .push(", ")
                .push_bind(id.clone())
                .push(")");
        }
        sql.push(" ORDER BY updated_at DESC, id DESC");
        if let Some(limit) = q.limit {
            sql.push(" LIMIT ").push_bind(i64::from(limit) + 1);
        }
        let rows = sql.build().fetch_all(self.pool()).await?;
        let mut sessions = rows.iter().map(from_row).collect::<Result<Vec<_>, _>>()?;
        let mut next = None;
        if let Some(limit) = q.limit
            && sessions.len() > limit as usize
        {
            sessions.truncate(limit as usize);
            next = sessions
                .last()
                .map(|s| (s.updated_at.clone(), s.id.clone()));
        }
        if q.root_only && !sessions.is_empty() {
            let children = self.children_of(&sessions).await?;
            sessions.extend(children);
        }
        Ok(SessionPage { sessions, next })
    }

    async fn children_of(&self, parents: &[Session]) -> Result<Vec<Session>, StoreError> {
        // One bound JSON array instead of one parameter per parent: any page size fits.
        let ids: Vec<&str> = parents.iter().map(|s| s.id.as_str()).collect();
        let ids = serde_json::to_string(&ids).map_err(|source| StoreError::BadJson {
            column: "sessions.id",
            source,
        })?;
        let rows = sqlx::query(&format!(
            "SELECT {COLS} FROM sessions WHERE parent_id IN (SELECT value FROM json_each(?1)) \
             ORDER BY updated_at DESC, id DESC"
        ))
        .bind(ids)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(from_row).collect()
    }
}
