//! Workspaces: `GET/POST /api/workspaces`, `GET/PATCH/PUT/DELETE /api/workspaces/:id` and the
//! sidebar list `GET /api/workspaces/:id/sessions` (`PROTOCOL.md` §3 A3, A6, A7, tier C).

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use bytes::Bytes;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::paging::{
    Pagination, decode_cursor, encode_cursor, json_response, list_body, parse_flag, parse_limit,
    parse_status, session_page_body,
};
use super::workspace_input::{existing_paths, make_dir, parse_create, parse_update};
use super::{Caller, not_found};
use crate::app::AppState;
use crate::error::{ApiJson, ApiQuery, AppError};
use crate::store::workspaces::{NewWorkspace, WorkspacePatch};
use crate::store::{PageKey, Scope, Workspace, sessions::SessionQuery};
use crate::time::now_iso;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/workspaces", get(list).post(create))
        .route(
            "/workspaces/{id}",
            get(show).patch(update).put(update).delete(remove),
        )
        .route("/workspaces/{id}/sessions", get(sessions))
}

/// Serializes creation of the default workspace so two first loads make only one.
static DEFAULT_WORKSPACE: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn default_settings() -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("autoApproveSeverity".into(), json!("low"));
    m
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
    // Upstream quirk the clients rely on: an empty list gets a default virtual workspace.
    let _guard = DEFAULT_WORKSPACE.lock().await;
    let mut workspaces = app.store.list_workspaces(&scope).await?;
    if workspaces.is_empty() {
        workspaces.push(create_default(&app, &scope).await?);
    }
    // Field order as on the cached path (a `Value` would sort the keys).
    let array = serde_json::to_vec(&workspaces).map_err(AppError::internal)?;
    Ok(json_response(list_body("workspaces", &array)))
}

async fn create_default(app: &AppState, scope: &Scope) -> Result<Workspace, AppError> {
    let id = uuid::Uuid::new_v4().to_string();
    let dir = app.settings.data_dir.join("workspaces").join(&id);
    tokio::fs::create_dir_all(&dir)
        .await
        .map_err(|e| AppError::internal(anyhow::anyhow!("cannot create {}: {e}", dir.display())))?;
    let new = NewWorkspace {
        id,
        name: "Virtual Workspace".into(),
        path: dir.display().to_string(),
        is_virtual: true,
        additional_paths: Vec::new(),
        settings: default_settings(),
    };
    tracing::info!(workspace.path = %new.path, "created the default virtual workspace");
    Ok(app.store.create_workspace(scope, new, &now_iso()).await?)
}

/// Folders of the server's file system are the owner's: a person signed in through OAuth (or an
/// application's key) gets virtual workspaces only, never a path of their choosing.
fn server_folders_are_the_owners(scope: &Scope) -> Result<(), AppError> {
    match scope {
        Scope::All => Ok(()),
        Scope::Owner(_) => Err(AppError::Forbidden(
            "Only the server's owner may use folders of the server as workspaces; create a virtual workspace instead ({\"name\": ..., \"isVirtual\": true} without a path)".into(),
        )),
    }
}

async fn create(
    State(app): State<AppState>,
    Caller(scope): Caller,
    ApiJson(body): ApiJson<Value>,
) -> Result<(StatusCode, ApiJson<Value>), AppError> {
    let input = parse_create(&body)?;
    if input.path.is_some() || !input.additional_paths.is_empty() {
        server_folders_are_the_owners(&scope)?;
    }
    let id = uuid::Uuid::new_v4().to_string();
    let dir = make_dir(&input, &app.settings.data_dir, &id).await?;
    let new = NewWorkspace {
        id,
        name: input.name,
        path: dir.display().to_string(),
        is_virtual: input.is_virtual,
        additional_paths: existing_paths(&input.additional_paths).await,
        settings: input.settings.unwrap_or_else(default_settings),
    };
    let ws = app.store.create_workspace(&scope, new, &now_iso()).await?;
    Ok((StatusCode::CREATED, ApiJson(json!({ "workspace": ws }))))
}

async fn show(
    State(app): State<AppState>,
    Caller(scope): Caller,
    Path(id): Path<String>,
) -> Result<ApiJson<Value>, AppError> {
    let ws = app
        .store
        .get_workspace(&scope, &id)
        .await
        .map_err(not_found("Workspace"))?;
    Ok(ApiJson(json!({ "workspace": ws })))
}

async fn update(
    State(app): State<AppState>,
    Caller(scope): Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<Value>,
) -> Result<ApiJson<Value>, AppError> {
    // An unknown id is 404 even when the body is also wrong.
    app.store
        .get_workspace(&scope, &id)
        .await
        .map_err(not_found("Workspace"))?;
    let input = parse_update(&body)?;
    if input.additional_paths.is_some() {
        server_folders_are_the_owners(&scope)?;
    }
    let additional_paths = match &input.additional_paths {
        Some(p) => Some(existing_paths(p).await),
        None => None,
    };
    let patch = WorkspacePatch {
        name: input.name,
        additional_paths,
        settings: input.settings,
    };
    let ws = app
        .store
        .update_workspace(&scope, &id, patch, &now_iso())
        .await
        .map_err(not_found("Workspace"))?;
    Ok(ApiJson(json!({ "workspace": ws })))
}

async fn remove(
    State(app): State<AppState>,
    Caller(scope): Caller,
    Path(id): Path<String>,
) -> Result<ApiJson<Value>, AppError> {
    let deleted = app
        .store
        .delete_workspace(&scope, &id)
        .await
        .map_err(not_found("Workspace"))?;
    for s in &deleted {
        super::sessions::forget_deleted(&app, s);
    }
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
        app.store
            .get_workspace(&scope, &id)
            .await
            .map_err(not_found("Workspace"))?;
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
