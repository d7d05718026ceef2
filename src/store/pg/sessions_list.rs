//! Listing sessions on PostgreSQL: the page SQL of `store/sessions_list.rs` (built from the
//! filters given, placeholders rewritten), the children of a page's roots by `= ANY($1)`, and
//! the same JSON bytes as the SQLite listing.

use std::sync::LazyLock;

use rusqlite::types::Value as SqlValue;
use tokio_postgres::Row;
use tokio_postgres::types::ToSql;

use super::super::sessions::{COLS, SessionPage, SessionQuery, WIRE_COLS, from_row};
use super::super::sessions_json::push_row;
use super::super::sessions_list::{list_sql, position};
use super::super::{Scope, Session, SessionPageJson, StoreError};
use super::{Postgres, dollars};

/// The page rows of `q` with columns `cols`, one more than the limit.
async fn page_rows(
    p: &Postgres,
    cols: &str,
    owner: Option<&str>,
    q: &SessionQuery,
) -> Result<Vec<Row>, StoreError> {
    let list = list_sql(cols, owner, q);
    let params: Vec<Box<dyn ToSql + Sync + Send>> = list
        .params
        .into_iter()
        .map(|v| -> Box<dyn ToSql + Sync + Send> {
            match v {
                SqlValue::Integer(n) => Box::new(n),
                SqlValue::Text(t) => Box::new(t),
                other => Box::new(format!("{other:?}")),
            }
        })
        .collect();
    let refs: Vec<&(dyn ToSql + Sync)> = params.iter().map(|b| &**b as _).collect();
    p.query(&dollars(&list.sql), &refs).await
}

/// The children of the sessions `ids`, newest first.
async fn children(p: &Postgres, owned: bool, ids: &[&str]) -> Result<Vec<Row>, StoreError> {
    fn sql(cols: &str) -> String {
        format!(
            "SELECT {cols} FROM sessions WHERE parent_id = ANY($1) \
             ORDER BY updated_at DESC, id DESC"
        )
    }
    static WIRE: LazyLock<String> = LazyLock::new(|| sql(WIRE_COLS));
    static OWNED: LazyLock<String> = LazyLock::new(|| sql(&COLS));
    p.query(if owned { &OWNED } else { &WIRE }, &[&ids]).await
}

impl Postgres {
    pub async fn list_sessions(
        &self,
        scope: &Scope,
        q: &SessionQuery,
    ) -> Result<SessionPage, StoreError> {
        let rows = page_rows(self, &COLS, scope.owner(), q).await?;
        let mut sessions: Vec<Session> = rows.iter().map(from_row).collect::<Result<_, _>>()?;
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
            let ids: Vec<&str> = sessions.iter().map(|s| s.id.as_str()).collect();
            let rows = children(self, true, &ids).await?;
            let kids: Vec<Session> = rows.iter().map(from_row).collect::<Result<_, _>>()?;
            sessions.extend(kids);
        }
        Ok(SessionPage { sessions, next })
    }

    pub async fn list_sessions_json(
        &self,
        scope: &Scope,
        q: &SessionQuery,
    ) -> Result<SessionPageJson, StoreError> {
        let rows = page_rows(self, WIRE_COLS, scope.owner(), q).await?;
        let limit = q.limit.map(|l| l as usize);
        let mut page = SessionPageJson {
            json: Vec::with_capacity(limit.unwrap_or(16).min(100) * 640),
            ..SessionPageJson::default()
        };
        page.json.push(b'[');
        let shown = limit.map_or(rows.len(), |l| l.min(rows.len()));
        let mut ids: Vec<&str> = Vec::new();
        for r in &rows[..shown] {
            push_row(&mut page.json, &mut page.len, r)?;
            if q.root_only {
                ids.push(position(r)?.1);
            }
        }
        if rows.len() > shown
            && let Some(last) = rows[..shown].last()
        {
            let (updated_at, id) = position(last)?;
            page.next = Some((updated_at.to_owned(), id.to_owned()));
        }
        if q.root_only && !ids.is_empty() {
            for r in &children(self, false, &ids).await? {
                push_row(&mut page.json, &mut page.len, r)?;
            }
        }
        page.json.push(b']');
        Ok(page)
    }

    pub async fn session_tags(
        &self,
        scope: &Scope,
        workspace_id: &str,
    ) -> Result<Vec<String>, StoreError> {
        let rows = self
            .query(
                "SELECT DISTINCT (j.v #>> '{}') COLLATE \"C\" FROM sessions \
                 CROSS JOIN LATERAL jsonb_array_elements(CASE \
                   WHEN jsonb_typeof(sessions.tags::jsonb) = 'array' THEN sessions.tags::jsonb \
                   ELSE '[]'::jsonb END) AS j(v) \
                 WHERE sessions.workspace_id = $1 AND ($2::text IS NULL OR sessions.workspace_id \
                   IN (SELECT id FROM workspaces WHERE owner_id = $2)) \
                   AND jsonb_typeof(j.v) = 'string' ORDER BY 1",
                &[&workspace_id, &scope.owner()],
            )
            .await?;
        rows.iter()
            .map(|r| Ok(super::super::rows::str(r, 0)?.to_owned()))
            .collect()
    }
}
