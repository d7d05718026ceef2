//! Workspaces: `GET/POST /api/workspaces`, `GET/PATCH/PUT/DELETE /api/workspaces/:id` and the
//! sidebar list `GET /api/workspaces/:id/sessions` (`PROTOCOL.md` §3 A3, A6, A7, tier C).
//! Changes are one call each of the session core; the two lists are read from the store's JSON
//! bytes and page cache (the hottest reads), the core only creating the default workspace.

use crate::routes::Routes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use bytes::Bytes;
use serde::Deserialize;
use serde_json::{Value, json};

use super::Caller;
use super::paging::{
    Pagination, decode_cursor, encode_cursor, json_response, list_body, parse_flag, parse_limit,
    parse_status, session_page_body,
};
use super::workspace_input::{parse_create, parse_update};
use crate::app::AppState;
use crate::error::{ApiJson, ApiQuery, AppError};
use crate::store::{PageKey, sessions::SessionQuery};

pub fn router() -> Routes {
    Routes::new()
        .route("/api/workspaces", get(list).post(create))
        .route(
            "/api/workspaces/{id}",
            get(show).patch(update).put(update).delete(remove),
        )
        .route("/api/workspaces/{id}/sessions", get(sessions))
}

/// The workspace list, serialized by the store straight from its rows and served from the
/// store's page cache until a workspace is written.
async fn list(State(app): State<AppState>, Caller(scope): Caller) -> Result<Response, AppError> {
    let key = PageKey::workspaces(scope.owner());
    let generation = app.store.page_generation(&key);
    if let Some(body) = app.store.cached_page(&key) {
        return Ok(json_response(body));
    }
    let list = app.store.list_workspaces_json(&scope).await?;
    if list.len > 0 {
        let body = Bytes::from(list_body("workspaces", &list.json));
        app.store.keep_page(key, generation, body.clone());
        return Ok(json_response(body));
    }
    // None yet: the core makes upstream's default virtual workspace.
    let workspaces = app.sessions.workspaces(&scope).await?;
    let array = serde_json::to_vec(&workspaces).map_err(AppError::internal)?;
    Ok(json_response(list_body("workspaces", &array)))
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

/// The sidebar list. Rows go from the store into the response bytes without an intermediate
/// value, and the first page of a workspace is served from the store's page cache until a write
/// touches that workspace's sessions.
async fn sessions(
    State(app): State<AppState>,
    Caller(scope): Caller,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<SessionsQuery>,
) -> Result<Response, AppError> {
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
    // Only first pages are cached (later ones are read once each while scrolling).
    let key = (query.after.is_none() && limit.is_some()).then(|| {
        let q = format!("{}|{:?}|{limit:?}", query.root_only, query.status);
        PageKey::sessions(scope.owner(), &id, &q)
    });
    // Taken before the read: a write that lands during it retires what this read caches.
    let generation = key.as_ref().map(|k| app.store.page_generation(k));
    if let Some(body) = key.as_ref().and_then(|k| app.store.cached_page(k)) {
        return Ok(json_response(body));
    }
    let page = app.store.list_sessions_json(&scope, &query).await?;
    // A non-empty page proves the workspace exists and is visible; only an empty one needs the
    // extra lookup to tell "no sessions" from 404 (the sidebar list is the hottest read).
    if page.len == 0 {
        app.sessions.workspace(&scope, &id).await?;
    }
    let pagination = limit.map(|limit| Pagination {
        next_cursor: page.next.as_ref().map(|(u, i)| encode_cursor(u, i)),
        has_more: page.next.is_some(),
        limit,
    });
    let body = Bytes::from(session_page_body(&page.json, pagination.as_ref()));
    if let (Some(key), Some(generation)) = (key, generation) {
        app.store.keep_page(key, generation, body.clone());
    }
    Ok(json_response(body))
}
