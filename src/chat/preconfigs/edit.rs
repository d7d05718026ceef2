//! Creating, replacing and deleting preconfigs (`PROTOCOL-AGENT.md` §14.4, §16.4), with the
//! original's checks and messages. A `PUT` replaces the whole preconfig (fields left out are
//! cleared, as on the original); a file keeps its format. Blocking I/O: callers run these off
//! the async runtime, one change at a time. An original data dir is backed up first.

use std::path::Path;

use serde_json::{Map, Value};

use super::files::{self, Source};
use super::{Preconfig, Subagents, dir_of};
use crate::config::files::{SHARED, backup_original, write_atomic};
use crate::llm::registry::Registry;

/// Why a change was refused or failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EditError {
    /// 400 with the list of problems (`"Invalid preconfig data"`, or a subagent id).
    #[error("{0}")]
    Invalid(String, Vec<String>),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    Conflict(String),
    /// 500: the folder could not be written.
    #[error("{0}")]
    Io(String),
}

fn io(e: std::io::Error) -> EditError {
    EditError::Io(format!("cannot write the preconfigs folder: {e}"))
}

fn string_or_null(o: &Map<String, Value>, key: &str, errors: &mut Vec<String>) -> Option<String> {
    match o.get(key) {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.trim().is_empty() => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => {
            errors.push(format!("{key} must be a string or null"));
            None
        }
    }
}

fn text(o: &Map<String, Value>, key: &str, errors: &mut Vec<String>) -> String {
    match o.get(key) {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(_) => {
            errors.push(format!("{key} must be a string"));
            String::new()
        }
    }
}

fn strings(o: &Map<String, Value>, key: &str, errors: &mut Vec<String>) -> Option<Vec<String>> {
    match o.get(key) {
        None | Some(Value::Null) => None,
        Some(Value::Array(items)) if items.iter().all(Value::is_string) => Some(
            items
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect(),
        ),
        Some(Value::Array(_)) => {
            errors.push(format!("{key} must be an array of strings"));
            None
        }
        Some(_) => {
            errors.push(format!("{key} must be an array or null"));
            None
        }
    }
}

fn flag(o: &Map<String, Value>, key: &str, errors: &mut Vec<String>) -> bool {
    match o.get(key) {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => {
            errors.push(format!("{key} must be a boolean"));
            false
        }
    }
}

/// A preconfig from a request body (every field; missing ones take their defaults), checked
/// with the original's messages. `model` must be in `catalog`.
pub fn from_body(
    o: &Map<String, Value>,
    id: &str,
    catalog: &Registry,
) -> Result<Preconfig, EditError> {
    let mut errors = Vec::new();
    let name = text(o, "name", &mut errors);
    if name.trim().is_empty() {
        errors.push("name must be a non-empty string".into());
    }
    let settings = match o.get("settings") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(m)) => m.clone(),
        Some(_) => {
            errors.push("settings must be a plain object or null".into());
            Map::new()
        }
    };
    let mode = match o.get("mode") {
        None | Some(Value::Null) => "primary".to_owned(),
        Some(Value::String(m)) if ["primary", "subagent", "both"].contains(&m.as_str()) => {
            m.clone()
        }
        Some(_) => {
            errors.push("mode must be one of: primary, subagent, both".into());
            "primary".to_owned()
        }
    };
    let can_spawn_subagents = match o.get("canSpawnSubagents") {
        None | Some(Value::Null) => Subagents::All(false),
        Some(Value::Bool(b)) => Subagents::All(*b),
        Some(Value::Array(items)) if items.iter().all(Value::is_string) => Subagents::Only(
            items
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect(),
        ),
        Some(_) => {
            errors.push("canSpawnSubagents must be a boolean, array, or null".into());
            Subagents::All(false)
        }
    };
    let model = string_or_null(o, "model", &mut errors);
    if let Some(m) = &model
        && !catalog.has_model(m)
    {
        errors.push(format!(
            "model \"{m}\" does not exist in current models configuration"
        ));
    }
    let p = Preconfig {
        id: id.to_owned(),
        description: text(o, "description", &mut errors),
        system_prompt: text(o, "systemPrompt", &mut errors),
        tools: strings(o, "tools", &mut errors).unwrap_or_default(),
        model,
        provider: string_or_null(o, "provider", &mut errors),
        variant: string_or_null(o, "variant", &mut errors),
        settings,
        is_default: flag(o, "isDefault", &mut errors),
        mode,
        can_spawn_subagents,
        allow_self_as_subagent: flag(o, "allowSelfAsSubagent", &mut errors),
        skills: strings(o, "skills", &mut errors),
        name: name.trim().to_owned(),
    };
    if errors.is_empty() {
        Ok(p)
    } else {
        Err(EditError::Invalid("Invalid preconfig data".into(), errors))
    }
}

/// An id that is safe as a file name: letters, digits, `-`, `_`, `.`, not starting with a dot.
pub fn valid_id(id: &str) -> bool {
    id.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        && !id.contains("..")
}

/// `"Code Reviewer"` → `code-reviewer`; `-2`, `-3`, … on a collision; `agent` when nothing is left.
pub fn slug(name: &str, taken: impl Fn(&str) -> bool) -> String {
    let mut base = String::new();
    for c in name.to_lowercase().chars() {
        if c.is_ascii_alphanumeric() {
            base.push(c);
        } else if !base.ends_with('-') {
            base.push('-');
        }
    }
    let base = match base.trim_matches('-') {
        "" => "agent".to_owned(),
        b => b.to_owned(),
    };
    if !taken(&base) {
        return base;
    }
    (2..)
        .map(|n| format!("{base}-{n}"))
        .find(|s| !taken(s))
        .unwrap_or(base)
}

/// A `canSpawnSubagents` list may name only subagent preconfigs: the first other id, if any.
fn unknown_subagent(all: &[Preconfig], p: &Preconfig) -> Option<String> {
    let Subagents::Only(ids) = &p.can_spawn_subagents else {
        return None;
    };
    let is_subagent = |id: &str| {
        all.iter().any(|q| q.id == id && q.is_subagent()) || (id == p.id && p.is_subagent())
    };
    ids.iter().find(|id| !is_subagent(id)).cloned()
}

fn check_subagents(all: &[Preconfig], p: &Preconfig) -> Result<(), EditError> {
    match unknown_subagent(all, p) {
        None => Ok(()),
        Some(id) => Err(EditError::Invalid(
            id.clone(),
            vec![format!(
                "canSpawnSubagents references unknown subagent: {id}"
            )],
        )),
    }
}

fn write_md(path: &Path, p: &Preconfig) -> Result<(), EditError> {
    let text = files::to_markdown(p).map_err(io)?;
    write_atomic(path, text.as_bytes(), SHARED, false).map_err(io)
}

fn write_json(path: &Path, p: &Preconfig) -> Result<(), EditError> {
    let mut text = serde_json::to_string_pretty(p).map_err(|e| io(e.into()))?;
    text.push('\n');
    write_atomic(path, text.as_bytes(), SHARED, false).map_err(io)
}

/// `POST /api/preconfigs`: a new preconfig (never the default), as `<id>.md` when `markdown`,
/// else `<id>.json`.
pub fn create(
    data_dir: &Path,
    body: &Map<String, Value>,
    catalog: &Registry,
) -> Result<Preconfig, EditError> {
    let loaded = files::load_all(data_dir);
    let dir = dir_of(data_dir);
    let taken = |id: &str| {
        loaded.sources.contains_key(id)
            || dir.join(format!("{id}.md")).exists()
            || dir.join(format!("{id}.json")).exists()
    };
    let markdown = match body.get("format") {
        None | Some(Value::Null) => false,
        Some(Value::String(f)) if f == "md" => true,
        Some(_) => {
            return Err(EditError::Invalid(
                "Invalid preconfig data".into(),
                vec!["format must be \"md\"".into()],
            ));
        }
    };
    let mut fields = body.clone();
    if fields
        .get("name")
        .and_then(Value::as_str)
        .is_none_or(|n| n.trim().is_empty())
    {
        fields.insert("name".into(), Value::from("Custom Preconfig"));
    }
    fields.insert("isDefault".into(), Value::Bool(false));
    let id = match fields.get("id") {
        None | Some(Value::Null) => slug(fields["name"].as_str().unwrap_or_default(), taken),
        Some(Value::String(id)) if valid_id(id) => {
            if taken(id) {
                return Err(EditError::Conflict(format!(
                    "Preconfig already exists: {id}"
                )));
            }
            id.clone()
        }
        Some(_) => {
            return Err(EditError::Invalid(
                "Invalid preconfig data".into(),
                vec!["id must be a non-empty string of letters, digits, '-', '_' or '.'".into()],
            ));
        }
    };
    let p = from_body(&fields, &id, catalog)?;
    check_subagents(&loaded.preconfigs, &p)?;
    backup_original(data_dir).map_err(io)?;
    std::fs::create_dir_all(&dir).map_err(io)?;
    let (path, text) = if markdown {
        (
            dir.join(format!("{id}.md")),
            files::to_markdown(&p).map_err(io)?,
        )
    } else {
        let mut t = serde_json::to_string_pretty(&p).map_err(|e| io(e.into()))?;
        t.push('\n');
        (dir.join(format!("{id}.json")), t)
    };
    files::create_new(&path, &text).map_err(|e| match e.kind() {
        std::io::ErrorKind::AlreadyExists => {
            EditError::Conflict(format!("Preconfig already exists: {id}"))
        }
        _ => io(e),
    })?;
    Ok(p)
}

/// The stored preconfig `id` and where it lives, or why not (404, or 400 for a file that
/// cannot be read).
pub fn locate(data_dir: &Path, id: &str) -> Result<(Preconfig, Source, Vec<Preconfig>), EditError> {
    let loaded = files::load_all(data_dir);
    let id = files::resolve_alias(data_dir, id);
    if let Some(p) = loaded.preconfigs.iter().find(|p| p.id == id) {
        let source = loaded.sources.get(&id).cloned().unwrap_or(Source::Memory);
        return Ok((p.clone(), source, loaded.preconfigs));
    }
    match loaded.broken.iter().find(|(stem, _)| *stem == id) {
        Some((_, why)) => Err(EditError::Invalid(
            format!("Preconfig {id} cannot be read: {why}"),
            vec![why.clone()],
        )),
        None => Err(EditError::NotFound(format!("Preconfig not found: {id}"))),
    }
}

/// `PUT /api/preconfigs/:id`: replace the preconfig with the body's fields.
pub fn replace(
    data_dir: &Path,
    id: &str,
    body: &Map<String, Value>,
    catalog: &Registry,
) -> Result<Preconfig, EditError> {
    let (old, source, all) = locate(data_dir, id)?;
    let new = from_body(body, &old.id, catalog)?;
    if new.is_default
        && !old.is_default
        && let Some(current) = all.iter().find(|p| p.is_default && p.id != old.id)
    {
        return Err(EditError::Invalid(
            "Invalid preconfig data".into(),
            vec![format!(
                "Cannot set as default: \"{}\" is already the default. Unset it first.",
                current.name
            )],
        ));
    }
    check_subagents(&all, &new)?;
    backup_original(data_dir).map_err(io)?;
    match source {
        Source::Markdown(path) => write_md(&path, &new)?,
        Source::Json(path) => write_json(&path, &new)?,
        Source::SharedJson(_) | Source::Memory => {
            write_md(&dir_of(data_dir).join(format!("{}.md", new.id)), &new)?
        }
    }
    Ok(new)
}

/// `DELETE /api/preconfigs/:id`. The default cannot be deleted (403). A file that cannot be
/// read can be (it is what a person would want gone).
pub fn delete(data_dir: &Path, id: &str) -> Result<(), EditError> {
    let id = match locate(data_dir, id) {
        Ok((p, Source::SharedJson(path), _)) => {
            return Err(EditError::Conflict(format!(
                "Preconfig {} is one of several in {}; edit that file to remove it",
                p.id,
                path.display()
            )));
        }
        Ok((p, _, _)) if p.is_default => {
            return Err(EditError::Forbidden(format!(
                "Cannot delete default preconfig: {}",
                p.id
            )));
        }
        Ok((p, _, _)) => p.id,
        Err(EditError::Invalid(..)) => files::resolve_alias(data_dir, id),
        Err(e) => return Err(e),
    };
    backup_original(data_dir).map_err(io)?;
    let dir = dir_of(data_dir);
    let mut removed = false;
    for ext in ["md", "json"] {
        match std::fs::remove_file(dir.join(format!("{id}.{ext}"))) {
            Ok(()) => removed = true,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io(e)),
        }
    }
    if removed {
        Ok(())
    } else {
        Err(EditError::Io(format!(
            "Preconfig {id} is built in and the preconfigs folder cannot be written"
        )))
    }
}
