//! The model catalog: providers and their models, which of them are usable, and what the chat
//! turn calls for a session's choice.
//!
//! The catalog is `<data dir>/models.json` in the original server's format
//! (`{"providers":[{"id","name","models":[…]}],"defaultModel","defaultProvider"}`), read as the
//! original writes it, or the catalog built into the binary ([`builtin.json`](builtin.json), the
//! original's current one plus OpenRouter and Zhipu) while there is no file. A file is the whole
//! catalog, not an overlay: what the Models panel deletes stays deleted. The built-in providers'
//! endpoints are known here ([`builtin_base_url`]); a provider may also carry a `baseUrl` (a jean2
//! addition, for any OpenAI-compatible server), and `JEAN2_LLM_BASE_URL` overrides them all.
//! A model is usable when its provider is supported (an endpoint is known) and has an API key
//! (`JEAN2_LLM_<PROVIDER>_API_KEY`, `-` read as `_`).
//!
//! Editing lives in [`edit`]; a variant's provider options become request fields in [`variants`].

pub mod edit;
mod resolve;
pub mod variants;

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::config::{LlmSettings, Secret};

/// One model of a provider, as `models.json` holds it. Fields this server does not know are
/// kept (`extra`), so a file written by a newer client survives an edit here.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Model {
    pub id: String,
    pub name: String,
    pub context_window: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_output_tokens: Option<u64>,
    /// `budget`, `standard` or `premium`.
    pub tier: String,
    /// `{"<variant>": {"providerOptions": {…}}}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variants: Option<Value>,
    /// `{"input": {"text", "image", …}, "structuredOutput"?: {"mode"}}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capabilities: Option<Value>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A provider and its models.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Provider {
    pub id: String,
    pub name: String,
    /// The OpenAI-compatible endpoint (`/chat/completions` is appended). Built-in providers need
    /// none; the original server's files never have one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_url: Option<String>,
    #[serde(default)]
    pub models: Vec<Model>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The whole catalog (the `ModelsConfig` document of `PROTOCOL-AGENT.md` §14.2).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Registry {
    pub providers: Vec<Provider>,
    #[serde(default)]
    pub default_model: String,
    #[serde(default)]
    pub default_provider: String,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// What the chat turn needs to call a model.
#[derive(Debug, Clone)]
pub struct ResolvedModel {
    pub provider_id: String,
    pub base_url: String,
    pub model_id: String,
    pub api_key: Secret,
    /// Request-body fields of the selected variant (e.g. `{"reasoning_effort":"high"}`), for
    /// `ChatRequest::extra`. Empty without a variant or for a variant the model does not have.
    pub options: Map<String, Value>,
    /// The catalog's limits for the model, when it is in the catalog.
    pub context_window: Option<u64>,
    pub max_output_tokens: Option<u64>,
    /// Whether the catalog says the model takes images (`capabilities.input.image`); a model
    /// not in the catalog is taken not to.
    pub takes_images: bool,
}

/// Why a model cannot be called.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum ResolveError {
    #[error("Unknown provider: {0}")]
    UnknownProvider(String),
    /// The wire text of upstream's `no_api_key` error.
    #[error("No API key configured for provider: {0}. Set JEAN2_LLM_{up}_API_KEY", up = key_slot(.0).to_uppercase())]
    NoApiKey(String),
}

/// The endpoint of a provider built into this server (the original server's providers).
/// `codex` signs in with a ChatGPT account, which this server does not do: it has none.
pub fn builtin_base_url(provider_id: &str) -> Option<&'static str> {
    Some(match provider_id {
        "openai" => "https://api.openai.com/v1",
        "openrouter" => "https://openrouter.ai/api/v1",
        "deepseek" => "https://api.deepseek.com/v1",
        "minimax" => "https://api.minimax.io/v1",
        "zhipu" => "https://open.bigmodel.cn/api/paas/v4",
        "zhipu-coding" => "https://api.z.ai/api/coding/paas/v4",
        _ => return None,
    })
}

/// The key of a provider in [`LlmSettings::api_keys`]: lower case, `-` as `_`
/// (`zhipu-coding` → `zhipu_coding`, as `JEAN2_LLM_ZHIPU_CODING_API_KEY` is read).
pub fn key_slot(provider_id: &str) -> String {
    provider_id.to_ascii_lowercase().replace('-', "_")
}

/// The variable holding a provider's API key: `JEAN2_LLM_<PROVIDER>_API_KEY`.
pub fn key_var(provider_id: &str) -> String {
    format!(
        "JEAN2_LLM_{}_API_KEY",
        key_slot(provider_id).to_ascii_uppercase()
    )
}

/// `<data dir>/models.json`.
pub fn catalog_path(data_dir: &Path) -> PathBuf {
    data_dir.join("models.json")
}

impl Registry {
    /// The catalog shipped in the binary. Its default is a MiniMax model, as upstream's.
    pub fn builtin() -> Registry {
        match serde_json::from_str(include_str!("builtin.json")) {
            Ok(r) => r,
            Err(e) => unreachable!("builtin.json is checked by the tests: {e}"),
        }
    }

    /// `<data dir>/models.json` when it exists and is a catalog, else the built-in catalog. A
    /// file that cannot be read or parsed is logged and the built-in catalog used.
    pub async fn load(data_dir: &Path) -> Registry {
        match Self::load_file(data_dir).await {
            Ok(Some(r)) => r,
            Ok(None) => Registry::builtin(),
            Err(e) => {
                tracing::warn!(file = %catalog_path(data_dir).display(), error = %e, "ignoring a bad models.json; using the built-in catalog");
                Registry::builtin()
            }
        }
    }

    /// The file's catalog: `None` when there is no file, an error text when it is not a catalog.
    pub async fn load_file(data_dir: &Path) -> Result<Option<Registry>, String> {
        let path = catalog_path(data_dir);
        match tokio::fs::read_to_string(&path).await {
            Ok(text) => serde_json::from_str(&text)
                .map(Some)
                .map_err(|e| e.to_string()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e.to_string()),
        }
    }

    /// [`load_file`](Self::load_file) for blocking code (an edit runs off the runtime).
    pub fn load_file_blocking(data_dir: &Path) -> Result<Option<Registry>, String> {
        match std::fs::read_to_string(catalog_path(data_dir)) {
            Ok(text) => serde_json::from_str(&text)
                .map(Some)
                .map_err(|e| e.to_string()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e.to_string()),
        }
    }

    /// The provider `id`.
    pub fn provider(&self, id: &str) -> Option<&Provider> {
        self.providers.iter().find(|p| p.id == id)
    }

    /// The model `id`, in `provider` when given, else in the first provider that has it.
    pub fn find_model(&self, id: &str, provider: Option<&str>) -> Option<(&Provider, &Model)> {
        self.providers
            .iter()
            .filter(|p| provider.is_none_or(|want| p.id == want))
            .find_map(|p| p.models.iter().find(|m| m.id == id).map(|m| (p, m)))
    }

    /// Whether `model` is in the catalog (under any provider): what a preconfig may name.
    pub fn has_model(&self, model: &str) -> bool {
        self.find_model(model, None).is_some()
    }

    fn base_url(&self, llm: &LlmSettings, p: &Provider) -> Option<String> {
        llm.base_url
            .clone()
            .or_else(|| p.base_url.clone())
            .or_else(|| builtin_base_url(&p.id).map(str::to_owned))
    }

    fn configured(llm: &LlmSettings, provider: &str) -> bool {
        llm.api_keys.contains_key(&key_slot(provider))
    }

    fn usable(&self, llm: &LlmSettings, p: &Provider) -> bool {
        Self::configured(llm, &p.id) && self.base_url(llm, p).is_some()
    }

    /// `runtimeStatus` of a provider's models.
    pub fn runtime_status(&self, llm: &LlmSettings, p: &Provider) -> Value {
        let supported = self.base_url(llm, p).is_some();
        let configured = Self::configured(llm, &p.id);
        json!({"providerSupported": supported, "providerConfigured": configured,
               "usable": supported && configured})
    }

    /// The default `(model, provider)`: the catalog default if usable, else the first usable
    /// model, else the catalog default anyway (or the first model when the file names none).
    pub fn default_choice(&self, llm: &LlmSettings) -> (String, String) {
        let stated = self
            .find_model(&self.default_model, Some(&self.default_provider))
            .map(|(p, m)| (p, m.id.clone()));
        if let Some((p, m)) = &stated
            && self.usable(llm, p)
        {
            return (m.clone(), p.id.clone());
        }
        let first_usable = self
            .providers
            .iter()
            .filter(|p| self.usable(llm, p))
            .find_map(|p| p.models.first().map(|m| (m.id.clone(), p.id.clone())));
        if let Some(choice) = first_usable {
            return choice;
        }
        if self.default_model.is_empty()
            && let Some((p, m)) = self
                .providers
                .iter()
                .find_map(|p| p.models.first().map(|m| (p, m)))
        {
            return (m.id.clone(), p.id.clone());
        }
        (self.default_model.clone(), self.default_provider.clone())
    }

    /// A provider's models as the API lists them: with `providerId`, `providerName` and
    /// `runtimeStatus`.
    fn models_with_status(&self, llm: &LlmSettings, p: &Provider) -> Vec<Value> {
        let status = self.runtime_status(llm, p);
        p.models
            .iter()
            .map(|m| {
                let mut v = serde_json::to_value(m).unwrap_or(Value::Null);
                v["providerId"] = Value::from(p.id.clone());
                v["providerName"] = Value::from(p.name.clone());
                v["runtimeStatus"] = status.clone();
                v
            })
            .collect()
    }

    /// The body of `GET /api/models`.
    pub fn models_response(&self, llm: &LlmSettings) -> Value {
        let models: Vec<Value> = self
            .providers
            .iter()
            .flat_map(|p| self.models_with_status(llm, p))
            .collect();
        let (model, provider) = self.default_choice(llm);
        json!({ "models": models, "defaultModel": model, "defaultProvider": provider })
    }

    /// The body of `GET /api/config/models`: the same models, grouped by provider, with the
    /// catalog's own default.
    pub fn config_response(&self, llm: &LlmSettings) -> Value {
        let providers: Vec<Value> = self
            .providers
            .iter()
            .map(|p| {
                let mut v =
                    json!({"id": p.id, "name": p.name, "models": self.models_with_status(llm, p)});
                if let Some(u) = &p.base_url {
                    v["baseUrl"] = Value::from(u.clone());
                }
                v
            })
            .collect();
        // The editor shows the stored default; chat (`models_response`) gets a usable one.
        let (model, provider) = if self.default_model.is_empty() {
            self.default_choice(llm)
        } else {
            (self.default_model.clone(), self.default_provider.clone())
        };
        json!({"providers": providers, "defaultModel": model, "defaultProvider": provider})
    }
}

#[cfg(test)]
mod tests;
