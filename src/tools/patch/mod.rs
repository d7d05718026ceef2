//! `apply-patch`: add, update, move and delete files from one V4A context patch, all or
//! nothing. Every path is resolved and checked, every chunk placed and every new text computed
//! in memory before the first write; writes go first (each atomic), removals last, and a
//! failure undoes what was already done.

mod apply;
mod compute;
mod parse;

use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::ask::{
    ALL_SCOPES, Action, AskSpec, Assessment, GrantScope, Intent, Resource, Risk, SESSION_SCOPES,
    Target, common_scopes,
};
use super::env::ToolEnv;
use super::outcome::ToolOutput;
use super::paths::{Located, locate};
use super::risk::{outside_refusal, parse as parse_input};
use parse::{Kind, Op};

#[derive(Deserialize)]
struct Input {
    patch: String,
}

/// An operation with its paths located.
pub(crate) struct Entry {
    pub op: Op,
    pub source: Located,
    pub dest: Located,
}

impl Entry {
    fn removes_source(&self) -> bool {
        self.op.kind == Kind::Delete || self.op.move_to.is_some()
    }
}

/// Parses and locates a patch, with the failures that need no file to be read.
fn prepare(input: &Value, env: &ToolEnv) -> Result<Vec<Entry>, String> {
    let Input { patch } = parse_input("apply-patch", input)?;
    if patch.is_empty() {
        return Err("Patch must be a non-empty string.".into());
    }
    let ops = parse::parse(&patch).map_err(|e| e.to_string())?;
    if ops.is_empty() {
        return Err("Patch contains no file operations.".into());
    }
    for op in ops.iter().filter(|op| op.kind == Kind::Update) {
        if op.chunks.is_empty() {
            return Err(format!(
                "Update File operation on \"{}\" contains no chunks.",
                op.path
            ));
        }
        if op
            .chunks
            .iter()
            .any(|c| c.old_lines.is_empty() && c.new_lines.is_empty())
        {
            return Err(format!(
                "Update File operation on \"{}\" contains an empty chunk.",
                op.path
            ));
        }
    }
    let root = env.roots.primary();
    let entries: Vec<Entry> = ops
        .into_iter()
        .map(|op| {
            let source = locate(&op.path, root, &env.roots);
            let dest = locate(op.move_to.as_deref().unwrap_or(&op.path), root, &env.roots);
            Entry { op, source, dest }
        })
        .collect();
    if let Some(e) = entries
        .iter()
        .find(|e| e.op.move_to.is_some() && e.source.real == e.dest.real)
    {
        return Err(format!(
            "Move destination resolves to the source path: {}",
            e.op.path
        ));
    }
    let mut touched: Vec<&std::path::Path> = Vec::new();
    for e in &entries {
        let dest = e.op.move_to.is_some().then_some(&e.dest);
        for at in std::iter::once(&e.source).chain(dest) {
            if touched.contains(&at.real.as_path()) {
                return Err(format!("Duplicate operation on path: {}", at.given));
            }
            touched.push(&at.real);
        }
    }
    Ok(entries)
}

/// The refusals: system directories, and for confined callers anything outside the roots.
fn refusal(entries: &[Entry], env: &ToolEnv) -> Option<String> {
    let mut blocked: Vec<&str> = Vec::new();
    for at in entries
        .iter()
        .flat_map(|e| [&e.source, &e.dest])
        .filter(|at| at.system)
    {
        if !blocked.contains(&at.given.as_str()) {
            blocked.push(&at.given);
        }
    }
    if !blocked.is_empty() {
        return Some(format!(
            "Cannot apply patch to system directories: {}",
            blocked.join(", ")
        ));
    }
    let outside = entries
        .iter()
        .flat_map(|e| [&e.source, &e.dest])
        .find(|at| !at.inside);
    outside
        .filter(|_| env.confined)
        .map(|at| outside_refusal(&at.real))
}

pub(crate) fn assess(input: &Value, env: &ToolEnv) -> Assessment {
    let Ok(entries) = prepare(input, env) else {
        return Assessment::Allow;
    };
    if let Some(refusal) = refusal(&entries, env) {
        return Assessment::Refuse(refusal);
    }
    let (mut writes, mut deletes) = (Vec::<String>::new(), Vec::<String>::new());
    let (mut outside, mut sensitive) = (false, false);
    for e in &entries {
        if e.removes_source() {
            deletes.push(e.source.display());
            outside |= !e.source.inside;
            sensitive |= e.source.sensitive;
        }
        if e.op.kind != Kind::Delete && (!e.dest.inside || e.dest.sensitive) {
            writes.push(e.dest.display());
            outside |= !e.dest.inside;
            sensitive |= e.dest.sensitive;
        }
    }
    if writes.is_empty() && deletes.is_empty() {
        return Assessment::Allow;
    }
    Assessment::Ask(Box::new(patch_ask(writes, deletes, outside, sensitive)))
}

fn patch_ask(writes: Vec<String>, deletes: Vec<String>, outside: bool, sensitive: bool) -> AskSpec {
    let mut clauses = Vec::new();
    if !writes.is_empty() {
        let why = match (outside, sensitive) {
            (true, true) => "outside the workspace or to files that may hold secrets",
            (true, false) => "outside the workspace",
            _ => "to files that may hold secrets",
        };
        clauses.push(format!("writes {why} ({})", writes.join(", ")));
    }
    if !deletes.is_empty() {
        clauses.push(format!("deletes or moves files ({})", deletes.join(", ")));
    }
    let mut intents = Vec::new();
    if !writes.is_empty() {
        intents.push(Intent::new(
            Resource::File,
            Action::Write,
            writes.iter().map(Target::exact).collect(),
            ALL_SCOPES,
        ));
    }
    if !deletes.is_empty() {
        intents.push(Intent::new(
            Resource::File,
            Action::Delete,
            deletes.iter().map(Target::exact).collect(),
            SESSION_SCOPES,
        ));
    }
    let paths: Vec<String> = writes.iter().chain(&deletes).cloned().collect();
    let mut metadata = Map::new();
    metadata.insert("operation".into(), json!("patch"));
    metadata.insert("paths".into(), json!(paths));
    metadata.insert("deletes".into(), json!(deletes));
    metadata.insert("isOutsideWorkspace".into(), json!(outside));
    metadata.insert("isSensitiveFile".into(), json!(sensitive));
    let allowed_scopes = common_scopes(&intents);
    AskSpec {
        question: format!(
            "Applying this patch requires approval: it {}.",
            clauses.join(", and ")
        ),
        description: None,
        risk: Risk::Medium,
        resource: Resource::File,
        action: intents.first().map_or(Action::Write, |i| i.action),
        patterns: paths.iter().map(|p| format!("file:{p}")).collect(),
        paths,
        duration: if deletes.is_empty() && !sensitive {
            GrantScope::Workspace
        } else {
            GrantScope::Session
        },
        metadata,
        intents,
        allowed_scopes,
    }
}

pub(crate) async fn run(input: &Value, env: &ToolEnv) -> ToolOutput {
    let entries = match prepare(input, env) {
        Ok(entries) => entries,
        Err(e) => return ToolOutput::fail(e),
    };
    if let Some(refusal) = refusal(&entries, env) {
        return ToolOutput::fail(refusal);
    }
    super::blocking(move || apply::apply(entries)).await
}

#[cfg(test)]
mod tests;
