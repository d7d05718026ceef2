//! The terminal REST routes (`PROTOCOL-AGENT.md` §13.9): list, create, show and close the
//! terminals of a workspace. A terminal is a shell on the server, so only the owner may use
//! them (403 for OAuth users and applications).

use std::path::PathBuf;

use crate::routes::Routes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};

use super::Caller;
use super::fs::owner_only;
use crate::app::AppState;
use crate::error::{ApiJson, AppError};
use crate::store::Scope;
use crate::terminal::TerminalError;

pub fn router() -> Routes {
    Routes::new()
        .route("/api/workspaces/{id}/terminals", get(list).post(create))
        .route(
            "/api/workspaces/{id}/terminals/{sid}",
            get(show).delete(close),
        )
}

/// The owner check, then the workspace's main path (404 when it does not exist).
pub(crate) async fn terminal_workspace(
    app: &AppState,
    scope: &Scope,
    id: &str,
) -> Result<PathBuf, AppError> {
    owner_only(scope, "open terminals on the server")?;
    let ws = app.sessions.workspace(scope, id).await?;
    Ok(PathBuf::from(ws.path))
}

async fn list(
    State(app): State<AppState>,
    Caller(scope): Caller,
    Path(id): Path<String>,
) -> Result<ApiJson<Value>, AppError> {
    terminal_workspace(&app, &scope, &id).await?;
    Ok(ApiJson(json!({"sessions": app.terminals.list(&id)})))
}

async fn create(
    State(app): State<AppState>,
    Caller(scope): Caller,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let cwd = terminal_workspace(&app, &scope, &id).await?;
    if !cwd.is_dir() {
        return Err(AppError::BadRequest("Path is not a directory".into()));
    }
    match app.terminals.create(&id, &cwd, None) {
        Ok(term) => Ok(ApiJson(json!({"session": term.info()})).into_response()),
        Err(e) => {
            if let TerminalError::Spawn(cause) = &e {
                tracing::error!(error = %cause, "cannot start a terminal");
            }
            Ok(limit_reached(&e))
        }
    }
}

/// 429 in upstream's shape (a spawn failure is answered the same way, §13.9).
fn limit_reached(e: &TerminalError) -> Response {
    let message = match e {
        TerminalError::LimitReached => e.to_string(),
        TerminalError::Spawn(_) => "Failed to create terminal session".to_owned(),
    };
    (
        StatusCode::TOO_MANY_REQUESTS,
        axum::Json(json!({"error": "Limit Reached", "message": message})),
    )
        .into_response()
}

async fn show(
    State(app): State<AppState>,
    Caller(scope): Caller,
    Path((id, sid)): Path<(String, String)>,
) -> Result<ApiJson<Value>, AppError> {
    terminal_workspace(&app, &scope, &id).await?;
    match app.terminals.get(&sid).filter(|t| t.workspace_id == id) {
        Some(term) => Ok(ApiJson(json!(term.info()))),
        None => Err(AppError::NotFound("Terminal session not found".into())),
    }
}

/// Always `{"success":true}` once the terminal (if it was one of this workspace's) is gone.
async fn close(
    State(app): State<AppState>,
    Caller(scope): Caller,
    Path((id, sid)): Path<(String, String)>,
) -> Result<ApiJson<Value>, AppError> {
    terminal_workspace(&app, &scope, &id).await?;
    if app
        .terminals
        .get(&sid)
        .is_some_and(|t| t.workspace_id == id)
    {
        app.terminals.close(&sid).await;
    }
    Ok(ApiJson(json!({"success": true})))
}
