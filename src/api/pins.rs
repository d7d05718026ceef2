//! Pinned messages (`PROTOCOL-AGENT.md` §16 item 10): `GET`, `POST` and
//! `DELETE …/pinned-messages[/:messageId]` under a workspace the caller can see. A refused pin
//! answers with upstream's error code (`message_not_assistant` 422, `…_not_found` 404, the
//! mismatches 400).

use crate::routes::Routes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get};
use serde_json::{Value, json};

use super::Caller;
use crate::app::AppState;
use crate::error::{ApiJson, AppError, FieldError};
use crate::sessions::Error as CoreError;
use crate::store::pins::PinRefusal;

pub fn router() -> Routes {
    Routes::new()
        .route("/api/workspaces/{id}/pinned-messages", get(list).post(pin))
        .route(
            "/api/workspaces/{id}/pinned-messages/{message_id}",
            delete(unpin),
        )
}

async fn list(
    State(app): State<AppState>,
    Caller(scope): Caller,
    Path(id): Path<String>,
) -> Result<ApiJson<Value>, AppError> {
    let workspace = app.sessions.workspace(&scope, &id).await?;
    let pins = app.store.pinned_messages(&workspace.id).await?;
    Ok(ApiJson(json!({ "pinnedMessages": pins })))
}

/// A refused pin in upstream's shape: its own code, 422 for a message that is not the
/// assistant's, 404 for what is missing, 400 for what does not belong together.
fn refused(r: PinRefusal) -> Response {
    let status = match r {
        PinRefusal::NotAssistant => StatusCode::UNPROCESSABLE_ENTITY,
        PinRefusal::WorkspaceNotFound
        | PinRefusal::SessionNotFound
        | PinRefusal::MessageNotFound => StatusCode::NOT_FOUND,
        PinRefusal::SessionWorkspaceMismatch | PinRefusal::MessageSessionMismatch => {
            StatusCode::BAD_REQUEST
        }
    };
    let body = json!({"error": r.code(), "message": r.to_string()});
    (status, axum::Json(body)).into_response()
}

/// A required non-empty string field, or its validation error (upstream's wording).
fn required(body: &Value, key: &str, errors: &mut Vec<FieldError>) -> String {
    match body.get(key).and_then(Value::as_str) {
        Some(s) if !s.is_empty() => s.to_owned(),
        _ => {
            errors.push(FieldError::new(key, format!("{key} is required")));
            String::new()
        }
    }
}

/// `POST {sessionId, messageId}` → 201 `{"pinnedMessage"}`, the existing pin included.
async fn pin(
    State(app): State<AppState>,
    Caller(scope): Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<Value>,
) -> Result<Response, AppError> {
    let mut errors = Vec::new();
    let session_id = required(&body, "sessionId", &mut errors);
    let message_id = required(&body, "messageId", &mut errors);
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    // Out of the caller's sight is unknown: the workspace, and a session of someone else.
    match app.sessions.workspace(&scope, &id).await {
        Err(CoreError::NotFound(_)) => return Ok(refused(PinRefusal::WorkspaceNotFound)),
        Err(e) => return Err(e.into()),
        Ok(_) => {}
    }
    match app.sessions.session(&scope, &session_id).await {
        Err(CoreError::NotFound(_)) => return Ok(refused(PinRefusal::SessionNotFound)),
        Err(e) => return Err(e.into()),
        Ok(_) => {}
    }
    let now = crate::time::now_ms();
    match app
        .store
        .pin_message(&id, &session_id, &message_id, now)
        .await?
    {
        Ok(pin) => Ok((
            StatusCode::CREATED,
            ApiJson(json!({ "pinnedMessage": pin })),
        )
            .into_response()),
        Err(r) => Ok(refused(r)),
    }
}

/// `DELETE …/pinned-messages/:messageId` → `{"success":true}`, pinned or not.
async fn unpin(
    State(app): State<AppState>,
    Caller(scope): Caller,
    Path((id, message_id)): Path<(String, String)>,
) -> Result<ApiJson<Value>, AppError> {
    let workspace = app.sessions.workspace(&scope, &id).await?;
    app.store.unpin_message(&workspace.id, &message_id).await?;
    Ok(ApiJson(json!({"success": true})))
}
