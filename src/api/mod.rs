//! REST handlers, one file per resource. Handlers translate HTTP to core calls and back.
//! [`public_router`] holds the routes that never need a token; [`router`] everything under
//! `/api` that does.

pub mod attachments;
pub mod client;
pub mod config_error;
pub mod credentials;
pub mod files;
pub mod fs;
pub mod git;
pub mod meta;
pub mod models;
pub mod models_config;
pub mod oauth;
pub mod paging;
pub mod pins;
pub mod preconfigs;
pub mod prompts;
pub mod sessions;
pub mod sessions_views;
pub mod stubs;
pub mod terminal;
pub mod tools;
pub mod workspace_input;
pub mod workspaces;

use crate::routes::Routes;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;

use crate::auth::Principal;
use crate::error::AppError;
use crate::sessions::Error as CoreError;
use crate::store::Scope;

/// Routes open to everyone (`GET /`, `/api/health`, `/api/info`), and the attachment content
/// route, whose `?key=` is its credential.
pub fn public_router() -> Routes {
    meta::public_router().merge(attachments::public_router())
}

/// Routes under `/api` behind the auth layer (paths here are relative to `/api`).
pub fn router() -> Routes {
    Routes::new()
        .merge(meta::router())
        .merge(workspaces::router())
        .merge(sessions::router())
        .merge(sessions_views::router())
        .merge(attachments::router())
        .merge(pins::router())
        .merge(models::router())
        .merge(models_config::router())
        .merge(credentials::router())
        .merge(prompts::router())
        .merge(tools::router())
        .merge(preconfigs::router())
        .merge(stubs::router())
        .merge(files::router())
        .merge(fs::router())
        .merge(git::router())
        .merge(terminal::router())
}

/// What the caller may see, from the `Principal` the auth layer attached
/// ([`Principal::scope`] is the one place that mapping lives).
#[derive(Debug, Clone)]
pub struct Caller(pub Scope);

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        match parts.extensions.get::<Principal>() {
            Some(p) => Ok(Caller(p.scope())),
            None => Err(AppError::internal(anyhow::anyhow!(
                "route is not behind the auth layer (no principal)"
            ))),
        }
    }
}

impl From<CoreError> for AppError {
    fn from(e: CoreError) -> Self {
        match e {
            CoreError::NotFound(_) => AppError::NotFound(e.to_string()),
            CoreError::Invalid(m) => AppError::BadRequest(m),
            CoreError::Forbidden(m) => AppError::Forbidden(m),
            CoreError::Conflict(m) => AppError::Conflict(m),
            CoreError::Store(e) => e.into(),
        }
    }
}
