//! What `glob`, `grep` and `ls` share: the folders they never enter, the walker set up on the
//! `ignore` crate, and user globs (a glob without `/` is matched against the file name, one
//! with `/` against the path relative to the search folder, as in `.gitignore`).

use std::path::Path;

use globset::{Glob, GlobBuilder, GlobSet, GlobSetBuilder};
use ignore::WalkBuilder;

/// Build, dependency and tool folders the search tools skip (§8.7).
pub const SKIP_DIRS: &[&str] = &[
    "node_modules",
    ".git",
    "__pycache__",
    "dist",
    "build",
    "target",
    "vendor",
    "bin",
    "obj",
    ".idea",
    ".vscode",
    ".zig-cache",
    "zig-out",
    ".coverage",
    "coverage",
    "tmp",
    "temp",
    ".cache",
    "cache",
    "logs",
    ".venv",
    "venv",
    "env",
    ".next",
    ".nuxt",
    ".output",
    ".svelte-kit",
    ".turbo",
];

/// A walker of `root` that follows no links, reads no ignore files unless asked, and never
/// enters [`SKIP_DIRS`] below the root.
pub fn walker(root: &Path) -> WalkBuilder {
    let mut builder = WalkBuilder::new(root);
    builder
        .standard_filters(false)
        .follow_links(false)
        .filter_entry(|entry| {
            let is_dir = entry.file_type().is_some_and(|t| t.is_dir());
            entry.depth() == 0
                || !is_dir
                || !SKIP_DIRS.contains(&entry.file_name().to_string_lossy().as_ref())
        });
    builder
}

/// One glob compiled the way the tools read globs: `*` stays within one folder name.
pub fn glob(pattern: &str) -> Result<Glob, String> {
    GlobBuilder::new(pattern)
        .literal_separator(true)
        .backslash_escape(true)
        .build()
        .map_err(|e| format!("Invalid glob pattern: {e}"))
}

/// User globs: those without `/` test the file name, the others the relative path.
pub struct Globs {
    names: GlobSet,
    paths: GlobSet,
}

impl Globs {
    pub fn new<S: AsRef<str>>(patterns: &[S]) -> Result<Self, String> {
        let (mut names, mut paths) = (GlobSetBuilder::new(), GlobSetBuilder::new());
        for pattern in patterns {
            let pattern = pattern.as_ref().trim_start_matches("./");
            let set = if pattern.contains('/') {
                &mut paths
            } else {
                &mut names
            };
            set.add(glob(pattern)?);
        }
        let build = |b: GlobSetBuilder| b.build().map_err(|e| format!("Invalid glob pattern: {e}"));
        Ok(Self {
            names: build(names)?,
            paths: build(paths)?,
        })
    }

    /// Whether a file, given by its path relative to the search folder, matches any glob.
    pub fn matches(&self, relative: &str) -> bool {
        let name = relative.rsplit('/').next().unwrap_or(relative);
        self.names.is_match(name) || self.paths.is_match(relative)
    }
}

/// `path` relative to `root`, with `/` between names.
pub fn relative(root: &Path, path: &Path) -> String {
    path.strip_prefix(root)
        .unwrap_or(path)
        .to_string_lossy()
        .into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_without_a_slash_match_file_names_anywhere() {
        let globs = Globs::new(&["*.test.ts", "fixtures/**"]).unwrap();
        assert!(globs.matches("a.test.ts"));
        assert!(globs.matches("src/deep/a.test.ts"));
        assert!(globs.matches("fixtures/x/y.json"));
        assert!(!globs.matches("src/fixtures/y.json"));
        assert!(!globs.matches("src/a.ts"));
    }

    #[test]
    fn a_bad_glob_says_so() {
        assert!(
            Globs::new(&["a[b"])
                .err()
                .unwrap()
                .starts_with("Invalid glob pattern")
        );
    }
}
