//! `GET /api/workspaces/:id/files` (tree and search), `file-preview`, and the editor's `file`
//! read and save (`PROTOCOL-AGENT.md` §13.2, 13.5–13.7). The work is in [`crate::files`]; this
//! file turns queries into calls and [`FileError`]s into statuses.
//!
//! One deliberate difference: a tree `path` that leaves the workspace is 403 "Path outside
//! workspace" like on every other route (upstream folds it into its 404 "Path not found").

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::routes::Routes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::Caller;
use crate::app::AppState;
use crate::error::{ApiJson, ApiQuery, AppError, FieldError};
use crate::files::tree::{self, Links, ListOptions, MAX_TREE_ENTRIES};
use crate::files::{FileError, Roots, edit, git, preview, roots, search};
use crate::store::Scope;

pub fn router() -> Routes {
    Routes::new()
        .route("/api/workspaces/{id}/files", get(files))
        .route("/api/workspaces/{id}/file-preview", get(file_preview))
        .route("/api/workspaces/{id}/file", get(read_file).put(save_file))
}

/// The roots of workspace `id`, or 404 `Workspace not found` when the caller cannot see it.
pub(crate) async fn workspace_roots(
    app: &AppState,
    scope: &Scope,
    id: &str,
) -> Result<Roots, AppError> {
    let ws = app.sessions.workspace(scope, id).await?;
    Ok(Roots::new(&ws.path, &ws.additional_paths))
}

/// Run blocking file work off the async threads.
pub(crate) async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, AppError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(AppError::internal)
}

/// A [`FileError`] as an HTTP answer; `missing` words the 404 of [`FileError::Missing`].
pub(crate) fn file_error(e: FileError, missing: &str) -> Response {
    match e {
        FileError::Outside => AppError::Forbidden(e.to_string()).into_response(),
        FileError::Missing => AppError::NotFound(missing.to_owned()).into_response(),
        FileError::NotFound(m) => AppError::NotFound(m.into()).into_response(),
        FileError::BadRequest(m) => AppError::BadRequest(m.into()).into_response(),
        FileError::TooLarge => AppError::PayloadTooLarge(e.to_string()).into_response(),
        FileError::Conflict(details) => (
            StatusCode::CONFLICT,
            axum::Json(json!({
                "error": "conflict",
                "message": "File has been modified by another process",
                "details": details,
            })),
        )
            .into_response(),
        FileError::Io(io) => AppError::internal(io).into_response(),
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct TreeQuery {
    path: Option<String>,
    search: Option<String>,
    limit: Option<String>,
    show_hidden: Option<String>,
    root: Option<String>,
}

/// Sets its flag when dropped: a search whose request was abandoned stops walking.
struct CancelOnDrop(Arc<AtomicBool>);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

async fn files(
    State(app): State<AppState>,
    Caller(scope): Caller,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<TreeQuery>,
) -> Result<Response, AppError> {
    let roots = workspace_roots(&app, &scope, &id).await?;
    let selected = roots.select_or_main(q.root.as_deref());
    let show_hidden = q.show_hidden.as_deref() != Some("false");
    let root_shown = selected.root.to_string_lossy().into_owned();
    if let Some(query) = q.search.filter(|s| !s.is_empty()) {
        let limit = q.limit.and_then(|l| l.parse().ok()).unwrap_or(20);
        let cancel = CancelOnDrop(Arc::new(AtomicBool::new(false)));
        let flag = Arc::clone(&cancel.0);
        let root = selected.root.clone();
        let hits = blocking(move || {
            let real = std::fs::canonicalize(&root).unwrap_or(root);
            search::search(&real, &query, limit, show_hidden, &flag)
        })
        .await?;
        drop(cancel);
        return Ok(
            ApiJson(json!({"files": hits, "currentPath": "", "mode": "search",
                                 "root": root_shown, "isMain": selected.is_main}))
            .into_response(),
        );
    }
    let path = q.path.unwrap_or_default();
    let base = selected.root.clone();
    let all = roots.all();
    let input = path.clone();
    let listing = blocking(move || {
        let at = roots::confine(&base, &input, std::slice::from_ref(&base))?;
        let real_roots: Vec<PathBuf> = all
            .iter()
            .filter_map(|r| std::fs::canonicalize(r).ok())
            .collect();
        let opts = ListOptions {
            show_hidden,
            dirs_only: false,
            links: Links::Within(&real_roots),
            max: MAX_TREE_ENTRIES,
        };
        let listing = tree::list(&at.real, opts)?;
        Ok::<_, FileError>((listing, roots::relative(&at.lexical, &base)))
    });
    let (listing, status) = tokio::join!(listing, git::status(&selected.root));
    let (mut listing, dir) = match listing? {
        Ok(found) => found,
        Err(FileError::Outside) => return Ok(file_error(FileError::Outside, "")),
        Err(FileError::Io(e)) if e.kind() != std::io::ErrorKind::NotFound => {
            tracing::debug!(error = %e, "file tree: cannot list");
            return Err(AppError::NotFound("Path not found".into()));
        }
        Err(_) => return Err(AppError::NotFound("Path not found".into())),
    };
    git::attach(&mut listing.entries, &dir, &status);
    Ok(ApiJson(Browse {
        files: listing.entries,
        current_path: path,
        mode: "browse",
        root: root_shown,
        is_main: selected.is_main,
        git: status.availability,
        truncated: listing.truncated,
    })
    .into_response())
}

/// The tree's browse answer, serialized straight from the entries (10,000 of them are common).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Browse {
    files: Vec<tree::Entry>,
    current_path: String,
    mode: &'static str,
    root: String,
    is_main: bool,
    git: git::Availability,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    truncated: bool,
}

#[derive(Debug, Deserialize)]
struct PathQuery {
    path: Option<String>,
    root: Option<String>,
}

fn required_path(q: &PathQuery) -> Result<String, AppError> {
    match q.path.as_deref() {
        Some(p) if !p.is_empty() => Ok(p.to_owned()),
        _ => Err(AppError::BadRequest(
            "Path query parameter is required".into(),
        )),
    }
}

async fn file_preview(
    State(app): State<AppState>,
    Caller(scope): Caller,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<PathQuery>,
) -> Result<Response, AppError> {
    let path = required_path(&q)?;
    let roots = workspace_roots(&app, &scope, &id).await?;
    let base = roots.select_or_main(q.root.as_deref()).root;
    Ok(
        match blocking(move || preview::preview(&roots, &base, &path)).await? {
            Ok(p) => ApiJson(p).into_response(),
            Err(e) => file_error(e, "File not found"),
        },
    )
}

async fn read_file(
    State(app): State<AppState>,
    Caller(scope): Caller,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<PathQuery>,
) -> Result<Response, AppError> {
    let path = required_path(&q)?;
    let roots = workspace_roots(&app, &scope, &id).await?;
    let root = editor_root(&roots, q.root.as_deref())?;
    Ok(match blocking(move || edit::read(&root, &path)).await? {
        Ok(f) => ApiJson(f).into_response(),
        Err(e) => file_error(e, "File not found"),
    })
}

/// The editor's root: an unknown `root` is an error here (§13.1).
fn editor_root(roots: &Roots, root: Option<&str>) -> Result<PathBuf, AppError> {
    roots
        .select(root)
        .map(|s| s.root)
        .ok_or_else(|| AppError::BadRequest("Invalid workspace root".into()))
}

async fn save_file(
    State(app): State<AppState>,
    Caller(scope): Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<Value>,
) -> Result<Response, AppError> {
    let roots = workspace_roots(&app, &scope, &id).await?;
    let input = parse_save(&body)?;
    let root = editor_root(&roots, input.root.as_deref())?;
    let saved =
        blocking(move || edit::save(&root, &input.path, &input.content, &input.expected)).await?;
    Ok(match saved {
        Ok(s) => ApiJson(s).into_response(),
        Err(e) => file_error(e, "File not found"),
    })
}

struct SaveInput {
    path: String,
    content: String,
    expected: String,
    root: Option<String>,
}

/// The `PUT file` body: `path` and `expectedRevision` non-empty strings, `content` a string,
/// `root` an optional string, `force` an optional boolean (it skips nothing, §13.7).
fn parse_save(body: &Value) -> Result<SaveInput, AppError> {
    let empty = Map::new();
    let o = body.as_object().unwrap_or(&empty);
    let mut errors = Vec::new();
    let mut text = |key: &str, required: bool, message: &str| match o.get(key) {
        Some(Value::String(s)) if !required || !s.is_empty() => Some(s.clone()),
        Some(Value::String(_)) | None | Some(Value::Null) if required => {
            errors.push(FieldError::new(key, message));
            None
        }
        None | Some(Value::Null) => None,
        Some(_) => {
            errors.push(FieldError::new(key, format!("{key} must be a string")));
            None
        }
    };
    let path = text("path", true, "path is required");
    let expected = text("expectedRevision", true, "expectedRevision is required");
    let root = text("root", false, "");
    let content = match o.get("content") {
        Some(Value::String(s)) => Some(s.clone()),
        _ => {
            errors.push(FieldError::new("content", "content must be a string"));
            None
        }
    };
    if !matches!(o.get("force"), None | Some(Value::Null | Value::Bool(_))) {
        errors.push(FieldError::new("force", "force must be a boolean"));
    }
    match (path, content, expected) {
        (Some(path), Some(content), Some(expected)) if errors.is_empty() => Ok(SaveInput {
            path,
            content,
            expected,
            root,
        }),
        _ => Err(AppError::Validation(errors)),
    }
}
