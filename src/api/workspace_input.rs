//! Checking the JSON a client sends to create or change a workspace: field validation with the
//! `details` list (`PROTOCOL.md` §2). What the values mean (paths, directories) is the session
//! core's business ([`crate::sessions`]).

use serde_json::{Map, Value};

use crate::error::{AppError, FieldError};
use crate::sessions::{CreateWorkspace as CreateInput, UpdateWorkspace as UpdateInput};

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
