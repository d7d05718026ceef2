//! The model registry: built-in providers (all OpenAI-compatible) with a few models each,
//! overridable by `<data dir>/models.json`, and which of them are usable (an API key is set in
//! `JEAN2_LLM_<PROVIDER>_API_KEY`).
//!
//! `models.json`: `{"providers":[{"id","name","baseUrl","models":[Model…]}], "defaultModel"?,
//! "defaultProvider"?}`. A provider with a built-in id replaces the built-in one; new ids are
//! added. A bad file is logged and ignored.

use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::config::{LlmSettings, Secret};

/// One model as `GET /api/models` lists it (before the provider and status fields are added).
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
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variants: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capabilities: Option<Value>,
}

/// An OpenAI-compatible provider.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Provider {
    pub id: String,
    pub name: String,
    /// Base URL of the OpenAI-compatible API (the client appends `/chat/completions`).
    pub base_url: String,
    pub models: Vec<Model>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Registry {
    pub providers: Vec<Provider>,
    #[serde(default)]
    pub default_model: String,
    #[serde(default)]
    pub default_provider: String,
}

/// What the chat turn needs to call a model.
#[derive(Debug, Clone)]
pub struct ResolvedModel {
    pub provider_id: String,
    pub base_url: String,
    pub model_id: String,
    pub api_key: Secret,
}

/// Why a model cannot be called.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum ResolveError {
    #[error("Unknown provider: {0}")]
    UnknownProvider(String),
    /// The wire text of upstream's `no_api_key` error.
    #[error("No API key configured for provider: {0}. Set JEAN2_LLM_{up}_API_KEY", up = .0.to_uppercase())]
    NoApiKey(String),
}

fn model(id: &str, name: &str, ctx: u64, out: u64, tier: &str) -> Model {
    Model {
        id: id.into(),
        name: name.into(),
        context_window: ctx,
        max_output_tokens: Some(out),
        tier: tier.into(),
        variants: None,
        capabilities: Some(serde_json::json!({"input": {"text": true, "image": false}})),
    }
}

fn provider(id: &str, name: &str, base_url: &str, models: Vec<Model>) -> Provider {
    Provider {
        id: id.into(),
        name: name.into(),
        base_url: base_url.into(),
        models,
    }
}

impl Registry {
    /// The registry shipped in the binary. Its default is a MiniMax model, as upstream's.
    pub fn builtin() -> Registry {
        Registry {
            providers: vec![
                provider(
                    "openai",
                    "OpenAI",
                    "https://api.openai.com/v1",
                    vec![
                        model("gpt-4o-mini", "GPT-4o mini", 128_000, 16_384, "budget"),
                        model("gpt-4o", "GPT-4o", 128_000, 16_384, "standard"),
                        model("gpt-4.1", "GPT-4.1", 1_047_576, 32_768, "premium"),
                    ],
                ),
                provider(
                    "openrouter",
                    "OpenRouter",
                    "https://openrouter.ai/api/v1",
                    vec![
                        model(
                            "google/gemini-2.5-flash",
                            "Gemini 2.5 Flash",
                            1_048_576,
                            65_536,
                            "budget",
                        ),
                        model(
                            "anthropic/claude-sonnet-4",
                            "Claude Sonnet 4",
                            200_000,
                            64_000,
                            "premium",
                        ),
                    ],
                ),
                provider(
                    "deepseek",
                    "DeepSeek",
                    "https://api.deepseek.com/v1",
                    vec![
                        model("deepseek-chat", "DeepSeek Chat", 128_000, 8_192, "budget"),
                        model(
                            "deepseek-reasoner",
                            "DeepSeek Reasoner",
                            128_000,
                            65_536,
                            "standard",
                        ),
                    ],
                ),
                provider(
                    "minimax",
                    "MiniMax",
                    "https://api.minimax.io/v1",
                    vec![model(
                        "MiniMax-M2",
                        "MiniMax M2",
                        204_800,
                        131_072,
                        "standard",
                    )],
                ),
                provider(
                    "zhipu",
                    "Zhipu AI",
                    "https://open.bigmodel.cn/api/paas/v4",
                    vec![
                        model("glm-4.5-air", "GLM-4.5 Air", 128_000, 96_000, "budget"),
                        model("glm-4.6", "GLM-4.6", 200_000, 128_000, "standard"),
                    ],
                ),
            ],
            default_model: "MiniMax-M2".into(),
            default_provider: "minimax".into(),
        }
    }

    /// The built-in registry overlaid with `<data dir>/models.json` when it exists and parses.
    pub async fn load(data_dir: &Path) -> Registry {
        let mut reg = Registry::builtin();
        let path = data_dir.join("models.json");
        let text = match tokio::fs::read_to_string(&path).await {
            Ok(t) => t,
            Err(_) => return reg,
        };
        match serde_json::from_str::<Registry>(&text) {
            Ok(file) => reg.overlay(file),
            Err(e) => {
                tracing::warn!(file = %path.display(), error = %e, "ignoring a bad models.json")
            }
        }
        reg
    }

    fn overlay(&mut self, file: Registry) {
        for p in file.providers {
            match self.providers.iter_mut().find(|q| q.id == p.id) {
                Some(slot) => *slot = p,
                None => self.providers.push(p),
            }
        }
        if !file.default_model.is_empty() {
            self.default_model = file.default_model;
        }
        if !file.default_provider.is_empty() {
            self.default_provider = file.default_provider;
        }
    }

    fn configured(llm: &LlmSettings, provider: &str) -> bool {
        llm.api_keys.contains_key(provider)
    }

    /// The default `(model, provider)`: the registry default if its provider has a key, else
    /// the first usable model, else the registry default anyway.
    pub fn default_choice(&self, llm: &LlmSettings) -> (String, String) {
        if Self::configured(llm, &self.default_provider) {
            return (self.default_model.clone(), self.default_provider.clone());
        }
        self.providers
            .iter()
            .filter(|p| Self::configured(llm, &p.id))
            .find_map(|p| p.models.first().map(|m| (m.id.clone(), p.id.clone())))
            .unwrap_or_else(|| (self.default_model.clone(), self.default_provider.clone()))
    }

    /// The body of `GET /api/models`.
    pub fn models_response(&self, llm: &LlmSettings) -> Value {
        let mut models = Vec::new();
        for p in &self.providers {
            let configured = Self::configured(llm, &p.id);
            for m in &p.models {
                let mut v = serde_json::to_value(m).unwrap_or(Value::Null);
                v["providerId"] = Value::from(p.id.clone());
                v["providerName"] = Value::from(p.name.clone());
                v["runtimeStatus"] = serde_json::json!({
                    "providerSupported": true, "providerConfigured": configured, "usable": configured,
                });
                models.push(v);
            }
        }
        let (model, provider) = self.default_choice(llm);
        serde_json::json!({ "models": models, "defaultModel": model, "defaultProvider": provider })
    }

    /// Resolve a session's choice (`selectedModel`/`selectedProvider`, either may be unset) to
    /// what the chat turn calls. An unset model takes the provider's first model or the
    /// default; `JEAN2_LLM_BASE_URL` overrides every base URL.
    pub fn resolve(
        &self,
        llm: &LlmSettings,
        model: Option<&str>,
        provider: Option<&str>,
    ) -> Result<ResolvedModel, ResolveError> {
        let (default_model, default_provider) = self.default_choice(llm);
        let (model_id, provider_id) = match (model, provider) {
            (Some(m), Some(p)) => (m.to_owned(), p.to_owned()),
            (Some(m), None) => {
                let owner = self
                    .providers
                    .iter()
                    .find(|p| p.models.iter().any(|x| x.id == m));
                (
                    m.to_owned(),
                    owner.map(|p| p.id.clone()).unwrap_or(default_provider),
                )
            }
            (None, Some(p)) => {
                let first = self
                    .providers
                    .iter()
                    .find(|x| x.id == p)
                    .and_then(|x| x.models.first());
                (
                    first.map(|m| m.id.clone()).unwrap_or(default_model),
                    p.to_owned(),
                )
            }
            (None, None) => (default_model, default_provider),
        };
        let p = self
            .providers
            .iter()
            .find(|p| p.id == provider_id)
            .ok_or_else(|| ResolveError::UnknownProvider(provider_id.clone()))?;
        let api_key = llm
            .api_keys
            .get(&provider_id)
            .cloned()
            .ok_or_else(|| ResolveError::NoApiKey(provider_id.clone()))?;
        let base_url = llm.base_url.clone().unwrap_or_else(|| p.base_url.clone());
        Ok(ResolvedModel {
            provider_id,
            base_url,
            model_id,
            api_key,
        })
    }
}

#[cfg(test)]
#[path = "registry_tests.rs"]
mod tests;
