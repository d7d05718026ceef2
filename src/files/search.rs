//! Search by name (§13.2 `search=`): every file and directory under a root whose name contains
//! the query, ignoring case. The walk is the `ignore` crate's parallel walker: it honours
//! `.gitignore` and `.ignore` files (in a repository or not), never follows symlinks (so it
//! cannot leave the root), skips the built-in ignores, and stops as soon as `limit` names are
//! found or the request is abandoned.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use ignore::{WalkBuilder, WalkState};

use super::roots::relative;
use super::tree::{ALWAYS_HIDDEN, Entry, Kind};

/// Queries shorter than this find nothing (as upstream).
pub const MIN_QUERY_CHARS: usize = 2;
/// The largest `limit` honoured.
pub const MAX_LIMIT: usize = 1000;

/// Up to `limit` entries under `root` whose name contains `query`, shallowest first, each with
/// its path from the root. `cancel` set stops the walk early. Blocking (the walker runs on its
/// own threads and this call waits for them).
pub fn search(
    root: &Path,
    query: &str,
    limit: usize,
    show_hidden: bool,
    cancel: &AtomicBool,
) -> Vec<Entry> {
    if query.chars().count() < MIN_QUERY_CHARS || limit == 0 {
        return Vec::new();
    }
    let limit = limit.min(MAX_LIMIT);
    let needle = query.to_lowercase();
    let found: Arc<Mutex<Vec<(usize, Entry)>>> = Arc::new(Mutex::new(Vec::new()));
    let walker = WalkBuilder::new(root)
        .hidden(!show_hidden)
        .require_git(false)
        .git_global(false)
        .follow_links(false)
        .filter_entry(|e| !ALWAYS_HIDDEN.contains(&e.file_name().to_string_lossy().as_ref()))
        .build_parallel();
    walker.run(|| {
        let found = Arc::clone(&found);
        let needle = needle.clone();
        Box::new(move |item| {
            if cancel.load(Ordering::Relaxed) {
                return WalkState::Quit;
            }
            let Ok(entry) = item else {
                return WalkState::Continue;
            };
            if entry.depth() == 0 {
                return WalkState::Continue;
            }
            let name = entry.file_name().to_string_lossy();
            if !name.to_lowercase().contains(&needle) {
                return WalkState::Continue;
            }
            let kind = match entry.file_type() {
                Some(t) if t.is_dir() => Kind::Directory,
                _ => Kind::File,
            };
            let hit = Entry::new(name.into_owned(), kind, relative(entry.path(), root));
            let Ok(mut list) = found.lock() else {
                return WalkState::Quit;
            };
            list.push((entry.depth(), hit));
            if list.len() >= limit {
                WalkState::Quit
            } else {
                WalkState::Continue
            }
        })
    });
    let mut list = match Arc::try_unwrap(found) {
        Ok(m) => m.into_inner().unwrap_or_default(),
        Err(shared) => shared.lock().map(|l| l.clone()).unwrap_or_default(),
    };
    list.sort_by(|(da, a), (db, b)| da.cmp(db).then_with(|| a.path.cmp(&b.path)));
    list.truncate(limit);
    list.into_iter().map(|(_, e)| e).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paths(v: &[Entry]) -> Vec<&str> {
        v.iter().map(|e| e.path.as_str()).collect()
    }

    #[test]
    fn names_match_ignoring_case_and_ignored_places_are_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        for d in ["src/deep", "node_modules/x", "target", ".hidden"] {
            std::fs::create_dir_all(root.join(d)).unwrap();
        }
        for f in [
            "src/Config.rs",
            "src/deep/config.toml",
            "node_modules/x/config.js",
            "target/config.o",
            ".hidden/config",
            "README.md",
        ] {
            std::fs::write(root.join(f), "x").unwrap();
        }
        std::fs::write(root.join(".gitignore"), "target/\n").unwrap();
        let stop = AtomicBool::new(false);
        let hits = search(root, "CONFIG", 20, false, &stop);
        assert_eq!(paths(&hits), ["src/Config.rs", "src/deep/config.toml"]);
        assert_eq!(hits[0].extension.as_deref(), Some(".rs"));
        let with_hidden = search(root, "config", 20, true, &stop);
        assert_eq!(with_hidden.len(), 3, "{:?}", paths(&with_hidden));
        assert_eq!(search(root, "config", 1, false, &stop).len(), 1);
        assert!(search(root, "c", 20, false, &stop).is_empty());
    }
}
