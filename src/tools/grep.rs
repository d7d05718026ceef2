//! `grep`: lines matching a regular expression, in one file or below a folder, honouring the
//! search folder's `.gitignore` files, skipping binary files and files over 10 MiB.

use std::path::Path;

use grep_regex::RegexMatcher;
use grep_searcher::sinks::Lossy;
use grep_searcher::{Searcher, SearcherBuilder};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use super::ask::Assessment;
use super::blocking;
use super::env::ToolEnv;
use super::outcome::ToolOutput;
use super::risk::{folder_read, guard, parse};
use super::walk::{Globs, relative, walker};

const VERB: &str = "Searching in";
const MAX_MATCHES: usize = 5000;
const MAX_FILE_BYTES: u64 = 10 * 1024 * 1024;
/// Extensions of files that are never searched.
const BINARY_EXTENSIONS: &[&str] = &[
    "png", "jpg", "jpeg", "gif", "ico", "svg", "woff", "woff2", "ttf", "eot", "zip", "tar", "gz",
    "7z", "rar", "pdf", "exe", "dll", "so", "dylib", "wasm", "mp4", "mp3", "wav", "avi", "mov",
    "mkv", "webp", "webm", "sqlite", "db", "bin", "dat",
];

#[derive(Deserialize)]
struct Input {
    pattern: String,
    path: Option<String>,
    include: Option<String>,
    #[serde(default)]
    ignore: Vec<String>,
}

pub(super) fn assess(input: &Value, env: &ToolEnv) -> Assessment {
    let Ok(input) = parse::<Input>("grep", input) else {
        return Assessment::Allow;
    };
    let questions = (
        "Searching in files outside the workspace requires approval.",
        Some("Searching in sensitive directories requires approval."),
    );
    folder_read(
        input.path.as_deref().unwrap_or("."),
        env,
        VERB,
        "grep",
        questions,
    )
}

pub(super) async fn run(input: &Value, env: &ToolEnv, cancel: &CancellationToken) -> ToolOutput {
    let input = match parse::<Input>("grep", input) {
        Ok(i) => i,
        Err(e) => return ToolOutput::fail(e),
    };
    let root = match guard(
        input.path.as_deref().unwrap_or("."),
        env,
        VERB,
        &env.free_reads(false),
    ) {
        Ok((at, _)) => at.real,
        Err(refusal) => return ToolOutput::fail(refusal),
    };
    let cancel = cancel.clone();
    blocking(move || match search(&root, &input, &cancel) {
        Ok(matches) => {
            let n = matches.len();
            let message = match n >= MAX_MATCHES {
                true => format!(
                    "Grep: \"{}\" ({n} matches, truncated to {MAX_MATCHES})",
                    input.pattern
                ),
                false => format!("Grep: \"{}\" ({n} matches)", input.pattern),
            };
            ToolOutput::ok(
                json!({"matches": matches}),
                json!({"type": "none", "message": message}),
            )
        }
        Err(e) => ToolOutput::fail(e),
    })
    .await
}

fn search(root: &Path, input: &Input, cancel: &CancellationToken) -> Result<Vec<Value>, String> {
    let matcher = RegexMatcher::new_line_matcher(&input.pattern)
        .map_err(|e| format!("Invalid regex pattern: {e}"))?;
    let include = input
        .include
        .as_deref()
        .map(|p| Globs::new(&[p]))
        .transpose()?;
    let ignore = Globs::new(&input.ignore)?;
    let mut searcher = SearcherBuilder::new().line_number(true).build();
    let mut matches = Vec::new();
    if root.is_file() {
        let base = root.parent().unwrap_or(root);
        search_file(
            &mut searcher,
            &matcher,
            root,
            &relative(base, root),
            &mut matches,
        );
        return Ok(matches);
    }
    if !root.is_dir() {
        return Err(format!("Path not found: {}", root.display()));
    }
    let mut walk = walker(root);
    walk.git_ignore(true).require_git(false).parents(false);
    for entry in walk.build() {
        if cancel.is_cancelled() {
            return Err("interrupted".into());
        }
        let Ok(entry) = entry else { continue };
        if !entry.file_type().is_some_and(|t| t.is_file()) {
            continue;
        }
        let rel = relative(root, entry.path());
        if include.as_ref().is_some_and(|g| !g.matches(&rel)) || ignore.matches(&rel) {
            continue;
        }
        search_file(&mut searcher, &matcher, entry.path(), &rel, &mut matches);
        if matches.len() >= MAX_MATCHES {
            break;
        }
    }
    Ok(matches)
}

/// Adds the matching lines of one text file; binary, huge and unreadable files add nothing.
fn search_file(
    searcher: &mut Searcher,
    matcher: &RegexMatcher,
    path: &Path,
    rel: &str,
    matches: &mut Vec<Value>,
) {
    let ext = path.extension().map(|e| e.to_string_lossy().to_lowercase());
    if ext.is_some_and(|e| BINARY_EXTENSIONS.contains(&e.as_str())) {
        return;
    }
    if std::fs::metadata(path).map_or(true, |m| m.len() > MAX_FILE_BYTES) {
        return;
    }
    let Ok(bytes) = std::fs::read(path) else {
        return;
    };
    if bytes.contains(&0) {
        return;
    }
    let sink = Lossy(|line, text: &str| {
        matches.push(json!({"file": rel, "line": line, "content": text.trim_end()}));
        Ok(matches.len() < MAX_MATCHES)
    });
    // A search of bytes in memory fails only if the sink does, and ours does not.
    let _ = searcher.search_slice(matcher, &bytes, sink);
}

#[cfg(test)]
#[path = "grep_tests.rs"]
mod tests;
