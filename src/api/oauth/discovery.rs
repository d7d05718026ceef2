//! Discovery: authorization-server metadata (RFC 8414), protected-resource metadata (RFC 9728)
//! and the JWK Set of the signing keys.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::core;
use crate::app::AppState;

/// `GET /.well-known/oauth-authorization-server`.
pub async fn authorization_server(State(app): State<AppState>) -> Response {
    let Some(oauth) = core(&app) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let iss = oauth.issuer();
    axum::Json(json!({
        "issuer": iss,
        "authorization_endpoint": format!("{iss}/oauth/authorize"),
        "token_endpoint": format!("{iss}/oauth/token"),
        "revocation_endpoint": format!("{iss}/oauth/revoke"),
        "introspection_endpoint": format!("{iss}/oauth/introspect"),
        "userinfo_endpoint": format!("{iss}/oauth/userinfo"),
        "jwks_uri": format!("{iss}/.well-known/jwks.json"),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "scopes_supported": ["read", "write"],
        "authorization_response_iss_parameter_supported": true,
    }))
    .into_response()
}

/// `GET /.well-known/oauth-protected-resource`.
pub async fn protected_resource(State(app): State<AppState>) -> Response {
    let Some(oauth) = core(&app) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let iss = oauth.issuer();
    axum::Json(json!({
        "resource": iss,
        "authorization_servers": [iss],
        "bearer_methods_supported": ["header"],
        "scopes_supported": ["read", "write"],
        "resource_signing_alg_values_supported": ["EdDSA"],
        "jwks_uri": format!("{iss}/.well-known/jwks.json"),
    }))
    .into_response()
}

/// `GET /.well-known/jwks.json`: the current and the previous keys still verifying tokens.
pub async fn jwks(State(app): State<AppState>) -> Response {
    let Some(oauth) = core(&app) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    oauth.reload_keys().await;
    axum::Json(oauth.keys().jwks()).into_response()
}
