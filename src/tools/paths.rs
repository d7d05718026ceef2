//! The tools' path guard: where a path the model names really lands, and what that place is.
//!
//! A path is expanded (`~`, relative to the workspace root), then resolved like the kernel
//! would: `..` and symbolic links are followed component by component, and a part that does not
//! exist yet (a file about to be written) keeps its name under its deepest existing, resolved
//! ancestor. "Inside the workspace" compares that resolved path with the resolved roots by
//! whole components, so neither `<root>-sibling/x` nor a link inside the workspace that points
//! out of it counts as inside (upstream compares text prefixes and follows no links).
//! The tools then do their I/O on the resolved path, the one that was checked.

use std::ffi::OsString;
use std::fs;
use std::path::{Component, Path, PathBuf};

/// Symbolic links followed in one resolution before giving up (the kernel's own limit).
const MAX_LINKS: usize = 40;

/// Top-level folders no tool may touch (§8.7).
const SYSTEM_DIRS: &[&str] = &[
    "/etc", "/usr", "/bin", "/sbin", "/boot", "/dev", "/proc", "/sys", "/root",
];

/// Text that marks a path as holding secrets (§8.7), matched case-insensitively anywhere.
const SENSITIVE: &[&str] = &[
    ".env",
    ".pem",
    ".key",
    ".ssh/",
    "id_rsa",
    "id_ed25519",
    ".gitconfig",
    ".npmrc",
    "credentials",
    "secrets",
    "password",
    ".htpasswd",
];

/// The places a session works in: the workspace path first, then its additional paths, each
/// resolved once when the call's environment is built.
#[derive(Debug, Clone)]
pub struct WorkspaceRoots {
    roots: Vec<PathBuf>,
}

impl WorkspaceRoots {
    /// Resolves `primary` and `additional` (see [`resolve`]); relative ones are taken from `/`.
    pub fn new<P: AsRef<Path>>(primary: impl AsRef<Path>, additional: &[P]) -> Self {
        let mut roots = vec![resolve(&absolute(primary.as_ref()))];
        roots.extend(additional.iter().map(|p| resolve(&absolute(p.as_ref()))));
        Self { roots }
    }

    /// The workspace path: the default folder of every tool.
    pub fn primary(&self) -> &Path {
        &self.roots[0]
    }

    /// Every root, the primary one first.
    pub fn all(&self) -> &[PathBuf] {
        &self.roots
    }

    /// The part of `path` below the root it lies in, or all of it. Sensitivity is judged on
    /// this, so a workspace whose own path says `secrets` does not make every file in it
    /// ask (upstream judges the whole path).
    pub fn tail<'a>(&self, path: &'a Path) -> &'a Path {
        self.roots
            .iter()
            .find_map(|root| path.strip_prefix(root).ok())
            .unwrap_or(path)
    }

    /// Whether a resolved path lies in one of the roots (a root itself counts).
    pub fn contains(&self, resolved: &Path) -> bool {
        self.roots.iter().any(|root| resolved.starts_with(root))
    }
}

fn absolute(path: &Path) -> PathBuf {
    if path.is_absolute() {
        path.to_path_buf()
    } else {
        Path::new("/").join(path)
    }
}

/// Where a path given to a tool lands, and the facts the risk rules need.
#[derive(Debug, Clone)]
pub struct Located {
    /// The text the model gave.
    pub given: String,
    /// Absolute, with `~` expanded, before links are followed.
    pub lexical: PathBuf,
    /// Links and `..` resolved: the path every check and every I/O uses.
    pub real: PathBuf,
    /// In one of the workspace roots.
    pub inside: bool,
    /// Names a file that may hold secrets: the path as given or where it leads, below the
    /// workspace root when inside it.
    pub sensitive: bool,
    /// Under a system directory and not inside the workspace: refused outright.
    pub system: bool,
}

impl Located {
    /// The last component of the resolved path, for questions and metadata.
    pub fn file_name(&self) -> String {
        self.real
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| self.real.to_string_lossy().into_owned())
    }

    /// The resolved path as text.
    pub fn display(&self) -> String {
        self.real.to_string_lossy().into_owned()
    }
}

/// Locates `given` for a tool whose relative paths start at `base`.
pub fn locate(given: &str, base: &Path, roots: &WorkspaceRoots) -> Located {
    let expanded = expand(given, base);
    let lexical = fold(&expanded);
    let real = resolve(&expanded);
    let inside = roots.contains(&real);
    let sensitive = [&lexical, &real]
        .iter()
        .any(|p| is_sensitive(&roots.tail(p).to_string_lossy()));
    let system = !inside && (is_system(&lexical) || is_system(&real));
    Located {
        given: given.to_owned(),
        lexical,
        real,
        inside,
        sensitive,
        system,
    }
}

/// `~` and `~/…` are the home folder, absolute paths stay, anything else is relative to `base`.
/// `..` stays: only [`resolve`] knows what it follows.
pub fn expand(given: &str, base: &Path) -> PathBuf {
    if given == "~" || given.starts_with("~/") {
        match std::env::home_dir() {
            Some(home) => home.join(given.trim_start_matches('~').trim_start_matches('/')),
            None => base.join(given),
        }
    } else if Path::new(given).is_absolute() {
        PathBuf::from(given)
    } else {
        base.join(given)
    }
}

/// `..` folded by text, as a reader of the path would take it.
fn fold(path: &Path) -> PathBuf {
    let mut out = PathBuf::from("/");
    for component in path.components() {
        match component {
            Component::ParentDir => {
                out.pop();
            }
            Component::Normal(name) => out.push(name),
            Component::RootDir | Component::CurDir | Component::Prefix(_) => {}
        }
    }
    out
}

/// The real location of an absolute path: every existing component with its links followed,
/// `..` applied to what it really follows, and the part that does not exist yet kept by name.
pub fn resolve(path: &Path) -> PathBuf {
    let mut pending: Vec<OsString> = steps(path).collect();
    let mut out = PathBuf::from("/");
    let mut links = 0;
    while let Some(name) = pending.pop() {
        if name == ".." {
            out.pop();
            continue;
        }
        let next = out.join(&name);
        let is_link = fs::symlink_metadata(&next).is_ok_and(|m| m.file_type().is_symlink());
        if is_link
            && links < MAX_LINKS
            && let Ok(target) = fs::read_link(&next)
        {
            links += 1;
            if target.is_absolute() {
                out = PathBuf::from("/");
            }
            pending.extend(steps(&target));
            continue;
        }
        out = next;
    }
    out
}

/// The names and `..` of a path, last first (a stack to pop from).
fn steps(path: &Path) -> impl Iterator<Item = OsString> + '_ {
    path.components().rev().filter_map(|c| match c {
        Component::Normal(name) => Some(name.to_os_string()),
        Component::ParentDir => Some(OsString::from("..")),
        _ => None,
    })
}

/// Under one of the system directories, compared by whole components.
pub fn is_system(path: &Path) -> bool {
    SYSTEM_DIRS.iter().any(|dir| path.starts_with(dir))
}

/// Whether a path's text marks a file that may hold secrets (a folder named `.ssh` too).
pub fn is_sensitive(text: &str) -> bool {
    let lower = format!("{}/", text.to_lowercase());
    SENSITIVE.iter().any(|pattern| lower.contains(pattern))
}

#[cfg(test)]
#[path = "paths_tests.rs"]
mod tests;
