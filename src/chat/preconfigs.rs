//! Preconfigs: named agent set-ups (system prompt, tools, model) that a session is created with.
//! Built-in defaults (`general`, `code`) plus `<data dir>/preconfigs/*.json` (one preconfig
//! object or an array of them per file; a file entry with a built-in id replaces it). A bad
//! file is logged and skipped, never fatal. Files are read on each call, so edits apply at once.

use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::store::sessions::NewSession;

/// A preconfig as `GET /api/preconfigs` sends it (`PROTOCOL.md` §3 A5).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Preconfig {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub system_prompt: String,
    #[serde(default)]
    pub tools: Vec<String>,
    #[serde(default)]
    pub model: Option<String>,
    #[serde(default)]
    pub provider: Option<String>,
    #[serde(default)]
    pub variant: Option<String>,
    #[serde(default)]
    pub settings: Map<String, Value>,
    #[serde(default)]
    pub is_default: bool,
    /// `primary`, `subagent` or `both`.
    #[serde(default = "primary")]
    pub mode: String,
    #[serde(default)]
    pub can_spawn_subagents: bool,
}

fn primary() -> String {
    "primary".into()
}

const GENERAL_PROMPT: &str = "You are a helpful, precise assistant. Answer clearly and concisely. \
When you are unsure, say so instead of guessing. Use Markdown for structure and code blocks for code.";

const CODE_PROMPT: &str = "You are an expert software engineer. Help the user read, write, debug \
and review code. Prefer small, correct, idiomatic changes; explain the reasoning briefly; show code \
in fenced blocks with the language named; point out risks such as data loss or security issues.";

/// The built-in preconfigs (tools are empty: this server runs no tools yet).
pub fn builtin() -> Vec<Preconfig> {
    let settings = |t: f64| match json!({ "temperature": t }) {
        Value::Object(m) => m,
        _ => Map::new(),
    };
    vec![
        Preconfig {
            id: "general".into(),
            name: "General".into(),
            description: "General-purpose assistant for questions, writing and analysis".into(),
            system_prompt: GENERAL_PROMPT.into(),
            tools: Vec::new(),
            model: None,
            provider: None,
            variant: None,
            settings: settings(0.3),
            is_default: true,
            mode: primary(),
            can_spawn_subagents: false,
        },
        Preconfig {
            id: "code".into(),
            name: "Code".into(),
            description: "Software engineering: reading, writing, debugging and reviewing code"
                .into(),
            system_prompt: CODE_PROMPT.into(),
            tools: Vec::new(),
            model: None,
            provider: None,
            variant: None,
            settings: settings(0.2),
            is_default: false,
            mode: primary(),
            can_spawn_subagents: false,
        },
    ]
}

/// Built-ins overlaid with the files in `<data dir>/preconfigs/`, files in name order.
pub async fn load(data_dir: &Path) -> Vec<Preconfig> {
    let mut all = builtin();
    let dir = data_dir.join("preconfigs");
    let mut files = Vec::new();
    if let Ok(mut entries) = tokio::fs::read_dir(&dir).await {
        while let Ok(Some(e)) = entries.next_entry().await {
            let p = e.path();
            if p.extension().is_some_and(|x| x == "json") {
                files.push(p);
            }
        }
    }
    files.sort();
    for path in files {
        match read_file(&path).await {
            Ok(list) => {
                for p in list {
                    match all.iter_mut().find(|q| q.id == p.id) {
                        Some(slot) => *slot = p,
                        None => all.push(p),
                    }
                }
            }
            Err(e) => {
                tracing::warn!(file = %path.display(), error = %e, "skipping a bad preconfig file")
            }
        }
    }
    all
}

async fn read_file(path: &Path) -> Result<Vec<Preconfig>, String> {
    let text = tokio::fs::read_to_string(path)
        .await
        .map_err(|e| e.to_string())?;
    let value: Value = serde_json::from_str(&text).map_err(|e| e.to_string())?;
    let list: Vec<Preconfig> = match value {
        Value::Array(_) => serde_json::from_value(value),
        other => serde_json::from_value(other).map(|p| vec![p]),
    }
    .map_err(|e| format!("not a preconfig (needs at least id and name): {e}"))?;
    if let Some(p) = list.iter().find(|p| p.id.trim().is_empty()) {
        return Err(format!("preconfig {:?} has an empty id", p.name));
    }
    Ok(list)
}

/// The preconfig with this id, if any.
pub async fn find(data_dir: &Path, id: &str) -> Option<Preconfig> {
    load(data_dir).await.into_iter().find(|p| p.id == id)
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
mod tests {
    use super::*;

    #[tokio::test]
    async fn files_add_and_replace_and_bad_ones_are_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let pre = dir.path().join("preconfigs");
        std::fs::create_dir_all(&pre).unwrap();
        std::fs::write(
            pre.join("a.json"),
            r#"{"id":"general","name":"Mine","model":"m"}"#,
        )
        .unwrap();
        std::fs::write(pre.join("b.json"), r#"[{"id":"x","name":"X"}]"#).unwrap();
        std::fs::write(pre.join("c.json"), "{ not json").unwrap();
        std::fs::write(pre.join("d.json"), r#"{"name":"no id"}"#).unwrap();
        let all = load(dir.path()).await;
        let ids: Vec<&str> = all.iter().map(|p| p.id.as_str()).collect();
        assert_eq!(ids, vec!["general", "code", "x"]);
        assert_eq!(all[0].name, "Mine");
        assert_eq!(all[2].mode, "primary");
        let mut s = NewSession::new("w");
        s.preconfig_id = Some("general".into());
        apply(dir.path(), &mut s).await;
        assert_eq!(s.selected_model.as_deref(), Some("m"));
    }
}
