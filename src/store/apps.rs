//! Applications (OAuth clients): their redirect URIs, API keys (hash only) and per-day request
//! counts.

use rusqlite::{Connection, Row, TransactionBehavior};

use super::rows::{all, flag, int, one, opt_str, str};
use super::{Entity, Fail, Store, StoreError};
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

#[derive(Debug, Clone)]
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

/// An app row (without its redirect URIs).
fn app_from_row(r: &Row<'_>) -> Result<App, Fail> {
    Ok(App {
        id: str(r, 0)?.to_owned(),
        name: str(r, 1)?.to_owned(),
        confidential: flag(r, 2)?,
        secret_hash: opt_str(r, 3)?.map(str::to_owned),
        scopes: str(r, 4)?.split_whitespace().map(str::to_owned).collect(),
        revoked: flag(r, 5)?,
        created_at: str(r, 6)?.to_owned(),
        redirect_uris: Vec::new(),
    })
}

fn key_from_row(r: &Row<'_>) -> Result<ApiKey, Fail> {
    Ok(ApiKey {
        id: str(r, 0)?.to_owned(),
        app_id: str(r, 1)?.to_owned(),
        prefix: str(r, 2)?.to_owned(),
        created_at: str(r, 3)?.to_owned(),
        expires_at: r.get(4)?,
        revoked: flag(r, 5)?,
    })
}

fn with_uris(c: &Connection, mut app: App) -> Result<App, Fail> {
    let mut st =
        c.prepare_cached("SELECT uri FROM app_redirect_uris WHERE app_id = ?1 ORDER BY uri")?;
    app.redirect_uris = all(&mut st, [&app.id], |r| Ok(str(r, 0)?.to_owned()))?;
    Ok(app)
}

fn app(c: &Connection, id: &str) -> Result<Option<App>, Fail> {
    let mut st = c.prepare_cached(&format!("SELECT {APP_COLS} FROM apps WHERE id = ?1"))?;
    match one(&mut st, [id], app_from_row)? {
        Some(a) => Ok(Some(with_uris(c, a)?)),
        None => Ok(None),
    }
}

fn key_where(c: &Connection, column: &str, value: &str) -> Result<Option<ApiKey>, Fail> {
    let mut st = c.prepare_cached(&format!(
        "SELECT {KEY_COLS} FROM api_keys WHERE {column} = ?1"
    ))?;
    one(&mut st, [value], key_from_row)
}

impl Store {
    pub async fn create_app(&self, new: NewApp<'_>) -> Result<App, StoreError> {
        let id = format!("app_{}", uuid::Uuid::new_v4().simple());
        let (name, confidential, secret_hash, scopes, uris) = (
            new.name.to_owned(),
            new.confidential,
            new.secret_hash.map(str::to_owned),
            new.scopes.join(" "),
            new.redirect_uris.to_vec(),
        );
        self.write(move |c, _| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            tx.prepare_cached(
                "INSERT INTO apps (id, name, confidential, secret_hash, scopes, revoked, created_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, 0, ?6)",
            )?
            .execute((&id, &name, confidential, &secret_hash, &scopes, now_iso()))?;
            let mut st = tx.prepare_cached(
                "INSERT OR IGNORE INTO app_redirect_uris (app_id, uri) VALUES (?1, ?2)",
            )?;
            for uri in &uris {
                st.execute((&id, uri))?;
            }
            drop(st);
            let created = app(&tx, &id)?.ok_or(Fail::Store(StoreError::NotFound(Entity::App)))?;
            tx.commit()?;
            Ok(created)
        })
        .await
    }

    pub async fn app(&self, id: &str) -> Result<Option<App>, StoreError> {
        let id = id.to_owned();
        self.read(move |c| app(c, &id)).await
    }

    pub async fn list_apps(&self) -> Result<Vec<App>, StoreError> {
        self.read(|c| {
            let mut st = c.prepare_cached(&format!(
                "SELECT {APP_COLS} FROM apps ORDER BY created_at, id"
            ))?;
            all(&mut st, [], app_from_row)?
                .into_iter()
                .map(|a| with_uris(c, a))
                .collect()
        })
        .await
    }

    /// Revoke an application: its keys, codes and refresh tokens stop working.
    pub async fn revoke_app(&self, id: &str, now_ms: i64) -> Result<(), StoreError> {
        let id = id.to_owned();
        self.write(move |c, _| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let n = tx
                .prepare_cached("UPDATE apps SET revoked = 1 WHERE id = ?1")?
                .execute([&id])?;
            super::touched(n, Entity::App)?;
            tx.prepare_cached("UPDATE api_keys SET revoked = 1 WHERE app_id = ?1")?
                .execute([&id])?;
            tx.prepare_cached(
                "UPDATE refresh_families SET revoked_at = ?1 WHERE app_id = ?2 AND revoked_at IS NULL",
            )?
            .execute((now_ms, &id))?;
            tx.commit()?;
            Ok(())
        })
        .await
    }

    pub async fn set_app_secret(&self, id: &str, secret_hash: &str) -> Result<(), StoreError> {
        let (id, hash) = (id.to_owned(), secret_hash.to_owned());
        self.write(move |c, _| {
            let n = c
                .prepare_cached(
                    "UPDATE apps SET secret_hash = ?1 WHERE id = ?2 AND confidential = 1",
                )?
                .execute((hash, id))?;
            super::touched(n, Entity::App)
        })
        .await
    }

    pub async fn create_api_key(
        &self,
        app_id: &str,
        key_hash: &str,
        prefix: &str,
        expires_at: Option<i64>,
    ) -> Result<ApiKey, StoreError> {
        let id = format!("key_{}", uuid::Uuid::new_v4().simple());
        let (app_id, key_hash, prefix) =
            (app_id.to_owned(), key_hash.to_owned(), prefix.to_owned());
        self.write(move |c, _| {
            c.prepare_cached(
                "INSERT INTO api_keys (id, app_id, key_hash, prefix, created_at, expires_at, revoked) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, 0)",
            )?
            .execute((&id, &app_id, &key_hash, &prefix, now_iso(), expires_at))?;
            key_where(c, "id", &id)?.ok_or(Fail::Store(StoreError::NotFound(Entity::ApiKey)))
        })
        .await
    }

    /// The key whose SHA-256 is `key_hash` (looked up by hash: the hash is the index).
    pub async fn api_key_by_hash(&self, key_hash: &str) -> Result<Option<ApiKey>, StoreError> {
        let hash = key_hash.to_owned();
        self.read(move |c| key_where(c, "key_hash", &hash)).await
    }

    pub async fn list_api_keys(&self, app_id: &str) -> Result<Vec<ApiKey>, StoreError> {
        let app_id = app_id.to_owned();
        self.read(move |c| {
            let mut st = c.prepare_cached(&format!(
                "SELECT {KEY_COLS} FROM api_keys WHERE app_id = ?1 ORDER BY created_at, id"
            ))?;
            all(&mut st, [app_id], key_from_row)
        })
        .await
    }

    pub async fn revoke_api_key(&self, id: &str) -> Result<(), StoreError> {
        let id = id.to_owned();
        self.write(move |c, _| {
            let n = c
                .prepare_cached("UPDATE api_keys SET revoked = 1 WHERE id = ?1")?
                .execute([id])?;
            super::touched(n, Entity::ApiKey)
        })
        .await
    }

    /// Add `n` requests to an application's count for `day` (`YYYY-MM-DD`).
    pub async fn add_usage(&self, app_id: &str, day: &str, n: i64) -> Result<(), StoreError> {
        let (app_id, day) = (app_id.to_owned(), day.to_owned());
        self.write(move |c, _| {
            c.prepare_cached(
                "INSERT INTO app_usage (app_id, day, requests) VALUES (?1, ?2, ?3) \
                 ON CONFLICT(app_id, day) DO UPDATE SET requests = requests + excluded.requests",
            )?
            .execute((app_id, day, n))?;
            Ok(())
        })
        .await
    }

    /// Requests per day for one application, newest day first.
    pub async fn usage(&self, app_id: &str) -> Result<Vec<(String, i64)>, StoreError> {
        let app_id = app_id.to_owned();
        self.read(move |c| {
            let mut st = c.prepare_cached(
                "SELECT day, requests FROM app_usage WHERE app_id = ?1 ORDER BY day DESC",
            )?;
            all(&mut st, [app_id], |r| {
                Ok((str(r, 0)?.to_owned(), int(r, 1)?))
            })
        })
        .await
    }
}
