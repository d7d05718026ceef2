//! The OAuth server's own state that is not a token: its Ed25519 signing keys (newest signs,
//! retired ones keep verifying) and browser sign-in sessions (looked up by the hash of the
//! cookie value).

use rusqlite::{Row, TransactionBehavior};

use super::rows::{all, int, one, str};
use super::{Fail, Store, StoreError};

#[derive(Clone)]
pub struct SigningKeyRow {
    pub kid: String,
    pub pkcs8: Vec<u8>,
    pub public_key: Vec<u8>,
    pub created_at: i64,
    pub retired_at: Option<i64>,
}

fn key_from_row(r: &Row<'_>) -> Result<SigningKeyRow, Fail> {
    Ok(SigningKeyRow {
        kid: str(r, 0)?.to_owned(),
        pkcs8: r.get(1)?,
        public_key: r.get(2)?,
        created_at: int(r, 3)?,
        retired_at: r.get(4)?,
    })
}

impl Store {
    /// Signing keys, newest first.
    pub async fn signing_keys(&self) -> Result<Vec<SigningKeyRow>, StoreError> {
        self.read(|c| {
            let mut st = c.prepare_cached(
                "SELECT kid, pkcs8, public_key, created_at, retired_at FROM signing_keys \
                 ORDER BY created_at DESC, kid DESC",
            )?;
            all(&mut st, [], key_from_row)
        })
        .await
    }

    /// Add a signing key and retire the others (they keep verifying until their tokens expire).
    pub async fn add_signing_key(&self, row: &SigningKeyRow) -> Result<(), StoreError> {
        let row = row.clone();
        self.write(move |c, _| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            tx.prepare_cached("UPDATE signing_keys SET retired_at = ?1 WHERE retired_at IS NULL")?
                .execute([row.created_at])?;
            tx.prepare_cached(
                "INSERT INTO signing_keys (kid, pkcs8, public_key, created_at, retired_at) \
                 VALUES (?1, ?2, ?3, ?4, NULL)",
            )?
            .execute((&row.kid, &row.pkcs8, &row.public_key, row.created_at))?;
            tx.commit()?;
            Ok(())
        })
        .await
    }

    pub async fn create_login_session(
        &self,
        id_hash: &str,
        user_id: &str,
        now_ms: i64,
        expires_at: i64,
    ) -> Result<(), StoreError> {
        self.exec(
            "INSERT INTO login_sessions (id_hash, user_id, created_at, expires_at) \
             VALUES (?1, ?2, ?3, ?4)",
            (id_hash.to_owned(), user_id.to_owned(), now_ms, expires_at),
        )
        .await?;
        Ok(())
    }

    /// The user of a live sign-in session.
    pub async fn login_session_user(
        &self,
        id_hash: &str,
        now_ms: i64,
    ) -> Result<Option<String>, StoreError> {
        let hash = id_hash.to_owned();
        self.read(move |c| {
            let mut st = c.prepare_cached(
                "SELECT user_id FROM login_sessions WHERE id_hash = ?1 AND expires_at > ?2",
            )?;
            one(&mut st, (hash, now_ms), |r| Ok(str(r, 0)?.to_owned()))
        })
        .await
    }

    pub async fn delete_login_session(&self, id_hash: &str) -> Result<(), StoreError> {
        self.exec(
            "DELETE FROM login_sessions WHERE id_hash = ?1",
            (id_hash.to_owned(),),
        )
        .await?;
        Ok(())
    }
}
