//! The one route table and the layer around it, read top to bottom.
//!
//! The front layer ([`Front`]) wraps the whole router once, not each route: per route, axum
//! clones and boxes the layer's service and boxes its future on every request, which cost more
//! than a bare server's whole request. So that it still knows, before the router runs, which
//! route a request is for (for its log line) and what credential that route needs, the routes
//! are added through [`crate::routes::Routes`], which keeps their paths, and [`RouteTable`]
//! matches a request's path against them as axum's router does.

use std::time::Duration;

use axum::Router;
use axum::extract::Request;
use axum::response::Response;
use axum::routing::any;

use crate::api;
use crate::app::AppState;
use crate::auth::layer::Surface;
use crate::error::endpoint_not_found;
use crate::layers::front::{Front, FrontService};
use crate::layers::origin::OriginPolicy;
use crate::layers::trace::UNKNOWN_API;
use crate::routes::RouteTable;
use crate::ws;

/// Largest request body accepted, except by the routes that set their own (attachments): axum's
/// default, which the front layer therefore leaves in place (`tests/api/hardening/connections.rs`
/// holds it there).
pub const MAX_BODY_BYTES: usize = 2 * 1024 * 1024;
/// A request that takes longer than this (plus the time its declared body may take to arrive,
/// `layers::front`) is answered 408 (WebSocket upgrades are exempt once upgraded).
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// The server: the router with the front layer around it.
pub type App = FrontService<Router>;

pub fn build(state: AppState) -> App {
    let auth = state.auth.clone();
    let oauth_on = auth.oauth().is_some();

    // Open to everyone: the meta routes, attachment content (its URL carries its own key), and
    // the OAuth endpoints (they authenticate clients and people themselves).
    let mut public = api::public_router();
    if oauth_on {
        public = public.merge(api::oauth::router());
    }
    // Everything under /api needs a credential, known path or not (the route map stays hidden).
    // The API's routes carry their full paths (no `nest`: a nested router costs every request
    // a rebuilt URI and an extension).
    let mut protected = api::router();
    if oauth_on {
        protected = protected.merge(api::oauth::user_router());
    }
    let protected = protected
        .route("/api", any(not_found))
        .route("/api/", any(not_found))
        .route(UNKNOWN_API, any(not_found));
    let websocket = ws::router();

    let mut table = RouteTable::default();
    table.add(&public, None);
    table.add(&protected, Some(Surface::Rest));
    table.add(&websocket, Some(Surface::WebSocket));

    let router = public
        .merge(protected)
        .merge(websocket)
        .into_router()
        // Unknown paths: the web client's files and pages when it is served, else JSON 404.
        .fallback(api::client::fallback)
        // A known path with a method it does not serve is unknown too (upstream routes by
        // method and path): the same JSON 404, not axum's empty 405.
        .method_not_allowed_fallback(not_found)
        .with_state(state.clone());

    let policy = OriginPolicy::new(&state.settings, auth.clone());
    // One layer does the request id, log, Host/Origin guard, auth, timeout and security
    // headers (`layers::front`).
    let front = Front::new(
        policy,
        auth,
        REQUEST_TIMEOUT,
        state.settings.tls.is_some(),
        table,
    );
    tower::Layer::layer(&front, router)
}

/// The JSON 404 of `PROTOCOL.md` §2.
async fn not_found(req: Request) -> Response {
    endpoint_not_found(req.method(), req.uri().path())
}
