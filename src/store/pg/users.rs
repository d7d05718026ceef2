//! People on PostgreSQL (see `store/users.rs`). A first sign-in through an outside provider
//! takes a transaction-scoped advisory lock on its (issuer, subject), so two at once on two
//! instances make one user, as SQLite's single writer does.

use std::sync::LazyLock;

use deadpool_postgres::Transaction;

use super::super::users::{COLS, LOCAL_ISSUER, User, normalize_email, user_from_row};
use super::super::{Entity, StoreError};
use super::{Postgres, db, exec_in, query_in};
use crate::time::now_iso;

static BY_ID: LazyLock<String> =
    LazyLock::new(|| format!("SELECT {COLS} FROM users WHERE id = $1"));
static BY_EMAIL: LazyLock<String> =
    LazyLock::new(|| format!("SELECT {COLS} FROM users WHERE email_norm = $1"));

async fn user_in(tx: &Transaction<'_>, sql: &str, value: &str) -> Result<Option<User>, StoreError> {
    let rows = query_in(tx, sql, &[&value]).await?;
    rows.first().map(|r| Ok(user_from_row(r)?)).transpose()
}

/// Insert a user (and a local identity when it has a password); its id.
async fn insert_user(
    tx: &Transaction<'_>,
    email: &str,
    password_hash: Option<&str>,
    email_verified: bool,
) -> Result<String, StoreError> {
    let id = uuid::Uuid::new_v4().to_string();
    let now = now_iso();
    let inserted = exec_in(
        tx,
        "INSERT INTO users (id, email, email_norm, email_verified, password_hash, disabled, \
         created_at) VALUES ($1, $2, $3, $4, $5, FALSE, $6)",
        &[
            &id,
            &email.trim(),
            &normalize_email(email),
            &email_verified,
            &password_hash,
            &now,
        ],
    )
    .await;
    inserted.map_err(|e| match e {
        StoreError::Conflict(_) => {
            StoreError::Conflict(format!("a user with email {} already exists", email.trim()))
        }
        other => other,
    })?;
    if password_hash.is_some() {
        exec_in(
            tx,
            "INSERT INTO identities (issuer, subject, user_id, email, created_at) \
             VALUES ($1, $2, $3, $4, $5)",
            &[&LOCAL_ISSUER, &id, &id, &email.trim(), &now],
        )
        .await?;
    }
    Ok(id)
}

fn no_user() -> StoreError {
    StoreError::NotFound(Entity::User)
}

impl Postgres {
    pub async fn create_user(
        &self,
        email: &str,
        password_hash: Option<&str>,
        email_verified: bool,
    ) -> Result<User, StoreError> {
        let mut c = self.conn().await?;
        let tx = c.transaction().await.map_err(db)?;
        let id = insert_user(&tx, email, password_hash, email_verified).await?;
        let user = user_in(&tx, &BY_ID, &id).await?.ok_or_else(no_user)?;
        tx.commit().await.map_err(db)?;
        Ok(user)
    }

    pub async fn user_by_id(&self, id: &str) -> Result<Option<User>, StoreError> {
        let row = self.query_opt(&BY_ID, &[&id]).await?;
        row.map(|r| Ok(user_from_row(&r)?)).transpose()
    }

    pub async fn user_by_email(&self, email: &str) -> Result<Option<User>, StoreError> {
        let row = self
            .query_opt(&BY_EMAIL, &[&normalize_email(email)])
            .await?;
        row.map(|r| Ok(user_from_row(&r)?)).transpose()
    }

    pub async fn list_users(&self) -> Result<Vec<User>, StoreError> {
        static SQL: LazyLock<String> =
            LazyLock::new(|| format!("SELECT {COLS} FROM users ORDER BY created_at, email_norm"));
        let rows = self.query(&SQL, &[]).await?;
        rows.iter().map(|r| Ok(user_from_row(r)?)).collect()
    }

    pub async fn set_user_disabled(&self, email: &str, disabled: bool) -> Result<User, StoreError> {
        let norm = normalize_email(email);
        let mut c = self.conn().await?;
        let tx = c.transaction().await.map_err(db)?;
        let n = exec_in(
            &tx,
            "UPDATE users SET disabled = $1 WHERE email_norm = $2",
            &[&disabled, &norm],
        )
        .await?;
        if n == 0 {
            return Err(no_user());
        }
        if disabled {
            exec_in(
                &tx,
                "DELETE FROM login_sessions WHERE user_id IN \
                 (SELECT id FROM users WHERE email_norm = $1)",
                &[&norm],
            )
            .await?;
        }
        let user = user_in(&tx, &BY_EMAIL, &norm).await?.ok_or_else(no_user)?;
        tx.commit().await.map_err(db)?;
        Ok(user)
    }

    pub async fn set_user_host_access(&self, email: &str, on: bool) -> Result<User, StoreError> {
        static SQL: LazyLock<String> = LazyLock::new(|| {
            format!("UPDATE users SET host_access = $1 WHERE email_norm = $2 RETURNING {COLS}")
        });
        let norm = normalize_email(email);
        let row = self.query_opt(&SQL, &[&on, &norm]).await?;
        Ok(user_from_row(&row.ok_or_else(no_user)?)?)
    }

    pub async fn host_access(&self, owner_id: &str) -> Result<bool, StoreError> {
        if owner_id.starts_with("app:") {
            return Ok(false);
        }
        let row = self
            .query_opt(
                "SELECT host_access AND NOT disabled FROM users WHERE id = $1",
                &[&owner_id],
            )
            .await?;
        Ok(row
            .map(|r| r.try_get::<_, bool>(0))
            .transpose()
            .map_err(db)?
            .unwrap_or(false))
    }

    pub async fn set_password(&self, email: &str, password_hash: &str) -> Result<(), StoreError> {
        let norm = normalize_email(email);
        let mut c = self.conn().await?;
        let tx = c.transaction().await.map_err(db)?;
        let user = user_in(&tx, &BY_EMAIL, &norm).await?.ok_or_else(no_user)?;
        exec_in(
            &tx,
            "UPDATE users SET password_hash = $1 WHERE id = $2",
            &[&password_hash, &user.id],
        )
        .await?;
        exec_in(
            &tx,
            "INSERT INTO identities (issuer, subject, user_id, email, created_at) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
            &[&LOCAL_ISSUER, &user.id, &user.id, &user.email, &now_iso()],
        )
        .await?;
        exec_in(
            &tx,
            "DELETE FROM login_sessions WHERE user_id = $1",
            &[&user.id],
        )
        .await?;
        exec_in(
            &tx,
            "INSERT INTO revoked_tokens (id, expires_at) \
             SELECT id, expires_at FROM refresh_families \
             WHERE user_id = $1 AND revoked_at IS NULL ON CONFLICT DO NOTHING",
            &[&user.id],
        )
        .await?;
        exec_in(
            &tx,
            "UPDATE refresh_families SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL",
            &[&crate::time::now_ms(), &user.id],
        )
        .await?;
        exec_in(&tx, "DELETE FROM grants WHERE user_id = $1", &[&user.id]).await?;
        tx.commit().await.map_err(db)
    }

    pub async fn resolve_identity(
        &self,
        issuer: &str,
        subject: &str,
        email: &str,
        email_verified: bool,
    ) -> Result<User, StoreError> {
        let mut c = self.conn().await?;
        let tx = c.transaction().await.map_err(db)?;
        exec_in(
            &tx,
            "SELECT pg_advisory_xact_lock(hashtextextended($1 || ' ' || $2, 0))",
            &[&issuer, &subject],
        )
        .await?;
        let known = query_in(
            &tx,
            "SELECT user_id FROM identities WHERE issuer = $1 AND subject = $2",
            &[&issuer, &subject],
        )
        .await?;
        if let Some(r) = known.first() {
            let user_id = super::super::rows::str(r, 0)?.to_owned();
            let user = user_in(&tx, &BY_ID, &user_id).await?.ok_or_else(no_user)?;
            tx.commit().await.map_err(db)?;
            return Ok(user);
        }
        let user_id = match user_in(&tx, &BY_EMAIL, &normalize_email(email)).await? {
            Some(existing) if email_verified => existing.id,
            Some(_) => {
                let placeholder = format!("{subject}@{}", issuer.replace('/', "_"));
                insert_user(&tx, &placeholder, None, false).await?
            }
            None => insert_user(&tx, email, None, email_verified).await?,
        };
        exec_in(
            &tx,
            "INSERT INTO identities (issuer, subject, user_id, email, created_at) \
             VALUES ($1, $2, $3, $4, $5)",
            &[&issuer, &subject, &user_id, &email, &now_iso()],
        )
        .await?;
        let user = user_in(&tx, &BY_ID, &user_id).await?.ok_or_else(no_user)?;
        tx.commit().await.map_err(db)?;
        Ok(user)
    }
}
