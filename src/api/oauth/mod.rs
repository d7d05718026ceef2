//! The OAuth 2.1 endpoints (HTTP only; the protocol lives in `auth::oauth`). Mounted by
//! `router.rs` only when `JEAN2_OAUTH_ENABLED=true`, outside the shared-token layer:
//! `/oauth/*` and `/.well-known/*` ([`router`]); `/api/v1/user/me` sits under `/api` behind the
//! auth layer ([`user_router`]).

pub mod authorize;
pub mod discovery;
pub mod forms;
pub mod html;
pub mod token;
pub mod userinfo;

use crate::routes::Routes;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};

use crate::app::AppState;
use crate::auth::oauth::OAuth;

/// Largest body of an OAuth form or token request: they carry a few short fields, so anything
/// bigger is refused (413) before it is read, whatever the server-wide limit.
pub const MAX_FORM_BYTES: usize = 16 * 1024;

/// The public OAuth routes.
pub fn router() -> Routes {
    Routes::new()
        .route("/oauth/authorize", get(authorize::authorize))
        .route("/oauth/login", post(authorize::login))
        .route("/oauth/consent", post(authorize::consent))
        .route("/oauth/logout", post(authorize::logout))
        .route("/oauth/token", post(token::token))
        .route("/oauth/revoke", post(token::revoke))
        .route("/oauth/introspect", post(token::introspect))
        .route("/oauth/userinfo", get(userinfo::userinfo))
        .route(
            "/.well-known/oauth-authorization-server",
            get(discovery::authorization_server),
        )
        .route(
            "/.well-known/oauth-protected-resource",
            get(discovery::protected_resource),
        )
        .route("/.well-known/jwks.json", get(discovery::jwks))
        .map(|r| r.layer(DefaultBodyLimit::max(MAX_FORM_BYTES)))
}

/// Routes under `/api` (relative paths) that need OAuth.
pub fn user_router() -> Routes {
    Routes::new().route("/api/v1/user/me", get(userinfo::me))
}

/// The OAuth core of a running server. The routes are mounted only when it exists.
pub(crate) fn core(app: &AppState) -> Option<OAuth> {
    app.auth.oauth().cloned()
}
