//! The risk rules shared by the file tools (§8.7): system directories are refused, confined
//! callers are refused anything outside their roots, and a path outside the workspace or one
//! that may hold secrets asks at medium. One call makes at most one ask: when both rules apply
//! the ask says both (upstream asks twice in a row).

use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};

use super::ask::{
    ALL_SCOPES, Action, AskSpec, Assessment, GrantScope, Intent, Resource, Risk, Target,
};
use super::env::ToolEnv;
use super::paths::{Located, locate};

/// The arguments of a call, or the message the call fails with.
pub(super) fn parse<T: DeserializeOwned>(tool: &str, input: &Value) -> Result<T, String> {
    T::deserialize(input).map_err(|e| format!("Invalid input for {tool}: {e}"))
}

/// What a located path needs.
pub(super) enum Need {
    /// Inside the workspace, or a folder read freely: no ask.
    Nothing,
    /// Outside the workspace and/or sensitive.
    Approval { outside: bool, sensitive: bool },
}

/// Locates `given` (relative to the workspace) and applies the refusals. `verb` starts the
/// refusal text, e.g. "Reading from" → "Reading from system directories is not allowed: …".
pub(super) fn guard(
    given: &str,
    env: &ToolEnv,
    verb: &str,
    free: &[PathBuf],
) -> Result<(Located, Need), String> {
    let at = locate(given, env.roots.primary(), &env.roots);
    let need = need_of(&at, env, verb, free)?;
    Ok((at, need))
}

/// The refusals and the need of a path already located.
pub(super) fn need_of(
    at: &Located,
    env: &ToolEnv,
    verb: &str,
    free: &[PathBuf],
) -> Result<Need, String> {
    if at.system {
        return Err(format!(
            "{verb} system directories is not allowed: {}",
            at.given
        ));
    }
    if free.iter().any(|dir| at.real.starts_with(dir)) {
        return Ok(Need::Nothing);
    }
    if env.confined && !at.inside {
        return Err(outside_refusal(&at.real));
    }
    if at.inside && !at.sensitive {
        return Ok(Need::Nothing);
    }
    Ok(Need::Approval {
        outside: !at.inside,
        sensitive: at.sensitive,
    })
}

/// The refusal of a confined caller's path outside its roots.
pub(super) fn outside_refusal(path: &Path) -> String {
    format!(
        "Access outside the workspace is not allowed: {}",
        path.display()
    )
}

/// Which file operation a single-path ask is about.
#[derive(Clone, Copy)]
pub(super) enum FileOp {
    Read,
    Write,
    Edit,
}

impl FileOp {
    fn label(self) -> (&'static str, &'static str, Action) {
        match self {
            FileOp::Read => ("Reading", "read", Action::Read),
            FileOp::Write => ("Writing", "write", Action::Write),
            FileOp::Edit => ("Editing", "edit", Action::Write),
        }
    }
}

/// The ask of a read, write or edit of one file outside the workspace or holding secrets.
pub(super) fn file_ask(at: &Located, op: FileOp, outside: bool, sensitive: bool) -> AskSpec {
    let (label, operation, action) = op.label();
    let name = at.file_name();
    let why = match (outside, sensitive) {
        (true, true) => " (outside workspace, sensitive file)",
        (true, false) => " (outside workspace)",
        _ => " (sensitive file)",
    };
    let mut question = format!("{label} file \"{name}\"{why} requires approval.");
    if sensitive {
        question.push_str(" This file may contain credentials or secrets.");
    }
    let mut ask = path_ask(question, operation, action, at, outside, sensitive);
    ask.patterns.insert(1, format!("file:{name}"));
    ask
}

/// The ask of one path: risk medium, one intent on the resolved path, `workspace` suggested
/// unless the path may hold secrets.
pub(super) fn path_ask(
    question: String,
    operation: &str,
    action: Action,
    at: &Located,
    outside: bool,
    sensitive: bool,
) -> AskSpec {
    let path = at.display();
    let mut patterns = vec![format!("file:{path}")];
    if outside {
        patterns.push("outside-workspace".to_owned());
    }
    if sensitive {
        patterns.push("sensitive-file".to_owned());
    }
    let mut metadata = Map::new();
    metadata.insert("operation".into(), json!(operation));
    metadata.insert("path".into(), json!(path));
    metadata.insert("fileName".into(), json!(at.file_name()));
    metadata.insert("isOutsideWorkspace".into(), json!(outside));
    metadata.insert("isSensitiveFile".into(), json!(sensitive));
    if sensitive {
        metadata.insert(
            "reason".into(),
            json!("This file may contain credentials or secrets."),
        );
    }
    let intents = vec![Intent::new(
        Resource::File,
        action,
        vec![Target::exact(&path)],
        ALL_SCOPES,
    )];
    AskSpec {
        question,
        description: None,
        risk: Risk::Medium,
        resource: Resource::File,
        action,
        paths: vec![path],
        patterns,
        duration: if sensitive {
            GrantScope::Session
        } else {
            GrantScope::Workspace
        },
        metadata,
        allowed_scopes: ALL_SCOPES.to_vec(),
        intents,
    }
}

/// Assessment of a tool that touches one file.
pub(super) fn one_file(
    given: &str,
    env: &ToolEnv,
    verb: &str,
    op: FileOp,
    free: &[PathBuf],
) -> Assessment {
    match guard(given, env, verb, free) {
        Err(refusal) => Assessment::Refuse(refusal),
        Ok((_, Need::Nothing)) => Assessment::Allow,
        Ok((at, Need::Approval { outside, sensitive })) => {
            Assessment::Ask(Box::new(file_ask(&at, op, outside, sensitive)))
        }
    }
}

/// Assessment of a tool that reads a folder (glob, grep, ls): `questions` are the texts for
/// "outside the workspace" and for "may hold secrets" (`None`: sensitivity does not ask).
pub(super) fn folder_read(
    given: &str,
    env: &ToolEnv,
    verb: &str,
    operation: &str,
    questions: (&str, Option<&str>),
) -> Assessment {
    let free = env.free_reads(false);
    let (at, outside, sensitive) = match guard(given, env, verb, &free) {
        Err(refusal) => return Assessment::Refuse(refusal),
        Ok((_, Need::Nothing)) => return Assessment::Allow,
        Ok((at, Need::Approval { outside, sensitive })) => (at, outside, sensitive),
    };
    let sensitive = sensitive && questions.1.is_some();
    if !outside && !sensitive {
        return Assessment::Allow;
    }
    let mut parts = Vec::new();
    if outside {
        parts.push(questions.0);
    }
    if let (true, Some(q)) = (sensitive, questions.1) {
        parts.push(q);
    }
    let question = parts.join(" ");
    Assessment::Ask(Box::new(path_ask(
        question,
        operation,
        Action::Read,
        &at,
        outside,
        sensitive,
    )))
}
