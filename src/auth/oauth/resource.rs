//! The resource side of OAuth: checking the credentials that reach `/api` and `/ws` (JWT access
//! tokens, API keys) and the clients of the token endpoint. Signature checks are CPU-only; the
//! database is asked about keys, users and applications at most once per cache TTL.

use super::errors::TokenError;
use super::jwt::{self, Claims};
use super::{KeyedApp, OAuth, secrets};
use crate::store::StoreError;
use crate::store::apps::App;

/// Why an API key is refused where a `client_id` goes.
pub const API_KEY_AS_CLIENT_ID: &str = "an API key is not a client_id: send the application's client_id (app_…), and keep the key out of URLs";

impl OAuth {
    /// Check a JWT access token: signature and claims (CPU only), then the revocation list, then
    /// that the user and the application are still active (cached briefly).
    pub async fn verify_access_token(&self, token: &str) -> Option<Claims> {
        self.catch_up_with_admin().await;
        let now = self.now_ms();
        let mut result = self.keys().verify(token, self.issuer(), self.issuer(), now);
        if result == Err(jwt::JwtError::UnknownKey) {
            self.reload_keys().await;
            result = self.keys().verify(token, self.issuer(), self.issuer(), now);
        }
        let claims = match result {
            Ok(c) => c,
            Err(e) => {
                tracing::debug!(reason = %e, "access token refused");
                return None;
            }
        };
        {
            let revoked = self.lock_revoked();
            if revoked.contains_key(&claims.jti) || revoked.contains_key(&claims.sid) {
                return None;
            }
        }
        if !self.user_active(&claims.sub).await
            || self.app_scopes(&claims.client_id).await.is_none()
        {
            return None;
        }
        Some(claims)
    }

    async fn user_active(&self, user_id: &str) -> bool {
        let now = self.now_ms();
        if let Some(v) = self.inner.users.get(user_id, now) {
            return v;
        }
        let active = matches!(self.store().user_by_id(user_id).await, Ok(Some(u)) if !u.disabled);
        self.inner.users.put(user_id, active, now);
        active
    }

    /// The scopes of an active application; `None` when it is unknown or revoked.
    pub async fn app_scopes(&self, app_id: &str) -> Option<Vec<String>> {
        let now = self.now_ms();
        if let Some(v) = self.inner.apps.get(app_id, now) {
            return v;
        }
        let scopes = match self.store().app(app_id).await {
            Ok(Some(app)) if !app.revoked => Some(app.scopes),
            _ => None,
        };
        self.inner.apps.put(app_id, scopes.clone(), now);
        scopes
    }

    /// The application behind an API key, if the key is live and its application active.
    pub async fn verify_api_key(&self, key: &str) -> Option<KeyedApp> {
        if !secrets::is_api_key(key) {
            return None;
        }
        self.catch_up_with_admin().await;
        let now = self.now_ms();
        let hash = secrets::hash(key);
        if let Some(app) = self.inner.api_keys.get(&hash, now) {
            return Some(app);
        }
        let row = self.store().api_key_by_hash(&hash).await.ok().flatten()?;
        if row.revoked || row.expires_at.is_some_and(|t| t <= now) {
            return None;
        }
        let scopes = self.app_scopes(&row.app_id).await?;
        let app = KeyedApp {
            app_id: row.app_id,
            scopes,
        };
        self.inner.api_keys.put(&hash, app.clone(), now);
        Some(app)
    }

    /// The active application a `client_id` names. An API key is never a `client_id` (it would
    /// end up in URLs, browser history and logs): callers refuse it before asking here.
    pub async fn find_client(&self, client_id: &str) -> Result<Option<App>, StoreError> {
        if secrets::is_api_key(client_id) {
            return Ok(None);
        }
        Ok(self.store().app(client_id).await?.filter(|a| !a.revoked))
    }

    /// Authenticate the client of a token, revocation or introspection request.
    pub async fn authenticate_client(
        &self,
        client_id: Option<&str>,
        secret: Option<&str>,
    ) -> Result<App, TokenError> {
        let client_id = client_id.ok_or_else(|| {
            TokenError::InvalidClient("client authentication is required: send client_id (and client_secret for confidential clients)".into())
        })?;
        if secrets::is_api_key(client_id) {
            return Err(TokenError::InvalidClient(API_KEY_AS_CLIENT_ID.into()));
        }
        let unknown =
            || TokenError::InvalidClient("unknown client or wrong client credentials".into());
        let app = self.find_client(client_id).await?.ok_or_else(unknown)?;
        match (&app.secret_hash, secret) {
            (Some(hash), Some(s)) if app.confidential && secrets::matches_hash(s, hash) => Ok(app),
            (_, Some(_)) if !app.confidential => Err(TokenError::InvalidClient(
                "this is a public client; it has no client_secret".into(),
            )),
            (_, None) if !app.confidential => Ok(app),
            _ => Err(unknown()),
        }
    }
}
