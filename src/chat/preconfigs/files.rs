//! The preconfigs folder on disk: `<id>.md` (YAML front matter with every field but `id` and
//! `systemPrompt`, the system prompt as the body — what the original's gray-matter reads and
//! writes), `<id>.json` (one preconfig; jean2's earlier files may hold an array), and the
//! original's `preconfig_aliases.json` (old UUID ids → slugs). Blocking I/O: callers run it off
//! the async runtime.

use std::collections::HashMap;
use std::io;
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::{Map, Value};

use super::{Preconfig, Subagents, builtin, dir_of};

/// Where a preconfig comes from, which decides how a change is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Markdown(PathBuf),
    Json(PathBuf),
    /// One of several preconfigs in one JSON file (jean2's earlier form).
    SharedJson(PathBuf),
    /// A built-in that could not be written to the folder.
    Memory,
}

/// Everything in the folder.
#[derive(Debug, Default)]
pub struct Loaded {
    /// Sorted: the default first, then by name.
    pub preconfigs: Vec<Preconfig>,
    pub sources: HashMap<String, Source>,
    /// Files that could not be read, by the id their name gives, with the reason.
    pub broken: Vec<(String, String)>,
}

const ALIASES: &str = "preconfig_aliases.json";

/// Read the folder, installing the built-ins first if this data dir never had them.
pub fn load_all(data_dir: &Path) -> Loaded {
    let dir = dir_of(data_dir);
    let mut loaded = scan(&dir);
    if !dir.join(builtin::MARKER).exists() {
        let present: Vec<String> = loaded
            .preconfigs
            .iter()
            .map(|p| p.id.clone())
            .chain(loaded.broken.iter().map(|(id, _)| id.clone()))
            .collect();
        match builtin::install_once(&dir, &present) {
            Ok(()) => loaded = scan(&dir),
            Err(e) => {
                tracing::warn!(dir = %dir.display(), error = %e, "cannot write the built-in preconfigs; serving them from memory");
                for p in builtin::builtin() {
                    if !present.contains(&p.id) {
                        loaded.sources.insert(p.id.clone(), Source::Memory);
                        loaded.preconfigs.push(p);
                    }
                }
            }
        }
    }
    sort(&mut loaded.preconfigs);
    loaded
}

fn sort(list: &mut [Preconfig]) {
    list.sort_by(|a, b| {
        b.is_default
            .cmp(&a.is_default)
            .then_with(|| a.name.to_lowercase().cmp(&b.name.to_lowercase()))
            .then_with(|| a.id.cmp(&b.id))
    });
}

/// Parse every `.md`, then every `.json` whose id no `.md` defined.
fn scan(dir: &Path) -> Loaded {
    let mut loaded = Loaded::default();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return loaded;
    };
    let mut paths: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
    paths.sort();
    for want_md in [true, false] {
        for path in &paths {
            let (Some(stem), Some(ext)) = (
                path.file_stem().and_then(|s| s.to_str()),
                path.extension().and_then(|s| s.to_str()),
            ) else {
                continue;
            };
            let is_md = ext == "md";
            if is_md != want_md || !(is_md || ext == "json") || stem.starts_with('.') {
                continue;
            }
            if path.file_name().is_some_and(|n| n == ALIASES) {
                continue;
            }
            let parsed = std::fs::read_to_string(path)
                .map_err(|e| e.to_string())
                .and_then(|text| {
                    if is_md {
                        parse_markdown(&text, stem).map(|p| vec![p])
                    } else {
                        parse_json(&text, stem)
                    }
                });
            match parsed {
                Ok(list) => {
                    let shared = list.len() > 1 || list.first().is_some_and(|p| p.id != stem);
                    for p in list {
                        if loaded.sources.contains_key(&p.id) {
                            continue;
                        }
                        let source = match (is_md, shared) {
                            (true, _) => Source::Markdown(path.clone()),
                            (false, false) => Source::Json(path.clone()),
                            (false, true) => Source::SharedJson(path.clone()),
                        };
                        loaded.sources.insert(p.id.clone(), source);
                        loaded.preconfigs.push(p);
                    }
                }
                Err(e) => {
                    tracing::warn!(file = %path.display(), error = %e, "skipping a preconfig file that cannot be read");
                    loaded.broken.push((stem.to_owned(), e));
                }
            }
        }
    }
    loaded
}

/// The front matter and the body of a Markdown file, if it starts with a `---` line.
fn split_front_matter(text: &str) -> Result<Option<(&str, &str)>, String> {
    let t = text.strip_prefix('\u{feff}').unwrap_or(text);
    let Some(rest) = t
        .strip_prefix("---\n")
        .or_else(|| t.strip_prefix("---\r\n"))
    else {
        return Ok(None);
    };
    let mut at = 0;
    for line in rest.split_inclusive('\n') {
        if line.trim_end() == "---" {
            return Ok(Some((&rest[..at], &rest[at + line.len()..])));
        }
        at += line.len();
    }
    Err("malformed front matter: no closing --- line".into())
}

/// A preconfig from an `.md` file named `<stem>.md`.
pub fn parse_markdown(text: &str, stem: &str) -> Result<Preconfig, String> {
    let (mut fields, body) = match split_front_matter(text)? {
        None => (Map::new(), text),
        Some((yaml, body)) => {
            let value: Value = if yaml.trim().is_empty() {
                Value::Null
            } else {
                serde_yaml_ng::from_str(yaml).map_err(|e| format!("malformed front matter: {e}"))?
            };
            match value {
                Value::Object(m) => (m, body),
                Value::Null => (Map::new(), body),
                _ => return Err("malformed front matter: it must be a mapping of fields".into()),
            }
        }
    };
    fields.insert("systemPrompt".into(), Value::String(body.trim().to_owned()));
    let has_id = fields
        .get("id")
        .and_then(Value::as_str)
        .is_some_and(|s| !s.trim().is_empty());
    if !has_id {
        fields.insert("id".into(), Value::String(stem.to_owned()));
    }
    let mut p: Preconfig = serde_json::from_value(Value::Object(fields))
        .map_err(|e| format!("not a preconfig: {e}"))?;
    if p.name.trim().is_empty() {
        p.name = p.id.clone();
    }
    Ok(p)
}

/// The preconfigs of a `.json` file named `<stem>.json`: one object (its id defaults to the
/// stem) or an array of them.
pub fn parse_json(text: &str, stem: &str) -> Result<Vec<Preconfig>, String> {
    let value: Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
    let items = match value {
        Value::Array(items) => items,
        Value::Object(mut m) => {
            if m.get("id")
                .and_then(Value::as_str)
                .is_none_or(str::is_empty)
            {
                m.insert("id".into(), Value::String(stem.to_owned()));
            }
            vec![Value::Object(m)]
        }
        _ => return Err("not a preconfig object or a list of them".into()),
    };
    let list: Vec<Preconfig> = items
        .into_iter()
        .map(serde_json::from_value)
        .collect::<Result<_, _>>()
        .map_err(|e| format!("not a preconfig: {e}"))?;
    if let Some(p) = list.iter().find(|p| p.id.trim().is_empty()) {
        return Err(format!("preconfig {:?} has no id", p.name));
    }
    Ok(list)
}

/// The front matter fields in the original's order (`id` and `systemPrompt` are not among them).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct FrontMatter<'a> {
    name: &'a str,
    description: &'a str,
    tools: &'a [String],
    model: &'a Option<String>,
    provider: &'a Option<String>,
    variant: &'a Option<String>,
    settings: &'a Map<String, Value>,
    is_default: bool,
    mode: &'a str,
    can_spawn_subagents: &'a Subagents,
    allow_self_as_subagent: bool,
    skills: &'a Option<Vec<String>>,
}

/// The `.md` text of a preconfig.
pub fn to_markdown(p: &Preconfig) -> io::Result<String> {
    let fm = FrontMatter {
        name: &p.name,
        description: &p.description,
        tools: &p.tools,
        model: &p.model,
        provider: &p.provider,
        variant: &p.variant,
        settings: &p.settings,
        is_default: p.is_default,
        mode: &p.mode,
        can_spawn_subagents: &p.can_spawn_subagents,
        allow_self_as_subagent: p.allow_self_as_subagent,
        skills: &p.skills,
    };
    let yaml = serde_yaml_ng::to_string(&fm).map_err(io::Error::other)?;
    let body = p.system_prompt.trim();
    Ok(if body.is_empty() {
        format!("---\n{yaml}---\n")
    } else {
        format!("---\n{yaml}---\n\n{body}\n")
    })
}

/// Write a file that must not exist yet.
pub fn create_new(path: &Path, text: &str) -> io::Result<()> {
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)?;
    f.write_all(text.as_bytes())?;
    f.sync_all()
}

/// The id an old id was renamed to by the original's UUID-to-slug migration, else `id` itself.
pub fn resolve_alias(data_dir: &Path, id: &str) -> String {
    std::fs::read_to_string(dir_of(data_dir).join(ALIASES))
        .ok()
        .and_then(|t| serde_json::from_str::<HashMap<String, String>>(&t).ok())
        .and_then(|m| m.get(id).cloned())
        .unwrap_or_else(|| id.to_owned())
}
