//! The public API of the store for people, applications and OAuth: declared once here and
//! dispatched to the backend in use (see `api.rs`).

use super::apps::{ApiKey, App, NewApp};
use super::oauth_tokens::{CodeRow, CodeUse, Family, RefreshRow, SigningKeyRow};
use super::users::User;
use super::{Store, StoreError};

super::dispatch! {
    // users.rs
    /// Add a user with a local password identity. `Conflict` when the email is taken.
    fn create_user(
        &self,
        email: &str,
        password_hash: Option<&str>,
        email_verified: bool,
    ) -> Result<User, StoreError>;
    fn user_by_id(&self, id: &str) -> Result<Option<User>, StoreError>;
    fn user_by_email(&self, email: &str) -> Result<Option<User>, StoreError>;
    fn list_users(&self) -> Result<Vec<User>, StoreError>;
    /// Disable or enable the user with this email. `NotFound(User)` when there is none.
    fn set_user_disabled(&self, email: &str, disabled: bool) -> Result<User, StoreError>;
    /// Let the user with this email reach the host from the agent, or not. `NotFound(User)`
    /// when there is none.
    fn set_user_host_access(&self, email: &str, on: bool) -> Result<User, StoreError>;
    /// Whether the agent of the workspace owner `owner_id` (a user id, or `app:<id>` for an
    /// application) may reach the host. Applications never may.
    fn host_access(&self, owner_id: &str) -> Result<bool, StoreError>;
    fn set_password(&self, email: &str, password_hash: &str) -> Result<(), StoreError>;
    /// The user behind an outside provider's (issuer, subject), linking or creating as needed.
    /// An email links to an existing user only when the provider says it is verified; an
    /// unverified email that is already taken gets a new, separate user without it. One
    /// transaction, so two first sign-ins of the same person make one user.
    fn resolve_identity(
        &self,
        issuer: &str,
        subject: &str,
        email: &str,
        email_verified: bool,
    ) -> Result<User, StoreError>;
    // apps.rs
    fn create_app(&self, new: NewApp<'_>) -> Result<App, StoreError>;
    fn app(&self, id: &str) -> Result<Option<App>, StoreError>;
    fn list_apps(&self) -> Result<Vec<App>, StoreError>;
    /// Revoke an application: its keys, codes and refresh tokens stop working.
    fn revoke_app(&self, id: &str, now_ms: i64) -> Result<(), StoreError>;
    fn set_app_secret(&self, id: &str, secret_hash: &str) -> Result<(), StoreError>;
    fn create_api_key(
        &self,
        app_id: &str,
        key_hash: &str,
        prefix: &str,
        expires_at: Option<i64>,
    ) -> Result<ApiKey, StoreError>;
    /// The key whose SHA-256 is `key_hash` (looked up by hash: the hash is the index).
    fn api_key_by_hash(&self, key_hash: &str) -> Result<Option<ApiKey>, StoreError>;
    fn list_api_keys(&self, app_id: &str) -> Result<Vec<ApiKey>, StoreError>;
    fn revoke_api_key(&self, id: &str) -> Result<(), StoreError>;
    /// Add `n` requests to an application's count for `day` (`YYYY-MM-DD`).
    fn add_usage(&self, app_id: &str, day: &str, n: i64) -> Result<(), StoreError>;
    /// Requests per day for one application, newest day first.
    fn usage(&self, app_id: &str) -> Result<Vec<(String, i64)>, StoreError>;
    // oauth_keys.rs
    /// Signing keys, newest first.
    fn signing_keys(&self) -> Result<Vec<SigningKeyRow>, StoreError>;
    /// Add a signing key and retire the others (they keep verifying until their tokens expire).
    fn add_signing_key(&self, row: &SigningKeyRow) -> Result<(), StoreError>;
    fn create_login_session(
        &self,
        id_hash: &str,
        user_id: &str,
        now_ms: i64,
        expires_at: i64,
    ) -> Result<(), StoreError>;
    /// The user of a live sign-in session.
    fn login_session_user(&self, id_hash: &str, now_ms: i64) -> Result<Option<String>, StoreError>;
    fn delete_login_session(&self, id_hash: &str) -> Result<(), StoreError>;
    // oauth_tokens.rs
    /// The scopes `user_id` already granted `app_id`, if any.
    fn grant(&self, user_id: &str, app_id: &str) -> Result<Option<String>, StoreError>;
    fn save_grant(&self, user_id: &str, app_id: &str, scopes: &str) -> Result<(), StoreError>;
    fn insert_code(&self, code_hash: &str, row: &CodeRow) -> Result<(), StoreError>;
    /// Mark a code used (once, atomically) and say whether this was its first use.
    fn redeem_code(&self, code_hash: &str, now_ms: i64) -> Result<CodeUse, StoreError>;
    /// A code as stored, without using it.
    fn code_by_hash(&self, code_hash: &str) -> Result<Option<CodeRow>, StoreError>;
    fn set_code_family(&self, code_hash: &str, family_id: &str) -> Result<(), StoreError>;
    /// Drop what can no longer matter: codes expired over a day ago (kept that long so a late
    /// reuse is still recognised), ended sign-in sessions, lapsed revocations and families
    /// (with their refresh tokens) past their absolute lifetime. Returns the rows removed.
    fn prune_expired(&self, now_ms: i64) -> Result<u64, StoreError>;
    fn create_family(&self, f: &Family) -> Result<(), StoreError>;
    fn family(&self, id: &str) -> Result<Option<Family>, StoreError>;
    /// Revoke every refresh token of a family, and remember the family as revoked until
    /// `remember_until` (when the last access token it issued has expired) so those stop
    /// working too.
    fn revoke_family(&self, id: &str, now_ms: i64, remember_until: i64) -> Result<(), StoreError>;
    fn insert_refresh(
        &self,
        token_hash: &str,
        family_id: &str,
        now_ms: i64,
    ) -> Result<(), StoreError>;
    /// Mark a refresh token used. `Ok(Some((row, first)))`: `first` is false when it had been
    /// used before (`row.used_at` then says when).
    fn use_refresh(
        &self,
        token_hash: &str,
        now_ms: i64,
    ) -> Result<Option<(RefreshRow, bool)>, StoreError>;
    /// The refresh token with this hash, without using it (introspection, revocation).
    fn refresh_by_hash(&self, token_hash: &str) -> Result<Option<RefreshRow>, StoreError>;
    /// Remember that an access token (`jti`) or a family is revoked until `expires_at`.
    fn insert_revoked(&self, id: &str, expires_at: i64) -> Result<(), StoreError>;
    /// `(id, remembered until)` of every revocation still in force at `now_ms`.
    fn revoked_since(&self, now_ms: i64) -> Result<Vec<(String, i64)>, StoreError>;
}
