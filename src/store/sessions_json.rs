//! Session listings serialized straight from the rows into JSON bytes: each column is borrowed
//! from SQLite and written once (JSON columns as their stored text, checked but not rebuilt),
//! with no `Session` or `serde_json::Value` in between. This is the sidebar's hot path; the
//! bytes are the same as serializing the [`Session`](super::Session)s (one [`Wire`] type).

use rusqlite::params_from_iter;

use super::error::bad_json;
use super::sessions::{SessionQuery, WIRE_COLS, wire};
use super::sessions_list::{children_sql, each_row, list_sql, position};
use super::{Fail, Scope, Store, StoreError};

/// One page of sessions as JSON.
#[derive(Debug, Clone, Default)]
pub struct SessionPageJson {
    /// A JSON array of sessions (`[{…},{…}]`), as `GET /api/sessions` sends it.
    pub json: Vec<u8>,
    /// How many sessions the array holds (children included).
    pub len: usize,
    /// The `(updatedAt, id)` of the last root of the page when more follow.
    pub next: Option<(String, String)>,
}

/// Append one row as a JSON object, preceded by a comma unless it is the first.
fn push_row(out: &mut Vec<u8>, len: &mut usize, row: &rusqlite::Row<'_>) -> Result<(), Fail> {
    if *len > 0 {
        out.push(b',');
    }
    serde_json::to_writer(&mut *out, &wire(row)?).map_err(bad_json("sessions"))?;
    *len += 1;
    Ok(())
}

impl Store {
    /// [`Store::list_sessions`], serialized: the same rows in the same order, as JSON bytes.
    pub async fn list_sessions_json(
        &self,
        scope: &Scope,
        q: &SessionQuery,
    ) -> Result<SessionPageJson, StoreError> {
        let list = list_sql(WIRE_COLS, scope.owner(), q);
        let (limit, root_only) = (q.limit.map(|l| l as usize), q.root_only);
        self.read(move |c| {
            let mut page = SessionPageJson {
                json: Vec::with_capacity(limit.unwrap_or(16).min(100) * 640),
                ..SessionPageJson::default()
            };
            page.json.push(b'[');
            // The ids of the page's roots as a JSON array, for the children query.
            let mut ids: Vec<u8> = vec![b'['];
            let mut last = (String::new(), String::new());
            let mut more = false;
            each_row(c, &list.sql, params_from_iter(list.params), |r| {
                if limit.is_some_and(|l| page.len == l) {
                    more = true;
                    return Ok(());
                }
                push_row(&mut page.json, &mut page.len, r)?;
                let (updated_at, id) = position(r)?;
                if limit.is_some() {
                    last.0.clear();
                    last.0.push_str(updated_at);
                    last.1.clear();
                    last.1.push_str(id);
                }
                if root_only {
                    if ids.len() > 1 {
                        ids.push(b',');
                    }
                    serde_json::to_writer(&mut ids, id).map_err(bad_json("sessions.id"))?;
                }
                Ok(())
            })?;
            ids.push(b']');
            if more {
                page.next = Some(last);
            }
            if root_only && page.len > 0 {
                let ids = String::from_utf8(ids).unwrap_or_default();
                each_row(c, children_sql(false), [ids], |r| {
                    push_row(&mut page.json, &mut page.len, r)
                })?;
            }
            page.json.push(b']');
            Ok(page)
        })
        .await
    }
}
