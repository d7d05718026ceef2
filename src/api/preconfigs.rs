//! Preconfigs over REST: the list (`PROTOCOL.md` §3 A5) and, for Settings → Preconfigs, create,
//! read, replace and delete (`PROTOCOL-AGENT.md` §14.4). The files and their checks are
//! [`crate::chat::preconfigs`]; changes are the server owner's.

use crate::routes::Routes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use serde_json::{Map, Value, json};

use super::Caller;
use super::config_error::{ConfigApiError, require_owner, serialized};
use crate::app::AppState;
use crate::chat::preconfigs::{self, edit, edit::EditError};
use crate::error::ApiJson;
use crate::llm::registry::Registry;

pub fn router() -> Routes {
    Routes::new()
        .route("/api/preconfigs", get(list).post(create))
        .route(
            "/api/preconfigs/{id}",
            get(show).put(replace).delete(remove),
        )
}

impl From<EditError> for ConfigApiError {
    fn from(e: EditError) -> Self {
        match e {
            EditError::Invalid(m, details) => ConfigApiError::bad_with(m, details),
            EditError::NotFound(m) => ConfigApiError::NotFound(m),
            EditError::Forbidden(m) => ConfigApiError::Forbidden(m),
            EditError::Conflict(m) => ConfigApiError::Conflict(m),
            EditError::Io(m) => ConfigApiError::Persistence(m),
        }
    }
}

fn object(body: Value) -> Result<Map<String, Value>, ConfigApiError> {
    match body {
        Value::Object(m) => Ok(m),
        _ => Err(ConfigApiError::bad("Expected a JSON object")),
    }
}

async fn list(State(app): State<AppState>) -> ApiJson<Value> {
    ApiJson(json!({ "preconfigs": preconfigs::load(&app.settings.data_dir).await }))
}

async fn show(
    State(app): State<AppState>,
    Path(id): Path<String>,
) -> Result<ApiJson<Value>, ConfigApiError> {
    let data_dir = app.settings.data_dir.clone();
    match serialized(move || edit::locate(&data_dir, &id)).await? {
        Ok((p, _, _)) => Ok(ApiJson(json!({ "preconfig": p }))),
        // The original's own wording for this route.
        Err(EditError::NotFound(_)) => Err(ConfigApiError::NotFound("Preconfig not found".into())),
        Err(e) => Err(e.into()),
    }
}

async fn create(
    State(app): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<Value>,
) -> Result<(StatusCode, ApiJson<Value>), ConfigApiError> {
    require_owner(&caller)?;
    let body = object(body)?;
    let catalog = Registry::load(&app.settings.data_dir).await;
    let data_dir = app.settings.data_dir.clone();
    let p = serialized(move || edit::create(&data_dir, &body, &catalog)).await??;
    tracing::info!(preconfig.id = %p.id, "preconfig created");
    Ok((StatusCode::CREATED, ApiJson(json!({ "preconfig": p }))))
}

async fn replace(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<Value>,
) -> Result<ApiJson<Value>, ConfigApiError> {
    require_owner(&caller)?;
    let body = object(body)?;
    let catalog = Registry::load(&app.settings.data_dir).await;
    let data_dir = app.settings.data_dir.clone();
    let p = serialized(move || edit::replace(&data_dir, &id, &body, &catalog)).await??;
    tracing::info!(preconfig.id = %p.id, "preconfig changed");
    Ok(ApiJson(json!({ "preconfig": p })))
}

async fn remove(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<ApiJson<Value>, ConfigApiError> {
    require_owner(&caller)?;
    let data_dir = app.settings.data_dir.clone();
    let gone = id.clone();
    serialized(move || edit::delete(&data_dir, &id)).await??;
    tracing::info!(preconfig.id = %gone, "preconfig deleted");
    Ok(ApiJson(json!({ "success": true })))
}
