//! Preconfigs: named agent set-ups (system prompt, tools, model) that a session is created with.
//!
//! They live in `<data dir>/preconfigs/` as the original server keeps them: `<id>.md`, YAML
//! front matter with every field but the system prompt, which is the body; older `<id>.json`
//! files are still read (an `.md` of the same id wins), and so is jean2's earlier form (a JSON
//! array of preconfigs in one file). The four built-ins (`general`, `code`, `code-planning`,
//! `explore`, [`builtin`]) are written there once, as the original's `jean2 init` does, so they
//! can be edited and deleted like any other. A file that cannot be read is logged and skipped,
//! never fatal. Files are read on each call, so a change applies to the next turn.
//!
//! [`files`] reads and writes the two formats; [`edit`] checks and makes the changes of
//! `POST`/`PUT`/`DELETE /api/preconfigs` (`PROTOCOL-AGENT.md` §14.4).

pub mod builtin;
pub mod edit;
pub mod files;

use std::path::{Path, PathBuf};

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

use crate::store::sessions::NewSession;

/// A preconfig as `GET /api/preconfigs` sends it (`PROTOCOL.md` §3 A5, §14.4).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Preconfig {
    #[serde(default)]
    pub id: String,
    #[serde(default, deserialize_with = "or_default")]
    pub name: String,
    #[serde(default, deserialize_with = "or_default")]
    pub description: String,
    #[serde(default, deserialize_with = "or_default")]
    pub system_prompt: String,
    /// The installed tools the model is offered; none when empty (`null` in a file reads as
    /// empty: upstream offers no tools for either).
    #[serde(default, deserialize_with = "or_default")]
    pub tools: Vec<String>,
    #[serde(default)]
    pub model: Option<String>,
    #[serde(default)]
    pub provider: Option<String>,
    #[serde(default)]
    pub variant: Option<String>,
    /// `temperature`, `maxTokens`, … (`null` reads as empty).
    #[serde(default, deserialize_with = "or_default")]
    pub settings: Map<String, Value>,
    #[serde(default, deserialize_with = "or_default")]
    pub is_default: bool,
    /// `primary`, `subagent` or `both`.
    #[serde(default = "primary", deserialize_with = "or_primary")]
    pub mode: String,
    #[serde(default, deserialize_with = "or_default")]
    pub can_spawn_subagents: Subagents,
    #[serde(default, deserialize_with = "or_default")]
    pub allow_self_as_subagent: bool,
    #[serde(default)]
    pub skills: Option<Vec<String>>,
}

/// `canSpawnSubagents`: all subagents, none, or only those listed.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(untagged)]
pub enum Subagents {
    All(bool),
    Only(Vec<String>),
}

impl Default for Subagents {
    fn default() -> Self {
        Subagents::All(false)
    }
}

fn primary() -> String {
    "primary".into()
}

/// A field written as `null` reads as its default.
fn or_default<'de, D: Deserializer<'de>, T: Default + Deserialize<'de>>(
    d: D,
) -> Result<T, D::Error> {
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

fn or_primary<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(Option::<String>::deserialize(d)?.unwrap_or_else(primary))
}

impl Preconfig {
    /// Whether pickers offer it (`primary` or `both`; subagent-only ones are for `task`).
    pub fn is_primary(&self) -> bool {
        self.mode != "subagent"
    }

    /// Whether `task` may run it (`subagent` or `both`).
    pub fn is_subagent(&self) -> bool {
        self.mode == "subagent" || self.mode == "both"
    }
}

/// `<data dir>/preconfigs`.
pub fn dir_of(data_dir: &Path) -> PathBuf {
    data_dir.join("preconfigs")
}

/// Every preconfig, the default first, then by name (the built-ins installed first if this is
/// the first call on this data dir).
pub async fn load(data_dir: &Path) -> Vec<Preconfig> {
    let data_dir = data_dir.to_owned();
    match tokio::task::spawn_blocking(move || files::load_all(&data_dir).preconfigs).await {
        Ok(list) => list,
        Err(e) => {
            tracing::error!(error = %e, "reading the preconfigs failed");
            Vec::new()
        }
    }
}

/// The preconfig with this id (or the id it was renamed to by the original's migration).
pub async fn find(data_dir: &Path, id: &str) -> Option<Preconfig> {
    let data_dir = data_dir.to_owned();
    let id = id.to_owned();
    tokio::task::spawn_blocking(move || {
        let all = files::load_all(&data_dir);
        let id = files::resolve_alias(&data_dir, &id);
        all.preconfigs.into_iter().find(|p| p.id == id)
    })
    .await
    .ok()
    .flatten()
}

/// Fill a new session's model choice from its preconfig (when the preconfig names one).
pub async fn apply(data_dir: &Path, new: &mut NewSession) {
    let Some(id) = new.preconfig_id.as_deref() else {
        return;
    };
    if let Some(p) = find(data_dir, id).await {
        new.selected_model = new.selected_model.take().or(p.model);
        new.selected_provider = new.selected_provider.take().or(p.provider);
        new.selected_variant = new.selected_variant.take().or(p.variant);
    }
}

#[cfg(test)]
mod tests;
