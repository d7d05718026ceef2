//! Checking what a client sends to create or change a workspace, and making its directory:
//! field validation with the `details` list, `~` expansion, virtual workspaces under
//! `<data dir>/workspaces/<uuid>`, additional paths kept only when they exist.

use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use crate::error::{AppError, FieldError};

/// A valid `POST /api/workspaces` body.
#[derive(Debug, Clone, PartialEq)]
pub struct CreateInput {
    pub name: String,
    pub path: Option<String>,
    pub is_virtual: bool,
    pub additional_paths: Vec<String>,
    pub settings: Option<Map<String, Value>>,
}

/// A valid `PATCH /api/workspaces/:id` body (at least one field present).
#[derive(Debug, Clone, PartialEq)]
pub struct UpdateInput {
    pub name: Option<String>,
    pub additional_paths: Option<Vec<String>>,
    pub settings: Option<Map<String, Value>>,
}

fn object(body: &Value) -> Result<&Map<String, Value>, AppError> {
    body.as_object()
        .ok_or_else(|| AppError::Validation(vec![FieldError::new("", "Expected a JSON object")]))
}

fn name_field(
    o: &Map<String, Value>,
    errors: &mut Vec<FieldError>,
    required: bool,
) -> Option<String> {
    match o.get("name") {
        None | Some(Value::Null) if required => {
            errors.push(FieldError::new("name", "Name is required"))
        }
        None | Some(Value::Null) => {}
        Some(Value::String(s)) if s.trim().is_empty() => {
            errors.push(FieldError::new("name", "Name is required"))
        }
        Some(Value::String(s)) => return Some(s.trim().to_owned()),
        Some(_) => errors.push(FieldError::new("name", "Name must be a string")),
    }
    None
}

fn paths_field(o: &Map<String, Value>, errors: &mut Vec<FieldError>) -> Option<Vec<String>> {
    match o.get("additionalPaths") {
        None | Some(Value::Null) => None,
        Some(Value::Array(items)) if items.iter().all(Value::is_string) => Some(
            items
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect(),
        ),
        Some(_) => {
            errors.push(FieldError::new(
                "additionalPaths",
                "additionalPaths must be an array of strings",
            ));
            None
        }
    }
}

fn settings_field(
    o: &Map<String, Value>,
    errors: &mut Vec<FieldError>,
) -> Option<Map<String, Value>> {
    match o.get("settings") {
        None | Some(Value::Null) => None,
        Some(Value::Object(m)) => Some(m.clone()),
        Some(_) => {
            errors.push(FieldError::new("settings", "settings must be an object"));
            None
        }
    }
}

/// Validate a create body; every problem is listed in `details`.
pub fn parse_create(body: &Value) -> Result<CreateInput, AppError> {
    let o = object(body)?;
    let mut errors = Vec::new();
    let name = name_field(o, &mut errors, true);
    let path = match o.get("path") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.trim().is_empty() => None,
        Some(Value::String(s)) => Some(s.trim().to_owned()),
        Some(_) => {
            errors.push(FieldError::new("path", "path must be a string"));
            None
        }
    };
    let is_virtual = match o.get("isVirtual") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => {
            errors.push(FieldError::new("isVirtual", "isVirtual must be a boolean"));
            false
        }
    };
    let additional_paths = paths_field(o, &mut errors).unwrap_or_default();
    let settings = settings_field(o, &mut errors);
    match name {
        Some(name) if errors.is_empty() => Ok(CreateInput {
            name,
            path,
            is_virtual,
            additional_paths,
            settings,
        }),
        _ => Err(AppError::Validation(errors)),
    }
}

/// Validate an update body.
pub fn parse_update(body: &Value) -> Result<UpdateInput, AppError> {
    let o = object(body)?;
    let mut errors = Vec::new();
    let input = UpdateInput {
        name: name_field(o, &mut errors, false),
        additional_paths: paths_field(o, &mut errors),
        settings: settings_field(o, &mut errors),
    };
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    if input.name.is_none() && input.additional_paths.is_none() && input.settings.is_none() {
        return Err(AppError::BadRequest(
            "Name, additionalPaths, or settings is required".into(),
        ));
    }
    Ok(input)
}

/// `~` and `~/x` → the home directory.
pub fn expand_home(path: &str) -> PathBuf {
    match (path.strip_prefix('~'), std::env::var("HOME")) {
        (Some(rest), Ok(home)) if rest.is_empty() || rest.starts_with('/') => {
            PathBuf::from(format!("{home}{rest}"))
        }
        _ => PathBuf::from(path),
    }
}

/// The directory of a new workspace, created if missing: the given path (expanded), or
/// `<data dir>/workspaces/<id>` for a virtual workspace without one.
pub async fn make_dir(input: &CreateInput, data_dir: &Path, id: &str) -> Result<PathBuf, AppError> {
    let dir = match &input.path {
        Some(p) => expand_home(p),
        None if input.is_virtual => data_dir.join("workspaces").join(id),
        None => {
            return Err(AppError::BadRequest(
                "Path is required for physical workspaces".into(),
            ));
        }
    };
    if !dir.is_absolute() {
        return Err(AppError::BadRequest(format!(
            "Workspace path must be absolute or start with ~ (got {:?})",
            dir.display().to_string()
        )));
    }
    match tokio::fs::metadata(&dir).await {
        Ok(m) if m.is_dir() => return Ok(dir),
        Ok(_) => {
            return Err(AppError::BadRequest(format!(
                "Workspace path {} exists but is not a directory",
                dir.display()
            )));
        }
        Err(_) => {}
    }
    tokio::fs::create_dir_all(&dir).await.map_err(|e| {
        AppError::BadRequest(format!(
            "Failed to create workspace directory {}: {e}",
            dir.display()
        ))
    })?;
    Ok(dir)
}

/// The additional paths that exist (expanded), in order, without duplicates.
pub async fn existing_paths(paths: &[String]) -> Vec<String> {
    let mut kept: Vec<String> = Vec::new();
    for p in paths {
        let full = expand_home(p);
        let text = full.display().to_string();
        if tokio::fs::metadata(&full).await.is_ok() && !kept.contains(&text) {
            kept.push(text);
        }
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn create_validation_lists_every_bad_field() {
        let err = parse_create(&json!({"name": "", "isVirtual": "yes", "additionalPaths": [1]}))
            .unwrap_err();
        let AppError::Validation(details) = err else {
            panic!("not a validation error")
        };
        let paths: Vec<&str> = details.iter().map(|d| d.path.as_str()).collect();
        assert_eq!(paths, vec!["name", "isVirtual", "additionalPaths"]);
        assert_eq!(details[0].message, "Name is required");
    }

    #[test]
    fn an_update_needs_at_least_one_field() {
        let err = parse_update(&json!({"other": 1})).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Name, additionalPaths, or settings is required"
        );
        assert_eq!(
            parse_update(&json!({"name": " N "}))
                .unwrap()
                .name
                .as_deref(),
            Some("N")
        );
    }
}
