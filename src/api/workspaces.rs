//! Workspaces: `GET/POST /api/workspaces`, `GET/PATCH/PUT/DELETE /api/workspaces/:id` and the
//! sidebar list `GET /api/workspaces/:id/sessions` (`PROTOCOL.md` §3 A3, A6, A7, tier C).

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::paging::{decode_cursor, encode_cursor, parse_flag, parse_limit, parse_status};
use super::workspace_input::{existing_paths, make_dir, parse_create, parse_update};
use super::{Caller, not_found};
use crate::app::AppState;
use crate::error::{ApiJson, ApiQuery, AppError};
use crate::store::workspaces::{NewWorkspace, WorkspacePatch};
use crate::store::{Scope, Session, Workspace, sessions::SessionQuery};
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

async fn list(
    State(app): State<AppState>,
    Caller(scope): Caller,
) -> Result<ApiJson<Value>, AppError> {
    let mut workspaces = app.store.list_workspaces(&scope).await?;
    if workspaces.is_empty() {
        // Upstream quirk the clients rely on: an empty list gets a default virtual workspace.
        let _guard = DEFAULT_WORKSPACE.lock().await;
        workspaces = app.store.list_workspaces(&scope).await?;
        if workspaces.is_empty() {
            workspaces.push(create_default(&app, &scope).await?);
        }
    }
    Ok(ApiJson(json!({ "workspaces": workspaces })))
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
