//! Tier-B endpoints (`PROTOCOL.md` §3): the clients fetch these at start-up or when a session
//! opens. Each answers 200 with the exact empty shape the clients accept — an honest "there is
//! nothing here" for a feature this server has not built yet (provider connections,
//! agents, tags, scheduled jobs, response formats).
//! Routes under a workspace still check that the workspace exists (404 otherwise).

use crate::routes::Routes;
use axum::extract::{Path, State};
use axum::routing::get;
use serde_json::{Value, json};

use super::Caller;
use crate::app::AppState;
use crate::error::{ApiJson, AppError};

pub fn router() -> Routes {
    Routes::new()
        .route("/api/providers", get(|| empty(json!({"providers": []}))))
        .route("/api/agents", get(|| empty(json!({"agents": []}))))
        .route(
            "/api/response-formats",
            get(|| empty(json!({"formats": []}))),
        )
        .route("/api/workspaces/{id}/scheduled-jobs", get(scheduled_jobs))
}

async fn empty(body: Value) -> ApiJson<Value> {
    ApiJson(body)
}

/// 404 `Workspace not found` unless the caller can see workspace `id`; then `body`.
async fn in_workspace(
    app: &AppState,
    scope: &crate::store::Scope,
    id: &str,
    body: Value,
) -> Result<ApiJson<Value>, AppError> {
    app.sessions.workspace(scope, id).await?;
    Ok(ApiJson(body))
}

async fn scheduled_jobs(
    State(app): State<AppState>,
    Caller(scope): Caller,
    Path(id): Path<String>,
) -> Result<ApiJson<Value>, AppError> {
    in_workspace(&app, &scope, &id, json!({"jobs": []})).await
}
