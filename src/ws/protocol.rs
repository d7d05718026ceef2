//! Client → server messages (`PROTOCOL.md` §4.3). A frame is parsed in two steps: first its
//! `type`, then the fields that type needs, so that an unknown type and a malformed message get
//! different answers (`unknown_message` and `parse_error`).

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

/// A frame that parsed as a JSON object with a string `type`.
#[derive(Debug, Clone)]
pub struct Incoming {
    pub kind: String,
    pub body: Value,
}

/// Why a frame could not be read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ParseError {
    #[error("Invalid JSON: {0}")]
    Json(String),
    #[error("Message must be a JSON object with a string \"type\" field")]
    NoType,
    #[error("Invalid {kind} message: {reason}")]
    Fields { kind: String, reason: String },
}

pub fn parse(text: &str) -> Result<Incoming, ParseError> {
    let body: Value = serde_json::from_str(text).map_err(|e| ParseError::Json(e.to_string()))?;
    let kind = body
        .get("type")
        .and_then(Value::as_str)
        .ok_or(ParseError::NoType)?
        .to_owned();
    Ok(Incoming { kind, body })
}

impl Incoming {
    /// The fields of this message as `T`.
    pub fn fields<T: DeserializeOwned>(&self) -> Result<T, ParseError> {
        T::deserialize(&self.body).map_err(|e| ParseError::Fields {
            kind: self.kind.clone(),
            reason: e.to_string(),
        })
    }
}

/// `client.register`.
#[derive(Debug, Deserialize)]
pub struct Register {
    pub client: Value,
}

/// Check a ClientDescriptor as upstream does; `Err` carries the message for `client.rejected`.
pub fn validate_descriptor(client: &Value) -> Result<(), String> {
    let str_field = |name: &str| client.get(name).and_then(Value::as_str);
    match str_field("clientId") {
        Some(s) if !s.trim().is_empty() => {}
        _ => return Err("clientId must be a non-empty string".into()),
    }
    match str_field("clientType") {
        Some("web" | "desktop" | "extension" | "sdk" | "mobile") => {}
        _ => return Err("clientType must be one of web, desktop, extension, sdk, mobile".into()),
    }
    match str_field("displayName") {
        Some(s) if !s.trim().is_empty() => {}
        _ => return Err("displayName must be a non-empty string".into()),
    }
    match str_field("interactionMode") {
        Some("human" | "headless" | "hybrid") => {}
        _ => return Err("interactionMode must be one of human, headless, hybrid".into()),
    }
    match client.get("capabilities").and_then(Value::as_array) {
        Some(caps) if caps.iter().all(Value::is_string) => Ok(()),
        _ => Err("capabilities must be an array of strings".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parse_distinguishes_bad_json_from_missing_type() {
        assert!(matches!(parse("{"), Err(ParseError::Json(_))));
        assert_eq!(parse("[1]").unwrap_err(), ParseError::NoType);
        assert_eq!(parse(r#"{"type":"pong"}"#).unwrap().kind, "pong");
    }

    #[test]
    fn descriptor_checks_follow_upstream() {
        let good = json!({"clientId":"c","clientType":"web","displayName":"W","interactionMode":"human","capabilities":[]});
        assert!(validate_descriptor(&good).is_ok());
        for (label, field, value) in [
            ("empty id", "clientId", json!("")),
            ("bad type", "clientType", json!("toaster")),
            ("bad mode", "interactionMode", json!("robot")),
            ("caps not strings", "capabilities", json!([1])),
        ] {
            let mut d = good.clone();
            d[field] = value;
            assert!(validate_descriptor(&d).is_err(), "{label}");
        }
    }
}
