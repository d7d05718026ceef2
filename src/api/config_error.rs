//! The errors of the server-configuration routes (credentials, models catalog, prompts,
//! preconfigs, tool environment), in the shape of `PROTOCOL-AGENT.md` §14: `{"error":
//! "bad_request"|"not_found"|"conflict"|"forbidden"|"persistence_error","message","details"?}`.
//! Unlike [`AppError`], a 400 here may carry a list of problems, and a failed write is a 500
//! `persistence_error` that says what could not be saved (never a secret).
//!
//! Also the rules every configuration change shares: only the server owner may make one
//! ([`require_owner`]), and the file work runs off the async runtime, one change at a time
//! ([`serialized`]).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::Caller;
use crate::error::AppError;
use crate::llm::registry::edit::{CatalogError, SaveError};
use crate::store::Scope;

#[derive(Debug, thiserror::Error)]
pub enum ConfigApiError {
    /// 400 `bad_request`, with `details` when there is a list of problems.
    #[error("{message}")]
    BadRequest {
        message: String,
        details: Option<Value>,
    },
    /// 403 `forbidden`.
    #[error("{0}")]
    Forbidden(String),
    /// 404 `not_found`.
    #[error("{0}")]
    NotFound(String),
    /// 409 `conflict`.
    #[error("{0}")]
    Conflict(String),
    /// 500 `persistence_error`: a file could not be written; the message names it.
    #[error("{0}")]
    Persistence(String),
    /// Anything else, answered as the rest of the API answers it.
    #[error(transparent)]
    App(#[from] AppError),
}

impl ConfigApiError {
    pub fn bad(message: impl Into<String>) -> Self {
        ConfigApiError::BadRequest {
            message: message.into(),
            details: None,
        }
    }

    pub fn bad_with(message: impl Into<String>, details: Vec<String>) -> Self {
        ConfigApiError::BadRequest {
            message: message.into(),
            details: Some(json!(details)),
        }
    }
}

impl IntoResponse for ConfigApiError {
    fn into_response(self) -> Response {
        let message = self.to_string();
        let (status, code, details) = match self {
            ConfigApiError::App(e) => return e.into_response(),
            ConfigApiError::BadRequest { details, .. } => {
                (StatusCode::BAD_REQUEST, "bad_request", details)
            }
            ConfigApiError::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden", None),
            ConfigApiError::NotFound(_) => (StatusCode::NOT_FOUND, "not_found", None),
            ConfigApiError::Conflict(_) => (StatusCode::CONFLICT, "conflict", None),
            ConfigApiError::Persistence(_) => {
                tracing::error!(error = %message, "a configuration change could not be saved");
                (StatusCode::INTERNAL_SERVER_ERROR, "persistence_error", None)
            }
        };
        let mut body = json!({"error": code, "message": message});
        if let Some(d) = details {
            body["details"] = d;
        }
        (status, axum::Json(body)).into_response()
    }
}

impl From<CatalogError> for ConfigApiError {
    fn from(e: CatalogError) -> Self {
        match e {
            CatalogError::NotFound(..) => ConfigApiError::NotFound(e.to_string()),
            CatalogError::Conflict(m) => ConfigApiError::Conflict(m),
            CatalogError::Invalid(m, details) if details.is_empty() => ConfigApiError::bad(m),
            CatalogError::Invalid(m, details) => ConfigApiError::bad_with(m, details),
        }
    }
}

impl From<SaveError> for ConfigApiError {
    fn from(e: SaveError) -> Self {
        match e {
            SaveError::Invalid(c) => c.into(),
            SaveError::Io(_) => ConfigApiError::Persistence(e.to_string()),
        }
    }
}

/// Only the server owner changes server configuration: with OAuth on, a user or an application
/// gets 403.
pub fn require_owner(caller: &Caller) -> Result<(), ConfigApiError> {
    match caller.0 {
        Scope::All => Ok(()),
        Scope::Owner(_) => Err(ConfigApiError::Forbidden(
            "Only the server owner may change the server configuration".into(),
        )),
    }
}

/// Changes of the data dir's configuration files, one at a time in this process (two requests
/// editing `models.json` at once would otherwise lose one edit).
static WRITES: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Run `work` (blocking file work) on the blocking pool, after every change started before it.
pub async fn serialized<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, ConfigApiError> {
    tokio::task::spawn_blocking(move || {
        let _turn = WRITES
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        work()
    })
    .await
    .map_err(|e| ConfigApiError::App(AppError::internal(e)))
}

/// A JSON body as the type `T`, or a 400 naming what is wrong with it.
pub fn parse_body<T: serde::de::DeserializeOwned>(
    body: Value,
    what: &str,
) -> Result<T, ConfigApiError> {
    serde_json::from_value(body).map_err(|e| ConfigApiError::bad(format!("Invalid {what}: {e}")))
}
