//! The folder picker, `GET /api/fs/browse`, `/api/fs/parent` and `/api/fs/drives`
//! (`PROTOCOL-AGENT.md` §13.8). These list the server's own disk, so only its owner (shared
//! token, or auth off) may call them; a person or application signed in through OAuth gets 403
//! (they have virtual workspaces only).

use std::path::PathBuf;

use crate::routes::Routes;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;
use serde_json::json;

use super::Caller;
use super::files::blocking;
use crate::error::{ApiJson, ApiQuery, AppError};
use crate::files::browse;
use crate::store::Scope;

pub fn router() -> Routes {
    Routes::new()
        .route("/api/fs/browse", get(browse_route))
        .route("/api/fs/parent", get(parent_route))
        .route("/api/fs/drives", get(drives_route))
}

/// 403 unless the caller is the server's owner.
pub(crate) fn owner_only(scope: &Scope, what: &str) -> Result<(), AppError> {
    match scope {
        Scope::All => Ok(()),
        Scope::Owner(_) => Err(AppError::Forbidden(format!(
            "Only the server's owner may {what}"
        ))),
    }
}

#[derive(Debug, Deserialize)]
struct FsQuery {
    path: Option<String>,
}

fn home() -> PathBuf {
    std::env::var_os("HOME")
        .map(PathBuf::from)
        .filter(|h| h.is_absolute())
        .unwrap_or_else(|| PathBuf::from("/"))
}

/// Upstream's exact 400 for a folder that cannot be listed (note the `error` text).
fn cannot_access() -> Response {
    (
        StatusCode::BAD_REQUEST,
        axum::Json(json!({"error": "Bad Request", "message": "Cannot access path"})),
    )
        .into_response()
}

async fn browse_route(
    Caller(scope): Caller,
    ApiQuery(q): ApiQuery<FsQuery>,
) -> Result<Response, AppError> {
    owner_only(&scope, "browse the server's folders")?;
    let path = q.path.unwrap_or_default();
    Ok(
        match blocking(move || browse::browse(&path, &home())).await? {
            Ok(folder) => ApiJson(folder).into_response(),
            Err(_) => cannot_access(),
        },
    )
}

async fn parent_route(
    Caller(scope): Caller,
    ApiQuery(q): ApiQuery<FsQuery>,
) -> Result<Response, AppError> {
    owner_only(&scope, "browse the server's folders")?;
    let path = q.path.unwrap_or_default();
    Ok(
        match blocking(move || browse::parent(&path, &home())).await? {
            Ok(folder) => ApiJson(folder).into_response(),
            Err(_) => cannot_access(),
        },
    )
}

async fn drives_route(Caller(scope): Caller) -> Result<ApiJson<serde_json::Value>, AppError> {
    owner_only(&scope, "browse the server's folders")?;
    Ok(ApiJson(json!({"drives": browse::drives()})))
}
