//! `glob`: files whose path relative to the search folder matches a pattern, newest first.

use std::path::Path;
use std::time::SystemTime;

use serde::Deserialize;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use super::ask::Assessment;
use super::blocking;
use super::env::ToolEnv;
use super::outcome::ToolOutput;
use super::risk::{folder_read, guard, parse};
use super::walk::{Globs, glob, relative, walker};

const VERB: &str = "Globbing";

#[derive(Deserialize)]
struct Input {
    pattern: String,
    path: Option<String>,
    #[serde(default)]
    ignore: Vec<String>,
}

pub(super) fn assess(input: &Value, env: &ToolEnv) -> Assessment {
    let Ok(input) = parse::<Input>("glob", input) else {
        return Assessment::Allow;
    };
    let path = input.path.as_deref().unwrap_or(".");
    folder_read(
        path,
        env,
        VERB,
        "glob",
        ("Globbing outside the workspace requires approval.", None),
    )
}

pub(super) async fn run(input: &Value, env: &ToolEnv, cancel: &CancellationToken) -> ToolOutput {
    let input = match parse::<Input>("glob", input) {
        Ok(i) => i,
        Err(e) => return ToolOutput::fail(e),
    };
    let dir = match guard(
        input.path.as_deref().unwrap_or("."),
        env,
        VERB,
        &env.free_reads(false),
    ) {
        Ok((at, _)) => at.real,
        Err(refusal) => return ToolOutput::fail(refusal),
    };
    let cancel = cancel.clone();
    blocking(move || match find(&dir, &input, &cancel) {
        Ok(files) => {
            let message = format!("Glob: \"{}\" ({} files)", input.pattern, files.len());
            ToolOutput::ok(
                json!({"files": files}),
                json!({"type": "none", "message": message}),
            )
        }
        Err(e) => ToolOutput::fail(e),
    })
    .await
}

fn has_wildcard(pattern: &str) -> bool {
    pattern.contains(['*', '?', '[', '{']) || pattern.contains("!(")
}

fn find(dir: &Path, input: &Input, cancel: &CancellationToken) -> Result<Vec<String>, String> {
    if !dir.is_dir() {
        return Err(format!("Directory not found: {}", dir.display()));
    }
    let pattern = input.pattern.trim_start_matches("./");
    if !has_wildcard(pattern) {
        // A plain name only checks that the file exists, and only below the search folder.
        let target = super::paths::resolve(&dir.join(pattern));
        let found = target.starts_with(dir) && target.exists();
        return Ok(if found {
            vec![input.pattern.clone()]
        } else {
            Vec::new()
        });
    }
    let matcher = glob(pattern)?.compile_matcher();
    let ignore = Globs::new(&input.ignore)?;
    // Without ** a pattern cannot match deeper than its own number of folders.
    let depth = (!pattern.contains("**")).then(|| pattern.matches('/').count() + 1);
    let mut found: Vec<(SystemTime, String)> = Vec::new();
    for entry in walker(dir).max_depth(depth).build() {
        if cancel.is_cancelled() {
            return Err("interrupted".into());
        }
        let Ok(entry) = entry else { continue };
        if !entry.file_type().is_some_and(|t| t.is_file()) {
            continue;
        }
        let rel = relative(dir, entry.path());
        if !matcher.is_match(&rel) || ignore.matches(&rel) {
            continue;
        }
        let modified = entry
            .metadata()
            .ok()
            .and_then(|m| m.modified().ok())
            .unwrap_or(SystemTime::UNIX_EPOCH);
        found.push((modified, rel));
    }
    found.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
    Ok(found.into_iter().map(|(_, rel)| rel).collect())
}

#[cfg(test)]
#[path = "glob_tests.rs"]
mod tests;
