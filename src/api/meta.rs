//! Server metadata: `GET /`, `/api/health`, `/api/info` (public) and `/api/auth/verify`.

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use serde_json::{Value, json};

use crate::VERSION;
use crate::app::AppState;
use crate::error::ApiJson;
use crate::time::now_iso;

pub fn public_router() -> Router<AppState> {
    Router::new()
        .route("/", get(root))
        .route("/api/health", get(health))
        .route("/api/info", get(info))
}

pub fn router() -> Router<AppState> {
    Router::new().route("/auth/verify", get(verify))
}

async fn root() -> ApiJson<Value> {
    ApiJson(json!({
        "status": "ok",
        "message": "AI Agent Server is running",
        "version": VERSION,
        "timestamp": now_iso(),
    }))
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
            "tools": false,
            "authentication": app.auth_enabled(),
            "client": false,
        },
        "timestamp": now_iso(),
    }))
}

async fn verify() -> ApiJson<Value> {
    ApiJson(json!({"valid": true, "timestamp": now_iso()}))
}
