//! REST handlers, one file per resource. Handlers translate HTTP to core calls and back.
//! [`public_router`] holds the routes that never need a token; [`router`] everything under
//! `/api` that does.

pub mod meta;
pub mod oauth;

use axum::Router;

use crate::app::AppState;

/// Routes open to everyone (`GET /`, `/api/health`, `/api/info`).
pub fn public_router() -> Router<AppState> {
    meta::public_router()
}

/// Routes under `/api` behind the auth layer (paths here are relative to `/api`).
pub fn router() -> Router<AppState> {
    Router::new().merge(meta::router())
}
