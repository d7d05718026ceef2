//! `GET /api/workspaces/:id/git/status` and `git/diff` (`PROTOCOL-AGENT.md` §13.3–13.4). Both
//! answer 200 whatever git says (the reason is in the body); only an unknown workspace (404) and
//! a diff without `path` (400) are errors. `path=.` (or any directory) diffs every changed file
//! under it, in `files`.

use crate::routes::Routes;
use axum::extract::{Path, State};
use axum::routing::get;
use serde::Deserialize;
use serde_json::{Value, json};

use super::Caller;
use super::files::{blocking, workspace_roots};
use crate::app::AppState;
use crate::error::{ApiJson, ApiQuery, AppError};
use crate::files::git::{self, FileDiff};
use crate::files::{FileError, roots};

pub fn router() -> Routes {
    Routes::new()
        .route("/api/workspaces/{id}/git/status", get(status))
        .route("/api/workspaces/{id}/git/diff", get(diff))
}

#[derive(Debug, Deserialize)]
struct GitQuery {
    path: Option<String>,
    root: Option<String>,
}

async fn status(
    State(app): State<AppState>,
    Caller(scope): Caller,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<GitQuery>,
) -> Result<ApiJson<Value>, AppError> {
    let roots = workspace_roots(&app, &scope, &id).await?;
    let root = roots.select_or_main(q.root.as_deref()).root;
    let st = git::status(&root).await;
    let files: Vec<Value> = st
        .files
        .iter()
        .filter(|(_, s)| s.status != git::status::Status::Ignored)
        .map(|(path, s)| json!({"path": path, "git": s}))
        .collect();
    Ok(ApiJson(json!({
        "availability": st.availability,
        "files": files,
        "root": root.to_string_lossy(),
    })))
}

async fn diff(
    State(app): State<AppState>,
    Caller(scope): Caller,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<GitQuery>,
) -> Result<ApiJson<FileDiff>, AppError> {
    let shown = match q.path.as_deref() {
        Some(p) if !p.is_empty() => p.to_owned(),
        _ => {
            return Err(AppError::BadRequest(
                "Path query parameter is required".into(),
            ));
        }
    };
    let roots = workspace_roots(&app, &scope, &id).await?;
    let root = roots.select_or_main(q.root.as_deref()).root;
    let all = roots.all();
    let (base, input) = (root.clone(), shown.clone());
    // Deleted files no longer exist: confine the path, or else its parent directory.
    let located = blocking(move || {
        let at = match roots::confine(&base, &input, &all) {
            Err(FileError::Missing) => {
                let lexical = roots::normalize(&base.join(&input));
                let parent = lexical.parent().map(|p| p.to_string_lossy().into_owned());
                roots::confine(&base, &parent.unwrap_or_default(), &all)?;
                return Ok((lexical, false));
            }
            other => other?,
        };
        Ok::<_, FileError>((at.lexical, at.real.is_dir()))
    })
    .await?;
    let (lexical, is_dir) = match located {
        Ok(found) => found,
        Err(FileError::Outside) => {
            return Ok(ApiJson(FileDiff::unavailable(
                &shown,
                "path_outside_workspace",
            )));
        }
        Err(_) => return Ok(ApiJson(FileDiff::unavailable(&shown, "file_not_found"))),
    };
    if !lexical.starts_with(&root) {
        // In another root of the workspace: not this root's repository.
        return Ok(ApiJson(FileDiff::unavailable(
            &shown,
            "path_outside_workspace",
        )));
    }
    let st = git::status(&root).await;
    if !st.availability.available {
        let reason = st.availability.reason.unwrap_or("git_error");
        return Ok(ApiJson(FileDiff::unavailable(&shown, reason)));
    }
    let rel = roots::relative(&lexical, &root);
    Ok(ApiJson(if is_dir {
        git::diff::directory(&root, &st, &rel, &shown).await
    } else {
        git::diff::file(&root, &st, &rel, &shown).await
    }))
}
