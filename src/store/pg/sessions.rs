//! Sessions on PostgreSQL: reads and the one-statement writes of `store/session_writes.rs`,
//! with the same SQL where the dialects agree (placeholders rewritten) and the same decoding.

use std::sync::LazyLock;

use serde_json::Value;
use tokio_postgres::types::ToSql;

use super::super::error::bad_json;
use super::super::rows::str;
use super::super::sessions::{COLS, NewSession, Session, SessionPatch, TokenTotals, from_row};
use super::super::{Entity, Scope, StoreError};
use super::Postgres;

/// Sessions of workspaces `$2` can see (`$2` is the owner filter, NULL for all).
const VISIBLE: &str =
    "($2::text IS NULL OR workspace_id IN (SELECT id FROM workspaces WHERE owner_id = $2))";

fn not_found() -> StoreError {
    StoreError::NotFound(Entity::Session)
}

impl Postgres {
    /// Run a write that returns a session row.
    async fn returning(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Option<Session>, StoreError> {
        match self.query_opt(sql, params).await? {
            Some(row) => Ok(Some(from_row(&row)?)),
            None => Ok(None),
        }
    }

    pub async fn get_session(&self, scope: &Scope, id: &str) -> Result<Session, StoreError> {
        static SQL: LazyLock<String> =
            LazyLock::new(|| format!("SELECT {} FROM sessions WHERE id = $1 AND {VISIBLE}", *COLS));
        self.returning(&SQL, &[&id, &scope.owner()])
            .await?
            .ok_or_else(not_found)
    }

    pub async fn running_session_ids(&self) -> Result<Vec<String>, StoreError> {
        let rows = self
            .query(
                "SELECT id FROM sessions WHERE running_at IS NOT NULL ORDER BY id",
                &[],
            )
            .await?;
        rows.iter().map(|r| Ok(str(r, 0)?.to_owned())).collect()
    }

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
                 SELECT $1, w.id, $3, $4, 'active', $5, $5, $6, $7, $8, $9, $10, 'low' \
                 FROM workspaces w WHERE w.id = $2 AND ($11::text IS NULL OR w.owner_id = $11) \
                 RETURNING {}",
                *COLS
            )
        });
        let metadata = new.metadata.as_ref().map(Value::to_string);
        let owner = scope.owner();
        let params: [&(dyn ToSql + Sync); 11] = [
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
        match self.returning(&SQL, &params).await {
            Ok(Some(s)) => Ok(s),
            Ok(None) => Err(StoreError::NotFound(Entity::Workspace)),
            Err(StoreError::Conflict(_)) => Err(StoreError::Conflict(
                "A session with this id already exists".into(),
            )),
            Err(e) => Err(e),
        }
    }

    pub async fn update_session(
        &self,
        scope: &Scope,
        id: &str,
        patch: SessionPatch,
        now: &str,
    ) -> Result<Session, StoreError> {
        static SQL: LazyLock<String> = LazyLock::new(|| {
            format!(
                "UPDATE sessions SET title = COALESCE($3, title), status = COALESCE($4, status), \
                 tags = COALESCE($5, tags), \
                 auto_approve_severity = CASE WHEN $6 THEN $7 ELSE auto_approve_severity END, \
                 preconfig_id = CASE WHEN $8 THEN $9 ELSE preconfig_id END, \
                 selected_model = CASE WHEN $10 THEN $11 ELSE selected_model END, \
                 selected_provider = CASE WHEN $12 THEN $13 ELSE selected_provider END, \
                 selected_variant = CASE WHEN $14 THEN $15 ELSE selected_variant END, \
                 metadata = CASE WHEN $16 THEN $17 ELSE metadata END, updated_at = $18 \
                 WHERE id = $1 AND {VISIBLE} RETURNING {}",
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
        let p = &patch;
        let owner = scope.owner();
        let status = p.status.map(|s| s.as_str());
        let set = |o: &Option<Option<String>>| o.is_some();
        let value = |o: &Option<Option<String>>| o.clone().flatten();
        let (aas, pre, model, provider, variant) = (
            value(&p.auto_approve_severity),
            value(&p.preconfig_id),
            value(&p.selected_model),
            value(&p.selected_provider),
            value(&p.selected_variant),
        );
        let (aas_set, pre_set, model_set, provider_set, variant_set) = (
            set(&p.auto_approve_severity),
            set(&p.preconfig_id),
            set(&p.selected_model),
            set(&p.selected_provider),
            set(&p.selected_variant),
        );
        let (meta_set, meta) = (metadata.is_some(), metadata.clone().flatten());
        let params: [&(dyn ToSql + Sync); 18] = [
            &id,
            &owner,
            &p.title,
            &status,
            &tags,
            &aas_set,
            &aas,
            &pre_set,
            &pre,
            &model_set,
            &model,
            &provider_set,
            &provider,
            &variant_set,
            &variant,
            &meta_set,
            &meta,
            &now,
        ];
        self.returning(&SQL, &params).await?.ok_or_else(not_found)
    }

    pub async fn set_title_if_default(
        &self,
        id: &str,
        title: &str,
        now: &str,
    ) -> Result<Option<Session>, StoreError> {
        static SQL: LazyLock<String> = LazyLock::new(|| {
            format!(
                "UPDATE sessions SET title = $2, updated_at = $3 WHERE id = $1 AND (title IS NULL \
                 OR lower(btrim(title, E' \\t\\n\\x0b\\x0c\\r')) IN ('', 'new session', 'new')) \
                 RETURNING {}",
                *COLS
            )
        });
        self.returning(&SQL, &[&id, &title, &now]).await
    }

    pub async fn delete_session(&self, scope: &Scope, id: &str) -> Result<(), StoreError> {
        static SQL: LazyLock<String> = LazyLock::new(|| {
            format!("DELETE FROM sessions WHERE id = $1 AND {VISIBLE} RETURNING workspace_id")
        });
        match self.query_opt(&SQL, &[&id, &scope.owner()]).await? {
            Some(_) => Ok(()),
            None => Err(not_found()),
        }
    }

    pub async fn set_running(
        &self,
        id: &str,
        running_at: Option<&str>,
        now: &str,
    ) -> Result<Session, StoreError> {
        static SQL: LazyLock<String> = LazyLock::new(|| {
            format!(
                "UPDATE sessions SET running_at = $2, updated_at = $3 WHERE id = $1 RETURNING {}",
                *COLS
            )
        });
        self.returning(&SQL, &[&id, &running_at, &now])
            .await?
            .ok_or_else(not_found)
    }

    pub async fn set_session_tokens(
        &self,
        id: &str,
        t: TokenTotals,
        now: &str,
    ) -> Result<Session, StoreError> {
        static SQL: LazyLock<String> = LazyLock::new(|| {
            format!(
                "UPDATE sessions SET prompt_tokens = $1, completion_tokens = $2, \
                 total_tokens = $1::bigint + $2::bigint, cache_read_tokens = $3, \
                 cache_write_tokens = $4, no_cache_tokens = $5, updated_at = $6 WHERE id = $7 \
                 RETURNING {}",
                *COLS
            )
        });
        let params: [&(dyn ToSql + Sync); 7] = [
            &t.prompt,
            &t.completion,
            &t.cache_read,
            &t.cache_write,
            &t.no_cache,
            &now,
            &id,
        ];
        self.returning(&SQL, &params).await?.ok_or_else(not_found)
    }
}
