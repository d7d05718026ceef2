//! The one route table and the layer stack, read top to bottom.

use std::time::Duration;

use axum::Router;
use axum::extract::Request;
use axum::response::Response;
use axum::routing::any;

use crate::api;
use crate::app::AppState;
use crate::auth::layer::Surface;
use crate::error::endpoint_not_found;
use crate::layers::front::Front;
use crate::layers::origin::OriginPolicy;
use crate::layers::trace::UNKNOWN_API;
use crate::ws;

/// Largest request body accepted, except by the routes that set their own (attachments): axum's
/// default, which the front layer therefore leaves in place (`tests/api/hardening/connections.rs`
/// holds it there).
pub const MAX_BODY_BYTES: usize = 2 * 1024 * 1024;
/// A request that takes longer than this (plus the time its declared body may take to arrive,
/// `layers::front`) is answered 408 (WebSocket upgrades are exempt once upgraded).
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

pub fn build(state: AppState) -> Router {
    let auth = state.auth.clone();
    let policy = OriginPolicy::new(&state.settings, auth.clone());
    // One layer per route does the request id, log, Host/Origin guard, auth, timeout and
    // security headers (`layers::front`); each part of the table gets it exactly once.
    let front = Front::new(
        policy,
        auth.clone(),
        REQUEST_TIMEOUT,
        state.settings.tls.is_some(),
    );

    // Everything under /api needs a credential, known path or not (the route map stays hidden).
    // The API's routes carry their full paths (no `nest`): a nested router costs every request
    // one more boxed service, a rebuilt URI and an extension.
    let oauth_on = auth.oauth().is_some();
    let mut protected_api = api::router();
    if oauth_on {
        protected_api = protected_api.merge(api::oauth::user_router());
    }
    // A known path with a method it does not serve is unknown too (upstream routes by
    // method and path): the same JSON 404, not axum's empty 405.
    let protected_api = protected_api
        .route("/api", any(not_found))
        .route("/api/", any(not_found))
        .route(UNKNOWN_API, any(not_found))
        .method_not_allowed_fallback(not_found)
        .layer(front.guarding(Surface::Rest));
    let websocket = ws::router().route_layer(front.guarding(Surface::WebSocket));

    // The OAuth endpoints are public (they authenticate clients and people themselves).
    let oauth = if oauth_on {
        api::oauth::router()
    } else {
        Router::new()
    };

    // `layer` wraps the routes (and fallback) present when it is called; the guarded parts
    // are added after it, each with its own `Front` already.
    Router::new()
        .merge(api::public_router())
        .merge(oauth)
        // Unknown paths: the web client's files and pages when it is served, else JSON 404;
        // a method a public route does not serve, the JSON 404 as under /api.
        .fallback(api::client::fallback)
        .method_not_allowed_fallback(not_found)
        .layer(front.open())
        .merge(protected_api)
        .merge(websocket)
        .with_state(state)
}

/// The JSON 404 of `PROTOCOL.md` §2.
async fn not_found(req: Request) -> Response {
    endpoint_not_found(req.method(), req.uri().path())
}
