//! Writes to sessions, each one statement on the writer (so atomic without a transaction) that
//! returns the row as it now is. Updates write only the fields they are given, never a row read
//! earlier, so concurrent updates of different fields both survive. Each write bumps the page
//! generation of the session's workspace after it committed (see `pages.rs`).

use std::sync::LazyLock;

use rusqlite::ToSql;
use serde_json::Value;

use super::error::bad_json;
use super::rows::{one, str};
use super::sessions::{COLS, NewSession, Session, SessionPatch, TokenTotals, VISIBLE, from_row};
use super::{Entity, Fail, Scope, Store, StoreError};

fn not_found() -> Fail {
    Fail::Store(StoreError::NotFound(Entity::Session))
}

/// Run a write statement that returns a session row; bump its workspace's pages.
fn returning(
    c: &rusqlite::Connection,
    pages: &super::pages::Pages,
    sql: &str,
    params: &[&dyn ToSql],
) -> Result<Option<Session>, Fail> {
    let mut st = c.prepare_cached(sql)?;
    let s = one(&mut st, params, from_row)?;
    if let Some(s) = &s {
        pages.bump_sessions(&s.workspace_id);
    }
    Ok(s)
}

impl Store {
    /// Insert a session at time `now` (ISO), in one statement that also checks that the
    /// workspace exists and `scope` sees it (`NotFound(Workspace)` otherwise). A taken id is
    /// [`StoreError::Conflict`].
    pub async fn create_session(
        &self,
        scope: &Scope,
        new: NewSession,
        now: &str,
    ) -> Result<Session, StoreError> {
        static SQL: LazyLock<String> = LazyLock::new(|| {
            format!(
                "INSERT INTO sessions (id, workspace_id, preconfig_id, title, status, created_at, \
                 updated_at, metadata, selected_model, selected_provider, selected_variant, \
                 parent_id, auto_approve_severity) \
                 SELECT ?1, w.id, ?3, ?4, 'active', ?5, ?5, ?6, ?7, ?8, ?9, ?10, 'low' \
                 FROM workspaces w WHERE w.id = ?2 AND (?11 IS NULL OR w.owner_id = ?11) \
                 RETURNING {}",
                *COLS
            )
        });
        let owner = scope.owner().map(str::to_owned);
        let now = now.to_owned();
        let metadata = new.metadata.as_ref().map(Value::to_string);
        self.write(move |c, pages| {
            let params: [&dyn ToSql; 11] = [
                &new.id,
                &new.workspace_id,
                &new.preconfig_id,
                &new.title,
                &now,
                &metadata,
                &new.selected_model,
                &new.selected_provider,
                &new.selected_variant,
                &new.parent_id,
                &owner,
            ];
            returning(c, pages, &SQL, &params)?
                .ok_or(Fail::Store(StoreError::NotFound(Entity::Workspace)))
        })
        .await
        .map_err(|e| match e {
            StoreError::Conflict(_) => {
                StoreError::Conflict("A session with this id already exists".into())
            }
            other => other,
        })
    }

    /// Write the fields `patch` gives (and `updatedAt`) in one statement; the others keep
    /// whatever they hold at that moment. Token totals and `runningAt` are not touched.
    pub async fn update_session(
        &self,
        scope: &Scope,
        id: &str,
        patch: SessionPatch,
        now: &str,
    ) -> Result<Session, StoreError> {
        static SQL: LazyLock<String> = LazyLock::new(|| {
            format!(
                "UPDATE sessions SET title = COALESCE(?3, title), status = COALESCE(?4, status), \
                 tags = COALESCE(?5, tags), \
                 auto_approve_severity = CASE WHEN ?6 THEN ?7 ELSE auto_approve_severity END, \
                 preconfig_id = CASE WHEN ?8 THEN ?9 ELSE preconfig_id END, \
                 selected_model = CASE WHEN ?10 THEN ?11 ELSE selected_model END, \
                 selected_provider = CASE WHEN ?12 THEN ?13 ELSE selected_provider END, \
                 selected_variant = CASE WHEN ?14 THEN ?15 ELSE selected_variant END, \
                 metadata = CASE WHEN ?16 THEN ?17 ELSE metadata END, updated_at = ?18 \
                 WHERE id = ?1 AND {VISIBLE} RETURNING {}",
                *COLS
            )
        });
        let tags = match &patch.tags {
            Some(t) => Some(serde_json::to_string(t).map_err(bad_json("sessions.tags"))?),
            None => None,
        };
        let metadata = patch
            .metadata
            .as_ref()
            .map(|m| m.as_ref().map(Value::to_string));
        let (id, owner, now) = (
            id.to_owned(),
            scope.owner().map(str::to_owned),
            now.to_owned(),
        );
        let status = patch.status.map(|s| s.as_str());
        self.write(move |c, pages| {
            let p = &patch;
            let params: [&dyn ToSql; 18] = [
                &id,
                &owner,
                &p.title,
                &status,
                &tags,
                &p.auto_approve_severity.is_some(),
                &p.auto_approve_severity.as_ref().and_then(Option::as_deref),
                &p.preconfig_id.is_some(),
                &p.preconfig_id.as_ref().and_then(Option::as_deref),
                &p.selected_model.is_some(),
                &p.selected_model.as_ref().and_then(Option::as_deref),
                &p.selected_provider.is_some(),
                &p.selected_provider.as_ref().and_then(Option::as_deref),
                &p.selected_variant.is_some(),
                &p.selected_variant.as_ref().and_then(Option::as_deref),
                &metadata.is_some(),
                &metadata.as_ref().and_then(Option::as_deref),
                &now,
            ];
            returning(c, pages, &SQL, &params)?.ok_or_else(not_found)
        })
        .await
    }

    /// Set the title only if the session still has a default one (trimmed, case-insensitive
    /// `New Session`, `New` or empty: `chat::title::is_default_title`), in one statement, and
    /// bump `updatedAt`. `None` when nothing was written: the title was changed meanwhile, or
    /// the session is gone.
    pub async fn set_title_if_default(
        &self,
        id: &str,
        title: &str,
        now: &str,
    ) -> Result<Option<Session>, StoreError> {
        static SQL: LazyLock<String> = LazyLock::new(|| {
            format!(
                "UPDATE sessions SET title = ?2, updated_at = ?3 WHERE id = ?1 AND (title IS NULL \
                 OR lower(trim(title, ' ' || char(9, 10, 11, 12, 13))) IN ('', 'new session', 'new')) \
                 RETURNING {}",
                *COLS
            )
        });
        let (id, title, now) = (id.to_owned(), title.to_owned(), now.to_owned());
        self.write(move |c, pages| returning(c, pages, &SQL, &[&id, &title, &now]))
            .await
    }

    /// Delete a session (its messages and parts go with it).
    pub async fn delete_session(&self, scope: &Scope, id: &str) -> Result<(), StoreError> {
        static SQL: LazyLock<String> = LazyLock::new(|| {
            format!("DELETE FROM sessions WHERE id = ?1 AND {VISIBLE} RETURNING workspace_id")
        });
        let (id, owner) = (id.to_owned(), scope.owner().map(str::to_owned));
        self.write(move |c, pages| {
            let mut st = c.prepare_cached(&SQL)?;
            let ws = one(&mut st, (id, owner), |r| Ok(str(r, 0)?.to_owned()))?;
            pages.bump_sessions(&ws.ok_or_else(not_found)?);
            Ok(())
        })
        .await
    }

    /// Mark a turn as running (`Some(iso)`) or finished (`None`); bumps `updatedAt` to `now`.
    pub async fn set_running(
        &self,
        id: &str,
        running_at: Option<&str>,
        now: &str,
    ) -> Result<Session, StoreError> {
        static SQL: LazyLock<String> = LazyLock::new(|| {
            format!(
                "UPDATE sessions SET running_at = ?2, updated_at = ?3 WHERE id = ?1 RETURNING {}",
                *COLS
            )
        });
        let (id, running_at, now) = (id.to_owned(), running_at.map(str::to_owned), now.to_owned());
        self.write(move |c, pages| {
            returning(c, pages, &SQL, &[&id, &running_at, &now])?.ok_or_else(not_found)
        })
        .await
    }

    /// Write a turn's last step usage over the session's token fields: it stands for the
    /// current context size (`PROTOCOL-AGENT.md` §8.3), not a running sum.
    pub async fn set_session_tokens(
        &self,
        id: &str,
        t: TokenTotals,
        now: &str,
    ) -> Result<Session, StoreError> {
        static SQL: LazyLock<String> = LazyLock::new(|| {
            format!(
                "UPDATE sessions SET prompt_tokens = ?1, completion_tokens = ?2, \
                 total_tokens = ?1 + ?2, cache_read_tokens = ?3, cache_write_tokens = ?4, \
                 no_cache_tokens = ?5, updated_at = ?6 WHERE id = ?7 RETURNING {}",
                *COLS
            )
        });
        let (id, now) = (id.to_owned(), now.to_owned());
        self.write(move |c, pages| {
            let params: [&dyn ToSql; 7] = [
                &t.prompt,
                &t.completion,
                &t.cache_read,
                &t.cache_write,
                &t.no_cache,
                &now,
                &id,
            ];
            returning(c, pages, &SQL, &params)?.ok_or_else(not_found)
        })
        .await
    }
}
