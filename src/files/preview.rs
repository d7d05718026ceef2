//! `file-preview` (§13.5): a read-only look at one file of any root, with its kind (`code`,
//! `text`, `markdown`, or why not: `binary`, `too_large`) and a language hint.

use std::io::Read;
use std::path::Path;

use serde::Serialize;

use super::FileError;
use super::detect::{self, MAX_TEXT_BYTES};
use super::roots::{Roots, confine, relative};

/// `FilePreviewResponse` on the wire.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Preview {
    pub path: String,
    pub name: String,
    pub extension: String,
    pub size: u64,
    pub kind: &'static str,
    pub read_only: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub language: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mime_type: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_bytes: Option<u64>,
}

/// Preview `input` (relative to `base`, or absolute inside any root). Blocking.
pub fn preview(roots: &Roots, base: &Path, input: &str) -> Result<Preview, FileError> {
    let at = confine(base, input, &roots.all())?;
    // Relative to the main root; a file under an additional root is shown by its absolute path.
    let path = if at.lexical.starts_with(roots.main()) {
        relative(&at.lexical, roots.main())
    } else {
        at.lexical.to_string_lossy().into_owned()
    };
    let name = at
        .lexical
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let meta = std::fs::metadata(&at.real)?;
    if meta.is_dir() {
        return Err(FileError::BadRequest("Cannot preview a directory"));
    }
    let mut out = Preview {
        extension: detect::extension(&name).to_owned(),
        path,
        name,
        size: meta.len(),
        kind: "binary",
        read_only: true,
        language: None,
        mime_type: None,
        content: None,
        reason: None,
        max_bytes: None,
    };
    if detect::binary_extension(&at.lexical) && meta.len() <= MAX_TEXT_BYTES {
        out.reason = Some("Binary file type not supported for preview");
        return Ok(out);
    }
    let bytes = if meta.len() <= MAX_TEXT_BYTES {
        read_bounded(&at.real)?
    } else {
        Vec::new()
    };
    // Measured again on what was read: the file may have grown in between.
    if meta.len().max(bytes.len() as u64) > MAX_TEXT_BYTES {
        out.kind = "too_large";
        out.reason = Some("File is too large for preview");
        out.max_bytes = Some(MAX_TEXT_BYTES);
        return Ok(out);
    }
    if detect::binary_content(&bytes) {
        out.reason = Some("File content appears to be binary");
        return Ok(out);
    }
    let shown = Path::new(&out.name);
    out.language = detect::language(shown);
    out.mime_type = detect::mime_type(shown);
    out.kind = if detect::is_markdown(shown) {
        "markdown"
    } else if out.language.is_some() {
        "code"
    } else {
        "text"
    };
    out.content = Some(String::from_utf8_lossy(&bytes).into_owned());
    Ok(out)
}

/// At most [`MAX_TEXT_BYTES`] + 1 bytes of a file (it may have grown since it was measured).
pub fn read_bounded(path: &Path) -> std::io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    std::fs::File::open(path)?
        .take(MAX_TEXT_BYTES + 1)
        .read_to_end(&mut bytes)?;
    Ok(bytes)
}
