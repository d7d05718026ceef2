//! `read-file`: numbered lines of a text file, a page at a time, with the revision of the whole
//! file; or the entries of a folder. The file is streamed, so a large file costs time but not
//! memory: only the page and the first 8 KiB of each long line are kept.

use std::fs::File;
use std::io::{self, BufRead, BufReader};
use std::path::Path;

use serde::Deserialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tokio_util::sync::CancellationToken;

use super::ask::Assessment;
use super::blocking;
use super::env::ToolEnv;
use super::fsutil::is_binary;
use super::outcome::ToolOutput;
use super::risk::{FileOp, guard, one_file, parse};

const DEFAULT_LIMIT: usize = 2000;
const MAX_LINE_CHARS: usize = 2000;
/// Bytes of one line kept in memory: enough for 2000 characters of any width.
const KEEP_LINE_BYTES: usize = MAX_LINE_CHARS * 4 + 4;
const MAX_OUTPUT_BYTES: usize = 50 * 1024;
const VERB: &str = "Reading from";

#[derive(Deserialize)]
struct Input {
    path: String,
    offset: Option<f64>,
    limit: Option<f64>,
}

pub(super) fn assess(input: &Value, env: &ToolEnv) -> Assessment {
    match parse::<Input>("read-file", input) {
        Ok(i) => one_file(&i.path, env, VERB, FileOp::Read, &env.free_reads(true)),
        Err(_) => Assessment::Allow,
    }
}

pub(super) async fn run(input: &Value, env: &ToolEnv, cancel: &CancellationToken) -> ToolOutput {
    let input = match parse::<Input>("read-file", input) {
        Ok(i) => i,
        Err(e) => return ToolOutput::fail(e),
    };
    let path = match guard(&input.path, env, VERB, &env.free_reads(true)) {
        Ok((at, _)) => at.real,
        Err(refusal) => return ToolOutput::fail(refusal),
    };
    let offset = input.offset.map_or(1, |o| o.max(0.0) as usize);
    if offset < 1 {
        return ToolOutput::fail("offset must be greater than or equal to 1");
    }
    let limit = input.limit.map_or(DEFAULT_LIMIT, |l| l.max(0.0) as usize);
    let cancel = cancel.clone();
    blocking(move || read(&path, offset, limit, &cancel)).await
}

fn read(path: &Path, offset: usize, limit: usize, cancel: &CancellationToken) -> ToolOutput {
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return ToolOutput::fail(format!("File not found: {}", path.display()));
        }
        Err(e) => return ToolOutput::fail(format!("Cannot read {}: {e}", path.display())),
    };
    let viz = |suffix: &str| json!({"type": "none", "message": format!("Read: {}{suffix}", path.display())});
    if meta.is_dir() {
        return match list_dir(path, offset, limit) {
            Ok(content) => ToolOutput::ok(json!({"content": content}), viz("/")),
            Err(e) => ToolOutput::fail(format!("Cannot list {}: {e}", path.display())),
        };
    }
    match read_page(path, offset, limit, cancel) {
        Ok(Some(page)) => ToolOutput::ok(page, viz("")),
        Ok(None) => ToolOutput::fail(format!("Cannot read binary file: {}", path.display())),
        Err(e) => ToolOutput::fail(format!("Cannot read {}: {e}", path.display())),
    }
}

fn list_dir(path: &Path, offset: usize, limit: usize) -> io::Result<String> {
    let mut names = Vec::new();
    for entry in std::fs::read_dir(path)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
        names.push(if is_dir { format!("{name}/") } else { name });
    }
    names.sort_by(|a, b| a.to_lowercase().cmp(&b.to_lowercase()).then(a.cmp(b)));
    let total = names.len();
    let shown: Vec<_> = names.into_iter().skip(offset - 1).take(limit).collect();
    let mut content = shown.join("\n");
    if offset - 1 + shown.len() < total {
        content.push_str(&format!(
            "\n\n(Showing {} of {total} entries. Use 'offset' parameter to read beyond entry {})",
            shown.len(),
            offset + shown.len()
        ));
    } else {
        content.push_str(&format!("\n\n({total} entries)"));
    }
    Ok(content)
}

/// One page of a text file, or `None` when the file is binary.
fn read_page(
    path: &Path,
    offset: usize,
    limit: usize,
    cancel: &CancellationToken,
) -> io::Result<Option<Value>> {
    let mut reader = BufReader::with_capacity(64 * 1024, File::open(path)?);
    if is_binary(path, reader.fill_buf()?) {
        return Ok(None);
    }
    let mut hasher = Sha256::new();
    let mut out: Vec<String> = Vec::new();
    let (mut bytes, mut full) = (0usize, false);
    let mut line = Vec::new();
    let mut number = 0usize;
    let mut ended_with_newline = true;
    loop {
        let next = next_line(&mut reader, &mut hasher, &mut line)?;
        let Some(newline) = next else { break };
        number += 1;
        ended_with_newline = newline;
        if number.is_multiple_of(1024) && cancel.is_cancelled() {
            return Err(io::Error::other("interrupted"));
        }
        if number >= offset && out.len() < limit && !full {
            full = !push_line(&mut out, &mut bytes, number, &line);
        }
    }
    // Like splitting on "\n": text after the last newline, even empty, is one more line.
    if ended_with_newline {
        number += 1;
        if number >= offset && out.len() < limit && !full {
            push_line(&mut out, &mut bytes, number, b"");
        }
    }
    let total = number;
    let last = if out.is_empty() {
        offset - 1
    } else {
        offset - 1 + out.len()
    };
    let truncated = last < total;
    let mut content = out.join("\n");
    if truncated {
        content.push_str(&format!(
            "\n\n(Showing lines {offset}-{last} of {total}. Use offset={} to continue.)",
            last + 1
        ));
    } else {
        content.push_str(&format!("\n\n(End of file - total {total} lines)"));
    }
    Ok(Some(json!({
        "content": content,
        "revision": format!("sha256:{}", hex(&hasher.finalize())),
        "totalLines": total,
        "offset": offset,
        "linesReturned": out.len(),
        "truncated": truncated,
    })))
}

/// Adds `N: text` if it fits in the output budget; false when it does not.
fn push_line(out: &mut Vec<String>, bytes: &mut usize, number: usize, raw: &[u8]) -> bool {
    let text = String::from_utf8_lossy(raw);
    let text = text.strip_suffix('\r').unwrap_or(&text);
    let shown = match text.char_indices().nth(MAX_LINE_CHARS) {
        Some((cut, _)) => format!(
            "{}... (line truncated to {MAX_LINE_CHARS} chars)",
            &text[..cut]
        ),
        None => text.to_owned(),
    };
    let entry = format!("{number}: {shown}");
    let size = entry.len() + usize::from(!out.is_empty());
    if *bytes + size > MAX_OUTPUT_BYTES {
        return false;
    }
    *bytes += size;
    out.push(entry);
    true
}

/// Reads one line into `line` (its first bytes only), hashing every byte. `Some(true)` when it
/// ended with a newline, `Some(false)` for a last line without one, `None` at the end.
fn next_line(
    reader: &mut impl BufRead,
    hasher: &mut Sha256,
    line: &mut Vec<u8>,
) -> io::Result<Option<bool>> {
    line.clear();
    let mut any = false;
    loop {
        let buf = reader.fill_buf()?;
        if buf.is_empty() {
            return Ok(any.then_some(false));
        }
        any = true;
        let (end, found) = match buf.iter().position(|&b| b == b'\n') {
            Some(i) => (i + 1, true),
            None => (buf.len(), false),
        };
        hasher.update(&buf[..end]);
        let text_end = if found { end - 1 } else { end };
        let room = KEEP_LINE_BYTES.saturating_sub(line.len());
        line.extend_from_slice(&buf[..text_end.min(room)]);
        reader.consume(end);
        if found {
            return Ok(Some(true));
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
#[path = "read_file_tests.rs"]
mod tests;
