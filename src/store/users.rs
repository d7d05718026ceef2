//! People: users (permanent UUID, unique case-insensitive email, argon2id hash, disabled flag)
//! and their sign-in identities keyed by (issuer, subject).

use rusqlite::{Connection, OptionalExtension, Row, TransactionBehavior};

use super::rows::{all, flag, one, opt_str, str};
use super::{Entity, Fail, Store, StoreError};
use crate::time::now_iso;

/// The issuer of local (password) identities.
pub const LOCAL_ISSUER: &str = "local";

#[derive(Clone)]
pub struct User {
    pub id: String,
    pub email: String,
    pub email_verified: bool,
    /// argon2id PHC string; `Debug` leaves it out.
    pub password_hash: Option<String>,
    pub disabled: bool,
    pub created_at: String,
}

impl std::fmt::Debug for User {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("User")
            .field("id", &self.id)
            .field("email", &self.email)
            .field("disabled", &self.disabled)
            .finish_non_exhaustive()
    }
}

const COLS: &str = "id, email, email_verified, password_hash, disabled, created_at";

fn user_from_row(r: &Row<'_>) -> Result<User, Fail> {
    Ok(User {
        id: str(r, 0)?.to_owned(),
        email: str(r, 1)?.to_owned(),
        email_verified: flag(r, 2)?,
        password_hash: opt_str(r, 3)?.map(str::to_owned),
        disabled: flag(r, 4)?,
        created_at: str(r, 5)?.to_owned(),
    })
}

/// Emails are unique without regard to case.
pub fn normalize_email(email: &str) -> String {
    email.trim().to_lowercase()
}

fn user_where(c: &Connection, column: &str, value: &str) -> Result<Option<User>, Fail> {
    let mut st = c.prepare_cached(&format!("SELECT {COLS} FROM users WHERE {column} = ?1"))?;
    one(&mut st, [value], user_from_row)
}

/// Insert a user (and a local identity when it has a password) on `c`; returns its id.
fn insert_user(
    c: &Connection,
    email: &str,
    password_hash: Option<&str>,
    email_verified: bool,
) -> Result<String, Fail> {
    let id = uuid::Uuid::new_v4().to_string();
    let now = now_iso();
    let inserted = c
        .prepare_cached(
            "INSERT INTO users (id, email, email_norm, email_verified, password_hash, disabled, \
             created_at) VALUES (?1, ?2, ?3, ?4, ?5, 0, ?6)",
        )?
        .execute((
            &id,
            email.trim(),
            normalize_email(email),
            email_verified,
            password_hash,
            &now,
        ));
    inserted.map_err(|e| match Fail::from(e).into_store() {
        StoreError::Conflict(_) => {
            StoreError::Conflict(format!("a user with email {} already exists", email.trim()))
        }
        other => other,
    })?;
    if password_hash.is_some() {
        c.prepare_cached(
            "INSERT INTO identities (issuer, subject, user_id, email, created_at) \
             VALUES (?1, ?2, ?3, ?4, ?5)",
        )?
        .execute((LOCAL_ISSUER, &id, &id, email.trim(), &now))?;
    }
    Ok(id)
}

fn user_by_id(c: &Connection, id: &str) -> Result<User, Fail> {
    user_where(c, "id", id)?.ok_or(Fail::Store(StoreError::NotFound(Entity::User)))
}

impl Store {
    /// Add a user with a local password identity. `Conflict` when the email is taken.
    #[tracing::instrument(skip_all)]
    pub async fn create_user(
        &self,
        email: &str,
        password_hash: Option<&str>,
        email_verified: bool,
    ) -> Result<User, StoreError> {
        let (email, hash) = (email.to_owned(), password_hash.map(str::to_owned));
        self.write(move |c, _| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let id = insert_user(&tx, &email, hash.as_deref(), email_verified)?;
            let user = user_by_id(&tx, &id)?;
            tx.commit()?;
            Ok(user)
        })
        .await
    }

    pub async fn user_by_id(&self, id: &str) -> Result<Option<User>, StoreError> {
        let id = id.to_owned();
        self.read(move |c| user_where(c, "id", &id)).await
    }

    pub async fn user_by_email(&self, email: &str) -> Result<Option<User>, StoreError> {
        let norm = normalize_email(email);
        self.read(move |c| user_where(c, "email_norm", &norm)).await
    }

    pub async fn list_users(&self) -> Result<Vec<User>, StoreError> {
        self.read(|c| {
            let mut st = c.prepare_cached(&format!(
                "SELECT {COLS} FROM users ORDER BY created_at, email_norm"
            ))?;
            all(&mut st, [], user_from_row)
        })
        .await
    }

    /// Disable or enable the user with this email. `NotFound(User)` when there is none.
    pub async fn set_user_disabled(&self, email: &str, disabled: bool) -> Result<User, StoreError> {
        let norm = normalize_email(email);
        self.write(move |c, _| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let n = tx
                .prepare_cached("UPDATE users SET disabled = ?1 WHERE email_norm = ?2")?
                .execute((disabled, &norm))?;
            super::touched(n, Entity::User)?;
            if disabled {
                // A disabled person's browser sessions end now.
                tx.prepare_cached(
                    "DELETE FROM login_sessions WHERE user_id IN \
                     (SELECT id FROM users WHERE email_norm = ?1)",
                )?
                .execute([&norm])?;
            }
            let user = user_where(&tx, "email_norm", &norm)?
                .ok_or(Fail::Store(StoreError::NotFound(Entity::User)))?;
            tx.commit()?;
            Ok(user)
        })
        .await
    }

    #[tracing::instrument(skip_all)]
    pub async fn set_password(&self, email: &str, password_hash: &str) -> Result<(), StoreError> {
        let (norm, hash) = (normalize_email(email), password_hash.to_owned());
        self.write(move |c, _| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let user = user_where(&tx, "email_norm", &norm)?
                .ok_or(Fail::Store(StoreError::NotFound(Entity::User)))?;
            tx.prepare_cached("UPDATE users SET password_hash = ?1 WHERE id = ?2")?
                .execute((&hash, &user.id))?;
            tx.prepare_cached(
                "INSERT OR IGNORE INTO identities (issuer, subject, user_id, email, created_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )?
            .execute((LOCAL_ISSUER, &user.id, &user.id, &user.email, now_iso()))?;
            // A new password ends every existing browser session.
            tx.prepare_cached("DELETE FROM login_sessions WHERE user_id = ?1")?
                .execute([&user.id])?;
            // ... and every grant made under the old one: refresh families (remembered as
            // revoked until they would have expired, so their access tokens stop too) and
            // remembered consents.
            tx.prepare_cached(
                "INSERT OR IGNORE INTO revoked_tokens (id, expires_at) \
                 SELECT id, expires_at FROM refresh_families \
                 WHERE user_id = ?1 AND revoked_at IS NULL",
            )?
            .execute([&user.id])?;
            tx.prepare_cached(
                "UPDATE refresh_families SET revoked_at = ?1 \
                 WHERE user_id = ?2 AND revoked_at IS NULL",
            )?
            .execute((crate::time::now_ms(), &user.id))?;
            tx.prepare_cached("DELETE FROM grants WHERE user_id = ?1")?
                .execute([&user.id])?;
            tx.commit()?;
            Ok(())
        })
        .await
    }

    /// The user behind an outside provider's (issuer, subject), linking or creating as needed.
    /// An email links to an existing user only when the provider says it is verified; an
    /// unverified email that is already taken gets a new, separate user without it. One
    /// transaction, so two first sign-ins of the same person make one user.
    pub async fn resolve_identity(
        &self,
        issuer: &str,
        subject: &str,
        email: &str,
        email_verified: bool,
    ) -> Result<User, StoreError> {
        let (issuer, subject, email) = (issuer.to_owned(), subject.to_owned(), email.to_owned());
        self.write(move |c, _| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let known: Option<String> = tx
                .prepare_cached(
                    "SELECT user_id FROM identities WHERE issuer = ?1 AND subject = ?2",
                )?
                .query_row((&issuer, &subject), |r| r.get(0))
                .optional()?;
            if let Some(user_id) = known {
                return user_by_id(&tx, &user_id);
            }
            let user_id = match user_where(&tx, "email_norm", &normalize_email(&email))? {
                Some(existing) if email_verified => existing.id,
                Some(_) => {
                    // Keep the person apart; the placeholder email keeps uniqueness honest.
                    let placeholder = format!("{subject}@{}", issuer.replace('/', "_"));
                    insert_user(&tx, &placeholder, None, false)?
                }
                None => insert_user(&tx, &email, None, email_verified)?,
            };
            tx.prepare_cached(
                "INSERT INTO identities (issuer, subject, user_id, email, created_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )?
            .execute((&issuer, &subject, &user_id, &email, now_iso()))?;
            let user = user_by_id(&tx, &user_id)?;
            tx.commit()?;
            Ok(user)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn outside_identities_link_by_email_only_when_verified() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("t.db")).await.unwrap();
        let ada = store
            .create_user("Ada@example.com", Some("$argon2id$x"), false)
            .await
            .unwrap();
        let linked = store
            .resolve_identity("https://idp.example", "sub-1", "ada@EXAMPLE.com", true)
            .await
            .unwrap();
        assert_eq!(linked.id, ada.id, "verified email: the same person");
        let again = store
            .resolve_identity(
                "https://idp.example",
                "sub-1",
                "whatever@example.com",
                false,
            )
            .await
            .unwrap();
        assert_eq!(again.id, ada.id, "a known (issuer, subject) keeps its user");
        let stranger = store
            .resolve_identity("https://other.example", "sub-9", "ada@example.com", false)
            .await
            .unwrap();
        assert_ne!(stranger.id, ada.id, "unverified email: never linked");
        assert!(
            store
                .create_user("ADA@example.com", None, false)
                .await
                .is_err(),
            "emails are unique regardless of case"
        );
        store.close().await;
    }
}
