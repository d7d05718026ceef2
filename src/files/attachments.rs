//! Attachment files on disk (`PROTOCOL-AGENT.md` §12): where an upload's bytes go, what they
//! are (sniffed, never taken from the client's word), the access key of the public content
//! route, and removing a session's files with it.
//!
//! Layout: `<data dir>/attachments/<session folder>/<attachment id>`, folders `0700`, files
//! `0600`. The session folder is a hash of the session id (a client may choose a session id, so
//! it is never a path itself); the attachment id is the server's own `att_<uuid>`. The client's
//! file name is only ever a label. An upload is written to a temporary file in the session
//! folder and renamed into place once it is accepted.

use std::io;
use std::os::unix::fs::DirBuilderExt as _;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use tokio::io::AsyncWriteExt as _;

use super::detect::binary_content;

/// The largest attachment: 20 MiB, as upstream (and the client checks before uploading).
pub const MAX_BYTES: u64 = 20 * 1024 * 1024;

/// How much of the start of a file is kept to tell what it is.
pub const SNIFF_BYTES: usize = 8192;

/// The image types an `image` attachment may have (upstream's list).
pub const IMAGE_TYPES: [&str; 4] = ["image/png", "image/jpeg", "image/webp", "image/gif"];

/// Prefix of upload files not yet accepted (the sweep removes leftovers).
const TEMP_PREFIX: &str = ".upload-";

/// `image` for `image/*`, `video` for `video/*`, else `file`.
pub fn kind_of(mime: &str) -> &'static str {
    let mime = mime.to_ascii_lowercase();
    if mime.starts_with("image/") {
        "image"
    } else if mime.starts_with("video/") {
        "video"
    } else {
        "file"
    }
}

/// A new attachment id.
pub fn new_id() -> String {
    format!("att_{}", uuid::Uuid::new_v4())
}

/// A new access key: 16 random bytes as 32 hex characters.
pub fn new_access_key() -> String {
    let bytes: [u8; 16] = rand::random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Whether `given` is `stored`, in time that depends on neither (digests are compared, so the
/// length leaks nothing either).
pub fn key_matches(given: &str, stored: &str) -> bool {
    let (a, b) = (Sha256::digest(given), Sha256::digest(stored));
    a.as_slice().ct_eq(b.as_slice()).into()
}

/// What the first bytes of a file say it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sniffed {
    /// The `Content-Type` to serve it with: a recognised binary type, `text/plain;charset=utf-8`
    /// for any text (markup and scripts included, so nothing is ever served as active
    /// content), else `application/octet-stream`.
    pub content_type: String,
    /// The image type, when the bytes are one of [`IMAGE_TYPES`].
    pub image: Option<&'static str>,
    /// Whether the bytes read as text (UTF-8 without NUL bytes).
    pub text: bool,
}

/// Tell what a file is from its first bytes (up to [`SNIFF_BYTES`]).
pub fn sniff(head: &[u8]) -> Sniffed {
    let found = infer::get(head).filter(|t| t.matcher_type() != infer::MatcherType::Text);
    if let Some(t) = found {
        let image = IMAGE_TYPES.iter().copied().find(|m| *m == t.mime_type());
        return Sniffed {
            content_type: t.mime_type().to_owned(),
            image,
            text: false,
        };
    }
    let text = !binary_content(head);
    let content_type = if text {
        "text/plain;charset=utf-8"
    } else {
        "application/octet-stream"
    };
    Sniffed {
        content_type: content_type.to_owned(),
        image: None,
        text,
    }
}

/// The `Content-Disposition` for serving a file: `inline` for images and plain text (shown in
/// the transcript), `attachment` for everything else; the name both as a plain ASCII fallback
/// and in RFC 8187 form.
pub fn disposition(content_type: &str, filename: &str) -> String {
    let inline = content_type.starts_with("image/") || content_type.starts_with("text/plain");
    let fallback: String = filename
        .chars()
        .map(|c| match c {
            'A'..='Z' | 'a'..='z' | '0'..='9' | '.' | '-' | '_' | ' ' => c,
            _ => '_',
        })
        .collect();
    const ATTR: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'.')
        .remove(b'-')
        .remove(b'_')
        .remove(b'~');
    let encoded = percent_encoding::utf8_percent_encode(filename, ATTR);
    let kind = if inline { "inline" } else { "attachment" };
    format!("{kind}; filename=\"{fallback}\"; filename*=UTF-8''{encoded}")
}

/// The attachment folder of one data dir. Cheap to clone.
#[derive(Debug, Clone)]
pub struct AttachmentFiles {
    root: PathBuf,
}

impl AttachmentFiles {
    pub fn new(data_dir: &Path) -> AttachmentFiles {
        AttachmentFiles {
            root: data_dir.join("attachments"),
        }
    }

    /// A session's folder: the first 128 bits of the SHA-256 of its id, in hex.
    fn session_dir(&self, session_id: &str) -> PathBuf {
        let digest = Sha256::digest(session_id.as_bytes());
        let name: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
        self.root.join(name)
    }

    /// Where an attachment's bytes are. `None` for an id that is not one of ours (only ASCII
    /// letters, digits, `_` and `-`), so no id can name another path.
    pub fn path(&self, session_id: &str, attachment_id: &str) -> Option<PathBuf> {
        let safe = !attachment_id.is_empty()
            && attachment_id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        safe.then(|| self.session_dir(session_id).join(attachment_id))
    }

    /// Start receiving an upload for a session: a private temporary file in its folder.
    pub async fn receive(&self, session_id: &str) -> io::Result<Incoming> {
        let dir = self.session_dir(session_id);
        let temp = tokio::task::spawn_blocking(move || {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(&dir)?;
            tempfile::Builder::new()
                .prefix(TEMP_PREFIX)
                .tempfile_in(&dir)
        })
        .await
        .map_err(io::Error::other)??;
        let (file, path) = temp.into_parts();
        Ok(Incoming {
            file: tokio::fs::File::from_std(file),
            path,
            head: Vec::new(),
            size: 0,
        })
    }

    /// Remove a session's files (nothing to do when it had none).
    pub async fn remove_session(&self, session_id: &str) -> io::Result<()> {
        match tokio::fs::remove_dir_all(self.session_dir(session_id)).await {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }

    /// Remove what no recorded attachment needs: folders of sessions not in `keep` (deleted
    /// while the server was down, or by a crash between the database and the disk) and
    /// leftover temporary files of uploads that never finished. How many entries went.
    pub async fn sweep(&self, keep: &[String]) -> io::Result<usize> {
        let keep: std::collections::HashSet<PathBuf> =
            keep.iter().map(|s| self.session_dir(s)).collect();
        let root = self.root.clone();
        tokio::task::spawn_blocking(move || sweep_blocking(&root, &keep))
            .await
            .map_err(io::Error::other)?
    }
}

fn sweep_blocking(root: &Path, keep: &std::collections::HashSet<PathBuf>) -> io::Result<usize> {
    let entries = match std::fs::read_dir(root) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(0),
        other => other?,
    };
    let mut removed = 0;
    for entry in entries {
        let path = entry?.path();
        if !keep.contains(&path) {
            std::fs::remove_dir_all(&path).or_else(|_| std::fs::remove_file(&path))?;
            removed += 1;
            continue;
        }
        for file in std::fs::read_dir(&path)? {
            let file = file?;
            if file.file_name().to_string_lossy().starts_with(TEMP_PREFIX) {
                std::fs::remove_file(file.path())?;
                removed += 1;
            }
        }
    }
    Ok(removed)
}

/// An upload being received: written to a private temporary file (removed if dropped), its
/// size counted, its first bytes kept for [`sniff`]. Bytes past [`MAX_BYTES`] are counted but
/// not written.
pub struct Incoming {
    file: tokio::fs::File,
    path: tempfile::TempPath,
    head: Vec<u8>,
    size: u64,
}

impl Incoming {
    pub async fn write(&mut self, chunk: &[u8]) -> io::Result<()> {
        let room = SNIFF_BYTES.saturating_sub(self.head.len()).min(chunk.len());
        self.head.extend_from_slice(&chunk[..room]);
        self.size += chunk.len() as u64;
        if self.size <= MAX_BYTES {
            self.file.write_all(chunk).await?;
        }
        Ok(())
    }

    /// Bytes received so far.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The first bytes (up to [`SNIFF_BYTES`]).
    pub fn head(&self) -> &[u8] {
        &self.head
    }

    /// Accept the upload: its bytes on disk under `path` (from [`AttachmentFiles::path`]).
    pub async fn keep(mut self, path: PathBuf) -> io::Result<()> {
        self.file.flush().await?;
        self.file.sync_all().await?;
        drop(self.file);
        let temp = self.path;
        tokio::task::spawn_blocking(move || temp.persist(&path).map_err(|e| e.error))
            .await
            .map_err(io::Error::other)?
    }
}

#[cfg(test)]
#[path = "attachments_tests.rs"]
mod tests;
