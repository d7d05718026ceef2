//! Sessions over REST: `POST/GET /api/sessions` (for curl and scripts; the clients create
//! sessions over the WebSocket), `GET/PUT/DELETE /api/sessions/:id` and
//! `GET /api/sessions/:id/transcript` (`PROTOCOL.md` §3 tier C).

use crate::routes::Routes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::Caller;
use super::paging::{json_response, list_body, parse_limit, parse_status};
use crate::app::AppState;
use crate::error::{ApiJson, ApiQuery, AppError, FieldError};
use crate::events::event::Transcript;
use crate::sessions::NewSessionInput;
use crate::store::SessionStatus;
use crate::store::messages::TRANSCRIPT_PAGE;
use crate::store::sessions::{SessionPatch, SessionQuery};

pub fn router() -> Routes {
    Routes::new()
        .route("/api/sessions", get(list).post(create))
        .route("/api/sessions/{id}", get(show).put(update).delete(remove))
        .route("/api/sessions/{id}/transcript", get(transcript))
}

fn object(body: &Value) -> Result<&Map<String, Value>, AppError> {
    body.as_object()
        .ok_or_else(|| AppError::Validation(vec![FieldError::new("", "Expected a JSON object")]))
}

/// An optional string field; a present non-string is a validation error.
fn opt_str(o: &Map<String, Value>, key: &str, errors: &mut Vec<FieldError>) -> Option<String> {
    match o.get(key) {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.trim().to_owned()),
        Some(_) => {
            errors.push(FieldError::new(key, format!("{key} must be a string")));
            None
        }
    }
}

async fn create(
    State(app): State<AppState>,
    Caller(scope): Caller,
    ApiJson(body): ApiJson<Value>,
) -> Result<(StatusCode, ApiJson<Value>), AppError> {
    let o = object(&body)?;
    let mut errors = Vec::new();
    let workspace_id = opt_str(o, "workspaceId", &mut errors).filter(|s| !s.is_empty());
    let input = NewSessionInput {
        title: opt_str(o, "title", &mut errors),
        preconfig_id: opt_str(o, "preconfigId", &mut errors),
        id: opt_str(o, "id", &mut errors),
        workspace_id: workspace_id.clone(),
    };
    if workspace_id.is_none() && !errors.iter().any(|e| e.path == "workspaceId") {
        errors.insert(0, FieldError::new("workspaceId", "workspaceId is required"));
    }
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    let session = app.sessions.create_session(&scope, input).await?;
    Ok((StatusCode::CREATED, ApiJson(json!({ "session": session }))))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ListQuery {
    workspace_id: Option<String>,
    status: Option<String>,
}

async fn list(
    State(app): State<AppState>,
    Caller(scope): Caller,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<Response, AppError> {
    let query = SessionQuery {
        workspace_id: q.workspace_id.filter(|s| !s.is_empty()),
        status: parse_status(q.status.as_deref())?,
        ..SessionQuery::default()
    };
    let page = app.store.list_sessions_json(&scope, &query).await?;
    Ok(json_response(list_body("sessions", &page.json)))
}

async fn show(
    State(app): State<AppState>,
    Caller(scope): Caller,
    Path(id): Path<String>,
) -> Result<ApiJson<Value>, AppError> {
    let s = app.sessions.session(&scope, &id).await?;
    Ok(ApiJson(json!({ "session": s })))
}

fn parse_update(body: &Value) -> Result<SessionPatch, AppError> {
    let o = object(body)?;
    let mut errors = Vec::new();
    let title = opt_str(o, "title", &mut errors);
    if title.as_deref() == Some("") {
        errors.push(FieldError::new("title", "title must not be empty"));
    }
    let status = opt_str(o, "status", &mut errors);
    if status
        .as_deref()
        .is_some_and(|s| s != "active" && s != "closed")
    {
        errors.push(FieldError::new("status", "status must be active or closed"));
    }
    let severity = opt_str(o, "autoApproveSeverity", &mut errors);
    let tags = match o.get("tags") {
        None | Some(Value::Null) => None,
        Some(Value::Array(a)) if a.iter().all(Value::is_string) => Some(
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect(),
        ),
        Some(_) => {
            errors.push(FieldError::new("tags", "tags must be an array of strings"));
            None
        }
    };
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    if title.is_none() && status.is_none() && severity.is_none() && tags.is_none() {
        return Err(AppError::BadRequest(
            "At least one of title, status, tags or autoApproveSeverity is required".into(),
        ));
    }
    Ok(SessionPatch {
        title,
        status: status.as_deref().and_then(SessionStatus::parse),
        tags,
        auto_approve_severity: severity.map(Some),
        ..SessionPatch::default()
    })
}

/// Upstream's REST update sends no WebSocket event.
async fn update(
    State(app): State<AppState>,
    Caller(scope): Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<Value>,
) -> Result<ApiJson<Value>, AppError> {
    // An unknown id is 404 even when the body is also wrong.
    app.sessions.session(&scope, &id).await?;
    let patch = parse_update(&body)?;
    let s = app.sessions.update_session(&scope, &id, patch).await?;
    Ok(ApiJson(json!({ "session": s })))
}

async fn remove(
    State(app): State<AppState>,
    Caller(scope): Caller,
    Path(id): Path<String>,
) -> Result<ApiJson<Value>, AppError> {
    app.sessions.delete_session(&scope, &id, None).await?;
    Ok(ApiJson(json!({ "success": true })))
}

#[derive(Debug, Deserialize)]
struct TranscriptQuery {
    before: Option<String>,
    limit: Option<String>,
}

async fn transcript(
    State(app): State<AppState>,
    Caller(scope): Caller,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<TranscriptQuery>,
) -> Result<ApiJson<Transcript>, AppError> {
    let limit = parse_limit(q.limit.as_deref())?.unwrap_or(TRANSCRIPT_PAGE);
    let before = match q.before.as_deref().filter(|b| !b.is_empty()) {
        None => None,
        Some(raw) => Some(raw.trim().parse::<i64>().map_err(|_| {
            AppError::BadRequest(format!(
                "before must be a message sequence number (got {raw:?})"
            ))
        })?),
    };
    let page = app.sessions.transcript(&scope, &id, before, limit).await?;
    Ok(ApiJson(page))
}
