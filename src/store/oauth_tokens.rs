//! The server-side record of OAuth tokens: remembered consents, authorization codes, refresh
//! token families, revoked access tokens, signing keys and browser sign-in sessions. Every
//! secret is looked up by its hash; single use is enforced by conditional updates, so two
//! concurrent requests cannot both win.

use rusqlite::{Row, TransactionBehavior};

pub use super::oauth_keys::SigningKeyRow;
use super::rows::{all, int, one, str};
use super::{Fail, Store, StoreError};
use crate::time::now_iso;

#[derive(Debug, Clone)]
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

#[derive(Debug, Clone)]
pub struct Family {
    pub id: String,
    pub app_id: String,
    pub user_id: String,
    pub scope: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub revoked_at: Option<i64>,
}

#[derive(Debug, Clone)]
pub struct RefreshRow {
    pub family_id: String,
    pub created_at: i64,
    pub used_at: Option<i64>,
}

const CODE_COLS: &str =
    "app_id, user_id, redirect_uri, code_challenge, scope, expires_at, used_at, family_id";
const FAMILY_COLS: &str = "id, app_id, user_id, scope, created_at, expires_at, revoked_at";
const REFRESH_COLS: &str = "family_id, created_at, used_at";

fn code_from_row(r: &Row<'_>) -> Result<CodeRow, Fail> {
    Ok(CodeRow {
        app_id: str(r, 0)?.to_owned(),
        user_id: str(r, 1)?.to_owned(),
        redirect_uri: str(r, 2)?.to_owned(),
        code_challenge: str(r, 3)?.to_owned(),
        scope: str(r, 4)?.to_owned(),
        expires_at: int(r, 5)?,
        used_at: r.get(6)?,
        family_id: r.get(7)?,
    })
}

fn family_from_row(r: &Row<'_>) -> Result<Family, Fail> {
    Ok(Family {
        id: str(r, 0)?.to_owned(),
        app_id: str(r, 1)?.to_owned(),
        user_id: str(r, 2)?.to_owned(),
        scope: str(r, 3)?.to_owned(),
        created_at: int(r, 4)?,
        expires_at: int(r, 5)?,
        revoked_at: r.get(6)?,
    })
}

fn refresh_from_row(r: &Row<'_>) -> Result<RefreshRow, Fail> {
    Ok(RefreshRow {
        family_id: str(r, 0)?.to_owned(),
        created_at: int(r, 1)?,
        used_at: r.get(2)?,
    })
}

impl Store {
    /// The scopes `user_id` already granted `app_id`, if any.
    pub async fn grant(&self, user_id: &str, app_id: &str) -> Result<Option<String>, StoreError> {
        let (user_id, app_id) = (user_id.to_owned(), app_id.to_owned());
        self.read(move |c| {
            let mut st =
                c.prepare_cached("SELECT scopes FROM grants WHERE user_id = ?1 AND app_id = ?2")?;
            one(&mut st, (user_id, app_id), |r| Ok(str(r, 0)?.to_owned()))
        })
        .await
    }

    pub async fn save_grant(
        &self,
        user_id: &str,
        app_id: &str,
        scopes: &str,
    ) -> Result<(), StoreError> {
        self.exec(
            "INSERT INTO grants (user_id, app_id, scopes, created_at) VALUES (?1, ?2, ?3, ?4) \
             ON CONFLICT(user_id, app_id) DO UPDATE SET scopes = excluded.scopes",
            (
                user_id.to_owned(),
                app_id.to_owned(),
                scopes.to_owned(),
                now_iso(),
            ),
        )
        .await?;
        Ok(())
    }

    #[tracing::instrument(skip_all)]
    pub async fn insert_code(&self, code_hash: &str, row: &CodeRow) -> Result<(), StoreError> {
        self.exec(
            "INSERT INTO auth_codes (code_hash, app_id, user_id, redirect_uri, code_challenge, \
             scope, expires_at, used_at, family_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, NULL, NULL)",
            (
                code_hash.to_owned(),
                row.app_id.clone(),
                row.user_id.clone(),
                row.redirect_uri.clone(),
                row.code_challenge.clone(),
                row.scope.clone(),
                row.expires_at,
            ),
        )
        .await?;
        Ok(())
    }

    /// Mark a code used (once, atomically) and say whether this was its first use.
    #[tracing::instrument(skip_all)]
    pub async fn redeem_code(&self, code_hash: &str, now_ms: i64) -> Result<CodeUse, StoreError> {
        let hash = code_hash.to_owned();
        self.write(move |c, _| {
            let mut st = c.prepare_cached(&format!(
                "UPDATE auth_codes SET used_at = ?1 WHERE code_hash = ?2 AND used_at IS NULL \
                 RETURNING {CODE_COLS}"
            ))?;
            if let Some(row) = one(&mut st, (now_ms, &hash), code_from_row)? {
                return Ok(CodeUse::First(row));
            }
            let mut st = c.prepare_cached(&format!(
                "SELECT {CODE_COLS} FROM auth_codes WHERE code_hash = ?1"
            ))?;
            Ok(one(&mut st, [&hash], code_from_row)?.map_or(CodeUse::Unknown, CodeUse::Reused))
        })
        .await
    }

    /// A code as stored, without using it.
    pub async fn code_by_hash(&self, code_hash: &str) -> Result<Option<CodeRow>, StoreError> {
        let hash = code_hash.to_owned();
        self.read(move |c| {
            let mut st = c.prepare_cached(&format!(
                "SELECT {CODE_COLS} FROM auth_codes WHERE code_hash = ?1"
            ))?;
            one(&mut st, [hash], code_from_row)
        })
        .await
    }

    pub async fn set_code_family(
        &self,
        code_hash: &str,
        family_id: &str,
    ) -> Result<(), StoreError> {
        self.exec(
            "UPDATE auth_codes SET family_id = ?1 WHERE code_hash = ?2",
            (family_id.to_owned(), code_hash.to_owned()),
        )
        .await?;
        Ok(())
    }

    /// Drop what can no longer matter: codes expired over a day ago (kept that long so a late
    /// reuse is still recognised), ended sign-in sessions, lapsed revocations and families
    /// (with their refresh tokens) past their absolute lifetime. Returns the rows removed.
    pub async fn prune_expired(&self, now_ms: i64) -> Result<u64, StoreError> {
        self.write(move |c, _| {
            let mut n = 0;
            for (sql, cutoff) in [
                (
                    "DELETE FROM auth_codes WHERE expires_at < ?1",
                    now_ms - 86_400_000,
                ),
                ("DELETE FROM login_sessions WHERE expires_at < ?1", now_ms),
                ("DELETE FROM revoked_tokens WHERE expires_at < ?1", now_ms),
                ("DELETE FROM refresh_families WHERE expires_at < ?1", now_ms),
            ] {
                n += c.prepare_cached(sql)?.execute([cutoff])? as u64;
            }
            Ok(n)
        })
        .await
    }

    pub async fn create_family(&self, f: &Family) -> Result<(), StoreError> {
        self.exec(
            "INSERT INTO refresh_families (id, app_id, user_id, scope, created_at, expires_at, \
             revoked_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, NULL)",
            (
                f.id.clone(),
                f.app_id.clone(),
                f.user_id.clone(),
                f.scope.clone(),
                f.created_at,
                f.expires_at,
            ),
        )
        .await?;
        Ok(())
    }

    pub async fn family(&self, id: &str) -> Result<Option<Family>, StoreError> {
        let id = id.to_owned();
        self.read(move |c| {
            let mut st = c.prepare_cached(&format!(
                "SELECT {FAMILY_COLS} FROM refresh_families WHERE id = ?1"
            ))?;
            one(&mut st, [id], family_from_row)
        })
        .await
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
        let id = id.to_owned();
        self.write(move |c, _| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            tx.prepare_cached(
                "UPDATE refresh_families SET revoked_at = ?1 WHERE id = ?2 AND revoked_at IS NULL",
            )?
            .execute((now_ms, &id))?;
            tx.prepare_cached(
                "INSERT OR IGNORE INTO revoked_tokens (id, expires_at) VALUES (?1, ?2)",
            )?
            .execute((&id, remember_until))?;
            tx.commit()?;
            Ok(())
        })
        .await
    }

    pub async fn insert_refresh(
        &self,
        token_hash: &str,
        family_id: &str,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        self.exec(
            "INSERT INTO refresh_tokens (token_hash, family_id, created_at, used_at) \
             VALUES (?1, ?2, ?3, NULL)",
            (token_hash.to_owned(), family_id.to_owned(), now_ms),
        )
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
        let hash = token_hash.to_owned();
        self.write(move |c, _| {
            let mut st = c.prepare_cached(&format!(
                "UPDATE refresh_tokens SET used_at = ?1 WHERE token_hash = ?2 AND used_at IS NULL \
                 RETURNING {REFRESH_COLS}"
            ))?;
            if let Some(row) = one(&mut st, (now_ms, &hash), refresh_from_row)? {
                return Ok(Some((row, true)));
            }
            let mut st = c.prepare_cached(&format!(
                "SELECT {REFRESH_COLS} FROM refresh_tokens WHERE token_hash = ?1"
            ))?;
            Ok(one(&mut st, [&hash], refresh_from_row)?.map(|r| (r, false)))
        })
        .await
    }

    /// The refresh token with this hash, without using it (introspection, revocation).
    pub async fn refresh_by_hash(
        &self,
        token_hash: &str,
    ) -> Result<Option<RefreshRow>, StoreError> {
        let hash = token_hash.to_owned();
        self.read(move |c| {
            let mut st = c.prepare_cached(&format!(
                "SELECT {REFRESH_COLS} FROM refresh_tokens WHERE token_hash = ?1"
            ))?;
            one(&mut st, [hash], refresh_from_row)
        })
        .await
    }

    /// Remember that an access token (`jti`) or a family is revoked until `expires_at`.
    pub async fn insert_revoked(&self, id: &str, expires_at: i64) -> Result<(), StoreError> {
        self.exec(
            "INSERT OR IGNORE INTO revoked_tokens (id, expires_at) VALUES (?1, ?2)",
            (id.to_owned(), expires_at),
        )
        .await?;
        Ok(())
    }

    /// `(id, remembered until)` of every revocation still in force at `now_ms`.
    pub async fn revoked_since(&self, now_ms: i64) -> Result<Vec<(String, i64)>, StoreError> {
        self.read(move |c| {
            let mut st = c.prepare_cached(
                "SELECT id, expires_at FROM revoked_tokens WHERE expires_at > ?1",
            )?;
            all(&mut st, [now_ms], |r| {
                Ok((str(r, 0)?.to_owned(), int(r, 1)?))
            })
        })
        .await
    }
}
