//! Workspaces: `GET/POST /api/workspaces`, `GET/PATCH/PUT/DELETE /api/workspaces/:id` and the
//! sidebar list `GET /api/workspaces/:id/sessions` (`PROTOCOL.md` §3 A3, A6, A7, tier C).
//! Each handler is one call of the session core.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::Caller;
use super::paging::{decode_cursor, encode_cursor, parse_flag, parse_limit, parse_status};
use super::workspace_input::{parse_create, parse_update};
use crate::app::AppState;
use crate::error::{ApiJson, ApiQuery, AppError};
use crate::store::{Session, sessions::SessionQuery};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/workspaces", get(list).post(create))
        .route(
            "/workspaces/{id}",
            get(show).patch(update).put(update).delete(remove),
        )
        .route("/workspaces/{id}/sessions", get(sessions))
}

async fn list(
    State(app): State<AppState>,
    Caller(scope): Caller,
) -> Result<ApiJson<Value>, AppError> {
    let workspaces = app.sessions.workspaces(&scope).await?;
    Ok(ApiJson(json!({ "workspaces": workspaces })))
}

async fn create(
    State(app): State<AppState>,
    Caller(scope): Caller,
    ApiJson(body): ApiJson<Value>,
) -> Result<(StatusCode, ApiJson<Value>), AppError> {
    let input = parse_create(&body)?;
    let ws = app.sessions.create_workspace(&scope, input).await?;
    Ok((StatusCode::CREATED, ApiJson(json!({ "workspace": ws }))))
}

async fn show(
    State(app): State<AppState>,
    Caller(scope): Caller,
    Path(id): Path<String>,
) -> Result<ApiJson<Value>, AppError> {
    let ws = app.sessions.workspace(&scope, &id).await?;
    Ok(ApiJson(json!({ "workspace": ws })))
}

async fn update(
    State(app): State<AppState>,
    Caller(scope): Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<Value>,
) -> Result<ApiJson<Value>, AppError> {
    // An unknown id is 404 even when the body is also wrong.
    app.sessions.workspace(&scope, &id).await?;
    let input = parse_update(&body)?;
    let ws = app.sessions.update_workspace(&scope, &id, input).await?;
    Ok(ApiJson(json!({ "workspace": ws })))
}

async fn remove(
    State(app): State<AppState>,
    Caller(scope): Caller,
    Path(id): Path<String>,
) -> Result<ApiJson<Value>, AppError> {
    let deleted = app.sessions.delete_workspace(&scope, &id).await?;
    Ok(ApiJson(
        json!({ "success": true, "deletedSessions": deleted }),
    ))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SessionsQuery {
    root_only: Option<String>,
    status: Option<String>,
    limit: Option<String>,
    cursor: Option<String>,
}

/// Default page size when only a cursor is given.
const DEFAULT_PAGE: u32 = 50;

async fn sessions(
    State(app): State<AppState>,
    Caller(scope): Caller,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<SessionsQuery>,
) -> Result<ApiJson<SessionList>, AppError> {
    let limit = parse_limit(q.limit.as_deref())?;
    let after = q.cursor.as_deref().map(decode_cursor).transpose()?;
    let paged = limit.is_some() || after.is_some();
    let limit = if paged {
        Some(limit.unwrap_or(DEFAULT_PAGE))
    } else {
        None
    };
    let query = SessionQuery {
        workspace_id: Some(id.clone()),
        root_only: parse_flag("rootOnly", q.root_only.as_deref())?,
        status: parse_status(q.status.as_deref())?,
        limit,
        after,
    };
    let page = app.store.list_sessions(&scope, &query).await?;
    // A non-empty page proves the workspace exists and is visible; only an empty one needs the
    // extra lookup to tell "no sessions" from 404 (the sidebar list is the hottest read).
    if page.sessions.is_empty() {
        app.sessions.workspace(&scope, &id).await?;
    }
    let pagination = limit.map(|limit| Pagination {
        next_cursor: page.next.as_ref().map(|(u, i)| encode_cursor(u, i)),
        has_more: page.next.is_some(),
        limit,
    });
    Ok(ApiJson(SessionList {
        sessions: page.sessions,
        pagination,
    }))
}

/// The sidebar list, serialized straight from the rows (no intermediate `Value`).
#[derive(Serialize)]
struct SessionList {
    sessions: Vec<Session>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pagination: Option<Pagination>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Pagination {
    next_cursor: Option<String>,
    has_more: bool,
    limit: u32,
}
