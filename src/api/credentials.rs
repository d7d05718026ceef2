//! Settings → Credentials (`PROTOCOL-AGENT.md` §14.1): provider API keys entered from the
//! client. `GET /api/config/providers` lists the providers and whether a key is in effect;
//! `PUT`/`DELETE /api/config/providers/:provider` write or remove `JEAN2_LLM_<P>_API_KEY` in
//! `<data dir>/.env` (atomically, mode 0600, every other line kept) and apply the change to the
//! running server at once: the next chat turn and `GET /api/models` see it.
//!
//! Differences from the original, on purpose: `configured` says whether chat would use a key now
//! (from `.env` or the process environment), a removed key stops working at once, an unknown
//! provider is 404, and a key with a line break or another control character is 400 (it would
//! otherwise add a line of its own to `.env`). A key is never answered, logged or put in an
//! error; the one-time backup of an original data dir is taken before the first change.

use crate::routes::Routes;
use axum::extract::{Path, State};
use axum::routing::{get, put};
use serde_json::{Value, json};

use super::Caller;
use super::config_error::{ConfigApiError, require_owner, serialized};
use crate::app::AppState;
use crate::config::envfile::{self, EnvFileError};
use crate::config::files::backup_original;
use crate::config::{LlmSettings, Secret};
use crate::error::ApiJson;
use crate::llm::registry::{Registry, builtin_base_url, key_slot, key_var};

/// The providers the original server takes keys for, in its order.
pub const KEYED_PROVIDERS: &[&str] = &[
    "minimax",
    "openai",
    "openrouter",
    "zhipu",
    "zhipu-coding",
    "deepseek",
];

pub fn router() -> Routes {
    Routes::new()
        .route("/api/config/providers", get(list))
        .route("/api/config/providers/{provider}", put(set).delete(clear))
}

/// The providers a key can be set for: the original's six, then the catalog's other providers
/// that have an endpoint (a `baseUrl` of their own).
async fn providers(app: &AppState) -> Vec<String> {
    let mut all: Vec<String> = KEYED_PROVIDERS.iter().map(|p| (*p).to_owned()).collect();
    let catalog = Registry::load(&app.settings.data_dir).await;
    for p in catalog.providers {
        let has_endpoint = p.base_url.is_some() || builtin_base_url(&p.id).is_some();
        if has_endpoint && !all.contains(&p.id) {
            all.push(p.id);
        }
    }
    all
}

fn status(llm: &LlmSettings, provider: &str) -> Value {
    json!({"provider": provider, "configured": llm.api_keys.contains_key(&key_slot(provider))})
}

async fn list(State(app): State<AppState>) -> ApiJson<Value> {
    let llm = app.chat.llm_settings();
    let list: Vec<Value> = providers(&app)
        .await
        .iter()
        .map(|p| status(&llm, p))
        .collect();
    ApiJson(json!({ "providers": list }))
}

async fn known(app: &AppState, provider: &str) -> Result<(), ConfigApiError> {
    if providers(app).await.iter().any(|p| p == provider) {
        Ok(())
    } else {
        Err(ConfigApiError::NotFound(format!(
            "provider not found: {provider}"
        )))
    }
}

/// `{"apiKey": "…"}` → the trimmed key, or the 400 of §14.1.
fn api_key_of(body: &Value) -> Result<String, ConfigApiError> {
    match body.get("apiKey").and_then(Value::as_str).map(str::trim) {
        Some(k) if !k.is_empty() => {
            if k.chars().any(char::is_control) {
                Err(ConfigApiError::bad(
                    "API key must not contain line breaks or other control characters",
                ))
            } else {
                Ok(k.to_owned())
            }
        }
        _ => Err(ConfigApiError::bad("API key must be a non-empty string")),
    }
}

fn env_error(e: EnvFileError, provider: &str) -> ConfigApiError {
    if e.is_bad_input() {
        ConfigApiError::bad(format!("API key cannot be stored: {e}"))
    } else {
        ConfigApiError::Persistence(format!("Failed to save the key for {provider}: {e}"))
    }
}

async fn set(
    State(app): State<AppState>,
    caller: Caller,
    Path(provider): Path<String>,
    ApiJson(body): ApiJson<Value>,
) -> Result<ApiJson<Value>, ConfigApiError> {
    require_owner(&caller)?;
    known(&app, &provider).await?;
    let key = api_key_of(&body)?;
    let data_dir = app.settings.data_dir.clone();
    let (var, value) = (key_var(&provider), key.clone());
    serialized(move || {
        backup_original(&data_dir).map_err(|e| EnvFileError::Write {
            path: data_dir.join("backups"),
            source: e,
        })?;
        envfile::set(&data_dir.join(".env"), &var, &value)
    })
    .await?
    .map_err(|e| env_error(e, &provider))?;
    let mut llm = (*app.chat.llm_settings()).clone();
    llm.api_keys.insert(key_slot(&provider), Secret::new(key));
    app.chat.set_llm_settings(llm);
    tracing::info!(provider = %provider, "provider API key set from the client");
    Ok(ApiJson(json!({"provider": provider, "configured": true})))
}

async fn clear(
    State(app): State<AppState>,
    caller: Caller,
    Path(provider): Path<String>,
) -> Result<ApiJson<Value>, ConfigApiError> {
    require_owner(&caller)?;
    known(&app, &provider).await?;
    let data_dir = app.settings.data_dir.clone();
    let var = key_var(&provider);
    let removed = serialized(move || {
        backup_original(&data_dir).map_err(|e| EnvFileError::Write {
            path: data_dir.join("backups"),
            source: e,
        })?;
        envfile::remove(&data_dir.join(".env"), &var)
    })
    .await?
    .map_err(|e| env_error(e, &provider))?;
    let mut llm = (*app.chat.llm_settings()).clone();
    llm.api_keys.remove(&key_slot(&provider));
    // A key given in the process environment still applies, as it will after a restart.
    if let Some(v) = std::env::var(key_var(&provider))
        .ok()
        .filter(|v| !v.trim().is_empty())
    {
        llm.api_keys
            .insert(key_slot(&provider), Secret::new(v.trim()));
    }
    let answer = status(&llm, &provider);
    app.chat.set_llm_settings(llm);
    tracing::info!(provider = %provider, removed, "provider API key cleared from the client");
    Ok(ApiJson(answer))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_must_be_one_clean_line() {
        for (body, ok) in [
            (json!({"apiKey": "  sk-1  "}), true),
            (json!({"apiKey": ""}), false),
            (json!({"apiKey": null}), false),
            (json!({}), false),
            (json!({"apiKey": 12}), false),
            (json!({"apiKey": "sk-1\nJEAN2_AUTH_TOKEN=x"}), false),
            (json!({"apiKey": "sk-1\u{0}"}), false),
        ] {
            assert_eq!(api_key_of(&body).is_ok(), ok, "{body}");
        }
        assert_eq!(api_key_of(&json!({"apiKey": " sk-1 "})).unwrap(), "sk-1");
    }
}
