//! A workspace's roots (its path and its additional paths) and the one rule every file route
//! obeys: a path a client names is resolved — `..` folded, symlinks followed — and must then
//! lie inside an allowed root, compared by whole path components (`/a/b` is not inside `/a/bc`).
//! Upstream compares text prefixes and follows no links (`PROTOCOL-AGENT.md` §16.6).

use std::io;
use std::path::{Component, Path, PathBuf};

use super::FileError;

/// The roots of one workspace, as stored (absolute, not yet resolved).
#[derive(Debug, Clone)]
pub struct Roots {
    main: PathBuf,
    additional: Vec<PathBuf>,
}

/// The root a request works in (`?root=`), and whether it is the workspace's main path.
#[derive(Debug, Clone)]
pub struct Selected {
    pub root: PathBuf,
    pub is_main: bool,
}

impl Roots {
    pub fn new(main: &str, additional: &[String]) -> Self {
        Self {
            main: normalize(Path::new(main)),
            additional: additional.iter().map(|p| normalize(Path::new(p))).collect(),
        }
    }

    /// The main path.
    pub fn main(&self) -> &Path {
        &self.main
    }

    /// Every root, main first.
    pub fn all(&self) -> Vec<PathBuf> {
        std::iter::once(self.main.clone())
            .chain(self.additional.iter().cloned())
            .collect()
    }

    /// The root named by `?root=`: `None` when it is given but names no root of this workspace.
    pub fn select(&self, root: Option<&str>) -> Option<Selected> {
        let Some(wanted) = root.filter(|r| !r.is_empty()) else {
            return Some(self.main_selected());
        };
        let wanted = normalize(Path::new(wanted));
        if wanted == self.main {
            return Some(self.main_selected());
        }
        self.additional
            .iter()
            .find(|p| **p == wanted)
            .map(|p| Selected {
                root: p.clone(),
                is_main: false,
            })
    }

    /// [`Roots::select`], where an unknown root quietly means the main path (§13.1: the tree,
    /// preview and git routes).
    pub fn select_or_main(&self, root: Option<&str>) -> Selected {
        self.select(root).unwrap_or_else(|| self.main_selected())
    }

    fn main_selected(&self) -> Selected {
        Selected {
            root: self.main.clone(),
            is_main: true,
        }
    }
}

/// A path resolved inside the roots: as named (lexically normalised) and as it really is.
#[derive(Debug, Clone)]
pub struct Resolved {
    /// `base` joined with the input, `.` and `..` folded, links not followed.
    pub lexical: PathBuf,
    /// The real path (every symlink followed).
    pub real: PathBuf,
}

/// Resolve `input` (relative to `base`, or absolute) and check it lies inside one of `allowed`,
/// both as written and after following symlinks. [`FileError::Outside`] for an escape,
/// [`FileError::Missing`] when nothing exists there.
pub fn confine(base: &Path, input: &str, allowed: &[PathBuf]) -> Result<Resolved, FileError> {
    let lexical = normalize(&base.join(input));
    if !allowed.iter().any(|root| lexical.starts_with(root)) {
        return Err(FileError::Outside);
    }
    let real = std::fs::canonicalize(&lexical).map_err(missing)?;
    let real_roots: Vec<PathBuf> = allowed
        .iter()
        .filter_map(|r| std::fs::canonicalize(r).ok())
        .collect();
    if !real_roots.iter().any(|root| real.starts_with(root)) {
        return Err(FileError::Outside);
    }
    Ok(Resolved { lexical, real })
}

/// Whether `real` (already canonical) lies inside one of `allowed` once those are resolved.
pub fn inside_real(real: &Path, allowed: &[PathBuf]) -> bool {
    allowed
        .iter()
        .filter_map(|r| std::fs::canonicalize(r).ok())
        .any(|root| real.starts_with(root))
}

fn missing(e: io::Error) -> FileError {
    match e.kind() {
        io::ErrorKind::NotFound | io::ErrorKind::NotADirectory => FileError::Missing,
        _ => FileError::Io(e),
    }
}

/// `.` dropped and `..` folded without touching the disk; `..` above the root stays at the root.
pub fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

/// `path` relative to `root`, with `/` separators (`""` for the root itself).
pub fn relative(path: &Path, root: &Path) -> String {
    let rel = path.strip_prefix(root).unwrap_or(path);
    let parts: Vec<_> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect();
    parts.join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dot_dot_is_folded_and_cannot_climb_above_the_root() {
        assert_eq!(normalize(Path::new("/a/b/../c/./d")), Path::new("/a/c/d"));
        assert_eq!(normalize(Path::new("/a/../../..")), Path::new("/"));
    }

    #[test]
    fn a_sibling_with_a_longer_name_is_not_inside() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("proj");
        let sibling = dir.path().join("project");
        std::fs::create_dir_all(&root).unwrap();
        std::fs::create_dir_all(&sibling).unwrap();
        std::fs::write(sibling.join("x"), "x").unwrap();
        let out = confine(&root, "../project/x", std::slice::from_ref(&root));
        assert!(matches!(out, Err(FileError::Outside)), "{out:?}");
    }

    #[test]
    fn a_symlink_out_of_the_root_is_an_escape_but_one_inside_is_not() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("ws");
        std::fs::create_dir_all(root.join("sub")).unwrap();
        std::fs::write(dir.path().join("secret"), "s").unwrap();
        std::fs::write(root.join("sub/a.txt"), "a").unwrap();
        std::os::unix::fs::symlink(dir.path().join("secret"), root.join("out")).unwrap();
        std::os::unix::fs::symlink(root.join("sub/a.txt"), root.join("in")).unwrap();
        let roots = [root.clone()];
        assert!(matches!(
            confine(&root, "out", &roots),
            Err(FileError::Outside)
        ));
        let ok = confine(&root, "in", &roots).unwrap();
        assert!(ok.real.ends_with("sub/a.txt"));
        assert!(matches!(
            confine(&root, "nope", &roots),
            Err(FileError::Missing)
        ));
    }

    #[test]
    fn an_unknown_root_is_refused_or_means_main() {
        let roots = Roots::new("/w/main", &["/w/extra".to_owned()]);
        assert!(roots.select(Some("/w/other")).is_none());
        assert!(!roots.select(Some("/w/extra/")).unwrap().is_main);
        assert!(roots.select_or_main(Some("/w/other")).is_main);
        assert!(roots.select(None).unwrap().is_main);
    }
}
