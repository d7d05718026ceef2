//! Server metadata: `GET /`, `/api/health`, `/api/info` (public) and `/api/auth/verify`.
//! `GET /` is the JSON status for API clients and the web client's page for a browser when
//! this server serves the client ([`super::client`]).

use crate::routes::Routes;
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Serialize;
use serde_json::{Value, json};
use std::borrow::Cow;

use super::client;

use crate::VERSION;
use crate::app::AppState;
use crate::error::ApiJson;
use crate::time::{ISO_LEN, now_iso, now_ms, write_iso};

pub fn public_router() -> Routes {
    Routes::new()
        .route("/", get(root))
        .route("/api/health", get(health))
        .route("/api/info", get(info))
}

pub fn router() -> Routes {
    Routes::new().route("/api/auth/verify", get(verify))
}

async fn root(State(app): State<AppState>, req: Request) -> Response {
    if client::wants_page(req.method(), req.headers())
        && let Some(dir) = client::client_root(&app.settings)
    {
        return client::index(&dir, req).await;
    }
    ApiJson(json!({
        "status": "ok",
        "message": "AI Agent Server is running",
        "version": VERSION,
        "timestamp": now_iso(),
    }))
    .into_response()
}

/// Polled by monitors and health checks: a typed body serialized straight (no `Value` tree).
async fn health() -> Response {
    #[derive(Serialize)]
    struct Health<'a> {
        status: &'a str,
        timestamp: &'a str,
    }
    let mut at = [0u8; ISO_LEN];
    let timestamp = &stamp(&mut at);
    ApiJson(Health {
        status: "healthy",
        timestamp,
    })
    .into_response()
}

async fn info(State(app): State<AppState>) -> ApiJson<Value> {
    ApiJson(json!({
        "name": "AI Agent Server",
        "version": VERSION,
        "runtime": "rust",
        "features": {
            "websocket": true,
            "sessions": true,
            "preconfigs": true,
            "tools": !crate::tools::definitions().is_empty(),
            "authentication": app.auth_enabled(),
            "client": client::client_root(&app.settings).is_some(),
        },
        "timestamp": now_iso(),
    }))
}

/// Called before every WebSocket (re)connect: a typed body serialized straight (no `Value` tree),
/// `{"valid":true,"timestamp":"…"}` in PROTOCOL.md's order.
async fn verify() -> Response {
    #[derive(Serialize)]
    struct Verified<'a> {
        valid: bool,
        timestamp: &'a str,
    }
    let mut at = [0u8; ISO_LEN];
    let timestamp = &stamp(&mut at);
    ApiJson(Verified {
        valid: true,
        timestamp,
    })
    .into_response()
}

/// Now as an ISO string, written into `buf` (or, beyond year 9999, allocated).
fn stamp(buf: &mut [u8; ISO_LEN]) -> Cow<'_, str> {
    match write_iso(now_ms(), buf) {
        Some(text) => Cow::Borrowed(text),
        None => Cow::Owned(now_iso()),
    }
}
