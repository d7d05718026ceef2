//! The server-side record of OAuth tokens: remembered consents, authorization codes, refresh
//! token families, revoked access tokens, signing keys and browser sign-in sessions. Every
//! secret is looked up by its hash; single use is enforced by conditional updates, so two
//! concurrent requests cannot both win.

use super::{Store, StoreError};
use crate::time::now_iso;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CodeRow {
    pub app_id: String,
    pub user_id: String,
    pub redirect_uri: String,
    pub code_challenge: String,
    pub scope: String,
    pub expires_at: i64,
    pub used_at: Option<i64>,
    pub family_id: Option<String>,
}

/// What redeeming a code found.
#[derive(Debug)]
pub enum CodeUse {
    /// First use: the code, now marked used.
    First(CodeRow),
    /// Already used before: the code as it was (its `family_id` is what the first use issued).
    Reused(CodeRow),
    Unknown,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Family {
    pub id: String,
    pub app_id: String,
    pub user_id: String,
    pub scope: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub revoked_at: Option<i64>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RefreshRow {
    pub family_id: String,
    pub created_at: i64,
    pub used_at: Option<i64>,
}

#[derive(Clone, sqlx::FromRow)]
pub struct SigningKeyRow {
    pub kid: String,
    pub pkcs8: Vec<u8>,
    pub public_key: Vec<u8>,
    pub created_at: i64,
    pub retired_at: Option<i64>,
}

const CODE_COLS: &str =
    "app_id, user_id, redirect_uri, code_challenge, scope, expires_at, used_at, family_id";
const FAMILY_COLS: &str = "id, app_id, user_id, scope, created_at, expires_at, revoked_at";

impl Store {
    /// The scopes `user_id` already granted `app_id`, if any.
    pub async fn grant(&self, user_id: &str, app_id: &str) -> Result<Option<String>, StoreError> {
        let row: Option<(String,)> =
            sqlx::query_as("SELECT scopes FROM grants WHERE user_id = ? AND app_id = ?")
                .bind(user_id)
                .bind(app_id)
                .fetch_optional(self.pool())
                .await?;
        Ok(row.map(|(s,)| s))
    }

    pub async fn save_grant(
        &self,
        user_id: &str,
        app_id: &str,
        scopes: &str,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO grants (user_id, app_id, scopes, created_at) VALUES (?, ?, ?, ?)
             ON CONFLICT(user_id, app_id) DO UPDATE SET scopes = excluded.scopes",
        )
        .bind(user_id)
        .bind(app_id)
        .bind(scopes)
        .bind(now_iso())
        .execute(self.pool())
        .await?;
        Ok(())
    }

    #[tracing::instrument(skip_all)]
    pub async fn insert_code(&self, code_hash: &str, row: &CodeRow) -> Result<(), StoreError> {
        sqlx::query(&format!(
            "INSERT INTO auth_codes (code_hash, {CODE_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, NULL, NULL)"
        ))
        .bind(code_hash)
        .bind(&row.app_id)
        .bind(&row.user_id)
        .bind(&row.redirect_uri)
        .bind(&row.code_challenge)
        .bind(&row.scope)
        .bind(row.expires_at)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Mark a code used (once, atomically) and say whether this was its first use.
    #[tracing::instrument(skip_all)]
    pub async fn redeem_code(&self, code_hash: &str, now_ms: i64) -> Result<CodeUse, StoreError> {
        let first: Option<CodeRow> = sqlx::query_as(&format!(
            "UPDATE auth_codes SET used_at = ? WHERE code_hash = ? AND used_at IS NULL RETURNING {CODE_COLS}"
        ))
        .bind(now_ms)
        .bind(code_hash)
        .fetch_optional(self.pool())
        .await?;
        if let Some(row) = first {
            return Ok(CodeUse::First(row));
        }
        let again: Option<CodeRow> = sqlx::query_as(&format!(
            "SELECT {CODE_COLS} FROM auth_codes WHERE code_hash = ?"
        ))
        .bind(code_hash)
        .fetch_optional(self.pool())
        .await?;
        Ok(again.map_or(CodeUse::Unknown, CodeUse::Reused))
    }

    /// A code as stored, without using it.
    pub async fn code_by_hash(&self, code_hash: &str) -> Result<Option<CodeRow>, StoreError> {
        Ok(sqlx::query_as(&format!(
            "SELECT {CODE_COLS} FROM auth_codes WHERE code_hash = ?"
        ))
        .bind(code_hash)
        .fetch_optional(self.pool())
        .await?)
    }

    pub async fn set_code_family(
        &self,
        code_hash: &str,
        family_id: &str,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE auth_codes SET family_id = ? WHERE code_hash = ?")
            .bind(family_id)
            .bind(code_hash)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Drop what can no longer matter: codes expired over a day ago (kept that long so a late
    /// reuse is still recognised), ended sign-in sessions, lapsed revocations and families
    /// (with their refresh tokens) past their absolute lifetime. Returns the rows removed.
    pub async fn prune_expired(&self, now_ms: i64) -> Result<u64, StoreError> {
        let mut n = 0;
        for (sql, cutoff) in [
            (
                "DELETE FROM auth_codes WHERE expires_at < ?",
                now_ms - 86_400_000,
            ),
            ("DELETE FROM login_sessions WHERE expires_at < ?", now_ms),
            ("DELETE FROM revoked_tokens WHERE expires_at < ?", now_ms),
            ("DELETE FROM refresh_families WHERE expires_at < ?", now_ms),
        ] {
            n += sqlx::query(sql)
                .bind(cutoff)
                .execute(self.pool())
                .await?
                .rows_affected();
        }
        Ok(n)
    }

    pub async fn create_family(&self, f: &Family) -> Result<(), StoreError> {
        sqlx::query(&format!(
            "INSERT INTO refresh_families ({FAMILY_COLS}) VALUES (?, ?, ?, ?, ?, ?, NULL)"
        ))
        .bind(&f.id)
        .bind(&f.app_id)
        .bind(&f.user_id)
        .bind(&f.scope)
        .bind(f.created_at)
        .bind(f.expires_at)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    pub async fn family(&self, id: &str) -> Result<Option<Family>, StoreError> {
        Ok(sqlx::query_as(&format!(
            "SELECT {FAMILY_COLS} FROM refresh_families WHERE id = ?"
        ))
        .bind(id)
        .fetch_optional(self.pool())
        .await?)
    }

    /// Revoke every refresh token of a family, and remember the family as revoked until
    /// `remember_until` (when the last access token it issued has expired) so those stop
    /// working too.
    pub async fn revoke_family(
        &self,
        id: &str,
        now_ms: i64,
        remember_until: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE refresh_families SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
        )
        .bind(now_ms)
        .bind(id)
        .execute(self.pool())
        .await?;
        self.insert_revoked(id, remember_until).await
    }

    pub async fn insert_refresh(
        &self,
        token_hash: &str,
        family_id: &str,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO refresh_tokens (token_hash, family_id, created_at, used_at) VALUES (?, ?, ?, NULL)")
            .bind(token_hash)
            .bind(family_id)
            .bind(now_ms)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Mark a refresh token used. `Ok(Some((row, first)))`: `first` is false when it had been
    /// used before (`row.used_at` then says when).
    pub async fn use_refresh(
        &self,
        token_hash: &str,
        now_ms: i64,
    ) -> Result<Option<(RefreshRow, bool)>, StoreError> {
        let first: Option<RefreshRow> = sqlx::query_as(
            "UPDATE refresh_tokens SET used_at = ? WHERE token_hash = ? AND used_at IS NULL
             RETURNING family_id, created_at, used_at",
        )
        .bind(now_ms)
        .bind(token_hash)
        .fetch_optional(self.pool())
        .await?;
        if let Some(row) = first {
            return Ok(Some((row, true)));
        }
        let row: Option<RefreshRow> = sqlx::query_as(
            "SELECT family_id, created_at, used_at FROM refresh_tokens WHERE token_hash = ?",
        )
        .bind(token_hash)
        .fetch_optional(self.pool())
        .await?;
        Ok(row.map(|r| (r, false)))
    }

    /// The refresh token with this hash, without using it (introspection, revocation).
    pub async fn refresh_by_hash(
        &self,
        token_hash: &str,
    ) -> Result<Option<RefreshRow>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT family_id, created_at, used_at FROM refresh_tokens WHERE token_hash = ?",
        )
        .bind(token_hash)
        .fetch_optional(self.pool())
        .await?)
    }

    /// Remember that an access token (`jti`) or a family is revoked until `expires_at`.
    pub async fn insert_revoked(&self, id: &str, expires_at: i64) -> Result<(), StoreError> {
        sqlx::query("INSERT OR IGNORE INTO revoked_tokens (id, expires_at) VALUES (?, ?)")
            .bind(id)
            .bind(expires_at)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Revocations that still matter at `now_ms`.
    /// `(id, remembered until)` of every revocation still in force.
    pub async fn revoked_since(&self, now_ms: i64) -> Result<Vec<(String, i64)>, StoreError> {
        Ok(
            sqlx::query_as("SELECT id, expires_at FROM revoked_tokens WHERE expires_at > ?")
                .bind(now_ms)
                .fetch_all(self.pool())
                .await?,
        )
    }

    /// Signing keys, newest first.
    pub async fn signing_keys(&self) -> Result<Vec<SigningKeyRow>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT kid, pkcs8, public_key, created_at, retired_at FROM signing_keys ORDER BY created_at DESC, kid DESC",
        )
        .fetch_all(self.pool())
        .await?)
    }

    /// Add a signing key and retire the others (they keep verifying until their tokens expire).
    pub async fn add_signing_key(&self, row: &SigningKeyRow) -> Result<(), StoreError> {
        let mut tx = self.pool().begin().await?;
        sqlx::query("UPDATE signing_keys SET retired_at = ? WHERE retired_at IS NULL")
            .bind(row.created_at)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO signing_keys (kid, pkcs8, public_key, created_at, retired_at) VALUES (?, ?, ?, ?, NULL)",
        )
        .bind(&row.kid)
        .bind(&row.pkcs8)
        .bind(&row.public_key)
        .bind(row.created_at)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn create_login_session(
        &self,
        id_hash: &str,
        user_id: &str,
        now_ms: i64,
        expires_at: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO login_sessions (id_hash, user_id, created_at, expires_at) VALUES (?, ?, ?, ?)",
        )
        .bind(id_hash)
        .bind(user_id)
        .bind(now_ms)
        .bind(expires_at)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// The user of a live sign-in session.
    pub async fn login_session_user(
        &self,
        id_hash: &str,
        now_ms: i64,
    ) -> Result<Option<String>, StoreError> {
        let row: Option<(String,)> = sqlx::query_as(
            "SELECT user_id FROM login_sessions WHERE id_hash = ? AND expires_at > ?",
        )
        .bind(id_hash)
        .bind(now_ms)
        .fetch_optional(self.pool())
        .await?;
        Ok(row.map(|(u,)| u))
    }

    pub async fn delete_login_session(&self, id_hash: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM login_sessions WHERE id_hash = ?")
            .bind(id_hash)
            .execute(self.pool())
            .await?;
        Ok(())
    }
}
