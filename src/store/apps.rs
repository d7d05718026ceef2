//! Applications (OAuth clients): their redirect URIs, API keys (hash only) and per-day request
//! counts.

use super::{Store, StoreError};
use crate::time::now_iso;

#[derive(Debug, Clone)]
pub struct App {
    /// The `client_id`.
    pub id: String,
    pub name: String,
    pub confidential: bool,
    /// SHA-256 hex of the client secret (confidential apps only).
    pub secret_hash: Option<String>,
    /// The scopes this app may ask for.
    pub scopes: Vec<String>,
    pub revoked: bool,
    pub created_at: String,
    pub redirect_uris: Vec<String>,
}

#[derive(sqlx::FromRow)]
struct AppRow {
    id: String,
    name: String,
    confidential: bool,
    secret_hash: Option<String>,
    scopes: String,
    revoked: bool,
    created_at: String,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ApiKey {
    pub id: String,
    pub app_id: String,
    /// The first characters of the key, to tell keys apart in listings.
    pub prefix: String,
    pub created_at: String,
    /// Unix ms; `None` never expires.
    pub expires_at: Option<i64>,
    pub revoked: bool,
}

/// What a new application is made of.
pub struct NewApp<'a> {
    pub name: &'a str,
    pub confidential: bool,
    pub secret_hash: Option<&'a str>,
    pub scopes: &'a [String],
    pub redirect_uris: &'a [String],
}

const APP_COLS: &str = "id, name, confidential, secret_hash, scopes, revoked, created_at";
const KEY_COLS: &str = "id, app_id, prefix, created_at, expires_at, revoked";

impl Store {
    pub async fn create_app(&self, new: NewApp<'_>) -> Result<App, StoreError> {
        let id = format!("app_{}", uuid::Uuid::new_v4().simple());
        let mut tx = self.pool().begin().await?;
        sqlx::query(
            "INSERT INTO apps (id, name, confidential, secret_hash, scopes, revoked, created_at)
             VALUES (?, ?, ?, ?, ?, 0, ?)",
        )
        .bind(&id)
        .bind(new.name)
        .bind(new.confidential)
        .bind(new.secret_hash)
        .bind(new.scopes.join(" "))
        .bind(now_iso())
        .execute(&mut *tx)
        .await?;
        for uri in new.redirect_uris {
            sqlx::query("INSERT OR IGNORE INTO app_redirect_uris (app_id, uri) VALUES (?, ?)")
                .bind(&id)
                .bind(uri)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        self.app(&id).await?.ok_or(StoreError::NotFound)
    }

    pub async fn app(&self, id: &str) -> Result<Option<App>, StoreError> {
        let row: Option<AppRow> =
            sqlx::query_as(&format!("SELECT {APP_COLS} FROM apps WHERE id = ?"))
                .bind(id)
                .fetch_optional(self.pool())
                .await?;
        match row {
            Some(r) => Ok(Some(self.with_uris(r).await?)),
            None => Ok(None),
        }
    }

    async fn with_uris(&self, r: AppRow) -> Result<App, StoreError> {
        let uris: Vec<(String,)> =
            sqlx::query_as("SELECT uri FROM app_redirect_uris WHERE app_id = ? ORDER BY uri")
                .bind(&r.id)
                .fetch_all(self.pool())
                .await?;
        Ok(App {
            scopes: r.scopes.split_whitespace().map(str::to_owned).collect(),
            redirect_uris: uris.into_iter().map(|(u,)| u).collect(),
            id: r.id,
            name: r.name,
            confidential: r.confidential,
            secret_hash: r.secret_hash,
            revoked: r.revoked,
            created_at: r.created_at,
        })
    }

    pub async fn list_apps(&self) -> Result<Vec<App>, StoreError> {
        let rows: Vec<AppRow> = sqlx::query_as(&format!(
            "SELECT {APP_COLS} FROM apps ORDER BY created_at, id"
        ))
        .fetch_all(self.pool())
        .await?;
        let mut apps = Vec::with_capacity(rows.len());
        for r in rows {
            apps.push(self.with_uris(r).await?);
        }
        Ok(apps)
    }

    /// Revoke an application: its keys, codes and refresh tokens stop working.
    pub async fn revoke_app(&self, id: &str, now_ms: i64) -> Result<(), StoreError> {
        let mut tx = self.pool().begin().await?;
        let done = sqlx::query("UPDATE apps SET revoked = 1 WHERE id = ?")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        super::touched(&done)?;
        sqlx::query("UPDATE api_keys SET revoked = 1 WHERE app_id = ?")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "UPDATE refresh_families SET revoked_at = ? WHERE app_id = ? AND revoked_at IS NULL",
        )
        .bind(now_ms)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn set_app_secret(&self, id: &str, secret_hash: &str) -> Result<(), StoreError> {
        let done = sqlx::query("UPDATE apps SET secret_hash = ? WHERE id = ? AND confidential = 1")
            .bind(secret_hash)
            .bind(id)
            .execute(self.pool())
            .await?;
        super::touched(&done)?;
        Ok(())
    }

    pub async fn create_api_key(
        &self,
        app_id: &str,
        key_hash: &str,
        prefix: &str,
        expires_at: Option<i64>,
    ) -> Result<ApiKey, StoreError> {
        let id = format!("key_{}", uuid::Uuid::new_v4().simple());
        sqlx::query(
            "INSERT INTO api_keys (id, app_id, key_hash, prefix, created_at, expires_at, revoked)
             VALUES (?, ?, ?, ?, ?, ?, 0)",
        )
        .bind(&id)
        .bind(app_id)
        .bind(key_hash)
        .bind(prefix)
        .bind(now_iso())
        .bind(expires_at)
        .execute(self.pool())
        .await?;
        sqlx::query_as(&format!("SELECT {KEY_COLS} FROM api_keys WHERE id = ?"))
            .bind(&id)
            .fetch_one(self.pool())
            .await
            .map_err(Into::into)
    }

    /// The key whose SHA-256 is `key_hash` (looked up by hash: the hash is the index).
    pub async fn api_key_by_hash(&self, key_hash: &str) -> Result<Option<ApiKey>, StoreError> {
        Ok(sqlx::query_as(&format!(
            "SELECT {KEY_COLS} FROM api_keys WHERE key_hash = ?"
        ))
        .bind(key_hash)
        .fetch_optional(self.pool())
        .await?)
    }

    pub async fn list_api_keys(&self, app_id: &str) -> Result<Vec<ApiKey>, StoreError> {
        Ok(sqlx::query_as(&format!(
            "SELECT {KEY_COLS} FROM api_keys WHERE app_id = ? ORDER BY created_at, id"
        ))
        .bind(app_id)
        .fetch_all(self.pool())
        .await?)
    }

    pub async fn revoke_api_key(&self, id: &str) -> Result<(), StoreError> {
        let done = sqlx::query("UPDATE api_keys SET revoked = 1 WHERE id = ?")
            .bind(id)
            .execute(self.pool())
            .await?;
        super::touched(&done)?;
        Ok(())
    }

    /// Add `n` requests to an application's count for `day` (`YYYY-MM-DD`).
    pub async fn add_usage(&self, app_id: &str, day: &str, n: i64) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO app_usage (app_id, day, requests) VALUES (?, ?, ?)
             ON CONFLICT(app_id, day) DO UPDATE SET requests = requests + excluded.requests",
        )
        .bind(app_id)
        .bind(day)
        .bind(n)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Requests per day for one application, newest day first.
    pub async fn usage(&self, app_id: &str) -> Result<Vec<(String, i64)>, StoreError> {
        Ok(
            sqlx::query_as(
                "SELECT day, requests FROM app_usage WHERE app_id = ? ORDER BY day DESC",
            )
            .bind(app_id)
            .fetch_all(self.pool())
            .await?,
        )
    }
}
