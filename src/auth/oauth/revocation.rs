//! Revocation on the OAuth side (see [`crate::auth::revocation`]): what this process revokes
//! (a refresh family, an access token) closes the WebSockets opened with it at once; what
//! `jean2 users|apps|keys` change in the database is noticed through the marker file before a
//! cached answer is trusted, and open WebSockets are checked again against the database.

use std::path::Path;
use std::sync::OnceLock;

use super::OAuth;
use crate::auth::revocation::Marker;
use crate::events::{Credential, Hub, Revoked};

/// The revocation state of the OAuth core.
pub struct State {
    /// The open connections (attached once the server state exists).
    hub: OnceLock<Hub>,
    /// The marker file as the request path last saw it.
    marker: Marker,
}

impl State {
    pub fn new(database: &Path) -> Self {
        State {
            hub: OnceLock::new(),
            marker: Marker::new(database),
        }
    }
}

impl OAuth {
    /// Let revocations reach the open connections of `hub`.
    pub(crate) fn attach_hub(&self, hub: &Hub) {
        let _ = self.inner.revocation.hub.set(hub.clone());
    }

    /// Close the WebSockets opened with what was revoked.
    pub(crate) fn close_sockets(&self, revoked: Revoked<'_>) {
        if let Some(hub) = self.inner.revocation.hub.get() {
            let closed = hub.revoke(revoked);
            if closed > 0 {
                tracing::info!(ws.closed = closed, "closed WebSockets of a revoked grant");
            }
        }
    }

    /// Before a cached answer is trusted: if `jean2 users|apps|keys` changed the database
    /// since last time (one `stat`), forget the cached answers and re-read the revocations.
    pub(crate) async fn catch_up_with_admin(&self) {
        let marker = &self.inner.revocation.marker;
        if let Some(seen) = marker.changed() {
            self.forget_admin_state().await;
            marker.seen(seen);
        }
    }

    /// Forget cached key, user and application answers and re-read the revocation list.
    pub async fn forget_admin_state(&self) {
        self.inner.api_keys.clear();
        self.inner.users.clear();
        self.inner.apps.clear();
        match self.store().revoked_since(self.now_ms()).await {
            Ok(rows) => self.lock_revoked().extend(rows),
            Err(e) => tracing::error!(error = %e, "cannot re-read the revocation list"),
        }
    }

    /// Whether the credential of an open connection still holds, asked of the database (and
    /// of the revocation list). A database error keeps the connection (it is logged).
    pub async fn still_valid(&self, credential: &Credential) -> bool {
        let now = self.now_ms();
        let answer = match credential {
            Credential::Open | Credential::SharedToken => return true,
            Credential::User {
                user_id,
                app_id,
                family,
                token_id,
                ..
            } => {
                {
                    let revoked = self.lock_revoked();
                    if revoked.contains_key(&**family) || revoked.contains_key(&**token_id) {
                        return false;
                    }
                }
                match self.store().user_by_id(user_id).await {
                    Ok(Some(u)) if !u.disabled => self.app_is_active(app_id).await,
                    Ok(_) => Ok(false),
                    Err(e) => Err(e),
                }
            }
            Credential::ApiKey { app_id, key_hash } => {
                match self.store().api_key_by_hash(key_hash).await {
                    Ok(Some(k)) if !k.revoked && k.expires_at.is_none_or(|t| t > now) => {
                        self.app_is_active(app_id).await
                    }
                    Ok(_) => Ok(false),
                    Err(e) => Err(e),
                }
            }
        };
        answer.unwrap_or_else(|e| {
            tracing::error!(error = %e, "cannot check an open connection's credential");
            true
        })
    }

    async fn app_is_active(&self, app_id: &str) -> Result<bool, crate::store::StoreError> {
        Ok(self.store().app(app_id).await?.is_some_and(|a| !a.revoked))
    }
}
