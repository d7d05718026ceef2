//! From a tool's output to the final state of its tool part (§8.2): success or failure, the
//! 50,000-character truncation with the full result persisted to a file, `_visualization`, and
//! the rule that a result object with an `error` key is a failure.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value, json};

/// Results whose JSON is longer than this many characters are truncated.
pub const MAX_RESULT_CHARS: usize = 50_000;
/// How much of a truncated result is kept.
const PREVIEW_CHARS: usize = 10_000;
/// A visualization whose JSON is longer than this is replaced by a one-line note, so one tool
/// card cannot make a stored part megabytes long (upstream keeps it whole).
const MAX_VISUALIZATION_CHARS: usize = 200_000;

/// What a tool returned.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ToolOutput {
    pub success: bool,
    pub result: Option<Value>,
    pub error: Option<String>,
    pub visualization: Option<Value>,
}

impl ToolOutput {
    /// Success with a result and a visualization.
    pub fn ok(result: Value, visualization: Value) -> Self {
        Self {
            success: true,
            result: Some(result),
            error: None,
            visualization: Some(visualization),
        }
    }

    /// Failure with a message.
    pub fn fail(error: impl Into<String>) -> Self {
        Self {
            success: false,
            result: None,
            error: Some(error.into()),
            visualization: None,
        }
    }
}

/// The final state of a tool part.
#[derive(Debug, Clone, PartialEq)]
pub enum PartOutcome {
    /// `status:"completed"` with this `output`.
    Completed { output: Value },
    /// `status:"error"` with this `error`.
    Error { error: String },
}

/// Maps a tool's output to its part's final state. A result too long is written whole to
/// `<tmp_dir>/<session_id>/<tool>-<now_ms>.json` (mode 0600) and shortened; a failure to write
/// that file keeps the shortened result and names no file.
pub fn finish(
    out: &ToolOutput,
    session_id: &str,
    tool_name: &str,
    tmp_dir: &Path,
    now_ms: i64,
) -> PartOutcome {
    if !out.success {
        let error = out
            .error
            .clone()
            .unwrap_or_else(|| "Tool execution failed".to_owned());
        return PartOutcome::Error { error };
    }
    let result = out.result.clone().unwrap_or(Value::Null);
    let mut output = truncate(result, || {
        persist_path(tmp_dir, session_id, tool_name, now_ms)
    });
    if let (Value::Object(map), Some(viz @ Value::Object(_))) = (&mut output, &out.visualization) {
        map.insert("_visualization".to_owned(), bounded_visualization(viz));
    }
    if let Value::String(text) = &output
        && let Ok(parsed) = serde_json::from_str::<Value>(text)
    {
        output = parsed;
    }
    if let Some(error) = output.as_object().and_then(|m| m.get("error")) {
        let error = match error {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        return PartOutcome::Error { error };
    }
    PartOutcome::Completed { output }
}

fn bounded_visualization(viz: &Value) -> Value {
    if char_len_over(&viz.to_string(), MAX_VISUALIZATION_CHARS) {
        json!({"type": "none", "message": "The output is too large to show here."})
    } else {
        viz.clone()
    }
}

fn char_len_over(text: &str, limit: usize) -> bool {
    text.len() > limit && text.chars().count() > limit
}

fn truncate(result: Value, path: impl FnOnce() -> PathBuf) -> Value {
    let serialized = result.to_string();
    if !char_len_over(&serialized, MAX_RESULT_CHARS) {
        return result;
    }
    let saved = write_private(&path(), serialized.as_bytes()).ok();
    let where_ = match &saved {
        Some(path) => format!(
            "Full result persisted to {}. Use read-file tool to read it.",
            path.display()
        ),
        None => "The full result could not be saved.".to_owned(),
    };
    if let Value::String(text) = &result {
        let total = text.chars().count();
        let preview: String = text.chars().take(PREVIEW_CHARS).collect();
        return Value::String(format!(
            "{preview}\n\n[Result truncated: {total} chars total. {where_}]"
        ));
    }
    // Upstream first tries to parse the cut JSON; a proper prefix of an object or an array
    // never parses, so the cut text always ends up in `content`.
    let total = serialized.chars().count();
    let cut: String = serialized.chars().take(PREVIEW_CHARS).collect();
    let mut map = Map::new();
    map.insert(
        "content".to_owned(),
        Value::String(format!(
            "{cut}\n\n[Result truncated: {total} chars total. {where_}]"
        )),
    );
    map.insert("_persisted".to_owned(), Value::Bool(saved.is_some()));
    if let Some(path) = saved {
        map.insert(
            "_filePath".to_owned(),
            Value::String(path.to_string_lossy().into_owned()),
        );
    }
    map.insert("_originalSize".to_owned(), json!(total));
    Value::Object(map)
}

/// `<tmp_dir>/<session>/<tool>-<ms>.json`, with anything but `[A-Za-z0-9_-]` replaced by `_` so
/// neither name can climb out of the folder.
pub fn persist_path(tmp_dir: &Path, session_id: &str, tool_name: &str, now_ms: i64) -> PathBuf {
    tmp_dir
        .join(safe_name(session_id))
        .join(format!("{}-{now_ms}.json", safe_name(tool_name)))
}

/// A name made safe for one path component.
pub fn safe_name(name: &str) -> String {
    let cleaned: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if cleaned.is_empty() {
        "_".to_owned()
    } else {
        cleaned
    }
}

/// Writes a file only its owner can read, in a folder only its owner can enter, without
/// overwriting an earlier file of the same millisecond (a `-N` suffix is added instead).
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<PathBuf> {
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
    let dir = path.parent().unwrap_or(Path::new("/"));
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)?;
    let mut candidate = path.to_path_buf();
    for n in 1..100 {
        match fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&candidate)
        {
            Ok(mut file) => return file.write_all(bytes).map(|()| candidate),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                let stem = path.file_stem().unwrap_or_default().to_string_lossy();
                candidate = path.with_file_name(format!("{stem}-{n}.json"));
            }
            Err(e) => return Err(e),
        }
    }
    Err(std::io::Error::other("too many results in one millisecond"))
}

#[cfg(test)]
#[path = "outcome_tests.rs"]
mod tests;
