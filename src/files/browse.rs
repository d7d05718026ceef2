//! The folder picker (§13.8): the server's directories, from the home directory down, for "Add
//! existing folder". Not confined to a workspace — the HTTP layer lets only the owner call it.
//! Directories only (the client shows nothing else), dotfiles and the built-in ignores left out,
//! at most [`MAX_PICKER_ENTRIES`] per answer.

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::roots::normalize;
use super::tree::{self, Entry, Links, ListOptions};

/// Most directories in one answer; past it the first ones in order are sent, with
/// `truncated: true`.
pub const MAX_PICKER_ENTRIES: usize = 5_000;

/// The answer of `/api/fs/browse` and `/api/fs/parent`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Folder {
    pub files: Vec<Entry>,
    pub current_path: String,
    pub mode: &'static str,
    pub is_root: bool,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub truncated: bool,
}

/// The directory a picker path names: empty → `home`; `~` and `~/x` expanded; relative paths
/// taken from `home`; `.` and `..` folded.
pub fn resolve(path: &str, home: &Path) -> PathBuf {
    let expanded = match path {
        "" | "~" => home.to_path_buf(),
        p => match p.strip_prefix("~/") {
            Some(rest) => home.join(rest),
            None => home.join(p),
        },
    };
    normalize(&expanded)
}

/// List `dir`; `is_root` says whether `root_of` is the filesystem root. Blocking.
fn folder(dir: &Path, is_root: bool) -> std::io::Result<Folder> {
    let listing = tree::list(
        dir,
        ListOptions {
            show_hidden: false,
            dirs_only: true,
            links: Links::Follow,
            max: MAX_PICKER_ENTRIES,
        },
    )?;
    Ok(Folder {
        files: listing.entries,
        current_path: dir.to_string_lossy().into_owned(),
        mode: "browse",
        is_root,
        truncated: listing.truncated,
    })
}

/// `/api/fs/browse?path=`. Blocking.
pub fn browse(path: &str, home: &Path) -> std::io::Result<Folder> {
    let dir = resolve(path, home);
    folder(&dir, dir.parent().is_none())
}

/// `/api/fs/parent?path=`: the parent of `path`, and whether `path` was the root. Blocking.
pub fn parent(path: &str, home: &Path) -> std::io::Result<Folder> {
    let dir = resolve(path, home);
    match dir.parent() {
        Some(up) => folder(up, false),
        None => folder(&dir, true),
    }
}

/// `/api/fs/drives`: the filesystem roots (one on Unix).
pub fn drives() -> Vec<String> {
    vec!["/".to_owned()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picker_paths_start_at_home() {
        let home = Path::new("/home/u");
        assert_eq!(resolve("", home), Path::new("/home/u"));
        assert_eq!(resolve("~/src/../docs", home), Path::new("/home/u/docs"));
        assert_eq!(resolve("proj", home), Path::new("/home/u/proj"));
        assert_eq!(resolve("/etc/..", home), Path::new("/"));
    }

    #[test]
    fn the_root_is_its_own_parent() {
        let up = parent("/", Path::new("/home/u")).unwrap();
        assert!(up.is_root);
        assert_eq!(up.current_path, "/");
        assert!(up.files.iter().all(|e| e.kind == tree::Kind::Directory));
    }
}
