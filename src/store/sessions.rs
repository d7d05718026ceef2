//! Sessions (`sessions`): the types, and the one definition of a session's JSON (`PROTOCOL.md`
//! §5, every field, `null` where unset) shared by an owned [`Session`] and a row serialized
//! straight into a response ([`Wire`]). Reads are here; writes in `session_writes.rs`; listing
//! in `sessions_list.rs` and `sessions_json.rs`. Every update bumps `updatedAt`.

use std::sync::LazyLock;

use rusqlite::Row;
use serde::{Serialize, Serializer};
use serde_json::Value;
use serde_json::value::RawValue;

use super::kinds::SessionStatus;
use super::rows::{flag, int, json_col, one, opt_raw_json, opt_str, raw_json, str};
use super::{Entity, Fail, Scope, Store, StoreError};

/// The title of a new session (upstream's default, which title generation replaces).
pub const DEFAULT_TITLE: &str = "New Session";

/// A session as the clients see it, plus the owner of its workspace (not on the wire).
#[derive(Debug, Clone, PartialEq)]
pub struct Session {
    pub id: String,
    pub preconfig_id: Option<String>,
    pub workspace_id: String,
    pub title: String,
    pub status: SessionStatus,
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
    /// The `owner_id` of the session's workspace (`None`: the server owner's), filled on every
    /// read so an event about the session can be routed without a second query. Never sent.
    pub owner_id: Option<String>,
}

/// A session's JSON, field by field in wire order, borrowing its values. `M` is the metadata
/// (an owned `Option<Value>` or raw stored text), `T` the tags (a list or raw stored text).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Wire<'a, M, T> {
    pub id: &'a str,
    pub preconfig_id: Option<&'a str>,
    pub workspace_id: &'a str,
    pub title: &'a str,
    pub status: SessionStatus,
    pub created_at: &'a str,
    pub updated_at: &'a str,
    pub metadata: M,
    pub selected_model: Option<&'a str>,
    pub selected_provider: Option<&'a str>,
    pub selected_variant: Option<&'a str>,
    pub prompt_tokens: i64,
    pub completion_tokens: i64,
    pub total_tokens: i64,
    pub cache_read_tokens: i64,
    pub cache_write_tokens: i64,
    pub no_cache_tokens: i64,
    pub parent_id: Option<&'a str>,
    pub agent_name: Option<&'a str>,
    pub subagent_status: Option<&'a str>,
    pub running_at: Option<&'a str>,
    pub compacting: bool,
    pub tags: T,
    pub auto_approve_severity: Option<&'a str>,
    pub agent_id: Option<&'a str>,
}

impl Serialize for Session {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        Wire {
            id: &self.id,
            preconfig_id: self.preconfig_id.as_deref(),
            workspace_id: &self.workspace_id,
            title: &self.title,
            status: self.status,
            created_at: &self.created_at,
            updated_at: &self.updated_at,
            metadata: &self.metadata,
            selected_model: self.selected_model.as_deref(),
            selected_provider: self.selected_provider.as_deref(),
            selected_variant: self.selected_variant.as_deref(),
            prompt_tokens: self.prompt_tokens,
            completion_tokens: self.completion_tokens,
            total_tokens: self.total_tokens,
            cache_read_tokens: self.cache_read_tokens,
            cache_write_tokens: self.cache_write_tokens,
            no_cache_tokens: self.no_cache_tokens,
            parent_id: self.parent_id.as_deref(),
            agent_name: self.agent_name.as_deref(),
            subagent_status: self.subagent_status.as_deref(),
            running_at: self.running_at.as_deref(),
            compacting: self.compacting,
            tags: &self.tags,
            auto_approve_severity: self.auto_approve_severity.as_deref(),
            agent_id: self.agent_id.as_deref(),
        }
        .serialize(s)
    }
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
    pub status: Option<SessionStatus>,
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
    pub status: Option<SessionStatus>,
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

/// The columns of [`Wire`], in its order.
pub(super) const WIRE_COLS: &str = "id, preconfig_id, workspace_id, title, status, created_at, \
    updated_at, metadata, selected_model, selected_provider, selected_variant, prompt_tokens, \
    completion_tokens, total_tokens, cache_read_tokens, cache_write_tokens, no_cache_tokens, \
    parent_id, agent_name, subagent_status, running_at, compacting, tags, auto_approve_severity, \
    agent_id";

/// [`WIRE_COLS`] and the workspace's owner: what [`from_row`] reads. Usable in `RETURNING`.
pub(super) static COLS: LazyLock<String> = LazyLock::new(|| {
    format!("{WIRE_COLS}, (SELECT w.owner_id FROM workspaces w WHERE w.id = sessions.workspace_id)")
});

/// Sessions of workspaces `?2` can see (`?2` is the owner filter, NULL for all).
pub(super) const VISIBLE: &str =
    "(?2 IS NULL OR workspace_id IN (SELECT id FROM workspaces WHERE owner_id = ?2))";

/// A row of [`WIRE_COLS`] as borrowed wire values.
pub(super) fn wire<'r>(
    row: &'r Row<'_>,
) -> Result<Wire<'r, Option<&'r RawValue>, &'r RawValue>, Fail> {
    Ok(Wire {
        id: str(row, 0)?,
        preconfig_id: opt_str(row, 1)?,
        workspace_id: str(row, 2)?,
        title: opt_str(row, 3)?.unwrap_or(DEFAULT_TITLE),
        status: SessionStatus::from_db(opt_str(row, 4)?.unwrap_or("active")),
        created_at: opt_str(row, 5)?.unwrap_or_default(),
        updated_at: opt_str(row, 6)?.unwrap_or_default(),
        metadata: opt_raw_json(row, 7, "sessions.metadata")?,
        selected_model: opt_str(row, 8)?,
        selected_provider: opt_str(row, 9)?,
        selected_variant: opt_str(row, 10)?,
        prompt_tokens: int(row, 11)?,
        completion_tokens: int(row, 12)?,
        total_tokens: int(row, 13)?,
        cache_read_tokens: int(row, 14)?,
        cache_write_tokens: int(row, 15)?,
        no_cache_tokens: int(row, 16)?,
        parent_id: opt_str(row, 17)?,
        agent_name: opt_str(row, 18)?,
        subagent_status: opt_str(row, 19)?,
        running_at: opt_str(row, 20)?,
        compacting: flag(row, 21)?,
        tags: raw_json(row, 22, "sessions.tags", "[]")?,
        auto_approve_severity: opt_str(row, 23)?,
        agent_id: opt_str(row, 24)?,
    })
}

/// A row of [`COLS`] as an owned [`Session`].
pub(super) fn from_row(row: &Row<'_>) -> Result<Session, Fail> {
    let w = wire(row)?;
    let own = |s: Option<&str>| s.map(str::to_owned);
    Ok(Session {
        id: w.id.to_owned(),
        preconfig_id: own(w.preconfig_id),
        workspace_id: w.workspace_id.to_owned(),
        title: w.title.to_owned(),
        status: w.status,
        created_at: w.created_at.to_owned(),
        updated_at: w.updated_at.to_owned(),
        metadata: match w.metadata {
            Some(raw) => Some(json_col("sessions.metadata", raw.get())?),
            None => None,
        },
        selected_model: own(w.selected_model),
        selected_provider: own(w.selected_provider),
        selected_variant: own(w.selected_variant),
        prompt_tokens: w.prompt_tokens,
        completion_tokens: w.completion_tokens,
        total_tokens: w.total_tokens,
        cache_read_tokens: w.cache_read_tokens,
        cache_write_tokens: w.cache_write_tokens,
        no_cache_tokens: w.no_cache_tokens,
        parent_id: own(w.parent_id),
        agent_name: own(w.agent_name),
        subagent_status: own(w.subagent_status),
        running_at: own(w.running_at),
        compacting: w.compacting,
        tags: json_col("sessions.tags", w.tags.get())?,
        auto_approve_severity: own(w.auto_approve_severity),
        agent_id: own(w.agent_id),
        owner_id: own(opt_str(row, 25)?),
    })
}

impl Store {
    /// One session, or `NotFound(Session)` if it does not exist or `scope` cannot see it.
    pub async fn get_session(&self, scope: &Scope, id: &str) -> Result<Session, StoreError> {
        static SQL: LazyLock<String> =
            LazyLock::new(|| format!("SELECT {} FROM sessions WHERE id = ?1 AND {VISIBLE}", *COLS));
        let (id, owner) = (id.to_owned(), scope.owner().map(str::to_owned));
        self.read(move |c| {
            let mut st = c.prepare_cached(&SQL)?;
            one(&mut st, (id, owner), from_row)?
                .ok_or(Fail::Store(StoreError::NotFound(Entity::Session)))
        })
        .await
    }

    /// Sessions still marked running (e.g. left so by a crash), for recovery at start.
    pub async fn running_session_ids(&self) -> Result<Vec<String>, StoreError> {
        self.read(|c| {
            let mut st = c.prepare_cached(
                "SELECT id FROM sessions WHERE running_at IS NOT NULL ORDER BY id",
            )?;
            super::rows::all(&mut st, [], |r| Ok(str(r, 0)?.to_owned()))
        })
        .await
    }
}

#[cfg(test)]
#[path = "sessions_tests.rs"]
mod tests;
