//! Settings → Models (`PROTOCOL-AGENT.md` §14.2): the catalog grouped by provider with each
//! model's status, and its editing. Every change answers with the saved document (without
//! status fields) and is written to `<data dir>/models.json` in the original's format; the first
//! change writes out the built-in catalog it started from. A `models.json` that does not parse is
//! reported (400) and never overwritten. `sync` brings in the catalog built into this binary
//! (this server fetches no remote registry).

use std::path::PathBuf;

use crate::routes::Routes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post, put};
use serde::Deserialize;
use serde_json::Value;

use super::Caller;
use super::config_error::{ConfigApiError, parse_body, require_owner, serialized};
use crate::app::AppState;
use crate::error::ApiJson;
use crate::llm::registry::edit::{CatalogError, ModelPatch, ProviderPatch};
use crate::llm::registry::{Model, Registry};

pub fn router() -> Routes {
    Routes::new()
        .route("/api/config/models", get(show))
        .route("/api/config/models/providers", post(add_provider))
        .route(
            "/api/config/models/providers/{provider}",
            put(update_provider).delete(remove_provider),
        )
        .route(
            "/api/config/models/providers/{provider}/models",
            post(add_model),
        )
        .route(
            "/api/config/models/providers/{provider}/models/{model}",
            put(update_model).delete(remove_model),
        )
        .route("/api/config/models/defaults", put(set_defaults))
        .route("/api/config/models/sync", post(sync))
}

/// The catalog to edit: the file's, or the built-in one while there is no file.
fn current(file: Result<Option<Registry>, String>) -> Result<Registry, ConfigApiError> {
    match file {
        Ok(Some(r)) => Ok(r),
        Ok(None) => Ok(Registry::builtin()),
        Err(e) => Err(ConfigApiError::bad(format!(
            "Invalid JSON in models.json: {e}"
        ))),
    }
}

async fn show(State(app): State<AppState>) -> Result<ApiJson<Value>, ConfigApiError> {
    let catalog = current(Registry::load_file(&app.settings.data_dir).await)?;
    Ok(ApiJson(catalog.config_response(&app.chat.llm_settings())))
}

/// Load, change and save the catalog as one step (no other change in between).
async fn change<T: Send + 'static>(
    app: &AppState,
    caller: &Caller,
    edit: impl FnOnce(&mut Registry) -> Result<T, CatalogError> + Send + 'static,
) -> Result<(T, Value), ConfigApiError> {
    require_owner(caller)?;
    let data_dir: PathBuf = app.settings.data_dir.clone();
    serialized(move || {
        let mut catalog = current(Registry::load_file_blocking(&data_dir))?;
        let out = edit(&mut catalog)?;
        catalog.save(&data_dir)?;
        let doc = serde_json::to_value(&catalog)
            .map_err(|e| ConfigApiError::App(crate::error::AppError::internal(e)))?;
        Ok((out, doc))
    })
    .await?
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct NewProvider {
    id: String,
    name: String,
    base_url: Option<String>,
}

async fn add_provider(
    State(app): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<Value>,
) -> Result<(StatusCode, ApiJson<Value>), ConfigApiError> {
    let p: NewProvider = parse_body(body, "provider")?;
    let ((), doc) = change(&app, &caller, move |c| {
        c.add_provider(&p.id, &p.name, p.base_url)
    })
    .await?;
    Ok((StatusCode::CREATED, ApiJson(doc)))
}

async fn update_provider(
    State(app): State<AppState>,
    caller: Caller,
    Path(provider): Path<String>,
    ApiJson(body): ApiJson<Value>,
) -> Result<ApiJson<Value>, ConfigApiError> {
    let patch: ProviderPatch = parse_body(body, "provider")?;
    let ((), doc) = change(&app, &caller, move |c| c.update_provider(&provider, patch)).await?;
    Ok(ApiJson(doc))
}

async fn remove_provider(
    State(app): State<AppState>,
    caller: Caller,
    Path(provider): Path<String>,
) -> Result<ApiJson<Value>, ConfigApiError> {
    let ((), doc) = change(&app, &caller, move |c| c.remove_provider(&provider)).await?;
    Ok(ApiJson(doc))
}

async fn add_model(
    State(app): State<AppState>,
    caller: Caller,
    Path(provider): Path<String>,
    ApiJson(body): ApiJson<Value>,
) -> Result<(StatusCode, ApiJson<Value>), ConfigApiError> {
    let model: Model = parse_body(body, "model")?;
    let ((), doc) = change(&app, &caller, move |c| c.add_model(&provider, model)).await?;
    Ok((StatusCode::CREATED, ApiJson(doc)))
}

async fn update_model(
    State(app): State<AppState>,
    caller: Caller,
    Path((provider, model)): Path<(String, String)>,
    ApiJson(body): ApiJson<Value>,
) -> Result<ApiJson<Value>, ConfigApiError> {
    let patch: ModelPatch = parse_body(body, "model")?;
    let ((), doc) = change(&app, &caller, move |c| {
        c.update_model(&provider, &model, patch)
    })
    .await?;
    Ok(ApiJson(doc))
}

async fn remove_model(
    State(app): State<AppState>,
    caller: Caller,
    Path((provider, model)): Path<(String, String)>,
) -> Result<ApiJson<Value>, ConfigApiError> {
    let ((), doc) = change(&app, &caller, move |c| c.remove_model(&provider, &model)).await?;
    Ok(ApiJson(doc))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Defaults {
    default_model: String,
    default_provider: String,
}

async fn set_defaults(
    State(app): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<Value>,
) -> Result<ApiJson<Value>, ConfigApiError> {
    let d: Defaults = parse_body(body, "defaults")?;
    let ((), doc) = change(&app, &caller, move |c| {
        c.set_defaults(&d.default_model, &d.default_provider)
    })
    .await?;
    Ok(ApiJson(doc))
}

#[derive(Deserialize, Default)]
struct SyncBody {
    mode: Option<String>,
}

async fn sync(
    State(app): State<AppState>,
    caller: Caller,
    body: axum::body::Bytes,
) -> Result<ApiJson<Value>, ConfigApiError> {
    // The body is optional (`{"mode"}`, merge by default).
    let body: SyncBody = if body.iter().all(u8::is_ascii_whitespace) {
        SyncBody::default()
    } else {
        let v: Value = serde_json::from_slice(&body)
            .map_err(|_| ConfigApiError::bad("Malformed JSON in request body"))?;
        parse_body(v, "sync request")?
    };
    let override_all = match body.mode.as_deref() {
        None | Some("merge") => false,
        Some("override") => true,
        Some(other) => {
            return Err(ConfigApiError::bad(format!(
                "Invalid sync mode: {other} (merge or override)"
            )));
        }
    };
    let (report, _) = change(&app, &caller, move |c| {
        Ok(c.sync_with(Registry::builtin(), override_all))
    })
    .await?;
    Ok(ApiJson(serde_json::to_value(report).unwrap_or_default()))
}
