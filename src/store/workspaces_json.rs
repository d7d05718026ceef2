//! The workspace list serialized straight from the rows into JSON bytes (`GET /api/workspaces`):
//! two queries on one connection in one trip to the blocking pool, settings written as their
//! stored text, no `Workspace` or `serde_json::Value` in between.

use super::error::bad_json;
use super::workspaces::{COLS, paths_by_workspace, wire};
use super::{Scope, Store, StoreError};

/// Every workspace a caller sees, as JSON.
#[derive(Debug, Clone, Default)]
pub struct WorkspacesJson {
    /// A JSON array of workspaces, oldest first.
    pub json: Vec<u8>,
    pub len: usize,
}

impl Store {
    /// [`Store::list_workspaces`], serialized: the same workspaces in the same order.
    pub async fn list_workspaces_json(&self, scope: &Scope) -> Result<WorkspacesJson, StoreError> {
        let owner = scope.owner().map(str::to_owned);
        self.read(move |c| {
            let paths = paths_by_workspace(c, owner.as_deref())?;
            let mut st = c.prepare_cached(&format!(
                "SELECT {COLS} FROM workspaces WHERE ?1 IS NULL OR owner_id = ?1 \
                 ORDER BY created_at, id"
            ))?;
            let mut rows = st.query([owner.as_deref()])?;
            let mut out = WorkspacesJson {
                json: Vec::with_capacity(1024),
                len: 0,
            };
            out.json.push(b'[');
            let none: &[String] = &[];
            while let Some(r) = rows.next()? {
                if out.len > 0 {
                    out.json.push(b',');
                }
                let id = super::rows::str(r, 0)?;
                let w = wire(r, paths.get(id).map_or(none, Vec::as_slice))?;
                serde_json::to_writer(&mut out.json, &w).map_err(bad_json("workspaces"))?;
                out.len += 1;
            }
            out.json.push(b']');
            Ok(out)
        })
        .await
    }
}
