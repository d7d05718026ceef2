//! File helpers the writing tools share: the atomic write (a temporary file in the same folder,
//! renamed over the target, keeping the target's permissions), language names for the client's
//! syntax highlighting, and the binary-file test.

use std::fs;
use std::io::{self, Write};
use std::path::Path;

/// Writes `bytes` to `path` so that a reader sees the old content or the new, never a mix:
/// missing folders are created, the data goes to a temporary file beside the target, is
/// flushed to disk, takes the target's permissions if it existed, and is renamed over it.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let dir = path
        .parent()
        .ok_or_else(|| io::Error::other("a file path has a folder"))?;
    fs::create_dir_all(dir)?;
    let mut tmp = tempfile::Builder::new()
        .prefix(".jean2-")
        .suffix(".tmp")
        .tempfile_in(dir)?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    match fs::metadata(path) {
        Ok(meta) => fs::set_permissions(tmp.path(), meta.permissions())?,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// The language of a file for the `code` and `diff` visualizations.
pub fn language(path: &Path) -> String {
    let ext = path
        .extension()
        .map(|e| e.to_string_lossy().to_lowercase())
        .unwrap_or_default();
    let known = match ext.as_str() {
        "ts" | "tsx" => "typescript",
        "js" | "jsx" | "mjs" | "cjs" => "javascript",
        "py" => "python",
        "rs" => "rust",
        "go" => "go",
        "rb" => "ruby",
        "java" => "java",
        "kt" => "kotlin",
        "swift" => "swift",
        "c" | "h" => "c",
        "cpp" | "hpp" | "cc" => "cpp",
        "cs" => "csharp",
        "php" => "php",
        "sh" | "bash" => "bash",
        "zsh" => "zsh",
        "md" => "markdown",
        "yml" | "yaml" => "yaml",
        "toml" => "toml",
        "json" => "json",
        "html" => "html",
        "css" => "css",
        "scss" => "scss",
        "sql" => "sql",
        "xml" => "xml",
        "txt" | "" => "text",
        other => other,
    };
    known.to_owned()
}

/// Extensions of files that are never text.
const BINARY_EXTENSIONS: &[&str] = &[
    "zip", "tar", "gz", "exe", "dll", "so", "class", "jar", "war", "7z", "doc", "docx", "xls",
    "xlsx", "ppt", "pptx", "odt", "ods", "odp", "bin", "dat", "obj", "o", "a", "lib", "wasm",
    "pyc", "pyo",
];

/// A file is binary by its extension, or when its first 4 KiB hold a NUL byte or more than
/// 30 % control characters.
pub fn is_binary(path: &Path, head: &[u8]) -> bool {
    let ext = path.extension().map(|e| e.to_string_lossy().to_lowercase());
    if ext.is_some_and(|e| BINARY_EXTENSIONS.contains(&e.as_str())) {
        return true;
    }
    let head = &head[..head.len().min(4096)];
    if head.contains(&0) {
        return true;
    }
    let control = head
        .iter()
        .filter(|&&b| b < 9 || (b > 13 && b < 32))
        .count();
    !head.is_empty() && control * 10 > head.len() * 3
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn an_atomic_write_creates_folders_and_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a/b/c.txt");
        write_atomic(&path, b"hello").unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "hello");
        assert_eq!(fs::read_dir(dir.path().join("a/b")).unwrap().count(), 1);
    }

    #[test]
    fn an_overwrite_keeps_the_permissions_of_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("run.sh");
        fs::write(&path, "old").unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o751)).unwrap();
        write_atomic(&path, b"new").unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "new");
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o751
        );
    }

    #[test]
    fn binary_files_are_told_by_extension_nul_or_control_characters() {
        assert!(is_binary(Path::new("a.zip"), b"text"));
        assert!(is_binary(Path::new("a"), b"ab\0cd"));
        assert!(is_binary(Path::new("a"), &[1, 2, 3, b'a']));
        assert!(!is_binary(Path::new("a.rs"), b"fn main() {}\n\ttab\r\n"));
        assert!(!is_binary(Path::new("empty"), b""));
    }

    #[test]
    fn languages_come_from_the_extension() {
        assert_eq!(language(Path::new("/a/b.rs")), "rust");
        assert_eq!(language(Path::new("/a/b.TSX")), "typescript");
        assert_eq!(language(Path::new("/a/Makefile")), "text");
        assert_eq!(language(Path::new("/a/b.lua")), "lua");
    }
}
