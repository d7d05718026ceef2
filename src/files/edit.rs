//! The editor's file routes (§13.6–13.7): read a text file of the selected root with its
//! revision (the SHA-256 of its bytes), and save it only if it is still at that revision. A
//! save never creates a file; it writes a temporary file beside the real target, gives it the
//! target's permissions, syncs it and renames it over the target, so a reader sees the old
//! bytes or the new ones, never half.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use serde::Serialize;
use sha2::{Digest, Sha256};

use super::FileError;
use super::detect::{self, MAX_TEXT_BYTES};
use super::preview::read_bounded;
use super::roots::{confine, relative};

/// `EditableFileResponse` on the wire.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Editable {
    pub path: String,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub extension: Option<String>,
    pub size: u64,
    pub content: String,
    pub revision: String,
    pub read_only: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mime_type: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub language: Option<&'static str>,
    pub encoding: &'static str,
}

/// `SaveFileResponse` on the wire.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Saved {
    pub path: String,
    pub revision: String,
    pub size: u64,
    pub modified_at: String,
}

/// The `details` of a 409: what the file holds now.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Conflict {
    pub path: String,
    pub expected_revision: String,
    pub actual_revision: String,
    pub current_content: String,
}

/// The revision of some bytes: lower-case SHA-256 hex, no prefix.
pub fn revision(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A text file inside `root`, read whole: (the path as named, the real path, the bytes).
fn open_text(root: &Path, input: &str, dir_message: &'static str) -> Result<Opened, FileError> {
    if std::fs::canonicalize(root).is_err() {
        return Err(FileError::NotFound("Workspace root not found"));
    }
    let at = confine(root, input, &[root.to_path_buf()])?;
    let meta = std::fs::metadata(&at.real)?;
    if meta.is_dir() {
        return Err(FileError::BadRequest(dir_message));
    }
    if meta.len() > MAX_TEXT_BYTES {
        return Err(FileError::TooLarge);
    }
    if detect::binary_extension(&at.real) {
        return Err(FileError::BadRequest("Cannot edit a binary file"));
    }
    let bytes = read_bounded(&at.real)?;
    if bytes.len() as u64 > MAX_TEXT_BYTES {
        return Err(FileError::TooLarge);
    }
    if detect::binary_content(&bytes) {
        return Err(FileError::BadRequest("Cannot edit a binary file"));
    }
    Ok(Opened {
        shown: relative(&at.lexical, root),
        real: at.real,
        bytes,
        permissions: meta.permissions(),
    })
}

struct Opened {
    shown: String,
    real: PathBuf,
    bytes: Vec<u8>,
    permissions: std::fs::Permissions,
}

/// Open `input` (relative to `root`, or absolute inside it) for editing. Blocking.
pub fn read(root: &Path, input: &str) -> Result<Editable, FileError> {
    let f = open_text(root, input, "Cannot edit a directory")?;
    let name = f
        .real
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let extension = Some(detect::extension(&name).to_owned()).filter(|e| !e.is_empty());
    Ok(Editable {
        path: f.shown,
        size: f.bytes.len() as u64,
        revision: revision(&f.bytes),
        content: String::from_utf8_lossy(&f.bytes).into_owned(),
        read_only: false,
        mime_type: detect::mime_type(&f.real),
        language: detect::language(&f.real),
        encoding: "utf-8",
        name,
        extension,
    })
}

/// Replace the content of the existing file `input` if it is still at `expected`. Blocking.
pub fn save(root: &Path, input: &str, content: &str, expected: &str) -> Result<Saved, FileError> {
    let f = open_text(root, input, "Cannot save over a directory")?;
    let actual = revision(&f.bytes);
    if actual != expected {
        return Err(FileError::Conflict(Box::new(Conflict {
            path: f.shown,
            expected_revision: expected.to_owned(),
            actual_revision: actual,
            current_content: String::from_utf8_lossy(&f.bytes).into_owned(),
        })));
    }
    if content.len() as u64 > MAX_TEXT_BYTES {
        return Err(FileError::TooLarge);
    }
    write_atomic(&f.real, content.as_bytes(), f.permissions)?;
    let modified = std::fs::metadata(&f.real)?.modified()?;
    Ok(Saved {
        path: f.shown,
        revision: revision(content.as_bytes()),
        size: content.len() as u64,
        modified_at: chrono::DateTime::<chrono::Utc>::from(modified)
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
    })
}

/// Write `bytes` to a temporary file beside `target` and rename it over `target`.
fn write_atomic(
    target: &Path,
    bytes: &[u8],
    permissions: std::fs::Permissions,
) -> std::io::Result<()> {
    let dir = target.parent().unwrap_or(Path::new("/"));
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temp = dir.join(format!(
        ".{name}.jean2-{}.tmp",
        uuid::Uuid::new_v4().simple()
    ));
    let result = (|| {
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&temp)?;
        file.write_all(bytes)?;
        file.set_permissions(permissions)?;
        file.sync_all()?;
        std::fs::rename(&temp, target)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    result
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    #[test]
    fn a_save_at_the_read_revision_replaces_the_bytes_and_keeps_the_mode() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::write(root.join("run.sh"), "echo 1\n").unwrap();
        std::fs::set_permissions(root.join("run.sh"), std::fs::Permissions::from_mode(0o751))
            .unwrap();
        let opened = read(root, "run.sh").unwrap();
        assert_eq!(opened.revision, revision(b"echo 1\n"));
        let saved = save(root, "run.sh", "echo 2\n", &opened.revision).unwrap();
        assert_eq!(saved.revision, revision(b"echo 2\n"));
        assert_eq!(
            std::fs::read_to_string(root.join("run.sh")).unwrap(),
            "echo 2\n"
        );
        let mode = std::fs::metadata(root.join("run.sh"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o751);
        let left: Vec<_> = std::fs::read_dir(root).unwrap().collect();
        assert_eq!(left.len(), 1, "no temporary file is left behind");
    }

    #[test]
    fn a_save_at_an_old_revision_is_a_conflict_with_the_current_content() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.txt"), "new").unwrap();
        match save(dir.path(), "a.txt", "mine", &revision(b"old")) {
            Err(FileError::Conflict(c)) => {
                assert_eq!(c.current_content, "new");
                assert_eq!(c.actual_revision, revision(b"new"));
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            std::fs::read_to_string(dir.path().join("a.txt")).unwrap(),
            "new"
        );
    }
}
