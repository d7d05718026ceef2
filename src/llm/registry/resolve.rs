//! From a session's choice (model, provider, variant — any of them unset) to what a turn calls:
//! base URL, key, model id, the variant's provider options and the model's limits.

use serde_json::{Map, Value};

use super::{Registry, ResolveError, ResolvedModel, key_slot, variants};
use crate::config::LlmSettings;

impl Registry {
    /// Resolve a session's choice (`selectedModel`/`selectedProvider`, either may be unset) to
    /// what the chat turn calls, without a variant.
    pub fn resolve(
        &self,
        llm: &LlmSettings,
        model: Option<&str>,
        provider: Option<&str>,
    ) -> Result<ResolvedModel, ResolveError> {
        self.resolve_variant(llm, model, provider, None)
    }

    /// Resolve a session's choice and its `selectedVariant`. An unset model takes the
    /// provider's first model or the default; an unknown variant adds no options.
    pub fn resolve_variant(
        &self,
        llm: &LlmSettings,
        model: Option<&str>,
        provider: Option<&str>,
        variant: Option<&str>,
    ) -> Result<ResolvedModel, ResolveError> {
        let (model_id, provider_id) = self.pick(llm, model, provider);
        let p = self
            .provider(&provider_id)
            .ok_or_else(|| ResolveError::UnknownProvider(provider_id.clone()))?;
        let base_url = self.base_url(llm, p).ok_or_else(|| {
            ResolveError::UnknownProvider(format!(
                "{provider_id} (this server knows no API endpoint for it; give it a baseUrl in models.json)"
            ))
        })?;
        let api_key = llm
            .api_keys
            .get(&key_slot(&provider_id))
            .cloned()
            .ok_or_else(|| ResolveError::NoApiKey(provider_id.clone()))?;
        let entry = p.models.iter().find(|m| m.id == model_id);
        let options = match (entry, variant.filter(|v| !v.is_empty())) {
            (Some(m), Some(v)) => variants::request_options(m, v),
            _ => Map::new(),
        };
        Ok(ResolvedModel {
            context_window: entry.map(|m| m.context_window),
            max_output_tokens: entry.and_then(|m| m.max_output_tokens),
            takes_images: entry
                .and_then(|m| m.capabilities.as_ref())
                .and_then(|c| c.pointer("/input/image"))
                .and_then(Value::as_bool)
                .unwrap_or(false),
            provider_id,
            base_url,
            model_id,
            api_key,
            options,
        })
    }

    /// `(model, provider)` for a choice where either may be unset.
    fn pick(
        &self,
        llm: &LlmSettings,
        model: Option<&str>,
        provider: Option<&str>,
    ) -> (String, String) {
        let (default_model, default_provider) = self.default_choice(llm);
        match (model, provider) {
            (Some(m), Some(p)) => (m.to_owned(), p.to_owned()),
            (Some(m), None) => {
                // A model id several providers serve (OpenAI's through Codex too): a usable one.
                let mut owners = self
                    .providers
                    .iter()
                    .filter(|p| p.models.iter().any(|x| x.id == m));
                let owner = owners
                    .clone()
                    .find(|p| self.usable(llm, p))
                    .or_else(|| owners.next())
                    .map(|p| p.id.clone());
                (m.to_owned(), owner.unwrap_or(default_provider))
            }
            (None, Some(p)) => {
                let first = self.provider(p).and_then(|x| x.models.first());
                (
                    first.map(|m| m.id.clone()).unwrap_or(default_model),
                    p.to_owned(),
                )
            }
            (None, None) => (default_model, default_provider),
        }
    }

    /// A model that can be called now, for a request of the server's own (a session title):
    /// `preferred` (`(model, provider)`) when usable, else the default choice when usable.
    pub fn usable_model(
        &self,
        llm: &LlmSettings,
        preferred: Option<(&str, &str)>,
    ) -> Option<ResolvedModel> {
        if let Some((m, p)) = preferred
            && let Ok(r) = self.resolve(llm, Some(m), Some(p))
        {
            return Some(r);
        }
        self.resolve(llm, None, None).ok()
    }
}
