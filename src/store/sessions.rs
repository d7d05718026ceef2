//! Sessions (`sessions`). [`Session`] serializes to the JSON of `PROTOCOL.md` §5 with every
//! field. Listing is keyset-paged on `(updated_at DESC, id DESC)`; the wire cursor encoding
//! belongs to the API layer. Every update bumps `updatedAt`.

use serde::Serialize;
use serde_json::Value;
use sqlx::Row;
use sqlx::sqlite::SqliteRow;

use super::{Scope, Store, StoreError, json_col};

/// The title of a new session (upstream's default, which title generation replaces).
pub const DEFAULT_TITLE: &str = "New Session";

/// A session as the clients see it (every field, `null` where unset).
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Session {
    pub id: String,
    pub preconfig_id: Option<String>,
    pub workspace_id: String,
    pub title: String,
    /// `active` or `closed`.
    pub status: String,
    pub created_at: String,
    pub updated_at: String,
    pub metadata: Option<Value>,
    pub selected_model: Option<String>,
    pub selected_provider: Option<String>,
    pub selected_variant: Option<String>,
    pub prompt_tokens: i64,
    pub completion_tokens: i64,
    pub total_tokens: i64,
    pub cache_read_tokens: i64,
    pub cache_write_tokens: i64,
    pub no_cache_tokens: i64,
    pub parent_id: Option<String>,
    pub agent_name: Option<String>,
    pub subagent_status: Option<String>,
    /// ISO time the running turn started; `null` when idle.
    pub running_at: Option<String>,
    pub compacting: bool,
    pub tags: Vec<String>,
    pub auto_approve_severity: Option<String>,
    pub agent_id: Option<String>,
}

/// A new session. Use [`NewSession::new`] and set what differs.
#[derive(Debug, Clone)]
pub struct NewSession {
    pub id: String,
    pub workspace_id: String,
    pub title: String,
    pub preconfig_id: Option<String>,
    pub selected_model: Option<String>,
    pub selected_provider: Option<String>,
    pub selected_variant: Option<String>,
    pub parent_id: Option<String>,
    pub metadata: Option<Value>,
}

impl NewSession {
    /// A fresh id, the default title, nothing selected.
    pub fn new(workspace_id: &str) -> Self {
        Self {
            id: uuid::Uuid::new_v4().to_string(),
            workspace_id: workspace_id.to_owned(),
            title: DEFAULT_TITLE.to_owned(),
            preconfig_id: None,
            selected_model: None,
            selected_provider: None,
            selected_variant: None,
            parent_id: None,
            metadata: None,
        }
    }
}

/// A partial update of the user-editable fields; `None` leaves a field as it is.
/// For the `Option<Option<_>>` fields, `Some(None)` clears the value.
#[derive(Debug, Clone, Default)]
pub struct SessionPatch {
    pub title: Option<String>,
    pub status: Option<String>,
    pub tags: Option<Vec<String>>,
    pub auto_approve_severity: Option<Option<String>>,
    pub preconfig_id: Option<Option<String>>,
    pub selected_model: Option<Option<String>>,
    pub selected_provider: Option<Option<String>>,
    pub selected_variant: Option<Option<String>>,
    pub metadata: Option<Option<Value>>,
}

/// Filters and page of a session listing.
#[derive(Debug, Clone, Default)]
pub struct SessionQuery {
    /// Only this workspace.
    pub workspace_id: Option<String>,
    /// Only sessions without a parent in the page; their children are appended after it.
    pub root_only: bool,
    /// `active` or `closed`.
    pub status: Option<String>,
    /// Page size; `None` lists everything.
    pub limit: Option<u32>,
    /// Start after this `(updatedAt, id)` (exclusive).
    pub after: Option<(String, String)>,
}

/// One page of sessions.
#[derive(Debug, Clone)]
pub struct SessionPage {
    pub sessions: Vec<Session>,
    /// The `(updatedAt, id)` of the last root of the page when more follow.
    pub next: Option<(String, String)>,
}

/// Token counts to add to a session's totals after a turn.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TokenTotals {
    pub prompt: i64,
    pub completion: i64,
    pub cache_read: i64,
    pub cache_write: i64,
    pub no_cache: i64,
}

pub(super) const COLS: &str = "id, preconfig_id, workspace_id, title, status, created_at, updated_at, metadata, \
    selected_model, selected_provider, selected_variant, prompt_tokens, completion_tokens, \
    total_tokens, cache_read_tokens, cache_write_tokens, no_cache_tokens, parent_id, agent_name, \
    subagent_status, running_at, compacting, tags, auto_approve_severity, agent_id";

/// Sessions of workspaces `?1` can see (`?1` is the owner filter).
const VISIBLE: &str =
    "workspace_id IN (SELECT id FROM workspaces WHERE ?1 IS NULL OR owner_id = ?1)";

pub(super) fn from_row(row: &SqliteRow) -> Result<Session, StoreError> {
    let metadata: Option<String> = row.try_get("metadata")?;
    let tags: Option<String> = row.try_get("tags")?;
    let num =
        |c: &str| -> Result<i64, StoreError> { Ok(row.try_get::<Option<i64>, _>(c)?.unwrap_or(0)) };
    Ok(Session {
        id: row.try_get("id")?,
        preconfig_id: row.try_get("preconfig_id")?,
        workspace_id: row.try_get("workspace_id")?,
        title: row
            .try_get::<Option<String>, _>("title")?
            .unwrap_or_else(|| DEFAULT_TITLE.to_owned()),
        status: row.try_get("status")?,
        created_at: row
            .try_get::<Option<String>, _>("created_at")?
            .unwrap_or_default(),
        updated_at: row
            .try_get::<Option<String>, _>("updated_at")?
            .unwrap_or_default(),
        metadata: match metadata.as_deref() {
            None | Some("") | Some("null") => None,
            Some(text) => Some(json_col("sessions.metadata", text)?),
        },
        selected_model: row.try_get("selected_model")?,
        selected_provider: row.try_get("selected_provider")?,
        selected_variant: row.try_get("selected_variant")?,
        prompt_tokens: num("prompt_tokens")?,
        completion_tokens: num("completion_tokens")?,
        total_tokens: num("total_tokens")?,
        cache_read_tokens: num("cache_read_tokens")?,
        cache_write_tokens: num("cache_write_tokens")?,
        no_cache_tokens: num("no_cache_tokens")?,
        parent_id: row.try_get("parent_id")?,
        agent_name: row.try_get("agent_name")?,
        subagent_status: row.try_get("subagent_status")?,
        running_at: row.try_get("running_at")?,
        compacting: row.try_get("compacting")?,
        tags: match tags.as_deref() {
            None | Some("") => Vec::new(),
            Some(text) => json_col("sessions.tags", text)?,
        },
        auto_approve_severity: row.try_get("auto_approve_severity")?,
        agent_id: row.try_get("agent_id")?,
    })
}

impl Store {
    /// One session, or [`StoreError::NotFound`] if it does not exist or `scope` cannot see it.
    pub async fn get_session(&self, scope: &Scope, id: &str) -> Result<Session, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {COLS} FROM sessions WHERE id = ?2 AND {VISIBLE}"
        ))
        .bind(scope.owner())
        .bind(id)
        .fetch_one(self.pool())
        .await?;
        from_row(&row)
    }

    /// Insert a session at time `now` (ISO). The workspace must exist and be visible
    /// ([`StoreError::NotFound`] otherwise); a taken id is [`StoreError::Conflict`].
    pub async fn create_session(
        &self,
        scope: &Scope,
        new: NewSession,
        now: &str,
    ) -> Result<Session, StoreError> {
        self.get_workspace(scope, &new.workspace_id).await?;
        sqlx::query(
            "INSERT INTO sessions (id, workspace_id, preconfig_id, title, status, created_at, \
             updated_at, metadata, selected_model, selected_provider, selected_variant, parent_id, \
             auto_approve_severity) VALUES (?, ?, ?, ?, 'active', ?, ?, ?, ?, ?, ?, ?, 'low')",
        )
        .bind(&new.id)
        .bind(&new.workspace_id)
        .bind(&new.preconfig_id)
        .bind(&new.title)
        .bind(now)
        .bind(now)
        .bind(new.metadata.as_ref().map(Value::to_string))
        .bind(&new.selected_model)
        .bind(&new.selected_provider)
        .bind(&new.selected_variant)
        .bind(&new.parent_id)
        .execute(self.pool())
        .await?;
        self.get_session(scope, &new.id).await
    }

    /// Apply `patch` and bump `updatedAt`. Token totals and `runningAt` are not touched.
    pub async fn update_session(
        &self,
        scope: &Scope,
        id: &str,
        patch: SessionPatch,
        now: &str,
    ) -> Result<Session, StoreError> {
        let s = self.get_session(scope, id).await?;
        let tags = serde_json::to_string(&patch.tags.unwrap_or(s.tags)).map_err(|source| {
            StoreError::BadJson {
                column: "sessions.tags",
                source,
            }
        })?;
        let metadata = patch.metadata.unwrap_or(s.metadata).map(|m| m.to_string());
        sqlx::query(
            "UPDATE sessions SET title = ?, status = ?, tags = ?, auto_approve_severity = ?, \
             preconfig_id = ?, selected_model = ?, selected_provider = ?, selected_variant = ?, \
             metadata = ?, updated_at = ? WHERE id = ?",
        )
        .bind(patch.title.unwrap_or(s.title))
        .bind(patch.status.unwrap_or(s.status))
        .bind(tags)
        .bind(
            patch
                .auto_approve_severity
                .unwrap_or(s.auto_approve_severity),
        )
        .bind(patch.preconfig_id.unwrap_or(s.preconfig_id))
        .bind(patch.selected_model.unwrap_or(s.selected_model))
        .bind(patch.selected_provider.unwrap_or(s.selected_provider))
        .bind(patch.selected_variant.unwrap_or(s.selected_variant))
        .bind(metadata)
        .bind(now)
        .bind(id)
        .execute(self.pool())
        .await?;
        self.get_session(scope, id).await
    }

    /// Delete a session (its messages and parts go with it).
    pub async fn delete_session(&self, scope: &Scope, id: &str) -> Result<(), StoreError> {
        let done = sqlx::query(&format!("DELETE FROM sessions WHERE id = ?2 AND {VISIBLE}"))
            .bind(scope.owner())
            .bind(id)
            .execute(self.pool())
            .await?;
        super::touched(&done)?;
        Ok(())
    }

    /// Mark a turn as running (`Some(iso)`) or finished (`None`); bumps `updatedAt` to `now`.
    pub async fn set_running(
        &self,
        id: &str,
        running_at: Option<&str>,
        now: &str,
    ) -> Result<Session, StoreError> {
        let done = sqlx::query("UPDATE sessions SET running_at = ?, updated_at = ? WHERE id = ?")
            .bind(running_at)
            .bind(now)
            .bind(id)
            .execute(self.pool())
            .await?;
        super::touched(&done)?;
        self.get_session(&Scope::All, id).await
    }

    /// Sessions still marked running (e.g. left so by a crash), for recovery at start.
    pub async fn running_session_ids(&self) -> Result<Vec<String>, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT id FROM sessions WHERE running_at IS NOT NULL ORDER BY id")
                .fetch_all(self.pool())
                .await?,
        )
    }

    /// Add a turn's token counts to the session totals (`totalTokens` += prompt + completion).
    pub async fn add_session_tokens(
        &self,
        id: &str,
        t: TokenTotals,
        now: &str,
    ) -> Result<Session, StoreError> {
        let done = sqlx::query(
            "UPDATE sessions SET prompt_tokens = COALESCE(prompt_tokens, 0) + ?1, \
             completion_tokens = COALESCE(completion_tokens, 0) + ?2, \
             total_tokens = COALESCE(total_tokens, 0) + ?1 + ?2, \
             cache_read_tokens = COALESCE(cache_read_tokens, 0) + ?3, \
             cache_write_tokens = COALESCE(cache_write_tokens, 0) + ?4, \
             no_cache_tokens = COALESCE(no_cache_tokens, 0) + ?5, updated_at = ?6 WHERE id = ?7",
        )
        .bind(t.prompt)
        .bind(t.completion)
        .bind(t.cache_read)
        .bind(t.cache_write)
        .bind(t.no_cache)
        .bind(now)
        .bind(id)
        .execute(self.pool())
        .await?;
        super::touched(&done)?;
        self.get_session(&Scope::All, id).await
    }
}

#[cfg(test)]
#[path = "sessions_tests.rs"]
mod tests;
