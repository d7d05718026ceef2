//! Authentication: credentials → [`Principal`]. The shared owner token ([`token`]), the
//! failed-attempt limiter ([`limiter`]), OAuth 2.1 ([`oauth`]: apps, users, JWT access tokens,
//! API keys) and the tower layer in front of `/api` and `/ws` ([`layer`]). The layer has its own
//! state ([`Auth`]), not `AppState`, so it can be tested alone.

pub mod layer;
pub mod limiter;
pub mod oauth;
pub mod proxies;
pub mod rejection;
pub mod revocation;
pub mod token;

use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use arc_swap::ArcSwapOption;

use crate::config::Settings;
use crate::events::{Hub, Revoked};
use crate::store::Scope;
use crate::time::Clock;
use limiter::FailureLimiter;
use oauth::OAuth;
use proxies::TrustedProxies;
use token::SharedToken;

/// Who is calling. Attached to every request that passed the auth layer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// Auth is off (no token configured): the local user.
    Anonymous,
    /// The shared `JEAN2_AUTH_TOKEN`: the owner, who sees everything.
    Owner,
    /// An application, by one of its API keys (`jean_sk_…`), acting for itself.
    App { app_id: String, scopes: Vec<String> },
    /// A person, by a JWT access token issued to `app_id`, limited to `scopes`.
    User {
        user_id: String,
        app_id: String,
        scopes: Vec<String>,
    },
}

/// The scope that lets a token read (GETs, resuming sessions).
pub const SCOPE_READ: &str = "read";
/// The scope that lets a token change things (everything else, chat).
pub const SCOPE_WRITE: &str = "write";

impl Principal {
    /// Whether this principal sees every workspace (the owner, or anyone while auth is off).
    pub fn sees_everything(&self) -> bool {
        matches!(self, Principal::Anonymous | Principal::Owner)
    }

    /// The person behind this principal, if it is a user's token.
    pub fn user_id(&self) -> Option<&str> {
        match self {
            Principal::User { user_id, .. } => Some(user_id),
            _ => None,
        }
    }

    /// The application behind this principal (API key or user token).
    pub fn app_id(&self) -> Option<&str> {
        match self {
            Principal::App { app_id, .. } | Principal::User { app_id, .. } => Some(app_id),
            _ => None,
        }
    }

    /// Whether this principal may act within `scope`. The owner may do anything.
    pub fn allows(&self, scope: &str) -> bool {
        match self {
            Principal::Anonymous | Principal::Owner => true,
            Principal::App { scopes, .. } | Principal::User { scopes, .. } => {
                scopes.iter().any(|s| s == scope)
            }
        }
    }

    /// Which workspaces and sessions this principal may see: the one place identity becomes a
    /// store filter. A user sees their own; an application's API key (no person) sees the
    /// workspaces it created itself (owner `app:<id>`); the owner sees everything.
    pub fn scope(&self) -> Scope {
        match self {
            Principal::Anonymous | Principal::Owner => Scope::All,
            Principal::User { user_id, .. } => Scope::Owner(user_id.clone()),
            Principal::App { app_id, .. } => Scope::Owner(format!("app:{app_id}")),
        }
    }
}

/// State of the auth layer: the current token (swappable by `jean2 reload`) and the limiter.
#[derive(Clone)]
pub struct Auth {
    inner: Arc<AuthInner>,
}

struct AuthInner {
    token: ArcSwapOption<SharedToken>,
    limiter: FailureLimiter,
    /// The limiter's clock (the OAuth clock: tests move it instead of sleeping).
    clock: Clock,
    /// The OAuth core, when `JEAN2_OAUTH_ENABLED=true` (built before the server state).
    oauth: Option<OAuth>,
    /// The open connections, once the server state exists: revocations close theirs.
    hub: OnceLock<Hub>,
    /// `JEAN2_TRUSTED_PROXIES`: whose `X-Forwarded-For` names the client.
    proxies: TrustedProxies,
}

impl Auth {
    /// The auth of a server with these settings; `oauth` is its OAuth core when OAuth is on.
    pub fn new(settings: &Settings, oauth: Option<OAuth>) -> Self {
        Self::build(
            settings.auth_token.as_ref().map(|t| t.expose()),
            (settings.auth_max_failures, settings.auth_failure_window),
            settings.oauth.clock.clone(),
            oauth,
            TrustedProxies::new(settings.trusted_proxies.clone()),
        )
    }

    pub fn with_limits(
        token: Option<&str>,
        max_failures: u32,
        window: Duration,
        oauth: Option<OAuth>,
    ) -> Self {
        Self::build(
            token,
            (max_failures, window),
            Clock::system(),
            oauth,
            TrustedProxies::default(),
        )
    }

    fn build(
        token: Option<&str>,
        (max_failures, window): (u32, Duration),
        clock: Clock,
        oauth: Option<OAuth>,
        proxies: TrustedProxies,
    ) -> Self {
        Self {
            inner: Arc::new(AuthInner {
                token: ArcSwapOption::new(token.map(|t| Arc::new(SharedToken::of(t)))),
                limiter: FailureLimiter::new(max_failures, window),
                clock,
                oauth,
                hub: OnceLock::new(),
                proxies,
            }),
        }
    }

    /// Let revocations reach the open connections of `hub` (the server state calls this once).
    pub fn attach_hub(&self, hub: &Hub) {
        let _ = self.inner.hub.set(hub.clone());
        if let Some(oauth) = &self.inner.oauth {
            oauth.attach_hub(hub);
        }
    }

    /// The clock of token lifetimes and the limiter's window.
    pub fn clock(&self) -> &Clock {
        &self.inner.clock
    }

    /// Whether a credential is required (a token is configured, or OAuth is on).
    pub fn enabled(&self) -> bool {
        self.inner.token.load().is_some() || self.inner.oauth.is_some()
    }

    /// The OAuth core, when `JEAN2_OAUTH_ENABLED=true`.
    pub fn oauth(&self) -> Option<&OAuth> {
        self.inner.oauth.as_ref()
    }

    /// Replace the shared token (`jean2 reload`); `None` turns auth off. When a credential is
    /// still required, the WebSockets opened with the old token (or with none, if auth was
    /// off) are closed (1008).
    pub fn set_token(&self, token: Option<&str>) {
        let new = token.map(|t| Arc::new(SharedToken::of(t)));
        let old = self.inner.token.swap(new.clone());
        let changed = match (&old, &new) {
            (Some(a), Some(b)) => !a.same_as(b),
            (None, None) => false,
            _ => true,
        };
        let (Some(hub), true) = (self.inner.hub.get(), self.enabled()) else {
            return;
        };
        let mut closed = hub.revoke(Revoked::Open);
        if changed {
            closed += hub.revoke(Revoked::SharedToken);
        }
        if closed > 0 {
            tracing::info!(
                ws.closed = closed,
                "closed the WebSockets opened with the previous token"
            );
        }
    }

    /// Resolve a presented bearer credential. `None` when it is not valid.
    pub fn verify(&self, presented: &str) -> Option<Principal> {
        match &*self.inner.token.load() {
            Some(token) if token.matches(presented) => Some(Principal::Owner),
            _ => None,
        }
    }

    /// The client of a request from `peer`: the peer itself, or behind a trusted proxy the
    /// address its `X-Forwarded-For` names (see [`proxies`]).
    pub fn client_ip(
        &self,
        peer: std::net::IpAddr,
        headers: &axum::http::HeaderMap,
    ) -> std::net::IpAddr {
        self.inner.proxies.client_ip(peer, headers)
    }

    pub fn limiter(&self) -> &FailureLimiter {
        &self.inner.limiter
    }

    /// Now, for the limiter's window.
    pub fn now(&self) -> Instant {
        self.inner.clock.instant()
    }
}
