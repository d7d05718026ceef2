//! People: users (permanent UUID, unique case-insensitive email, argon2id hash, disabled flag)
//! and their sign-in identities keyed by (issuer, subject).

use super::{Store, StoreError};
use crate::time::now_iso;

/// The issuer of local (password) identities.
pub const LOCAL_ISSUER: &str = "local";

#[derive(Clone, sqlx::FromRow)]
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

/// Emails are unique without regard to case.
pub fn normalize_email(email: &str) -> String {
    email.trim().to_lowercase()
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
        let id = uuid::Uuid::new_v4().to_string();
        let now = now_iso();
        let mut tx = self.pool().begin().await?;
        sqlx::query(
            "INSERT INTO users (id, email, email_norm, email_verified, password_hash, disabled, created_at)
             VALUES (?, ?, ?, ?, ?, 0, ?)",
        )
        .bind(&id)
        .bind(email.trim())
        .bind(normalize_email(email))
        .bind(email_verified)
        .bind(password_hash)
        .bind(&now)
        .execute(&mut *tx)
        .await
        .map_err(|e| match StoreError::from(e) {
            StoreError::Conflict(_) => {
                StoreError::Conflict(format!("a user with email {} already exists", email.trim()))
            }
            other => other,
        })?;
        if password_hash.is_some() {
            sqlx::query(
                "INSERT INTO identities (issuer, subject, user_id, email, created_at) VALUES (?, ?, ?, ?, ?)",
            )
            .bind(LOCAL_ISSUER)
            .bind(&id)
            .bind(&id)
            .bind(email.trim())
            .bind(&now)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        self.user_by_id(&id).await?.ok_or(StoreError::NotFound)
    }

    pub async fn user_by_id(&self, id: &str) -> Result<Option<User>, StoreError> {
        Ok(
            sqlx::query_as::<_, User>(&format!("SELECT {COLS} FROM users WHERE id = ?"))
                .bind(id)
                .fetch_optional(self.pool())
                .await?,
        )
    }

    pub async fn user_by_email(&self, email: &str) -> Result<Option<User>, StoreError> {
        Ok(
            sqlx::query_as::<_, User>(&format!("SELECT {COLS} FROM users WHERE email_norm = ?"))
                .bind(normalize_email(email))
                .fetch_optional(self.pool())
                .await?,
        )
    }

    pub async fn list_users(&self) -> Result<Vec<User>, StoreError> {
        Ok(sqlx::query_as::<_, User>(&format!(
            "SELECT {COLS} FROM users ORDER BY created_at, email_norm"
        ))
        .fetch_all(self.pool())
        .await?)
    }

    /// Disable or enable the user with this email. `NotFound` when there is none.
    pub async fn set_user_disabled(&self, email: &str, disabled: bool) -> Result<User, StoreError> {
        let done = sqlx::query("UPDATE users SET disabled = ? WHERE email_norm = ?")
            .bind(disabled)
            .bind(normalize_email(email))
            .execute(self.pool())
            .await?;
        super::touched(&done)?;
        if disabled {
            // A disabled person's browser sessions end now.
            sqlx::query(
                "DELETE FROM login_sessions WHERE user_id IN (SELECT id FROM users WHERE email_norm = ?)",
            )
            .bind(normalize_email(email))
            .execute(self.pool())
            .await?;
        }
        self.user_by_email(email).await?.ok_or(StoreError::NotFound)
    }

    #[tracing::instrument(skip_all)]
    pub async fn set_password(&self, email: &str, password_hash: &str) -> Result<(), StoreError> {
        let user = self
            .user_by_email(email)
            .await?
            .ok_or(StoreError::NotFound)?;
        let mut tx = self.pool().begin().await?;
        sqlx::query("UPDATE users SET password_hash = ? WHERE id = ?")
            .bind(password_hash)
            .bind(&user.id)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT OR IGNORE INTO identities (issuer, subject, user_id, email, created_at) VALUES (?, ?, ?, ?, ?)",
        )
        .bind(LOCAL_ISSUER)
        .bind(&user.id)
        .bind(&user.id)
        .bind(&user.email)
        .bind(now_iso())
        .execute(&mut *tx)
        .await?;
        // A new password ends every existing browser session.
        sqlx::query("DELETE FROM login_sessions WHERE user_id = ?")
            .bind(&user.id)
            .execute(&mut *tx)
            .await?;
        // ... and every grant made under the old one: refresh families (remembered as revoked
        // until they would have expired, so their access tokens stop too) and consents.
        let now = crate::time::now_ms();
        sqlx::query(
            "INSERT OR IGNORE INTO revoked_tokens (id, expires_at)
             SELECT id, expires_at FROM refresh_families WHERE user_id = ? AND revoked_at IS NULL",
        )
        .bind(&user.id)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "UPDATE refresh_families SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL",
        )
        .bind(now)
        .bind(&user.id)
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM grants WHERE user_id = ?")
            .bind(&user.id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The user behind an outside provider's (issuer, subject), linking or creating as needed.
    /// An email links to an existing user only when the provider says it is verified; an
    /// unverified email that is already taken gets a new, separate user without it.
    pub async fn resolve_identity(
        &self,
        issuer: &str,
        subject: &str,
        email: &str,
        email_verified: bool,
    ) -> Result<User, StoreError> {
        let known: Option<(String,)> =
            sqlx::query_as("SELECT user_id FROM identities WHERE issuer = ? AND subject = ?")
                .bind(issuer)
                .bind(subject)
                .fetch_optional(self.pool())
                .await?;
        if let Some((user_id,)) = known {
            return self.user_by_id(&user_id).await?.ok_or(StoreError::NotFound);
        }
        let user = match self.user_by_email(email).await? {
            Some(existing) if email_verified => existing,
            Some(_) => {
                // Keep the person apart; the placeholder email keeps uniqueness honest.
                let placeholder = format!("{subject}@{}", issuer.replace('/', "_"));
                self.create_user(&placeholder, None, false).await?
            }
            None => self.create_user(email, None, email_verified).await?,
        };
        sqlx::query(
            "INSERT INTO identities (issuer, subject, user_id, email, created_at) VALUES (?, ?, ?, ?, ?)",
        )
        .bind(issuer)
        .bind(subject)
        .bind(&user.id)
        .bind(email)
        .bind(now_iso())
        .execute(self.pool())
        .await?;
        Ok(user)
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
