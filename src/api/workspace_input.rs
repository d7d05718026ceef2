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
        Some(Value::Object(m)) => {
            check_settings(m, errors);
            Some(m.clone())
        }
        Some(_) => {
            errors.push(FieldError::new("settings", "settings must be an object"));
            None
        }
    }
}

const RISK_LEVELS: &[&str] = &["none", "low", "medium", "high", "critical"];
const SEVERITIES: &[&str] = &["off", "none", "low", "medium", "high"];

/// What a field of a settings group must be.
#[derive(Clone, Copy)]
enum Kind {
    Bool,
    OneOf(&'static [&'static str]),
}

/// The groups of workspace settings the original checks, with their fields. Fields it does not
/// know are kept as they are.
const GROUPS: &[(&str, &[(&str, Kind)])] = &[
    (
        "memory",
        &[
            ("enabled", Kind::Bool),
            ("permissionRisk", Kind::OneOf(RISK_LEVELS)),
        ],
    ),
    (
        "skills",
        &[
            ("managementEnabled", Kind::Bool),
            ("permissionRisk", Kind::OneOf(RISK_LEVELS)),
        ],
    ),
    (
        "sessionSearch",
        &[
            ("enabled", Kind::Bool),
            ("permissionRisk", Kind::OneOf(RISK_LEVELS)),
            ("includeToolResults", Kind::Bool),
        ],
    ),
    ("workflow", &[("enabled", Kind::Bool)]),
    (
        "scheduling",
        &[
            ("enabled", Kind::Bool),
            ("permissionRisk", Kind::OneOf(RISK_LEVELS)),
        ],
    ),
];

/// The original's workspace settings schema: every problem named by its field path.
fn check_settings(settings: &Map<String, Value>, errors: &mut Vec<FieldError>) {
    for (group, fields) in GROUPS {
        let Some(value) = settings.get(*group) else {
            continue;
        };
        let Some(g) = value.as_object() else {
            errors.push(FieldError::new(
                format!("settings.{group}"),
                format!("settings.{group} must be an object"),
            ));
            continue;
        };
        for (field, kind) in *fields {
            let Some(v) = g.get(*field) else {
                continue;
            };
            let path = format!("settings.{group}.{field}");
            match kind {
                Kind::Bool if !v.is_boolean() => {
                    errors.push(FieldError::new(&path, format!("{path} must be a boolean")))
                }
                Kind::OneOf(allowed) if !v.as_str().is_some_and(|s| allowed.contains(&s)) => errors
                    .push(FieldError::new(
                        &path,
                        format!("{path} must be one of: {}", allowed.join(", ")),
                    )),
                _ => {}
            }
        }
    }
    match settings.get("autoApproveSeverity") {
        None | Some(Value::Null) => {}
        Some(v) if v.as_str().is_some_and(|s| SEVERITIES.contains(&s)) => {}
        Some(_) => errors.push(FieldError::new(
            "settings.autoApproveSeverity",
            format!(
                "settings.autoApproveSeverity must be one of: {}",
                SEVERITIES.join(", ")
            ),
        )),
    }
    check_preconfig_choice(settings, errors);
}

/// `settings.preconfigs`: `{selectedIds?: string[]|null, defaultId?: string|null}`.
fn check_preconfig_choice(settings: &Map<String, Value>, errors: &mut Vec<FieldError>) {
    let Some(value) = settings.get("preconfigs") else {
        return;
    };
    let Some(p) = value.as_object() else {
        errors.push(FieldError::new(
            "settings.preconfigs",
            "settings.preconfigs must be an object",
        ));
        return;
    };
    match p.get("selectedIds") {
        None | Some(Value::Null) => {}
        Some(Value::Array(ids)) if ids.iter().all(Value::is_string) => {}
        Some(_) => errors.push(FieldError::new(
            "settings.preconfigs.selectedIds",
            "settings.preconfigs.selectedIds must be an array of strings or null",
        )),
    }
    match p.get("defaultId") {
        None | Some(Value::Null) | Some(Value::String(_)) => {}
        Some(_) => errors.push(FieldError::new(
            "settings.preconfigs.defaultId",
            "settings.preconfigs.defaultId must be a string or null",
        )),
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
    fn workspace_settings_are_checked_as_the_original_checks_them() {
        let err = parse_update(&json!({"settings": {
            "memory": {"enabled": "yes", "permissionRisk": "extreme"},
            "workflow": {"enabled": true},
            "autoApproveSeverity": "low",
            "preconfigs": {"selectedIds": ["code", 3], "defaultId": null},
            "scheduling": 1,
            "custom": {"kept": "as is"}
        }}))
        .unwrap_err();
        let AppError::Validation(details) = err else {
            panic!("not a validation error")
        };
        let paths: Vec<&str> = details.iter().map(|d| d.path.as_str()).collect();
        assert_eq!(
            paths,
            vec![
                "settings.memory.enabled",
                "settings.memory.permissionRisk",
                "settings.scheduling",
                "settings.preconfigs.selectedIds"
            ]
        );
        let ok = parse_update(
            &json!({"settings": {"memory": {"enabled": false, "permissionRisk": "critical"},
            "autoApproveSeverity": null, "preconfigs": {"selectedIds": null, "defaultId": "code"}}}),
        );
        assert!(ok.is_ok());
        let err =
            parse_update(&json!({"settings": {"autoApproveSeverity": "always"}})).unwrap_err();
        assert!(matches!(err, AppError::Validation(_)));
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
