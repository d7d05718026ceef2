//! Authentication: credentials → [`Principal`]. The shared owner token ([`token`]), the
//! failed-attempt limiter ([`limiter`]) and the tower layer in front of `/api` and `/ws`
//! ([`layer`]). The layer has its own state ([`Auth`]), not `AppState`, so it can be tested alone.

pub mod layer;
pub mod limiter;
pub mod token;

use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwapOption;

use crate::config::Settings;
use crate::store::Scope;
use limiter::FailureLimiter;
use token::TokenDigest;

/// Who is calling. Attached to every request that passed the auth layer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// Auth is off (no token configured): the local user.
    Anonymous,
    /// The shared `JEAN2_AUTH_TOKEN`: the owner, who sees everything.
    Owner,
}

impl Principal {
    /// Whether this principal sees every workspace (the owner, or anyone while auth is off).
    pub fn sees_everything(&self) -> bool {
        matches!(self, Principal::Anonymous | Principal::Owner)
    }

    /// Which workspaces and sessions this principal may see: the one place identity becomes a
    /// store filter. (The OAuth layer maps a user principal to `Scope::Owner(user_id)` here.)
    pub fn scope(&self) -> Scope {
        if self.sees_everything() {
            Scope::All
        } else {
            // Fail closed: a principal that is not the owner and has no user id sees nothing.
            Scope::Owner(String::new())
        }
    }
}

/// State of the auth layer: the current token (swappable by `jean2 reload`) and the limiter.
#[derive(Clone)]
pub struct Auth {
    inner: Arc<AuthInner>,
}

struct AuthInner {
    token: ArcSwapOption<TokenDigest>,
    limiter: FailureLimiter,
}

impl Auth {
    pub fn new(settings: &Settings) -> Self {
        Self::with_limits(
            settings.auth_token.as_ref().map(|t| t.expose()),
            settings.auth_max_failures,
            settings.auth_failure_window,
        )
    }

    pub fn with_limits(token: Option<&str>, max_failures: u32, window: Duration) -> Self {
        Self {
            inner: Arc::new(AuthInner {
                token: ArcSwapOption::new(token.map(|t| Arc::new(TokenDigest::of(t)))),
                limiter: FailureLimiter::new(max_failures, window),
            }),
        }
    }

    /// Whether a credential is required (a token is configured).
    pub fn enabled(&self) -> bool {
        self.inner.token.load().is_some()
    }

    /// Replace the shared token (`jean2 reload`); `None` turns auth off.
    pub fn set_token(&self, token: Option<&str>) {
        self.inner
            .token
            .store(token.map(|t| Arc::new(TokenDigest::of(t))));
    }

    /// Resolve a presented bearer credential. `None` when it is not valid.
    pub fn verify(&self, presented: &str) -> Option<Principal> {
        match &*self.inner.token.load() {
            Some(digest) if digest.matches(presented) => Some(Principal::Owner),
            _ => None,
        }
    }

    pub fn limiter(&self) -> &FailureLimiter {
        &self.inner.limiter
    }
}
