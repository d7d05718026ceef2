//! Workspaces and their additional paths (`workspaces`, `workspace_paths`). [`Workspace`]
//! serializes to the JSON of `PROTOCOL.md` §3 A3 through one borrowed [`Wire`] type, which the
//! listing in `workspaces_json.rs` also fills straight from the rows.

use std::collections::HashMap;

use rusqlite::{Connection, Row, TransactionBehavior};
use serde::{Serialize, Serializer};
use serde_json::{Map, Value};

use super::error::bad_json;
use super::rows::{all, flag, json_col, one, opt_str, raw_json, str};
use super::{Entity, Fail, Scope, Store, StoreError, Topic};

/// A workspace as the clients see it, plus its owner (not on the wire).
#[derive(Debug, Clone, PartialEq)]
pub struct Workspace {
    pub id: String,
    pub name: String,
    pub path: String,
    pub is_virtual: bool,
    pub additional_paths: Vec<String>,
    pub settings: Map<String, Value>,
    pub created_at: String,
    pub updated_at: String,
    /// Who created it: `None` for the server owner, else a user id. Never sent.
    pub owner_id: Option<String>,
}

/// A workspace's JSON in wire order, borrowing its values; `P` the paths, `S` the settings.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Wire<'a, P, S> {
    pub id: &'a str,
    pub name: &'a str,
    pub path: &'a str,
    pub is_virtual: bool,
    pub additional_paths: P,
    pub settings: S,
    pub created_at: &'a str,
    pub updated_at: &'a str,
}

impl Serialize for Workspace {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        Wire {
            id: &self.id,
            name: &self.name,
            path: &self.path,
            is_virtual: self.is_virtual,
            additional_paths: &self.additional_paths,
            settings: &self.settings,
            created_at: &self.created_at,
            updated_at: &self.updated_at,
        }
        .serialize(s)
    }
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

/// The columns [`wire`] and [`from_row`] read, in order.
pub(super) const COLS: &str =
    "id, name, path, is_virtual, settings, created_at, updated_at, owner_id";

/// Workspaces `?2` can see (`?2` is the owner filter, NULL for all).
const VISIBLE: &str = "(?2 IS NULL OR owner_id = ?2)";

/// A row of [`COLS`] as borrowed wire values, with `paths` as its additional paths.
pub(super) fn wire<'r, P>(
    row: &'r Row<'_>,
    paths: P,
) -> Result<Wire<'r, P, &'r serde_json::value::RawValue>, Fail> {
    Ok(Wire {
        id: str(row, 0)?,
        name: str(row, 1)?,
        path: str(row, 2)?,
        is_virtual: flag(row, 3)?,
        additional_paths: paths,
        settings: raw_json(row, 4, "workspaces.settings", "{}")?,
        created_at: str(row, 5)?,
        updated_at: str(row, 6)?,
    })
}

fn from_row(row: &Row<'_>) -> Result<Workspace, Fail> {
    let w = wire(row, ())?;
    Ok(Workspace {
        id: w.id.to_owned(),
        name: w.name.to_owned(),
        path: w.path.to_owned(),
        is_virtual: w.is_virtual,
        additional_paths: Vec::new(),
        settings: json_col("workspaces.settings", w.settings.get())?,
        created_at: w.created_at.to_owned(),
        updated_at: w.updated_at.to_owned(),
        owner_id: opt_str(row, 7)?.map(str::to_owned),
    })
}

/// One visible workspace with its paths, on any connection (reader or inside a write).
fn load(c: &Connection, owner: Option<&str>, id: &str) -> Result<Workspace, Fail> {
    let mut st = c.prepare_cached(
        "SELECT id, name, path, is_virtual, settings, created_at, updated_at, owner_id \
         FROM workspaces WHERE id = ?1 AND (?2 IS NULL OR owner_id = ?2)",
    )?;
    let mut ws = one(&mut st, (id, owner), from_row)?
        .ok_or(Fail::Store(StoreError::NotFound(Entity::Workspace)))?;
    let mut st = c.prepare_cached(
        "SELECT path FROM workspace_paths WHERE workspace_id = ?1 ORDER BY rowid",
    )?;
    ws.additional_paths = all(&mut st, [id], |r| Ok(str(r, 0)?.to_owned()))?;
    Ok(ws)
}

/// The additional paths of every workspace `owner` sees, by workspace id, in insertion order.
pub(super) fn paths_by_workspace(
    c: &Connection,
    owner: Option<&str>,
) -> Result<HashMap<String, Vec<String>>, Fail> {
    let mut st = c.prepare_cached(
        "SELECT p.workspace_id, p.path FROM workspace_paths p \
         JOIN workspaces w ON w.id = p.workspace_id \
         WHERE (?1 IS NULL OR w.owner_id = ?1) ORDER BY p.rowid",
    )?;
    let mut rows = st.query([owner])?;
    let mut map: HashMap<String, Vec<String>> = HashMap::new();
    while let Some(r) = rows.next()? {
        map.entry(str(r, 0)?.to_owned())
            .or_default()
            .push(str(r, 1)?.to_owned());
    }
    Ok(map)
}

fn insert_paths(c: &Connection, id: &str, paths: &[String]) -> Result<(), Fail> {
    let mut st = c.prepare_cached(
        "INSERT OR IGNORE INTO workspace_paths (workspace_id, path) VALUES (?1, ?2)",
    )?;
    for p in paths {
        st.execute((id, p))?;
    }
    Ok(())
}

impl Store {
    /// Every workspace `scope` sees, oldest first.
    pub async fn list_workspaces(&self, scope: &Scope) -> Result<Vec<Workspace>, StoreError> {
        let owner = scope.owner().map(str::to_owned);
        self.read(move |c| {
            let mut paths = paths_by_workspace(c, owner.as_deref())?;
            let mut st = c.prepare_cached(&format!(
                "SELECT {COLS} FROM workspaces WHERE ?1 IS NULL OR owner_id = ?1 \
                 ORDER BY created_at, id"
            ))?;
            let mut list = all(&mut st, [owner.as_deref()], from_row)?;
            for w in &mut list {
                w.additional_paths = paths.remove(&w.id).unwrap_or_default();
            }
            Ok(list)
        })
        .await
    }

    /// One workspace, or `NotFound(Workspace)` if it does not exist or `scope` cannot see it.
    pub async fn get_workspace(&self, scope: &Scope, id: &str) -> Result<Workspace, StoreError> {
        let (id, owner) = (id.to_owned(), scope.owner().map(str::to_owned));
        self.read(move |c| load(c, owner.as_deref(), &id)).await
    }

    /// Insert a workspace owned by `scope`'s user (none for [`Scope::All`]) at time `now` (ISO).
    pub async fn create_workspace(
        &self,
        scope: &Scope,
        new: NewWorkspace,
        now: &str,
    ) -> Result<Workspace, StoreError> {
        let settings =
            serde_json::to_string(&new.settings).map_err(bad_json("workspaces.settings"))?;
        let (owner, now) = (scope.owner().map(str::to_owned), now.to_owned());
        self.write(move |c, pages| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            tx.prepare_cached(
                "INSERT INTO workspaces (id, name, path, is_virtual, created_at, updated_at, \
                 settings, owner_id) VALUES (?1, ?2, ?3, ?4, ?5, ?5, ?6, ?7)",
            )?
            .execute((
                &new.id,
                &new.name,
                &new.path,
                new.is_virtual,
                &now,
                &settings,
                &owner,
            ))?;
            insert_paths(&tx, &new.id, &new.additional_paths)?;
            let ws = load(&tx, owner.as_deref(), &new.id)?;
            tx.commit()?;
            pages.bump(Topic::Workspaces);
            Ok(ws)
        })
        .await
    }

    /// Write the fields `patch` gives (and `updatedAt`) in one transaction, never a row read
    /// earlier; returns the workspace as it now is.
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
        let (id, owner, now) = (
            id.to_owned(),
            scope.owner().map(str::to_owned),
            now.to_owned(),
        );
        self.write(move |c, pages| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let n = tx
                .prepare_cached(&format!(
                    "UPDATE workspaces SET name = COALESCE(?3, name), \
                     settings = COALESCE(?4, settings), updated_at = ?5 WHERE id = ?1 AND {VISIBLE}"
                ))?
                .execute((&id, &owner, &patch.name, &settings, &now))?;
            super::touched(n, Entity::Workspace)?;
            if let Some(paths) = &patch.additional_paths {
                tx.prepare_cached("DELETE FROM workspace_paths WHERE workspace_id = ?1")?
                    .execute([&id])?;
                insert_paths(&tx, &id, paths)?;
            }
            let ws = load(&tx, owner.as_deref(), &id)?;
            tx.commit()?;
            pages.bump(Topic::Workspaces);
            Ok(ws)
        })
        .await
    }

    /// Delete a workspace and (by cascade) its sessions, messages and parts. Returns the ids
    /// of the sessions it removed.
    pub async fn delete_workspace(
        &self,
        scope: &Scope,
        id: &str,
    ) -> Result<Vec<String>, StoreError> {
        let (id, owner) = (id.to_owned(), scope.owner().map(str::to_owned));
        self.write(move |c, pages| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let mut st =
                tx.prepare_cached("SELECT id FROM sessions WHERE workspace_id = ?1 ORDER BY id")?;
            let sessions = all(&mut st, [&id], |r| Ok(str(r, 0)?.to_owned()))?;
            drop(st);
            let n = tx
                .prepare_cached(&format!(
                    "DELETE FROM workspaces WHERE id = ?1 AND {VISIBLE}"
                ))?
                .execute((&id, &owner))?;
            super::touched(n, Entity::Workspace)?;
            tx.commit()?;
            pages.bump_sessions(&id);
            pages.bump(Topic::Workspaces);
            Ok(sessions)
        })
        .await
    }

    /// Whether any workspace is visible to `scope`.
    pub async fn has_workspaces(&self, scope: &Scope) -> Result<bool, StoreError> {
        let owner = scope.owner().map(str::to_owned);
        self.read(move |c| {
            let mut st = c.prepare_cached(
                "SELECT EXISTS (SELECT 1 FROM workspaces WHERE ?1 IS NULL OR owner_id = ?1)",
            )?;
            Ok(one(&mut st, [owner], |r| super::rows::flag(r, 0))?.unwrap_or(false))
        })
        .await
    }

    /// The `owner_id` of a workspace: `None` for the owner's own (or an unknown workspace).
    /// (Sessions and workspaces read from the store carry it as `owner_id` already.)
    pub async fn workspace_owner(&self, workspace_id: &str) -> Result<Option<String>, StoreError> {
        let id = workspace_id.to_owned();
        self.read(move |c| {
            let mut st = c.prepare_cached("SELECT owner_id FROM workspaces WHERE id = ?1")?;
            Ok(one(&mut st, [id], |r| Ok(opt_str(r, 0)?.map(str::to_owned)))?.flatten())
        })
        .await
    }
}

#[cfg(test)]
#[path = "workspaces_tests.rs"]
mod tests;
