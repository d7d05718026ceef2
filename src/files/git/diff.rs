//! `git/diff` (§13.4): one file's changes as hunks of added, removed and context lines, or every
//! changed file under a directory (`path=.` for the whole root). Tracked files are diffed
//! against `HEAD` (against the empty tree before the first commit); an untracked file is one
//! hunk of added lines.

use std::path::Path;

use futures_util::StreamExt;
use serde::Serialize;

use super::run::git_with;
use super::status::{GitStatus, Status, Summary};
use crate::files::detect::{self, MAX_TEXT_BYTES};

/// Most files in one whole-directory diff; past it `truncated` is set.
pub const MAX_DIFF_FILES: usize = 100;
/// The object name of the empty tree (SHA-1 repositories), to diff against before a first commit.
const EMPTY_TREE: &str = "4b825dc642cb6eb9a060e54bf8d69288fbee4904";

#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum ChangeKind {
    Context,
    Added,
    Removed,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Change {
    #[serde(rename = "type")]
    pub kind: ChangeKind,
    pub content: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line_number: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub new_line_number: Option<u64>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Hunk {
    pub old_start: u64,
    pub old_lines: u64,
    pub new_start: u64,
    pub new_lines: u64,
    pub changes: Vec<Change>,
}

/// `GitFileDiffResponse`, plus `files` (and `truncated`) for a directory.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FileDiff {
    pub path: String,
    pub diff_available: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<Summary>,
    pub hunks: Vec<Hunk>,
    pub additions: u64,
    pub deletions: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub language: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub files: Option<Vec<FileDiff>>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub truncated: bool,
}

impl FileDiff {
    /// No diff to show, and why.
    pub fn unavailable(path: &str, reason: &'static str) -> Self {
        Self {
            path: path.to_owned(),
            diff_available: false,
            reason: Some(reason),
            status: None,
            hunks: Vec::new(),
            additions: 0,
            deletions: 0,
            language: None,
            files: None,
            truncated: false,
        }
    }
}

/// The diff of the file at `rel` (a path from `root`), shown as `shown`.
pub async fn file(root: &Path, status: &GitStatus, rel: &str, shown: &str) -> FileDiff {
    let Some(summary) = status.files.get(rel).cloned() else {
        return FileDiff::unavailable(shown, "not_changed");
    };
    let hunks = if summary.status == Status::Untracked {
        match untracked(&root.join(rel)).await {
            Ok(h) => h,
            Err(reason) => return FileDiff::unavailable(shown, reason),
        }
    } else {
        match tracked(root, &status.safe_config, rel).await {
            Ok(h) => h,
            Err(reason) => return FileDiff::unavailable(shown, reason),
        }
    };
    if hunks.is_empty() {
        return FileDiff::unavailable(shown, "not_changed");
    }
    let (additions, deletions) = count(&hunks);
    FileDiff {
        path: shown.to_owned(),
        diff_available: true,
        reason: None,
        status: Some(summary),
        hunks,
        additions,
        deletions,
        language: detect::language(Path::new(rel)),
        files: None,
        truncated: false,
    }
}

/// Every changed file under directory `dir` (a path from `root`; `""` is the root itself).
pub async fn directory(root: &Path, status: &GitStatus, dir: &str, shown: &str) -> FileDiff {
    let prefix = if dir.is_empty() {
        String::new()
    } else {
        format!("{dir}/")
    };
    let paths: Vec<String> = status
        .files
        .iter()
        .filter(|(p, s)| p.starts_with(&prefix) && s.status != Status::Ignored)
        .map(|(p, _)| p.clone())
        .collect();
    let truncated = paths.len() > MAX_DIFF_FILES;
    let files: Vec<FileDiff> = futures_util::stream::iter(paths.into_iter().take(MAX_DIFF_FILES))
        .map(|p| async move { file(root, status, &p, &p).await })
        .buffered(4)
        .collect()
        .await;
    let files: Vec<FileDiff> = files.into_iter().filter(|f| f.diff_available).collect();
    let available = !files.is_empty();
    FileDiff {
        path: shown.to_owned(),
        diff_available: available,
        reason: (!available).then_some("not_changed"),
        status: None,
        hunks: Vec::new(),
        additions: files.iter().map(|f| f.additions).sum(),
        deletions: files.iter().map(|f| f.deletions).sum(),
        language: None,
        files: Some(files),
        truncated,
    }
}

async fn tracked(root: &Path, safe: &[String], rel: &str) -> Result<Vec<Hunk>, &'static str> {
    let args = |base: &'static str| {
        [
            "diff",
            "--no-color",
            "--no-ext-diff",
            "--no-textconv",
            "--ignore-submodules=all",
            base,
            "--",
        ]
    };
    let run = |base: &'static str| {
        let mut a: Vec<&str> = args(base).to_vec();
        a.push(rel);
        async move { git_with(root, safe, &a).await }
    };
    let out = match run("HEAD").await {
        Ok(out) => out,
        // Before the first commit there is no HEAD: everything is new.
        Err(e) if e.to_string().contains("HEAD") => {
            run(EMPTY_TREE).await.map_err(|_| "git_error")?
        }
        Err(_) => return Err("git_error"),
    };
    let text = String::from_utf8_lossy(&out);
    if text.lines().any(|l| l.starts_with("Binary files ")) {
        return Err("binary");
    }
    Ok(parse_unified(&text))
}

async fn untracked(path: &Path) -> Result<Vec<Hunk>, &'static str> {
    let meta = tokio::fs::metadata(path)
        .await
        .map_err(|_| "file_not_found")?;
    if meta.len() > MAX_TEXT_BYTES || detect::binary_extension(path) {
        return Err("binary");
    }
    let bytes = tokio::fs::read(path).await.map_err(|_| "file_not_found")?;
    if detect::binary_content(&bytes) {
        return Err("binary");
    }
    let text = String::from_utf8_lossy(&bytes);
    let changes: Vec<Change> = text
        .lines()
        .enumerate()
        .map(|(i, line)| Change {
            kind: ChangeKind::Added,
            content: line.to_owned(),
            line_number: None,
            new_line_number: Some(i as u64 + 1),
        })
        .collect();
    Ok(vec![Hunk {
        old_start: 0,
        old_lines: 0,
        new_start: 1,
        new_lines: changes.len() as u64,
        changes,
    }])
}

fn count(hunks: &[Hunk]) -> (u64, u64) {
    let of = |k| {
        hunks
            .iter()
            .flat_map(|h| &h.changes)
            .filter(|c| c.kind == k)
            .count() as u64
    };
    (of(ChangeKind::Added), of(ChangeKind::Removed))
}

/// Hunks of a unified diff. Body lines are counted against the hunk header, so a removed line
/// that reads `-- x` is not taken for a `--- ` file header.
pub fn parse_unified(patch: &str) -> Vec<Hunk> {
    let mut hunks = Vec::new();
    let mut current: Option<Hunk> = None;
    let (mut old_no, mut new_no, mut old_left, mut new_left) = (0, 0, 0, 0);
    for line in patch.lines() {
        if old_left == 0 && new_left == 0 {
            if let Some(h) = current.take() {
                hunks.push(h);
            }
            if let Some((os, ol, ns, nl)) = hunk_header(line) {
                (old_no, new_no, old_left, new_left) = (os, ns, ol, nl);
                current = Some(Hunk {
                    old_start: os,
                    old_lines: ol,
                    new_start: ns,
                    new_lines: nl,
                    changes: Vec::new(),
                });
            }
            continue;
        }
        let Some(h) = current.as_mut() else { continue };
        let (kind, content) = match line.as_bytes().first() {
            Some(b'+') => (ChangeKind::Added, &line[1..]),
            Some(b'-') => (ChangeKind::Removed, &line[1..]),
            Some(b'\\') => continue, // "\ No newline at end of file"
            Some(b' ') => (ChangeKind::Context, &line[1..]),
            _ => (ChangeKind::Context, ""),
        };
        let (line_number, new_line_number) = match kind {
            ChangeKind::Added => (None, Some(new_no)),
            ChangeKind::Removed => (Some(old_no), None),
            ChangeKind::Context => (Some(old_no), Some(new_no)),
        };
        if kind != ChangeKind::Added {
            old_no += 1;
            old_left = old_left.saturating_sub(1);
        }
        if kind != ChangeKind::Removed {
            new_no += 1;
            new_left = new_left.saturating_sub(1);
        }
        h.changes.push(Change {
            kind,
            content: content.to_owned(),
            line_number,
            new_line_number,
        });
    }
    hunks.extend(current);
    hunks
}

/// `@@ -a[,b] +c[,d] @@` → (a, b, c, d), a missing count being 1.
fn hunk_header(line: &str) -> Option<(u64, u64, u64, u64)> {
    let rest = line.strip_prefix("@@ -")?;
    let (ranges, _) = rest.split_once(" @@")?;
    let (old, new) = ranges.split_once(" +")?;
    let range = |r: &str| -> Option<(u64, u64)> {
        match r.split_once(',') {
            Some((s, n)) => Some((s.parse().ok()?, n.parse().ok()?)),
            None => Some((r.parse().ok()?, 1)),
        }
    };
    let (os, ol) = range(old)?;
    let (ns, nl) = range(new)?;
    Some((os, ol, ns, nl))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hunks_number_their_lines_and_a_dashed_body_line_is_not_a_header() {
        let patch = "diff --git a/x b/x\nindex 1..2 100644\n--- a/x\n+++ b/x\n\
                     @@ -10,2 +10,2 @@ fn f()\n  a();\n--- b\n+++ c\n\\ No newline at end of file\n\
                     @@ -20 +20,2 @@\n x\n+y\n";
        let hunks = parse_unified(patch);
        assert_eq!(hunks.len(), 2);
        let h = &hunks[0];
        assert_eq!(
            (h.old_start, h.old_lines, h.new_start, h.new_lines),
            (10, 2, 10, 2)
        );
        assert_eq!(h.changes.len(), 3);
        assert_eq!(h.changes[0].kind, ChangeKind::Context);
        assert_eq!(h.changes[0].content, " a();");
        assert_eq!(
            (
                h.changes[1].kind,
                h.changes[1].content.as_str(),
                h.changes[1].line_number
            ),
            (ChangeKind::Removed, "-- b", Some(11))
        );
        assert_eq!(
            (h.changes[2].kind, h.changes[2].new_line_number),
            (ChangeKind::Added, Some(11))
        );
        assert_eq!(hunks[1].changes[1].new_line_number, Some(21));
        assert_eq!(count(&hunks), (2, 1));
    }
}
