//! Applications, their redirect URIs, API keys and usage on PostgreSQL (see `store/apps.rs`).

use std::sync::LazyLock;

use tokio_postgres::Row;

use super::super::apps::{APP_COLS, ApiKey, App, KEY_COLS, NewApp, app_from_row, key_from_row};
use super::super::rows::{int, str};
use super::super::{Entity, StoreError};
use super::{Postgres, db, exec_in, query_in};
use crate::time::now_iso;

static APP: LazyLock<String> =
    LazyLock::new(|| format!("SELECT {APP_COLS} FROM apps WHERE id = $1"));
const URIS: &str = "SELECT uri FROM app_redirect_uris WHERE app_id = $1 ORDER BY uri";

fn uris(rows: &[Row]) -> Result<Vec<String>, StoreError> {
    rows.iter().map(|r| Ok(str(r, 0)?.to_owned())).collect()
}

impl Postgres {
    pub async fn create_app(&self, new: NewApp<'_>) -> Result<App, StoreError> {
        let id = format!("app_{}", uuid::Uuid::new_v4().simple());
        let scopes = new.scopes.join(" ");
        let mut c = self.conn().await?;
        let tx = c.transaction().await.map_err(db)?;
        exec_in(
            &tx,
            "INSERT INTO apps (id, name, confidential, secret_hash, scopes, revoked, created_at) \
             VALUES ($1, $2, $3, $4, $5, FALSE, $6)",
            &[
                &id,
                &new.name,
                &new.confidential,
                &new.secret_hash,
                &scopes,
                &now_iso(),
            ],
        )
        .await?;
        for uri in new.redirect_uris {
            exec_in(
                &tx,
                "INSERT INTO app_redirect_uris (app_id, uri) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                &[&id, uri],
            )
            .await?;
        }
        let rows = query_in(&tx, &APP, &[&id]).await?;
        let mut app = app_from_row(rows.first().ok_or(StoreError::NotFound(Entity::App))?)?;
        app.redirect_uris = uris(&query_in(&tx, URIS, &[&id]).await?)?;
        tx.commit().await.map_err(db)?;
        Ok(app)
    }

    pub async fn app(&self, id: &str) -> Result<Option<App>, StoreError> {
        let Some(row) = self.query_opt(&APP, &[&id]).await? else {
            return Ok(None);
        };
        let mut app = app_from_row(&row)?;
        app.redirect_uris = uris(&self.query(URIS, &[&id]).await?)?;
        Ok(Some(app))
    }

    pub async fn list_apps(&self) -> Result<Vec<App>, StoreError> {
        static SQL: LazyLock<String> =
            LazyLock::new(|| format!("SELECT {APP_COLS} FROM apps ORDER BY created_at, id"));
        let rows = self.query(&SQL, &[]).await?;
        let mut apps = Vec::with_capacity(rows.len());
        for r in &rows {
            let mut app = app_from_row(r)?;
            app.redirect_uris = uris(&self.query(URIS, &[&app.id]).await?)?;
            apps.push(app);
        }
        Ok(apps)
    }

    pub async fn revoke_app(&self, id: &str, now_ms: i64) -> Result<(), StoreError> {
        let mut c = self.conn().await?;
        let tx = c.transaction().await.map_err(db)?;
        let n = exec_in(&tx, "UPDATE apps SET revoked = TRUE WHERE id = $1", &[&id]).await?;
        if n == 0 {
            return Err(StoreError::NotFound(Entity::App));
        }
        exec_in(
            &tx,
            "UPDATE api_keys SET revoked = TRUE WHERE app_id = $1",
            &[&id],
        )
        .await?;
        exec_in(
            &tx,
            "UPDATE refresh_families SET revoked_at = $1 WHERE app_id = $2 AND revoked_at IS NULL",
            &[&now_ms, &id],
        )
        .await?;
        tx.commit().await.map_err(db)
    }

    pub async fn set_app_secret(&self, id: &str, secret_hash: &str) -> Result<(), StoreError> {
        let n = self
            .execute(
                "UPDATE apps SET secret_hash = $1 WHERE id = $2 AND confidential",
                &[&secret_hash, &id],
            )
            .await?;
        if n == 0 {
            return Err(StoreError::NotFound(Entity::App));
        }
        Ok(())
    }

    pub async fn create_api_key(
        &self,
        app_id: &str,
        key_hash: &str,
        prefix: &str,
        expires_at: Option<i64>,
    ) -> Result<ApiKey, StoreError> {
        static SQL: LazyLock<String> = LazyLock::new(|| {
            format!(
                "INSERT INTO api_keys (id, app_id, key_hash, prefix, created_at, expires_at, \
                 revoked) VALUES ($1, $2, $3, $4, $5, $6, FALSE) RETURNING {KEY_COLS}"
            )
        });
        let id = format!("key_{}", uuid::Uuid::new_v4().simple());
        let row = self
            .query_opt(
                &SQL,
                &[&id, &app_id, &key_hash, &prefix, &now_iso(), &expires_at],
            )
            .await?
            .ok_or(StoreError::NotFound(Entity::ApiKey))?;
        Ok(key_from_row(&row)?)
    }

    pub async fn api_key_by_hash(&self, key_hash: &str) -> Result<Option<ApiKey>, StoreError> {
        static SQL: LazyLock<String> =
            LazyLock::new(|| format!("SELECT {KEY_COLS} FROM api_keys WHERE key_hash = $1"));
        let row = self.query_opt(&SQL, &[&key_hash]).await?;
        row.map(|r| Ok(key_from_row(&r)?)).transpose()
    }

    pub async fn list_api_keys(&self, app_id: &str) -> Result<Vec<ApiKey>, StoreError> {
        static SQL: LazyLock<String> = LazyLock::new(|| {
            format!("SELECT {KEY_COLS} FROM api_keys WHERE app_id = $1 ORDER BY created_at, id")
        });
        let rows = self.query(&SQL, &[&app_id]).await?;
        rows.iter().map(|r| Ok(key_from_row(r)?)).collect()
    }

    pub async fn revoke_api_key(&self, id: &str) -> Result<(), StoreError> {
        let n = self
            .execute("UPDATE api_keys SET revoked = TRUE WHERE id = $1", &[&id])
            .await?;
        if n == 0 {
            return Err(StoreError::NotFound(Entity::ApiKey));
        }
        Ok(())
    }

    pub async fn add_usage(&self, app_id: &str, day: &str, n: i64) -> Result<(), StoreError> {
        self.execute(
            "INSERT INTO app_usage (app_id, day, requests) VALUES ($1, $2, $3) \
             ON CONFLICT (app_id, day) DO UPDATE SET requests = app_usage.requests + excluded.requests",
            &[&app_id, &day, &n],
        )
        .await?;
        Ok(())
    }

    pub async fn usage(&self, app_id: &str) -> Result<Vec<(String, i64)>, StoreError> {
        let rows = self
            .query(
                "SELECT day, requests FROM app_usage WHERE app_id = $1 ORDER BY day DESC",
                &[&app_id],
            )
            .await?;
        rows.iter()
            .map(|r| Ok((str(r, 0)?.to_owned(), int(r, 1)?)))
            .collect()
    }
}
