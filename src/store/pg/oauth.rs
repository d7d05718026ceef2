//! The OAuth server's records on PostgreSQL (see `store/oauth_tokens.rs`, `oauth_keys.rs`):
//! consents, codes, refresh families and tokens, revocations, signing keys, sign-in sessions.
//! Single use is a conditional `UPDATE … RETURNING`, atomic across instances as on SQLite.

use std::sync::LazyLock;

use super::super::StoreError;
use super::super::oauth_keys::key_from_row;
use super::super::oauth_tokens::{
    CODE_COLS, CodeRow, CodeUse, FAMILY_COLS, Family, REFRESH_COLS, RefreshRow, SigningKeyRow,
    code_from_row, family_from_row, refresh_from_row,
};
use super::super::rows::{int, str};
use super::{Postgres, db, exec_in};
use crate::time::now_iso;

static CODE: LazyLock<String> =
    LazyLock::new(|| format!("SELECT {CODE_COLS} FROM auth_codes WHERE code_hash = $1"));
static REFRESH: LazyLock<String> =
    LazyLock::new(|| format!("SELECT {REFRESH_COLS} FROM refresh_tokens WHERE token_hash = $1"));

impl Postgres {
    pub async fn grant(&self, user_id: &str, app_id: &str) -> Result<Option<String>, StoreError> {
        let row = self
            .query_opt(
                "SELECT scopes FROM grants WHERE user_id = $1 AND app_id = $2",
                &[&user_id, &app_id],
            )
            .await?;
        row.map(|r| Ok(str(&r, 0)?.to_owned())).transpose()
    }

    pub async fn save_grant(
        &self,
        user_id: &str,
        app_id: &str,
        scopes: &str,
    ) -> Result<(), StoreError> {
        self.execute(
            "INSERT INTO grants (user_id, app_id, scopes, created_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (user_id, app_id) DO UPDATE SET scopes = excluded.scopes",
            &[&user_id, &app_id, &scopes, &now_iso()],
        )
        .await?;
        Ok(())
    }

    pub async fn insert_code(&self, code_hash: &str, row: &CodeRow) -> Result<(), StoreError> {
        self.execute(
            "INSERT INTO auth_codes (code_hash, app_id, user_id, redirect_uri, code_challenge, \
             scope, expires_at, used_at, family_id) VALUES ($1, $2, $3, $4, $5, $6, $7, NULL, NULL)",
            &[
                &code_hash,
                &row.app_id,
                &row.user_id,
                &row.redirect_uri,
                &row.code_challenge,
                &row.scope,
                &row.expires_at,
            ],
        )
        .await?;
        Ok(())
    }

    pub async fn redeem_code(&self, code_hash: &str, now_ms: i64) -> Result<CodeUse, StoreError> {
        static SQL: LazyLock<String> = LazyLock::new(|| {
            format!(
                "UPDATE auth_codes SET used_at = $1 WHERE code_hash = $2 AND used_at IS NULL \
                 RETURNING {CODE_COLS}"
            )
        });
        if let Some(r) = self.query_opt(&SQL, &[&now_ms, &code_hash]).await? {
            return Ok(CodeUse::First(code_from_row(&r)?));
        }
        Ok(match self.query_opt(&CODE, &[&code_hash]).await? {
            Some(r) => CodeUse::Reused(code_from_row(&r)?),
            None => CodeUse::Unknown,
        })
    }

    pub async fn code_by_hash(&self, code_hash: &str) -> Result<Option<CodeRow>, StoreError> {
        let row = self.query_opt(&CODE, &[&code_hash]).await?;
        row.map(|r| Ok(code_from_row(&r)?)).transpose()
    }

    pub async fn set_code_family(
        &self,
        code_hash: &str,
        family_id: &str,
    ) -> Result<(), StoreError> {
        self.execute(
            "UPDATE auth_codes SET family_id = $1 WHERE code_hash = $2",
            &[&family_id, &code_hash],
        )
        .await?;
        Ok(())
    }

    pub async fn prune_expired(&self, now_ms: i64) -> Result<u64, StoreError> {
        let mut n = 0;
        for (sql, cutoff) in [
            (
                "DELETE FROM auth_codes WHERE expires_at < $1",
                now_ms - 86_400_000,
            ),
            ("DELETE FROM login_sessions WHERE expires_at < $1", now_ms),
            ("DELETE FROM revoked_tokens WHERE expires_at < $1", now_ms),
            ("DELETE FROM refresh_families WHERE expires_at < $1", now_ms),
        ] {
            n += self.execute(sql, &[&cutoff]).await?;
        }
        Ok(n)
    }

    pub async fn create_family(&self, f: &Family) -> Result<(), StoreError> {
        self.execute(
            "INSERT INTO refresh_families (id, app_id, user_id, scope, created_at, expires_at, \
             revoked_at) VALUES ($1, $2, $3, $4, $5, $6, NULL)",
            &[
                &f.id,
                &f.app_id,
                &f.user_id,
                &f.scope,
                &f.created_at,
                &f.expires_at,
            ],
        )
        .await?;
        Ok(())
    }

    pub async fn family(&self, id: &str) -> Result<Option<Family>, StoreError> {
        static SQL: LazyLock<String> =
            LazyLock::new(|| format!("SELECT {FAMILY_COLS} FROM refresh_families WHERE id = $1"));
        let row = self.query_opt(&SQL, &[&id]).await?;
        row.map(|r| Ok(family_from_row(&r)?)).transpose()
    }

    pub async fn revoke_family(
        &self,
        id: &str,
        now_ms: i64,
        remember_until: i64,
    ) -> Result<(), StoreError> {
        let mut c = self.conn().await?;
        let tx = c.transaction().await.map_err(db)?;
        exec_in(
            &tx,
            "UPDATE refresh_families SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL",
            &[&now_ms, &id],
        )
        .await?;
        exec_in(
            &tx,
            "INSERT INTO revoked_tokens (id, expires_at) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            &[&id, &remember_until],
        )
        .await?;
        tx.commit().await.map_err(db)
    }

    pub async fn insert_refresh(
        &self,
        token_hash: &str,
        family_id: &str,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        self.execute(
            "INSERT INTO refresh_tokens (token_hash, family_id, created_at, used_at) \
             VALUES ($1, $2, $3, NULL)",
            &[&token_hash, &family_id, &now_ms],
        )
        .await?;
        Ok(())
    }

    pub async fn use_refresh(
        &self,
        token_hash: &str,
        now_ms: i64,
    ) -> Result<Option<(RefreshRow, bool)>, StoreError> {
        static SQL: LazyLock<String> = LazyLock::new(|| {
            format!(
                "UPDATE refresh_tokens SET used_at = $1 WHERE token_hash = $2 AND used_at IS NULL \
                 RETURNING {REFRESH_COLS}"
            )
        });
        if let Some(r) = self.query_opt(&SQL, &[&now_ms, &token_hash]).await? {
            return Ok(Some((refresh_from_row(&r)?, true)));
        }
        let row = self.query_opt(&REFRESH, &[&token_hash]).await?;
        row.map(|r| Ok((refresh_from_row(&r)?, false))).transpose()
    }

    pub async fn refresh_by_hash(
        &self,
        token_hash: &str,
    ) -> Result<Option<RefreshRow>, StoreError> {
        let row = self.query_opt(&REFRESH, &[&token_hash]).await?;
        row.map(|r| Ok(refresh_from_row(&r)?)).transpose()
    }

    pub async fn insert_revoked(&self, id: &str, expires_at: i64) -> Result<(), StoreError> {
        self.execute(
            "INSERT INTO revoked_tokens (id, expires_at) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            &[&id, &expires_at],
        )
        .await?;
        Ok(())
    }

    pub async fn revoked_since(&self, now_ms: i64) -> Result<Vec<(String, i64)>, StoreError> {
        let rows = self
            .query(
                "SELECT id, expires_at FROM revoked_tokens WHERE expires_at > $1",
                &[&now_ms],
            )
            .await?;
        rows.iter()
            .map(|r| Ok((str(r, 0)?.to_owned(), int(r, 1)?)))
            .collect()
    }

    pub async fn signing_keys(&self) -> Result<Vec<SigningKeyRow>, StoreError> {
        let rows = self
            .query(
                "SELECT kid, pkcs8, public_key, created_at, retired_at FROM signing_keys \
                 ORDER BY created_at DESC, kid DESC",
                &[],
            )
            .await?;
        rows.iter().map(|r| Ok(key_from_row(r)?)).collect()
    }

    pub async fn add_signing_key(&self, row: &SigningKeyRow) -> Result<(), StoreError> {
        let mut c = self.conn().await?;
        let tx = c.transaction().await.map_err(db)?;
        exec_in(
            &tx,
            "UPDATE signing_keys SET retired_at = $1 WHERE retired_at IS NULL",
            &[&row.created_at],
        )
        .await?;
        exec_in(
            &tx,
            "INSERT INTO signing_keys (kid, pkcs8, public_key, created_at, retired_at) \
             VALUES ($1, $2, $3, $4, NULL)",
            &[&row.kid, &row.pkcs8, &row.public_key, &row.created_at],
        )
        .await?;
        tx.commit().await.map_err(db)
    }

    pub async fn create_login_session(
        &self,
        id_hash: &str,
        user_id: &str,
        now_ms: i64,
        expires_at: i64,
    ) -> Result<(), StoreError> {
        self.execute(
            "INSERT INTO login_sessions (id_hash, user_id, created_at, expires_at) \
             VALUES ($1, $2, $3, $4)",
            &[&id_hash, &user_id, &now_ms, &expires_at],
        )
        .await?;
        Ok(())
    }

    pub async fn login_session_user(
        &self,
        id_hash: &str,
        now_ms: i64,
    ) -> Result<Option<String>, StoreError> {
        let row = self
            .query_opt(
                "SELECT user_id FROM login_sessions WHERE id_hash = $1 AND expires_at > $2",
                &[&id_hash, &now_ms],
            )
            .await?;
        row.map(|r| Ok(str(&r, 0)?.to_owned())).transpose()
    }

    pub async fn delete_login_session(&self, id_hash: &str) -> Result<(), StoreError> {
        self.execute("DELETE FROM login_sessions WHERE id_hash = $1", &[&id_hash])
            .await?;
        Ok(())
    }
}
