//! The `diff` visualization (§8.2) of a file's old and new text: hunks of added, removed and
//! context lines with their line numbers, computed by `similar`.

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use similar::{Algorithm, ChangeTag, TextDiff};

use super::fsutil::language;

/// Context lines around each change.
pub const CONTEXT: usize = 5;
/// Time a diff may take before similar settles for a coarser answer.
const DEADLINE: Duration = Duration::from_millis(500);

/// The hunks, additions and deletions of `old` → `new`.
pub fn hunks(old: &str, new: &str, context: usize) -> (Vec<Value>, usize, usize) {
    let diff = TextDiff::configure()
        .algorithm(Algorithm::Myers)
        .deadline(Instant::now() + DEADLINE)
        .diff_lines(old, new);
    let (mut additions, mut deletions) = (0, 0);
    let mut hunks = Vec::new();
    for group in diff.grouped_ops(context) {
        let (Some(first), Some(last)) = (group.first(), group.last()) else {
            continue;
        };
        let (old_range, new_range) = (
            first.old_range().start..last.old_range().end,
            first.new_range().start..last.new_range().end,
        );
        let mut changes = Vec::new();
        for op in &group {
            for change in diff.iter_changes(op) {
                let content = change.value().trim_end_matches('\n').trim_end_matches('\r');
                let old_no = change.old_index().map(|i| i + 1);
                let new_no = change.new_index().map(|i| i + 1);
                changes.push(match change.tag() {
                    ChangeTag::Equal => json!({"type": "context", "content": content, "oldLineNumber": old_no, "newLineNumber": new_no}),
                    ChangeTag::Delete => {
                        deletions += 1;
                        json!({"type": "removed", "content": content, "oldLineNumber": old_no})
                    }
                    ChangeTag::Insert => {
                        additions += 1;
                        json!({"type": "added", "content": content, "newLineNumber": new_no})
                    }
                });
            }
        }
        hunks.push(json!({
            "oldStart": old_range.start + 1, "oldLines": old_range.len(),
            "newStart": new_range.start + 1, "newLines": new_range.len(), "changes": changes,
        }));
    }
    (hunks, additions, deletions)
}

/// A `diff` visualization; `match_info` is the mode and line of an edit.
pub fn visualization(
    path: &Path,
    old: &str,
    new: &str,
    match_info: Option<(&str, usize)>,
) -> Value {
    let (hunks, additions, deletions) = hunks(old, new, CONTEXT);
    let mut viz = json!({
        "type": "diff", "path": path.to_string_lossy(), "language": language(path),
        "hunks": hunks, "additions": additions, "deletions": deletions,
    });
    if let Some((strategy, line)) = match_info {
        viz["matchInfo"] = json!({"strategy": strategy, "lineNumber": line});
    }
    viz
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_changed_line_gives_one_hunk_with_context_and_line_numbers() {
        let old = "1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n11\n12\n";
        let new = old.replace("7\n", "seven\nsieben\n");
        let (hunks, additions, deletions) = hunks(old, &new, 2);
        assert_eq!((hunks.len(), additions, deletions), (1, 2, 1));
        let h = &hunks[0];
        assert_eq!(
            (h["oldStart"].clone(), h["oldLines"].clone()),
            (json!(5), json!(5))
        );
        assert_eq!(
            (h["newStart"].clone(), h["newLines"].clone()),
            (json!(5), json!(6))
        );
        let changes = h["changes"].as_array().unwrap();
        assert_eq!(
            changes[0],
            json!({"type": "context", "content": "5", "oldLineNumber": 5, "newLineNumber": 5})
        );
        assert_eq!(
            changes[2],
            json!({"type": "removed", "content": "7", "oldLineNumber": 7})
        );
        assert_eq!(
            changes[3],
            json!({"type": "added", "content": "seven", "newLineNumber": 7})
        );
    }

    #[test]
    fn the_visualization_names_path_language_and_match() {
        let viz = visualization(Path::new("/w/a.rs"), "a\n", "b\n", Some(("exact", 1)));
        assert_eq!(viz["type"], "diff");
        assert_eq!(viz["language"], "rust");
        assert_eq!(
            viz["matchInfo"],
            json!({"strategy": "exact", "lineNumber": 1})
        );
        assert_eq!(
            (viz["additions"].clone(), viz["deletions"].clone()),
            (json!(1), json!(1))
        );
    }
}
