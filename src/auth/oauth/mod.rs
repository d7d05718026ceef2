//! OAuth 2.1, the protocol core (no HTTP here; `api::oauth` translates). [`OAuth`] holds what the
//! endpoints and the auth layer share: the store, the issuer, the clock, the signing keys, the
//! revocation list, the sign-in limiters, the resource-side caches and the per-app request counts.
//!
//! - [`authorize`]: validating authorization requests and issuing codes.
//! - [`grants`]: the token endpoint's grants (code exchange, refresh rotation).
//! - [`resource`]: checking access tokens, API keys and token-endpoint clients.
//! - [`signin`]: people in the browser: password sign-in, sessions, consent.
//! - [`usage`]: per-app request counts and housekeeping.
//! - [`jwt`], [`pkce`], [`secrets`], [`passwords`]: the primitives.

pub mod authorize;
pub mod cache;
pub mod errors;
pub mod grants;
pub mod jwt;
pub mod passwords;
pub mod pkce;
pub mod resource;
pub mod revocation;
pub mod secrets;
pub mod signin;
pub mod successors;
pub mod usage;

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use serde::Serialize;

use crate::auth::limiter::{AccountKey, FailureLimiter};
use crate::config::Settings;
use crate::store::oauth_tokens::Family;
use crate::store::{Store, StoreError};
use crate::time::Clock;
use cache::TtlCache;
use errors::TokenError;
use jwt::{Claims, Keyset};

/// Failed sign-ins per account before 429, and the window they count in.
pub const ACCOUNT_MAX_FAILURES: u32 = 5;
pub const ACCOUNT_FAILURE_WINDOW: Duration = Duration::from_secs(15 * 60);
/// Lifetime of a browser sign-in session.
pub const LOGIN_SESSION_MS: i64 = 12 * 3600 * 1000;

/// The token endpoint's success answer (RFC 6749 §5.1). `Debug` hides the tokens.
#[derive(Clone, Serialize)]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: i64,
    pub refresh_token: String,
    pub scope: String,
}

impl std::fmt::Debug for TokenResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenResponse")
            .field("scope", &self.scope)
            .field("expires_in", &self.expires_in)
            .finish_non_exhaustive()
    }
}

/// An application authenticated by an API key.
#[derive(Debug, Clone)]
pub struct KeyedApp {
    pub app_id: String,
    pub scopes: Vec<String>,
}

/// Cheap to clone.
#[derive(Clone)]
pub struct OAuth {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    issuer: String,
    clock: Clock,
    secure_cookies: bool,
    keys: ArcSwap<Keyset>,
    keys_loaded_at: AtomicI64,
    /// Revoked access-token ids and families, with when they may be forgotten (Unix ms).
    revoked: Mutex<HashMap<String, i64>>,
    api_keys: TtlCache<KeyedApp>,
    users: TtlCache<bool>,
    apps: TtlCache<Option<Vec<String>>>,
    login_by_ip: FailureLimiter<IpAddr>,
    login_by_account: FailureLimiter<AccountKey>,
    usage: Mutex<HashMap<(String, String), i64>>,
    /// Revocation reaching open WebSockets and the caches ([`revocation`]).
    revocation: revocation::State,
    /// The answers of the refresh grace period.
    successors: successors::Successors,
}

impl OAuth {
    /// Load (or create, the first time) the signing key and the revocation list.
    pub async fn init(store: Store, settings: &Settings, port: u16) -> Result<OAuth, StoreError> {
        let clock = settings.oauth.clock.clone();
        let now = clock.now_ms();
        if store.signing_keys().await?.is_empty() {
            let key = jwt::generate_key(now).map_err(|e| StoreError::Conflict(e.to_string()))?;
            store.add_signing_key(&key).await?;
        }
        let keys = Keyset::from_rows(&store.signing_keys().await?, now);
        let revoked: HashMap<String, i64> = store.revoked_since(now).await?.into_iter().collect();
        let ttl = i64::try_from(settings.oauth.cache_ttl.as_millis()).unwrap_or(10_000);
        Ok(OAuth {
            inner: Arc::new(Inner {
                store,
                issuer: settings.issuer(port),
                clock,
                secure_cookies: settings.served_over_https(),
                keys: ArcSwap::from_pointee(keys),
                keys_loaded_at: AtomicI64::new(now),
                revoked: Mutex::new(revoked),
                api_keys: TtlCache::new(ttl),
                users: TtlCache::new(ttl),
                apps: TtlCache::new(ttl),
                login_by_ip: FailureLimiter::new(
                    settings.auth_max_failures,
                    settings.auth_failure_window,
                ),
                login_by_account: FailureLimiter::new(ACCOUNT_MAX_FAILURES, ACCOUNT_FAILURE_WINDOW),
                usage: Mutex::new(HashMap::new()),
                revocation: revocation::State::new(&settings.database_path),
                successors: successors::Successors::default(),
            }),
        })
    }

    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    /// The issuer URL (no trailing slash); also the audience of access tokens.
    pub fn issuer(&self) -> &str {
        &self.inner.issuer
    }

    /// The `resource_metadata` URL of RFC 9728, for `WWW-Authenticate`.
    pub fn resource_metadata_url(&self) -> String {
        format!("{}/.well-known/oauth-protected-resource", self.inner.issuer)
    }

    pub fn now_ms(&self) -> i64 {
        self.inner.clock.now_ms()
    }

    /// Whether cookies must carry `Secure`.
    pub fn secure_cookies(&self) -> bool {
        self.inner.secure_cookies
    }

    pub fn keys(&self) -> Arc<Keyset> {
        self.inner.keys.load_full()
    }

    /// Re-read the signing keys (another process may have rotated them), at most every 5 s.
    pub async fn reload_keys(&self) {
        let now = self.now_ms();
        let last = self.inner.keys_loaded_at.load(Ordering::Relaxed);
        if now - last < 5_000 {
            return;
        }
        self.inner.keys_loaded_at.store(now, Ordering::Relaxed);
        match self.store().signing_keys().await {
            Ok(rows) => self
                .inner
                .keys
                .store(Arc::new(Keyset::from_rows(&rows, now))),
            Err(e) => tracing::error!(error = %e, "cannot reload signing keys"),
        }
    }

    /// Start a sign-in attempt: `Err(retry_after)` when this address or account has failed too
    /// often; otherwise the attempt is counted against both at once (see
    /// [`OAuth::login_succeeded`]), so parallel guesses cannot all pass the check.
    pub fn begin_login(
        &self,
        ip: IpAddr,
        account: AccountKey,
        now: Instant,
    ) -> Result<(), Duration> {
        self.inner.login_by_ip.attempt(ip, now)?;
        if let Err(retry) = self.inner.login_by_account.attempt(account, now) {
            self.inner.login_by_ip.forgive(ip);
            return Err(retry);
        }
        Ok(())
    }

    /// The attempt begun by [`OAuth::begin_login`] succeeded: it no longer counts.
    pub fn login_succeeded(&self, ip: IpAddr, account: AccountKey) {
        self.inner.login_by_ip.forgive(ip);
        self.inner.login_by_account.forgive(account);
    }

    /// The answer shared by every refresh with this token hash within the grace period.
    pub fn successor_slot(&self, token_hash: &str, now_ms: i64) -> successors::Slot {
        self.inner.successors.slot(token_hash, now_ms)
    }

    /// Issue an access token and a new refresh token of `family`.
    pub async fn issue(&self, family: &Family, now_ms: i64) -> Result<TokenResponse, TokenError> {
        let refresh = secrets::random_token();
        self.store()
            .insert_refresh(&secrets::hash(&refresh), &family.id, now_ms)
            .await?;
        let now_s = now_ms / 1000;
        let claims = Claims {
            iss: self.issuer().to_owned(),
            sub: family.user_id.clone(),
            aud: self.issuer().to_owned(),
            exp: now_s + jwt::ACCESS_TTL_SECS,
            iat: now_s,
            jti: uuid::Uuid::new_v4().to_string(),
            client_id: family.app_id.clone(),
            scope: family.scope.clone(),
            sid: family.id.clone(),
        };
        // `jean2 keys rotate-signing` (another process) may have added a newer key.
        self.reload_keys().await;
        let keys = self.keys();
        let access_token = keys.sign(&claims).map_err(TokenError::internal)?;
        Ok(TokenResponse {
            access_token,
            token_type: "Bearer",
            expires_in: jwt::ACCESS_TTL_SECS,
            refresh_token: refresh,
            scope: family.scope.clone(),
        })
    }

    /// Revoke a refresh family and every access token it issued. No token of it is issued after
    /// this, so the family is remembered until the last one has expired.
    pub async fn revoke_family(&self, family_id: &str) -> Result<(), StoreError> {
        let now = self.now_ms();
        let until = now + (jwt::ACCESS_TTL_SECS + 60) * 1000;
        self.store().revoke_family(family_id, now, until).await?;
        self.lock_revoked().insert(family_id.to_owned(), until);
        self.close_sockets(crate::events::Revoked::Family(family_id));
        Ok(())
    }

    /// Revoke one access token until it would have expired anyway.
    pub async fn revoke_access_token(&self, claims: &Claims) -> Result<(), StoreError> {
        let until = claims.exp * 1000;
        self.store().insert_revoked(&claims.jti, until).await?;
        self.lock_revoked().insert(claims.jti.clone(), until);
        self.close_sockets(crate::events::Revoked::AccessToken(&claims.jti));
        Ok(())
    }

    /// Forget revocations whose tokens have all expired.
    pub(crate) fn prune_revoked(&self, now_ms: i64) {
        self.lock_revoked().retain(|_, until| *until > now_ms);
    }

    pub(crate) fn lock_revoked(&self) -> std::sync::MutexGuard<'_, HashMap<String, i64>> {
        self.inner.revoked.lock().unwrap_or_else(|e| e.into_inner())
    }
}
