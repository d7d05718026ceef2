//! Permission grants (`permission_grants`, `PROTOCOL-AGENT.md` §9.5): stored approvals of a
//! workspace, listed newest first, revoked rather than deleted.

use serde::Serialize;
use serde_json::Value;

use super::error::bad_json;
use super::rows::{all, flag, opt_str, str};
use super::{Fail, Scope, Store, StoreError};

/// A stored approval, as `permission.list` sends it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Grant {
    pub id: String,
    pub workspace_id: String,
    pub tool_name: String,
    pub resource: String,
    pub action: String,
    /// `session` or `workspace`.
    pub scope: String,
    /// `exact` or `prefix`.
    pub matcher: String,
    pub patterns: Vec<String>,
    pub allowed: bool,
    /// ISO times.
    pub granted_at: String,
    pub expires_at: Option<String>,
    pub granted_by: Option<String>,
    pub revoked_at: Option<String>,
    pub revoked_by: Option<String>,
    pub metadata: Value,
    pub bound_root_session_id: Option<String>,
    /// Unix ms of `expires_at` (not on the wire).
    #[serde(skip)]
    pub expires_ms: Option<i64>,
}

const COLS: &str = "id, workspace_id, tool_name, resource, action, scope, matcher, patterns, \
    allowed, granted_at, expires_at, granted_by, revoked_at, revoked_by, metadata, \
    bound_root_session_id";

fn from_row(r: &rusqlite::Row<'_>) -> Result<Grant, Fail> {
    let owned = |i| -> Result<Option<String>, Fail> { Ok(opt_str(r, i)?.map(str::to_owned)) };
    let expires_ms: Option<i64> = r.get(10)?;
    let metadata = match opt_str(r, 14)? {
        Some(t) if !t.is_empty() => serde_json::from_str(t).map_err(bad_json("grants.metadata"))?,
        _ => Value::Null,
    };
    Ok(Grant {
        id: str(r, 0)?.to_owned(),
        workspace_id: str(r, 1)?.to_owned(),
        tool_name: str(r, 2)?.to_owned(),
        resource: str(r, 3)?.to_owned(),
        action: str(r, 4)?.to_owned(),
        scope: str(r, 5)?.to_owned(),
        matcher: str(r, 6)?.to_owned(),
        patterns: serde_json::from_str(str(r, 7)?).map_err(bad_json("grants.patterns"))?,
        allowed: flag(r, 8)?,
        granted_at: str(r, 9)?.to_owned(),
        expires_at: expires_ms.map(crate::time::iso_of_ms),
        granted_by: owned(11)?,
        revoked_at: owned(12)?,
        revoked_by: owned(13)?,
        metadata,
        bound_root_session_id: owned(15)?,
        expires_ms,
    })
}

impl Store {
    /// Store new grants (one transaction).
    pub async fn add_grants(&self, grants: Vec<Grant>) -> Result<(), StoreError> {
        if grants.is_empty() {
            return Ok(());
        }
        self.write(move |c, _| {
            let tx = c.transaction()?;
            for g in grants {
                let patterns =
                    serde_json::to_string(&g.patterns).map_err(bad_json("grants.patterns"))?;
                tx.prepare_cached(&format!(
                    "INSERT INTO permission_grants ({COLS}) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)"
                ))?
                .execute(rusqlite::params![
                    g.id,
                    g.workspace_id,
                    g.tool_name,
                    g.resource,
                    g.action,
                    g.scope,
                    g.matcher,
                    patterns,
                    g.allowed,
                    g.granted_at,
                    g.expires_ms,
                    g.granted_by,
                    g.revoked_at,
                    g.revoked_by,
                    g.metadata.to_string(),
                    g.bound_root_session_id,
                ])?;
            }
            tx.commit()?;
            Ok(())
        })
        .await
    }

    /// A workspace's grants, newest first; revoked ones only when asked.
    pub async fn grants(
        &self,
        workspace_id: &str,
        include_revoked: bool,
    ) -> Result<Vec<Grant>, StoreError> {
        let ws = workspace_id.to_owned();
        self.read(move |c| {
            all(
                &mut *c.prepare_cached(&format!(
                    "SELECT {COLS} FROM permission_grants WHERE workspace_id = ?1 \
                     AND (?2 OR revoked_at IS NULL) ORDER BY granted_at DESC, rowid DESC"
                ))?,
                (ws, include_revoked),
                from_row,
            )
        })
        .await
    }

    /// Revoke one grant of a workspace `scope` sees (an unknown, invisible or already revoked
    /// id changes nothing).
    pub async fn revoke_grant(
        &self,
        scope: &Scope,
        grant_id: &str,
        now: &str,
    ) -> Result<(), StoreError> {
        self.exec(
            "UPDATE permission_grants SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL \
             AND workspace_id IN (SELECT id FROM workspaces WHERE ?3 IS NULL OR owner_id = ?3)",
            (
                grant_id.to_owned(),
                now.to_owned(),
                scope.owner().map(str::to_owned),
            ),
        )
        .await
        .map(|_| ())
    }

    /// Revoke every live grant of a workspace; how many.
    pub async fn revoke_all_grants(
        &self,
        workspace_id: &str,
        now: &str,
    ) -> Result<u64, StoreError> {
        self.exec(
            "UPDATE permission_grants SET revoked_at = ?2 \
             WHERE workspace_id = ?1 AND revoked_at IS NULL",
            (workspace_id.to_owned(), now.to_owned()),
        )
        .await
        .map(|n| n as u64)
    }
}
