//! Listing sessions: filters, keyset pages on `(updated_at DESC, id DESC)`, and the children
//! of a page's roots. The SQL is assembled from the filters actually given, so SQLite can use
//! the `(workspace_id, [status,] updated_at DESC, id DESC)` indexes (a `?x IS NULL OR …`
//! condition would defeat them). The rows come out as [`Session`]s here, or as JSON bytes in
//! `sessions_json.rs`; both share this SQL.

use std::sync::LazyLock;

use rusqlite::types::Value as SqlValue;
use rusqlite::{Connection, Row, params_from_iter};

use super::rows::str;
use super::sessions::{COLS, SessionPage, SessionQuery, WIRE_COLS, from_row};
use super::{Fail, Scope, Session, Store, StoreError};

/// A listing's SQL and its parameters.
pub(super) struct ListSql {
    pub sql: String,
    pub params: Vec<SqlValue>,
}

/// The page query: `cols` of the sessions matching `q` for `owner`, one more than the limit.
pub(super) fn list_sql(cols: &str, owner: Option<&str>, q: &SessionQuery) -> ListSql {
    let mut sql = format!("SELECT {cols} FROM sessions WHERE 1 = 1");
    let mut params = Vec::new();
    let mut bind = |sql: &mut String, v: SqlValue| {
        params.push(v);
        sql.push_str(&format!("?{}", params.len()));
    };
    if let Some(owner) = owner {
        sql.push_str(" AND workspace_id IN (SELECT id FROM workspaces WHERE owner_id = ");
        bind(&mut sql, SqlValue::Text(owner.to_owned()));
        sql.push(')');
    }
    if let Some(w) = &q.workspace_id {
        sql.push_str(" AND workspace_id = ");
        bind(&mut sql, SqlValue::Text(w.clone()));
    }
    if let Some(status) = q.status {
        sql.push_str(" AND status = ");
        bind(&mut sql, SqlValue::Text(status.as_str().to_owned()));
    }
    if q.root_only {
        sql.push_str(" AND parent_id IS NULL");
    }
    if let Some((updated_at, id)) = &q.after {
        sql.push_str(" AND (updated_at, id) < (");
        bind(&mut sql, SqlValue::Text(updated_at.clone()));
        sql.push_str(", ");
        bind(&mut sql, SqlValue::Text(id.clone()));
        sql.push(')');
    }
    sql.push_str(" ORDER BY updated_at DESC, id DESC");
    if let Some(limit) = q.limit {
        sql.push_str(" LIMIT ");
        bind(&mut sql, SqlValue::Integer(i64::from(limit) + 1));
    }
    ListSql { sql, params }
}

/// The children of the sessions whose ids are in the JSON array `?1`, newest first: the
/// columns of `WIRE_COLS` (`wire`) or, with `owned`, of `COLS` (`from_row`).
pub(super) fn children_sql(owned: bool) -> &'static str {
    fn sql(cols: &str) -> String {
        format!(
            "SELECT {cols} FROM sessions WHERE parent_id IN (SELECT value FROM json_each(?1)) \
             ORDER BY updated_at DESC, id DESC"
        )
    }
    static WIRE: LazyLock<String> = LazyLock::new(|| sql(WIRE_COLS));
    static OWNED: LazyLock<String> = LazyLock::new(|| sql(&COLS));
    if owned { &OWNED } else { &WIRE }
}

/// Run `sql`, handing each row to `f`.
pub(super) fn each_row(
    c: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
    mut f: impl FnMut(&Row<'_>) -> Result<(), Fail>,
) -> Result<(), Fail> {
    let mut st = c.prepare_cached(sql)?;
    let mut rows = st.query(params)?;
    while let Some(row) = rows.next()? {
        f(row)?;
    }
    Ok(())
}

impl Store {
    /// List sessions, newest `updatedAt` first (ties: larger id first). With `root_only`, the
    /// children of the page's roots are appended after the page (same order).
    pub async fn list_sessions(
        &self,
        scope: &Scope,
        q: &SessionQuery,
    ) -> Result<SessionPage, StoreError> {
        let list = list_sql(&COLS, scope.owner(), q);
        let (limit, root_only) = (q.limit, q.root_only);
        self.read(move |c| {
            let mut sessions: Vec<Session> = Vec::new();
            each_row(c, &list.sql, params_from_iter(list.params), |r| {
                sessions.push(from_row(r)?);
                Ok(())
            })?;
            let mut next = None;
            if let Some(limit) = limit
                && sessions.len() > limit as usize
            {
                sessions.truncate(limit as usize);
                next = sessions
                    .last()
                    .map(|s| (s.updated_at.clone(), s.id.clone()));
            }
            if root_only && !sessions.is_empty() {
                let ids: Vec<&str> = sessions.iter().map(|s| s.id.as_str()).collect();
                let ids = serde_json::to_string(&ids).map_err(super::error::bad_json("ids"))?;
                let mut children = Vec::new();
                each_row(c, children_sql(true), [ids], |r| {
                    children.push(from_row(r)?);
                    Ok(())
                })?;
                sessions.extend(children);
            }
            Ok(SessionPage { sessions, next })
        })
        .await
    }
}

/// The `(updated_at, id)` of a row of `WIRE_COLS`/`COLS`, for the next-page cursor.
pub(super) fn position<'r>(row: &'r Row<'_>) -> Result<(&'r str, &'r str), Fail> {
    Ok((
        super::rows::opt_str(row, 6)?.unwrap_or_default(),
        str(row, 0)?,
    ))
}

impl Store {
    /// The distinct tags of a workspace's sessions that `scope` sees, sorted.
    pub async fn session_tags(
        &self,
        scope: &Scope,
        workspace_id: &str,
    ) -> Result<Vec<String>, StoreError> {
        let (owner, ws) = (scope.owner().map(str::to_owned), workspace_id.to_owned());
        self.read(move |c| {
            let sql = format!(
                "SELECT DISTINCT j.value FROM sessions, json_each(sessions.tags) AS j \
                 WHERE sessions.workspace_id = ?1 AND {} AND j.type = 'text' ORDER BY 1",
                super::sessions::VISIBLE
            );
            super::rows::all(&mut *c.prepare_cached(&sql)?, (ws, owner), |r| {
                Ok(super::rows::str(r, 0)?.to_owned())
            })
        })
        .await
    }
}
