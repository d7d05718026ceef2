//! Applying a located patch: plan everything in memory, write, remove, undo on failure, and
//! report what changed.

use std::fs;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use super::Entry;
use super::compute::{ChunkError, Replacement, update};
use super::parse::Kind;
use crate::tools::diff;
use crate::tools::fsutil::write_atomic;
use crate::tools::outcome::ToolOutput;

/// Context lines around each change in the result's diffs.
const DIFF_CONTEXT: usize = 3;

/// One operation with its texts computed.
struct Planned<'a> {
    entry: &'a Entry,
    original: Option<String>,
    result: String,
    replacements: Vec<Replacement>,
}

pub(super) fn apply(entries: Vec<Entry>) -> ToolOutput {
    let planned = match entries.iter().map(plan).collect::<Result<Vec<_>, _>>() {
        Ok(p) => p,
        Err(e) => return ToolOutput::fail(e),
    };
    if let Err(e) = execute(&planned) {
        return ToolOutput::fail(e);
    }
    report(&planned)
}

fn read_text(path: &Path, given: &str) -> Result<String, String> {
    let bytes = fs::read(path).map_err(|e| format!("Cannot read {given}: {e}"))?;
    String::from_utf8(bytes)
        .map_err(|_| format!("Cannot update a file that is not UTF-8 text: {given}"))
}

fn plan(entry: &Entry) -> Result<Planned<'_>, String> {
    let (op, source, dest) = (&entry.op, &entry.source, &entry.dest);
    let planned = |original, result, replacements| {
        Ok(Planned {
            entry,
            original,
            result,
            replacements,
        })
    };
    match op.kind {
        Kind::Add => {
            if dest.real.exists() {
                return Err(format!(
                    "Cannot create file that already exists: {}",
                    dest.given
                ));
            }
            let text = if op.add_lines.is_empty() {
                String::new()
            } else {
                format!("{}\n", op.add_lines.join("\n"))
            };
            planned(None, text, Vec::new())
        }
        Kind::Delete => {
            if !source.real.exists() {
                return Err(format!(
                    "Cannot delete a file that does not exist: {}",
                    source.given
                ));
            }
            if source.real.is_dir() {
                return Err(format!("Cannot delete a directory: {}", source.given));
            }
            planned(
                Some(read_text(&source.real, &source.given)?),
                String::new(),
                Vec::new(),
            )
        }
        Kind::Update => {
            if !source.real.exists() {
                return Err(format!("File not found: {}", source.given));
            }
            if source.real.is_dir() {
                return Err(format!("Cannot update a directory: {}", source.given));
            }
            let original = read_text(&source.real, &source.given)?;
            if op.move_to.is_some() && dest.real.exists() {
                return Err(format!(
                    "Cannot move to a file that already exists: {}",
                    dest.given
                ));
            }
            let (result, replacements) =
                update(&original, &op.chunks).map_err(|e| chunk_error(e, &op.path))?;
            planned(Some(original), result, replacements)
        }
    }
}

fn chunk_error(error: ChunkError, path: &str) -> String {
    match error {
        ChunkError::AmbiguousInsertion(i) => {
            format!(
                "Ambiguous pure insertion in chunk {i} of {path}. Add a context anchor or *** End of File."
            )
        }
        ChunkError::Ambiguous(i) => format!("Found multiple matches for chunk {i} of {path}."),
        ChunkError::NoMatch(i) => {
            format!("No match for chunk {i} of {path}. Re-read the file before retrying.")
        }
    }
}

/// How to undo one step.
enum Undo {
    Restore(PathBuf, String),
    Remove(PathBuf),
}

/// Writes first, then removals; on a failure, what was done is undone.
fn execute(planned: &[Planned<'_>]) -> Result<(), String> {
    let mut undo: Vec<Undo> = Vec::new();
    for p in planned.iter().filter(|p| p.entry.op.kind != Kind::Delete) {
        let (dest, moved) = (&p.entry.dest.real, p.entry.op.move_to.is_some());
        let step = match (&p.original, moved) {
            (Some(original), false) => Undo::Restore(dest.clone(), original.clone()),
            _ => Undo::Remove(dest.clone()),
        };
        if let Err(e) = write_atomic(dest, p.result.as_bytes()) {
            return Err(format!(
                "Failed to write {}: {e}{}",
                dest.display(),
                rollback(undo)
            ));
        }
        if moved && let Ok(meta) = fs::metadata(&p.entry.source.real) {
            // A moved script stays executable.
            let _ = fs::set_permissions(dest, meta.permissions());
        }
        undo.push(step);
    }
    for p in planned
        .iter()
        .filter(|p| p.entry.op.kind == Kind::Delete || p.entry.op.move_to.is_some())
    {
        let source = &p.entry.source.real;
        if let Err(e) = fs::remove_file(source) {
            return Err(format!(
                "Failed to remove {}: {e}{}",
                source.display(),
                rollback(undo)
            ));
        }
        undo.push(Undo::Restore(
            source.clone(),
            p.original.clone().unwrap_or_default(),
        ));
    }
    Ok(())
}

/// Undoes the steps, latest first; the text says what could not be undone.
fn rollback(undo: Vec<Undo>) -> String {
    let failed: Vec<String> = undo
        .into_iter()
        .rev()
        .filter_map(|step| match step {
            Undo::Restore(path, text) => write_atomic(&path, text.as_bytes())
                .err()
                .map(|e| format!("{}: {e}", path.display())),
            Undo::Remove(path) => fs::remove_file(&path)
                .err()
                .map(|e| format!("{}: {e}", path.display())),
        })
        .collect();
    if failed.is_empty() {
        String::new()
    } else {
        format!(" (rollback failed for {})", failed.join("; "))
    }
}

fn report(planned: &[Planned<'_>]) -> ToolOutput {
    let (mut added, mut modified, mut deleted, mut moved) = (vec![], vec![], vec![], vec![]);
    let (mut modes, mut diffs) = (vec![], vec![]);
    for p in planned {
        let (source, dest) = (p.entry.source.display(), p.entry.dest.display());
        match (p.entry.op.kind, p.entry.op.move_to.is_some()) {
            (Kind::Add, _) => added.push(dest.clone()),
            (Kind::Delete, _) => deleted.push(source.clone()),
            (Kind::Update, true) => {
                moved.push(json!({"from": source, "to": dest}));
                modified.push(dest.clone());
            }
            (Kind::Update, false) => modified.push(dest.clone()),
        }
        if p.entry.op.kind == Kind::Update {
            for r in &p.replacements {
                modes.push(json!({"path": dest, "chunkIndex": r.chunk, "mode": r.mode.as_str(), "startLine": r.line}));
            }
            let (hunks, additions, deletions) =
                diff::hunks(p.original.as_deref().unwrap_or(""), &p.result, DIFF_CONTEXT);
            diffs.push(json!({"path": dest, "hunks": hunks, "additions": additions, "deletions": deletions}));
        }
    }
    let total = added.len() + modified.len() + deleted.len() + moved.len();
    let viz = visualization(&added, &modified, &deleted, &moved, total);
    ToolOutput::ok(
        json!({"added": added, "modified": modified, "deleted": deleted, "moved": moved, "matchModes": modes, "diffs": diffs}),
        viz,
    )
}

fn visualization(
    added: &[String],
    modified: &[String],
    deleted: &[String],
    moved: &[Value],
    total: usize,
) -> Value {
    let group = |label: &str, icon: &str, action: &str, paths: &[String]| {
        let files: Vec<Value> = paths
            .iter()
            .map(|p| json!({"path": p, "action": action}))
            .collect();
        json!({"label": label, "icon": icon, "files": files})
    };
    let mut groups = Vec::new();
    if !modified.is_empty() {
        groups.push(group("Modified", "edit", "modified", modified));
    }
    if !added.is_empty() {
        groups.push(group("Created", "plus", "created", added));
    }
    if !deleted.is_empty() {
        groups.push(group("Deleted", "trash", "deleted", deleted));
    }
    if !moved.is_empty() {
        let files: Vec<Value> = moved.iter().map(|m| json!({"path": format!("{} -> {}", m["from"].as_str().unwrap_or(""), m["to"].as_str().unwrap_or(""))})).collect();
        groups.push(json!({"label": "Moved", "icon": "edit", "files": files}));
    }
    let title = format!(
        "Applied patch to {total} file{}",
        if total == 1 { "" } else { "s" }
    );
    json!({"type": "file-list", "title": title, "groups": groups, "total": total})
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tools::testenv::TestEnv;

    #[test]
    fn a_failed_removal_undoes_the_writes() {
        let t = TestEnv::new();
        t.write("a.txt", "a\n");
        t.write("old.txt", "old\n");
        let body = "*** Update File: a.txt\n@@\n-a\n+A\n*** Add File: new.txt\n+n\n*** Delete File: old.txt";
        let input = json!({"patch": format!("*** Begin Patch\n{body}\n*** End Patch")});
        let entries = super::super::prepare(&input, &t.env).unwrap();
        let planned: Vec<_> = entries.iter().map(plan).collect::<Result<_, _>>().unwrap();
        // The file goes away between planning and removal, so the removal fails.
        fs::remove_file(t.ws.join("old.txt")).unwrap();
        let error = execute(&planned).unwrap_err();
        assert!(
            error.starts_with(&format!(
                "Failed to remove {}",
                t.ws.join("old.txt").display()
            )),
            "{error}"
        );
        assert_eq!(t.read("a.txt"), "a\n");
        assert!(!t.ws.join("new.txt").exists());
    }
}
