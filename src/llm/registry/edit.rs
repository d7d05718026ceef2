//! Editing the catalog (the Models panel, `PROTOCOL-AGENT.md` §14.2): providers and models
//! added, changed and removed, the defaults, a sync with the built-in catalog, and the check
//! every saved document passes (the original server's rules, plus `baseUrl`).

use std::path::Path;

use serde::Deserialize;
use serde_json::{Map, Value};

use super::{Model, Provider, Registry, catalog_path};
use crate::config::files::{SHARED, backup_original, write_atomic};

/// Why an edit was refused. The texts are the original server's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CatalogError {
    /// 404 `"<Resource> not found: <id>"`.
    #[error("{0} not found: {1}")]
    NotFound(&'static str, String),
    /// 409.
    #[error("{0}")]
    Conflict(String),
    /// 400, with the list of problems when the whole document was checked.
    #[error("{0}")]
    Invalid(String, Vec<String>),
}

fn invalid(message: impl Into<String>) -> CatalogError {
    CatalogError::Invalid(message.into(), Vec::new())
}

/// Why [`Registry::save`] did not save.
#[derive(Debug, thiserror::Error)]
pub enum SaveError {
    #[error(transparent)]
    Invalid(CatalogError),
    #[error("cannot write models.json: {0}")]
    Io(#[source] std::io::Error),
}

/// `PUT …/providers/:id` and the extras of `POST …/providers`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProviderPatch {
    pub name: Option<String>,
    /// `null` removes a custom endpoint.
    #[serde(default, deserialize_with = "double_option")]
    pub base_url: Option<Option<String>>,
}

/// `PUT …/models/:id`: the fields given replace the model's.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ModelPatch {
    pub name: Option<String>,
    pub context_window: Option<u64>,
    pub max_output_tokens: Option<u64>,
    pub tier: Option<String>,
    pub variants: Option<Value>,
    pub capabilities: Option<Value>,
}

/// `null` → `Some(None)`, absent → `None`.
fn double_option<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

/// What `POST /api/config/models/sync` reports.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SyncReport {
    pub mode: String,
    pub added_providers: Vec<String>,
    pub added_models: Vec<String>,
    pub total_providers: usize,
    pub total_models: usize,
}

impl Registry {
    fn provider_mut(&mut self, id: &str) -> Result<&mut Provider, CatalogError> {
        self.providers
            .iter_mut()
            .find(|p| p.id == id)
            .ok_or_else(|| CatalogError::NotFound("Provider", id.to_owned()))
    }

    pub fn add_provider(
        &mut self,
        id: &str,
        name: &str,
        base_url: Option<String>,
    ) -> Result<(), CatalogError> {
        if self.provider(id).is_some() {
            return Err(CatalogError::Conflict(format!(
                "Provider with id \"{id}\" already exists"
            )));
        }
        self.providers.push(Provider {
            id: id.to_owned(),
            name: name.to_owned(),
            base_url,
            models: Vec::new(),
            extra: Map::new(),
        });
        Ok(())
    }

    pub fn update_provider(&mut self, id: &str, patch: ProviderPatch) -> Result<(), CatalogError> {
        let p = self.provider_mut(id)?;
        if let Some(name) = patch.name {
            p.name = name;
        }
        if let Some(url) = patch.base_url {
            p.base_url = url;
        }
        Ok(())
    }

    pub fn remove_provider(&mut self, id: &str) -> Result<(), CatalogError> {
        let p = self
            .provider(id)
            .ok_or_else(|| CatalogError::NotFound("Provider", id.to_owned()))?;
        if self.default_provider == id {
            return Err(invalid(format!(
                "Cannot delete provider \"{id}\" because it is set as the default provider"
            )));
        }
        if p.models.iter().any(|m| m.id == self.default_model) {
            return Err(invalid(format!(
                "Cannot delete provider \"{id}\" because it contains the default model \"{}\"",
                self.default_model
            )));
        }
        self.providers.retain(|p| p.id != id);
        Ok(())
    }

    pub fn add_model(&mut self, provider: &str, model: Model) -> Result<(), CatalogError> {
        let p = self.provider_mut(provider)?;
        if p.models.iter().any(|m| m.id == model.id) {
            return Err(CatalogError::Conflict(format!(
                "Model with id \"{}\" already exists in provider \"{provider}\"",
                model.id
            )));
        }
        p.models.push(model);
        Ok(())
    }

    pub fn update_model(
        &mut self,
        provider: &str,
        id: &str,
        patch: ModelPatch,
    ) -> Result<(), CatalogError> {
        let m = self
            .provider_mut(provider)?
            .models
            .iter_mut()
            .find(|m| m.id == id)
            .ok_or_else(|| CatalogError::NotFound("Model", id.to_owned()))?;
        if let Some(v) = patch.name {
            m.name = v;
        }
        if let Some(v) = patch.context_window {
            m.context_window = v;
        }
        if let Some(v) = patch.max_output_tokens {
            m.max_output_tokens = Some(v);
        }
        if let Some(v) = patch.tier {
            m.tier = v;
        }
        if let Some(v) = patch.variants {
            m.variants = Some(v);
        }
        if let Some(v) = patch.capabilities {
            m.capabilities = Some(v);
        }
        Ok(())
    }

    pub fn remove_model(&mut self, provider: &str, id: &str) -> Result<(), CatalogError> {
        let p = self.provider_mut(provider)?;
        if !p.models.iter().any(|m| m.id == id) {
            return Err(CatalogError::NotFound("Model", id.to_owned()));
        }
        if self.default_model == id {
            return Err(invalid(format!(
                "Cannot delete model \"{id}\" because it is set as the default model"
            )));
        }
        self.provider_mut(provider)?.models.retain(|m| m.id != id);
        Ok(())
    }

    pub fn set_defaults(&mut self, model: &str, provider: &str) -> Result<(), CatalogError> {
        let p = self
            .provider(provider)
            .ok_or_else(|| invalid(format!("Provider \"{provider}\" does not exist")))?;
        if !p.models.iter().any(|m| m.id == model) {
            return Err(invalid(format!(
                "Model \"{model}\" does not exist in provider \"{provider}\""
            )));
        }
        self.default_model = model.to_owned();
        self.default_provider = provider.to_owned();
        Ok(())
    }

    /// Bring in the built-in catalog: `merge` adds the providers and models that are missing,
    /// `override` replaces the whole catalog.
    pub fn sync_with(&mut self, source: Registry, override_all: bool) -> SyncReport {
        let mut added_providers = Vec::new();
        let mut added_models = Vec::new();
        if override_all {
            added_providers = source.providers.iter().map(|p| p.id.clone()).collect();
            *self = source;
        } else {
            for sp in source.providers {
                match self.providers.iter_mut().find(|p| p.id == sp.id) {
                    None => {
                        added_providers.push(sp.id.clone());
                        self.providers.push(sp);
                    }
                    Some(p) => {
                        for m in sp.models {
                            if !p.models.iter().any(|x| x.id == m.id) {
                                added_models.push(format!("{}/{}", p.id, m.id));
                                p.models.push(m);
                            }
                        }
                    }
                }
            }
        }
        SyncReport {
            mode: if override_all { "override" } else { "merge" }.to_owned(),
            added_providers,
            added_models,
            total_providers: self.providers.len(),
            total_models: self.providers.iter().map(|p| p.models.len()).sum(),
        }
    }

    /// The original server's check of a whole document, plus `baseUrl`: every problem found.
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        let mut ids = std::collections::HashSet::new();
        for p in &self.providers {
            if p.id.trim().is_empty() || p.name.trim().is_empty() {
                out.push("every provider needs a non-empty id and name".to_owned());
            }
            if !ids.insert(p.id.as_str()) {
                out.push(format!("provider \"{}\" appears twice", p.id));
            }
            if let Some(u) = &p.base_url
                && (!(u.starts_with("http://") || u.starts_with("https://"))
                    || url::Url::parse(u).is_err())
            {
                out.push(format!(
                    "provider \"{}\": baseUrl must be an http(s) URL",
                    p.id
                ));
            }
            let mut models = std::collections::HashSet::new();
            for m in &p.models {
                if !models.insert(m.id.as_str()) {
                    out.push(format!(
                        "model \"{}\" appears twice in provider \"{}\"",
                        m.id, p.id
                    ));
                }
                out.extend(
                    model_problems(m)
                        .into_iter()
                        .map(|e| format!("model \"{}\": {e}", m.id)),
                );
            }
        }
        if self.default_provider.trim().is_empty() || self.default_model.trim().is_empty() {
            out.push("defaultModel and defaultProvider are required".to_owned());
        } else if self.find_model(&self.default_model, None).is_none() {
            out.push(format!(
                "default model \"{}\" is not in the catalog",
                self.default_model
            ));
        } else if self.provider(&self.default_provider).is_none() {
            out.push(format!(
                "default provider \"{}\" is not in the catalog",
                self.default_provider
            ));
        }
        out
    }

    /// Check the catalog and write it to `<data dir>/models.json` (atomically; an original
    /// data dir is backed up first). Blocking: call it off the async runtime.
    pub fn save(&self, data_dir: &Path) -> Result<(), SaveError> {
        self.check().map_err(SaveError::Invalid)?;
        backup_original(data_dir).map_err(SaveError::Io)?;
        let mut text = serde_json::to_string_pretty(self).map_err(|e| SaveError::Io(e.into()))?;
        text.push('\n');
        write_atomic(&catalog_path(data_dir), text.as_bytes(), SHARED, false).map_err(SaveError::Io)
    }

    /// [`problems`](Self::problems) as the 400 every save answers with.
    pub fn check(&self) -> Result<(), CatalogError> {
        let problems = self.problems();
        if problems.is_empty() {
            Ok(())
        } else {
            Err(CatalogError::Invalid(
                "Invalid models configuration".into(),
                problems,
            ))
        }
    }
}

fn model_problems(m: &Model) -> Vec<String> {
    let mut out = Vec::new();
    if m.id.trim().is_empty() {
        out.push("id must be a non-empty string".to_owned());
    }
    if m.context_window == 0 {
        out.push("contextWindow must be a positive number".to_owned());
    }
    if m.max_output_tokens == Some(0) {
        out.push("maxOutputTokens must be a positive number".to_owned());
    }
    if !matches!(m.tier.as_str(), "budget" | "standard" | "premium") {
        out.push("tier must be budget, standard or premium".to_owned());
    }
    if let Some(v) = &m.variants {
        let ok = v.as_object().is_some_and(|all| {
            all.values()
                .all(|x| x.get("providerOptions").is_some_and(Value::is_object))
        });
        if !ok {
            out.push("variants must map names to {\"providerOptions\": {…}}".to_owned());
        }
    }
    if let Some(c) = &m.capabilities {
        let input_ok = match c.get("input") {
            None => true,
            Some(Value::Object(i)) => {
                ["text", "image", "video"]
                    .iter()
                    .all(|k| i.get(*k).is_none_or(Value::is_boolean))
                    && i.get("file").is_none_or(|f| f.is_boolean() || f.is_array())
            }
            Some(_) => false,
        };
        let so_ok = c.get("structuredOutput").is_none_or(|s| {
            matches!(
                s.get("mode").and_then(Value::as_str),
                Some("native" | "prompt")
            )
        });
        if !c.is_object() || !input_ok || !so_ok {
            out.push("capabilities are malformed".to_owned());
        }
    }
    out
}
