//! Workspaces and their additional paths on PostgreSQL (see `store/workspaces.rs`).

use std::collections::HashMap;

use deadpool_postgres::GenericClient;

use super::super::error::bad_json;
use super::super::rows::str;
use super::super::workspaces::{COLS, NewWorkspace, Workspace, WorkspacePatch, from_row, wire};
use super::super::{Entity, Scope, StoreError, WorkspacesJson};
use super::{Postgres, db, exec_in, query_in};

fn not_found() -> StoreError {
    StoreError::NotFound(Entity::Workspace)
}

/// One visible workspace with its paths, on any connection or transaction.
async fn load<C: GenericClient>(
    c: &C,
    owner: Option<&str>,
    id: &str,
) -> Result<Workspace, StoreError> {
    let st = c
        .prepare_cached(&format!(
            "SELECT {COLS} FROM workspaces WHERE id = $1 AND ($2::text IS NULL OR owner_id = $2)"
        ))
        .await
        .map_err(db)?;
    let row = c
        .query_opt(&st, &[&id, &owner])
        .await
        .map_err(db)?
        .ok_or_else(not_found)?;
    let mut ws = from_row(&row)?;
    let st = c
        .prepare_cached("SELECT path FROM workspace_paths WHERE workspace_id = $1 ORDER BY seq")
        .await
        .map_err(db)?;
    ws.additional_paths = c
        .query(&st, &[&id])
        .await
        .map_err(db)?
        .iter()
        .map(|r| Ok(str(r, 0)?.to_owned()))
        .collect::<Result<_, StoreError>>()?;
    Ok(ws)
}

/// The additional paths of every workspace `owner` sees, by workspace id, in insertion order.
async fn paths_by_workspace(
    p: &Postgres,
    owner: Option<&str>,
) -> Result<HashMap<String, Vec<String>>, StoreError> {
    let rows = p
        .query(
            "SELECT p.workspace_id, p.path FROM workspace_paths p \
             JOIN workspaces w ON w.id = p.workspace_id \
             WHERE ($1::text IS NULL OR w.owner_id = $1) ORDER BY p.seq",
            &[&owner],
        )
        .await?;
    let mut map: HashMap<String, Vec<String>> = HashMap::new();
    for r in &rows {
        map.entry(str(r, 0)?.to_owned())
            .or_default()
            .push(str(r, 1)?.to_owned());
    }
    Ok(map)
}

async fn insert_paths(
    tx: &deadpool_postgres::Transaction<'_>,
    id: &str,
    paths: &[String],
) -> Result<(), StoreError> {
    for p in paths {
        exec_in(
            tx,
            "INSERT INTO workspace_paths (workspace_id, path) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            &[&id, p],
        )
        .await?;
    }
    Ok(())
}

const LIST: &str = "SELECT id, name, path, is_virtual, settings, created_at, updated_at, owner_id \
    FROM workspaces WHERE $1::text IS NULL OR owner_id = $1 ORDER BY created_at, id";

impl Postgres {
    pub async fn list_workspaces(&self, scope: &Scope) -> Result<Vec<Workspace>, StoreError> {
        let owner = scope.owner();
        let mut paths = paths_by_workspace(self, owner).await?;
        let rows = self.query(LIST, &[&owner]).await?;
        let mut list = Vec::with_capacity(rows.len());
        for r in &rows {
            let mut w = from_row(r)?;
            w.additional_paths = paths.remove(&w.id).unwrap_or_default();
            list.push(w);
        }
        Ok(list)
    }

    pub async fn list_workspaces_json(&self, scope: &Scope) -> Result<WorkspacesJson, StoreError> {
        let owner = scope.owner();
        let paths = paths_by_workspace(self, owner).await?;
        let rows = self.query(LIST, &[&owner]).await?;
        let mut out = WorkspacesJson {
            json: Vec::with_capacity(1024),
            len: 0,
        };
        out.json.push(b'[');
        let none: &[String] = &[];
        for r in &rows {
            if out.len > 0 {
                out.json.push(b',');
            }
            let id = str(r, 0)?;
            let w = wire(r, paths.get(id).map_or(none, Vec::as_slice))?;
            serde_json::to_writer(&mut out.json, &w).map_err(bad_json("workspaces"))?;
            out.len += 1;
        }
        out.json.push(b']');
        Ok(out)
    }

    pub async fn get_workspace(&self, scope: &Scope, id: &str) -> Result<Workspace, StoreError> {
        let c = self.conn().await?;
        load(&c, scope.owner(), id).await
    }

    pub async fn create_workspace(
        &self,
        scope: &Scope,
        new: NewWorkspace,
        now: &str,
    ) -> Result<Workspace, StoreError> {
        let settings =
            serde_json::to_string(&new.settings).map_err(bad_json("workspaces.settings"))?;
        let owner = scope.owner();
        let mut c = self.conn().await?;
        let tx = c.transaction().await.map_err(db)?;
        exec_in(
            &tx,
            "INSERT INTO workspaces (id, name, path, is_virtual, created_at, updated_at, \
             settings, owner_id) VALUES ($1, $2, $3, $4, $5, $5, $6, $7)",
            &[
                &new.id,
                &new.name,
                &new.path,
                &new.is_virtual,
                &now,
                &settings,
                &owner,
            ],
        )
        .await?;
        insert_paths(&tx, &new.id, &new.additional_paths).await?;
        let ws = load(&tx, owner, &new.id).await?;
        tx.commit().await.map_err(db)?;
        Ok(ws)
    }

    pub async fn update_workspace(
        &self,
        scope: &Scope,
        id: &str,
        patch: WorkspacePatch,
        now: &str,
    ) -> Result<Workspace, StoreError> {
        let settings = match &patch.settings {
            Some(s) => Some(serde_json::to_string(s).map_err(bad_json("workspaces.settings"))?),
            None => None,
        };
        let owner = scope.owner();
        let mut c = self.conn().await?;
        let tx = c.transaction().await.map_err(db)?;
        let n = exec_in(
            &tx,
            "UPDATE workspaces SET name = COALESCE($3, name), settings = COALESCE($4, settings), \
             updated_at = $5 WHERE id = $1 AND ($2::text IS NULL OR owner_id = $2)",
            &[&id, &owner, &patch.name, &settings, &now],
        )
        .await?;
        if n == 0 {
            return Err(not_found());
        }
        if let Some(paths) = &patch.additional_paths {
            exec_in(
                &tx,
                "DELETE FROM workspace_paths WHERE workspace_id = $1",
                &[&id],
            )
            .await?;
            insert_paths(&tx, id, paths).await?;
        }
        let ws = load(&tx, owner, id).await?;
        tx.commit().await.map_err(db)?;
        Ok(ws)
    }

    pub async fn delete_workspace(
        &self,
        scope: &Scope,
        id: &str,
    ) -> Result<Vec<String>, StoreError> {
        let owner = scope.owner();
        let mut c = self.conn().await?;
        let tx = c.transaction().await.map_err(db)?;
        let sessions = query_in(
            &tx,
            "SELECT id FROM sessions WHERE workspace_id = $1 ORDER BY id",
            &[&id],
        )
        .await?
        .iter()
        .map(|r| Ok(str(r, 0)?.to_owned()))
        .collect::<Result<Vec<_>, StoreError>>()?;
        let n = exec_in(
            &tx,
            "DELETE FROM workspaces WHERE id = $1 AND ($2::text IS NULL OR owner_id = $2)",
            &[&id, &owner],
        )
        .await?;
        if n == 0 {
            return Err(not_found());
        }
        tx.commit().await.map_err(db)?;
        Ok(sessions)
    }

    pub async fn has_workspaces(&self, scope: &Scope) -> Result<bool, StoreError> {
        let row = self
            .query_opt(
                "SELECT EXISTS (SELECT 1 FROM workspaces WHERE $1::text IS NULL OR owner_id = $1)",
                &[&scope.owner()],
            )
            .await?;
        Ok(match row {
            Some(r) => super::super::rows::flag(&r, 0)?,
            None => false,
        })
    }

    pub async fn workspace_owner(&self, workspace_id: &str) -> Result<Option<String>, StoreError> {
        let row = self
            .query_opt(
                "SELECT owner_id FROM workspaces WHERE id = $1",
                &[&workspace_id],
            )
            .await?;
        Ok(match row {
            Some(r) => super::super::rows::opt_str(&r, 0)?.map(str::to_owned),
            None => None,
        })
    }
}
