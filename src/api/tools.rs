//! Settings → Tools and Settings → Environment (`PROTOCOL-AGENT.md` §8.6): the built-in tools
//! with their input schemas, and the tool environment kept in `<data dir>/.env`.
//!
//! The environment list holds the original's presets (the Gmail OAuth keys) and every other
//! variable set in `.env`, except this server's own `JEAN2_*` settings (the Credentials panel and
//! the server configuration own those, and this panel may not set them: a client must not
//! change the auth token through it). A value is shown only to the server owner, and never for
//! a secret-looking name. This server's tools are built in and read no variables, so a value
//! set here is stored for tools that will; `DELETE` (which the client calls, and the original
//! lacks) removes the line.

use crate::routes::Routes;
use axum::extract::{Path, State};
use axum::routing::{get, put};
use serde_json::{Map, Value, json};

use super::Caller;
use super::config_error::{ConfigApiError, require_owner, serialized};
use crate::app::AppState;
use crate::config::envfile::{self, EnvFileError};
use crate::config::files::backup_original;
use crate::config::read_env_file;
use crate::error::ApiJson;
use crate::store::Scope;

pub fn router() -> Routes {
    Routes::new()
        .route("/api/tools", get(list))
        .route("/api/tools/env", get(env_list))
        .route("/api/tools/env/{key}", put(env_set).delete(env_clear))
        .route("/api/tools/{name}", get(show))
}

async fn list() -> ApiJson<Value> {
    let tools: Vec<Value> = crate::tools::definitions()
        .iter()
        .map(|d| d.api_json())
        .collect();
    ApiJson(json!({ "tools": tools }))
}

async fn show(Path(name): Path<String>) -> Result<ApiJson<Value>, ConfigApiError> {
    match crate::tools::definitions().iter().find(|d| d.name == name) {
        Some(d) => Ok(ApiJson(
            json!({"tool": {"definition": d.api_json(), "path": null, "builtin": true}}),
        )),
        None => Err(ConfigApiError::NotFound("Tool not found".into())),
    }
}

/// A variable the panel knows about before it is set.
struct Preset {
    key: &'static str,
    description: &'static str,
    sensitive: bool,
    example: &'static str,
}

const PRESETS: &[Preset] = &[
    Preset {
        key: "JEAN2_GMAIL_CLIENT_ID",
        description: "OAuth client ID of a Google Cloud project, for the Gmail tools",
        sensitive: false,
        example: "1234567890-abc.apps.googleusercontent.com",
    },
    Preset {
        key: "JEAN2_GMAIL_CLIENT_SECRET",
        description: "OAuth client secret of that Google Cloud project, for the Gmail tools",
        sensitive: true,
        example: "GOCSPX-…",
    },
];

/// Whether a variable's value is kept from view (`API_KEY`, `SECRET`, `TOKEN`, …).
pub fn is_sensitive(key: &str) -> bool {
    let k = key.to_ascii_uppercase();
    [
        "API_KEY",
        "SECRET",
        "TOKEN",
        "PASSWORD",
        "PRIVATE_KEY",
        "AUTH",
        "CREDENTIAL",
    ]
    .iter()
    .any(|p| k.contains(p))
}

fn preset(key: &str) -> Option<&'static Preset> {
    PRESETS.iter().find(|p| p.key == key)
}

/// `ToolEnvVarStatus`; `value` only when `show_value` and not sensitive.
fn status(key: &str, value: Option<&str>, show_value: bool) -> Value {
    let value = value.map(str::trim).filter(|v| !v.is_empty());
    let mut s = Map::new();
    s.insert("key".into(), json!(key));
    s.insert("configured".into(), json!(value.is_some()));
    let sensitive = preset(key).map_or_else(|| is_sensitive(key), |p| p.sensitive);
    s.insert("sensitive".into(), json!(sensitive));
    match preset(key) {
        Some(p) => {
            s.insert("source".into(), json!("preset"));
            s.insert("category".into(), json!("Gmail OAuth"));
            s.insert("description".into(), json!(p.description));
            s.insert("example".into(), json!(p.example));
            s.insert(
                "link".into(),
                json!({"label": "Google Cloud Console",
                       "url": "https://console.cloud.google.com/apis/credentials"}),
            );
        }
        None => {
            s.insert("source".into(), json!("custom"));
        }
    }
    if let Some(v) = value.filter(|_| show_value && !sensitive) {
        s.insert("value".into(), json!(v));
    }
    Value::Object(s)
}

/// Whether this panel may set `key`: not one of this server's own settings.
fn settable(key: &str) -> bool {
    !key.starts_with("JEAN2_") || preset(key).is_some()
}

async fn env_list(
    State(app): State<AppState>,
    Caller(scope): Caller,
) -> Result<ApiJson<Value>, ConfigApiError> {
    let path = app.settings.data_dir.join(".env");
    let file = tokio::task::spawn_blocking(move || read_env_file(&path))
        .await
        .map_err(|e| ConfigApiError::App(crate::error::AppError::internal(e)))?
        .map_err(|e| ConfigApiError::Persistence(e.to_string()))?
        .unwrap_or_default();
    let owner = matches!(scope, Scope::All);
    let mut keys: Vec<&str> = PRESETS.iter().map(|p| p.key).collect();
    keys.extend(
        file.keys()
            .map(String::as_str)
            .filter(|k| settable(k) && preset(k).is_none()),
    );
    keys.sort_unstable();
    let vars: Vec<Value> = keys
        .into_iter()
        .map(|k| status(k, file.get(k).map(String::as_str), owner))
        .filter(|s| s["configured"] == true || s["source"] == "preset")
        .collect();
    Ok(ApiJson(json!({ "envVars": vars })))
}

fn checked_key(key: &str) -> Result<(), ConfigApiError> {
    if !envfile::valid_key(key) {
        return Err(ConfigApiError::bad(format!(
            "Invalid environment variable name: {key}"
        )));
    }
    if !settable(key) {
        return Err(ConfigApiError::bad(format!(
            "{key} is a setting of this server, not a tool variable; set it in .env and run `jean2 restart`"
        )));
    }
    Ok(())
}

fn env_error(e: EnvFileError, key: &str) -> ConfigApiError {
    if e.is_bad_input() {
        ConfigApiError::bad(format!("Value of {key} cannot be stored: {e}"))
    } else {
        ConfigApiError::Persistence(format!("Failed to save {key}: {e}"))
    }
}

/// Change `.env` (after the one-time backup of an original data dir).
async fn edit_env(app: &AppState, key: &str, value: Option<String>) -> Result<(), ConfigApiError> {
    let data_dir = app.settings.data_dir.clone();
    let k = key.to_owned();
    serialized(move || {
        backup_original(&data_dir).map_err(|e| EnvFileError::Write {
            path: data_dir.join("backups"),
            source: e,
        })?;
        let path = data_dir.join(".env");
        match value {
            Some(v) => envfile::set(&path, &k, &v),
            None => envfile::remove(&path, &k).map(|_| ()),
        }
    })
    .await?
    .map_err(|e| env_error(e, key))
}

async fn env_set(
    State(app): State<AppState>,
    caller: Caller,
    Path(key): Path<String>,
    ApiJson(body): ApiJson<Value>,
) -> Result<ApiJson<Value>, ConfigApiError> {
    require_owner(&caller)?;
    let key = key.trim().to_owned();
    checked_key(&key)?;
    let value = match body.get("value").and_then(Value::as_str).map(str::trim) {
        Some(v) if !v.is_empty() => v.to_owned(),
        _ => {
            return Err(ConfigApiError::BadRequest {
                message: "Validation failed".into(),
                details: Some(
                    json!([{"path": "value", "message": "Value must be a non-empty string"}]),
                ),
            });
        }
    };
    edit_env(&app, &key, Some(value.clone())).await?;
    tracing::info!(env.key = %key, "tool environment variable set from the client");
    Ok(ApiJson(
        json!({ "envVar": status(&key, Some(&value), true) }),
    ))
}

async fn env_clear(
    State(app): State<AppState>,
    caller: Caller,
    Path(key): Path<String>,
) -> Result<ApiJson<Value>, ConfigApiError> {
    require_owner(&caller)?;
    let key = key.trim().to_owned();
    checked_key(&key)?;
    edit_env(&app, &key, None).await?;
    tracing::info!(env.key = %key, "tool environment variable cleared from the client");
    Ok(ApiJson(json!({ "envVar": status(&key, None, true) })))
}
