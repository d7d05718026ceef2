//! Server metadata: `GET /`, `/api/health`, `/api/info` (public) and `/api/auth/verify`.
//! `GET /` is the JSON status for API clients and the web client's page for a browser when
//! this server serves the client ([`super::client`]).

use crate::routes::Routes;
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};

use super::client;

use crate::VERSION;
use crate::app::AppState;
use crate::error::ApiJson;
use crate::time::now_iso;

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

async fn health() -> ApiJson<Value> {
    ApiJson(json!({"status": "healthy", "timestamp": now_iso()}))
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

async fn verify() -> ApiJson<Value> {
    ApiJson(json!({"valid": true, "timestamp": now_iso()}))
}
