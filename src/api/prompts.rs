//! Prompts (`PROTOCOL-AGENT.md` §14.3): reusable Markdown texts in `<data dir>/prompts/<name>.md`
//! that the client offers in its "/" menu and edits in Settings → Prompts. A prompt's
//! `description` is its first line's `# ` heading (the `content` is then the rest), else the
//! first 80 characters of its first line. Files are read on each request; changes are the
//! server owner's, written atomically (an original data dir is backed up first).

use std::path::{Path, PathBuf};

use crate::routes::Routes;
use axum::extract::{Path as UrlPath, State};
use axum::http::StatusCode;
use axum::routing::get;
use serde::Serialize;
use serde_json::{Value, json};

use super::Caller;
use super::config_error::{ConfigApiError, require_owner, serialized};
use crate::app::AppState;
use crate::config::files::{SHARED, backup_original, write_atomic};
use crate::error::ApiJson;

pub fn router() -> Routes {
    Routes::new()
        .route("/api/prompts", get(list))
        .route("/api/config/prompts", get(list).post(create))
        .route(
            "/api/config/prompts/{name}",
            get(show).put(update).delete(remove),
        )
}

/// `PromptInfo`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Prompt {
    pub name: String,
    pub description: String,
    pub content: String,
}

/// Read a prompt file's text as the original does.
pub fn parse(raw: &str, name: &str) -> Prompt {
    let trimmed = raw.trim();
    let first = trimmed.lines().next().unwrap_or("");
    let (description, content) = match first.strip_prefix("# ") {
        Some(heading) => (
            heading.trim().to_owned(),
            trimmed[first.len()..].trim().to_owned(),
        ),
        None => (
            first.chars().take(80).collect::<String>().trim().to_owned(),
            trimmed.to_owned(),
        ),
    };
    Prompt {
        name: name.to_owned(),
        description,
        content,
    }
}

/// `^[a-z0-9]([a-z0-9-]*[a-z0-9])?$`, at most 100 characters: also a safe file name.
pub fn valid_name(name: &str) -> bool {
    let ok_char = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit();
    name.len() <= 100
        && name.chars().next().is_some_and(ok_char)
        && name.chars().last().is_some_and(ok_char)
        && name.chars().all(|c| ok_char(c) || c == '-')
}

fn dir_of(data_dir: &Path) -> PathBuf {
    data_dir.join("prompts")
}

/// Every prompt, by name.
fn read_all(data_dir: &Path) -> Vec<Prompt> {
    let Ok(entries) = std::fs::read_dir(dir_of(data_dir)) else {
        return Vec::new();
    };
    let mut out: Vec<Prompt> = entries
        .flatten()
        .filter_map(|e| {
            let path = e.path();
            let name = path
                .file_name()?
                .to_str()?
                .strip_suffix(".md")?
                .to_owned();
            match std::fs::read_to_string(&path) {
                Ok(text) => Some(parse(&text, &name)),
                Err(err) => {
                    tracing::warn!(file = %path.display(), error = %err, "skipping a prompt file that cannot be read");
                    None
                }
            }
        })
        .collect();
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

async fn list(State(app): State<AppState>) -> ApiJson<Value> {
    let data_dir = app.settings.data_dir.clone();
    let prompts = tokio::task::spawn_blocking(move || read_all(&data_dir))
        .await
        .unwrap_or_default();
    ApiJson(json!({ "prompts": prompts }))
}

fn not_found(name: &str) -> ConfigApiError {
    ConfigApiError::NotFound(format!("Prompt not found: {name}"))
}

fn checked_name(name: &str) -> Result<(), ConfigApiError> {
    if valid_name(name) {
        Ok(())
    } else {
        Err(ConfigApiError::bad(format!("Invalid prompt name: {name}")))
    }
}

/// The `content` of a body: 400 `Validation failed` without one, 400 when empty.
fn content_of(body: &Value) -> Result<String, ConfigApiError> {
    match body.get("content") {
        Some(Value::String(c)) if c.trim().is_empty() => {
            Err(ConfigApiError::bad("Prompt content is required"))
        }
        Some(Value::String(c)) => Ok(c.clone()),
        _ => Err(ConfigApiError::BadRequest {
            message: "Validation failed".into(),
            details: Some(json!([{"path": "content", "message": "content must be a string"}])),
        }),
    }
}

async fn show(
    State(app): State<AppState>,
    UrlPath(name): UrlPath<String>,
) -> Result<ApiJson<Prompt>, ConfigApiError> {
    checked_name(&name)?;
    let path = dir_of(&app.settings.data_dir).join(format!("{name}.md"));
    match tokio::fs::read_to_string(&path).await {
        Ok(text) => Ok(ApiJson(parse(&text, &name))),
        Err(_) => Err(not_found(&name)),
    }
}

/// Write `<name>.md`; `new` says whether it must not exist yet (create) or must (update).
async fn save(
    app: &AppState,
    name: String,
    content: String,
    new: bool,
) -> Result<Prompt, ConfigApiError> {
    let data_dir = app.settings.data_dir.clone();
    serialized(move || {
        let path = dir_of(&data_dir).join(format!("{name}.md"));
        match (new, path.exists()) {
            (true, true) => {
                return Err(ConfigApiError::Conflict(format!(
                    "Prompt already exists: {name}"
                )));
            }
            (false, false) => return Err(not_found(&name)),
            _ => {}
        }
        let failed = |e: std::io::Error| {
            ConfigApiError::Persistence(format!("Failed to save prompt {name}: {e}"))
        };
        backup_original(&data_dir).map_err(failed)?;
        write_atomic(&path, content.as_bytes(), SHARED, false).map_err(failed)?;
        Ok(parse(&content, &name))
    })
    .await?
}

async fn create(
    State(app): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<Value>,
) -> Result<(StatusCode, ApiJson<Prompt>), ConfigApiError> {
    require_owner(&caller)?;
    let name = body
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    checked_name(&name)?;
    let content = content_of(&body)?;
    let prompt = save(&app, name, content, true).await?;
    Ok((StatusCode::CREATED, ApiJson(prompt)))
}

async fn update(
    State(app): State<AppState>,
    caller: Caller,
    UrlPath(name): UrlPath<String>,
    ApiJson(body): ApiJson<Value>,
) -> Result<ApiJson<Prompt>, ConfigApiError> {
    require_owner(&caller)?;
    checked_name(&name)?;
    let content = content_of(&body)?;
    Ok(ApiJson(save(&app, name, content, false).await?))
}

async fn remove(
    State(app): State<AppState>,
    caller: Caller,
    UrlPath(name): UrlPath<String>,
) -> Result<ApiJson<Value>, ConfigApiError> {
    require_owner(&caller)?;
    checked_name(&name)?;
    let data_dir = app.settings.data_dir.clone();
    serialized(move || {
        let path = dir_of(&data_dir).join(format!("{name}.md"));
        if !path.exists() {
            return Err(not_found(&name));
        }
        let failed = |e: std::io::Error| {
            ConfigApiError::Persistence(format!("Failed to delete prompt {name}: {e}"))
        };
        backup_original(&data_dir).map_err(failed)?;
        std::fs::remove_file(&path).map_err(failed)
    })
    .await??;
    Ok(ApiJson(json!({ "success": true })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_heading_is_the_description() {
        let p = parse("# Review code\n\nLook for bugs.\n", "code-review");
        assert_eq!(
            (p.description.as_str(), p.content.as_str()),
            ("Review code", "Look for bugs.")
        );
        let long = "x".repeat(100);
        let p = parse(&format!("{long}\nmore"), "plain");
        assert_eq!(p.description.len(), 80);
        assert_eq!(p.content, format!("{long}\nmore"));
    }

    #[test]
    fn names_are_lowercase_slugs() {
        for (name, ok) in [
            ("code-review", true),
            ("a", true),
            ("a1-b2", true),
            ("-a", false),
            ("a-", false),
            ("A", false),
            ("a/b", false),
            ("..", false),
            ("", false),
        ] {
            assert_eq!(valid_name(name), ok, "{name:?}");
        }
        assert!(!valid_name(&"a".repeat(101)));
    }
}
