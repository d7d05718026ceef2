//! Workspaces and their additional paths (`workspaces`, `workspace_paths`). [`Workspace`]
//! serializes to the JSON of `PROTOCOL.md` §3 A3.

use serde::Serialize;
use serde_json::{Map, Value};
use sqlx::Row;
use sqlx::sqlite::SqliteRow;

use super::{Scope, Store, StoreError, json_col};

/// A workspace as the clients see it.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Workspace {
    pub id: String,
    pub name: String,
    pub path: String,
    pub is_virtual: bool,
    pub additional_paths: Vec<String>,
    pub settings: Map<String, Value>,
    pub created_at: String,
    pub updated_at: String,
}

/// What a new workspace is made of (paths already expanded and checked by the caller).
#[derive(Debug, Clone)]
pub struct NewWorkspace {
    pub id: String,
    pub name: String,
    pub path: String,
    pub is_virtual: bool,
    pub additional_paths: Vec<String>,
    pub settings: Map<String, Value>,
}

/// A partial update; `None` leaves the field as it is.
#[derive(Debug, Clone, Default)]
pub struct WorkspacePatch {
    pub name: Option<String>,
    pub additional_paths: Option<Vec<String>>,
    /// Replaces the settings object.
    pub settings: Option<Map<String, Value>>,
}

const COLS: &str = "id, name, path, is_virtual, settings, created_at, updated_at";

fn from_row(row: &SqliteRow) -> Result<Workspace, StoreError> {
    let settings: Option<String> = row.try_get("settings")?;
    let settings = match settings.as_deref() {
        None | Some("") => Map::new(),
        Some(text) => json_col("workspaces.settings", text)?,
    };
    Ok(Workspace {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        path: row.try_get("path")?,
        is_virtual: row.try_get("is_virtual")?,
        additional_paths: Vec::new(),
        settings,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

impl Store {
    /// Every workspace `scope` sees, oldest first.
    pub async fn list_workspaces(&self, scope: &Scope) -> Result<Vec<Workspace>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {COLS} FROM workspaces WHERE (?1 IS NULL OR owner_id = ?1) \
             ORDER BY created_at, id"
        ))
        .bind(scope.owner())
        .fetch_all(self.pool())
        .await?;
        let mut list = rows.iter().map(from_row).collect::<Result<Vec<_>, _>>()?;
        let paths = sqlx::query(
            "SELECT p.workspace_id, p.path FROM workspace_paths p \
             JOIN workspaces w ON w.id = p.workspace_id \
             WHERE (?1 IS NULL OR w.owner_id = ?1) ORDER BY p.rowid",
        )
        .bind(scope.owner())
        .fetch_all(self.pool())
        .await?;
        for row in paths {
            let ws: String = row.try_get("workspace_id")?;
            if let Some(w) = list.iter_mut().find(|w| w.id == ws) {
                w.additional_paths.push(row.try_get("path")?);
            }
        }
        Ok(list)
    }

    /// One workspace, or [`StoreError::NotFound`] if it does not exist or `scope` cannot see it.
    pub async fn get_workspace(&self, scope: &Scope, id: &str) -> Result<Workspace, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {COLS} FROM workspaces WHERE id = ?1 AND (?2 IS NULL OR owner_id = ?2)"
        ))
        .bind(id)
        .bind(scope.owner())
        .fetch_one(self.pool())
        .await?;
        let mut ws = from_row(&row)?;
        ws.additional_paths = sqlx::query_scalar(
            "SELECT path FROM workspace_paths WHERE workspace_id = ? ORDER BY rowid",
        )
        .bind(id)
        .fetch_all(self.pool())
        .await?;
        Ok(ws)
    }

    /// Insert a workspace owned by `scope`'s user (none for [`Scope::All`]) at time `now` (ISO).
    pub async fn create_workspace(
        &self,
        scope: &Scope,
        new: NewWorkspace,
        now: &str,
    ) -> Result<Workspace, StoreError> {
        let settings = Value::Object(new.settings.clone()).to_string();
        let mut tx = self.pool().begin().await?;
        sqlx::query(
            "INSERT INTO workspaces (id, name, path, is_virtual, created_at, updated_at, settings, owner_id) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&new.id)
        .bind(&new.name)
        .bind(&new.path)
        .bind(new.is_virtual)
        .bind(now)
        .bind(now)
        .bind(settings)
        .bind(scope.owner())
        .execute(&mut *tx)
        .await?;
        insert_paths(&mut tx, &new.id, &new.additional_paths).await?;
        tx.commit().await?;
        self.get_workspace(scope, &new.id).await
    }

    /// Apply `patch` and bump `updatedAt`.
    pub async fn update_workspace(
        &self,
        scope: &Scope,
        id: &str,
        patch: WorkspacePatch,
        now: &str,
    ) -> Result<Workspace, StoreError> {
        let current = self.get_workspace(scope, id).await?;
        let name = patch.name.unwrap_or(current.name);
        let settings = Value::Object(patch.settings.unwrap_or(current.settings)).to_string();
        let mut tx = self.pool().begin().await?;
        sqlx::query("UPDATE workspaces SET name = ?, settings = ?, updated_at = ? WHERE id = ?")
            .bind(name)
            .bind(settings)
            .bind(now)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        if let Some(paths) = patch.additional_paths {
            sqlx::query("DELETE FROM workspace_paths WHERE workspace_id = ?")
                .bind(id)
                .execute(&mut *tx)
                .await?;
            insert_paths(&mut tx, id, &paths).await?;
        }
        tx.commit().await?;
        self.get_workspace(scope, id).await
    }

    /// Delete a workspace and (by cascade) its sessions, messages and parts. Returns the ids
    /// of the sessions it removed.
    pub async fn delete_workspace(
        &self,
        scope: &Scope,
        id: &str,
    ) -> Result<Vec<String>, StoreError> {
        let mut tx = self.pool().begin().await?;
        let exists: Option<String> = sqlx::query_scalar(
            "SELECT id FROM workspaces WHERE id = ?1 AND (?2 IS NULL OR owner_id = ?2)",
        )
        .bind(id)
        .bind(scope.owner())
        .fetch_optional(&mut *tx)
        .await?;
        if exists.is_none() {
            return Err(StoreError::NotFound);
        }
        let sessions: Vec<String> =
            sqlx::query_scalar("SELECT id FROM sessions WHERE workspace_id = ? ORDER BY id")
                .bind(id)
                .fetch_all(&mut *tx)
                .await?;
        sqlx::query("DELETE FROM workspaces WHERE id = ?")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(sessions)
    }

    /// Whether any workspace is visible to `scope`.
    pub async fn has_workspaces(&self, scope: &Scope) -> Result<bool, StoreError> {
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM workspaces WHERE (?1 IS NULL OR owner_id = ?1)",
        )
        .bind(scope.owner())
        .fetch_one(self.pool())
        .await?;
        Ok(n > 0)
    }
}

async fn insert_paths(
    tx: &mut sqlx::SqliteConnection,
    id: &str,
    paths: &[String],
) -> Result<(), StoreError> {
    for p in paths {
        sqlx::query("INSERT OR IGNORE INTO workspace_paths (workspace_id, path) VALUES (?, ?)")
            .bind(id)
            .bind(p)
            .execute(&mut *tx)
            .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::testing::store;

    fn new_ws(id: &str) -> NewWorkspace {
        NewWorkspace {
            id: id.into(),
            name: "W".into(),
            path: "/tmp/w".into(),
            is_virtual: true,
            additional_paths: vec!["/a".into(), "/b".into()],
            settings: Map::new(),
        }
    }

    #[tokio::test]
    async fn owner_scope_sees_only_its_own_workspaces() {
        let (store, _dir) = store().await;
        let alice = Scope::Owner("alice".into());
        store
            .create_workspace(&Scope::All, new_ws("w1"), "2026-01-01T00:00:00.000Z")
            .await
            .unwrap();
        store
            .create_workspace(&alice, new_ws("w2"), "2026-01-01T00:00:01.000Z")
            .await
            .unwrap();
        assert_eq!(store.list_workspaces(&Scope::All).await.unwrap().len(), 2);
        let mine = store.list_workspaces(&alice).await.unwrap();
        assert_eq!(mine.len(), 1);
        assert_eq!(mine[0].additional_paths, vec!["/a", "/b"]);
        assert!(matches!(
            store.get_workspace(&alice, "w1").await,
            Err(StoreError::NotFound)
        ));
        assert!(matches!(
            store.delete_workspace(&alice, "w1").await,
            Err(StoreError::NotFound)
        ));
    }
}
