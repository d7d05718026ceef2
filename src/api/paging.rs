//! Query-string helpers shared by list endpoints: the opaque session-list cursor (base64url of
//! `{"version":1,"updatedAt":…,"id":…}`, as upstream) and bounded `limit` values.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};

use crate::error::AppError;
use crate::store::SessionStatus;

/// Largest page any list endpoint serves.
pub const MAX_LIMIT: u32 = 100;

#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
struct Cursor {
    version: u32,
    updated_at: String,
    id: String,
}

/// Encode the position after `(updatedAt, id)`.
pub fn encode_cursor(updated_at: &str, id: &str) -> String {
    let c = Cursor {
        version: 1,
        updated_at: updated_at.to_owned(),
        id: id.to_owned(),
    };
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(&c).unwrap_or_default())
}

/// Decode a cursor made by [`encode_cursor`]; anything else is 400 `Invalid cursor`.
pub fn decode_cursor(text: &str) -> Result<(String, String), AppError> {
    let invalid = || AppError::BadRequest("Invalid cursor".into());
    let bytes = URL_SAFE_NO_PAD
        .decode(text.trim_end_matches('='))
        .map_err(|_| invalid())?;
    let c: Cursor = serde_json::from_slice(&bytes).map_err(|_| invalid())?;
    if c.version != 1 || c.updated_at.is_empty() || c.id.is_empty() {
        return Err(invalid());
    }
    Ok((c.updated_at, c.id))
}

/// Parse an optional `limit` in `1..=MAX_LIMIT`; out of range or not a number is 400.
pub fn parse_limit(raw: Option<&str>) -> Result<Option<u32>, AppError> {
    let Some(raw) = raw else { return Ok(None) };
    match raw.trim().parse::<u32>() {
        Ok(n) if (1..=MAX_LIMIT).contains(&n) => Ok(Some(n)),
        _ => Err(AppError::BadRequest(format!(
            "limit must be a whole number from 1 to {MAX_LIMIT} (got {raw:?})"
        ))),
    }
}

/// Parse an optional boolean flag (`true`/`false`/`1`/`0`).
pub fn parse_flag(name: &str, raw: Option<&str>) -> Result<bool, AppError> {
    match raw {
        None | Some("false" | "0" | "") => Ok(false),
        Some("true" | "1") => Ok(true),
        Some(other) => Err(AppError::BadRequest(format!(
            "{name} must be true or false (got {other:?})"
        ))),
    }
}

/// Parse an optional session `status` filter.
pub fn parse_status(raw: Option<&str>) -> Result<Option<SessionStatus>, AppError> {
    match raw {
        None | Some("") => Ok(None),
        Some(s) => SessionStatus::parse(s).map(Some).ok_or_else(|| {
            AppError::BadRequest(format!("status must be active or closed (got {s:?})"))
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_round_trips_and_garbage_is_rejected() {
        let c = encode_cursor("2026-01-01T00:00:00.000Z", "abc");
        assert_eq!(
            decode_cursor(&c).unwrap(),
            ("2026-01-01T00:00:00.000Z".into(), "abc".into())
        );
        for bad in [
            "",
            "!!!",
            "e30",
            &URL_SAFE_NO_PAD.encode(br#"{"version":2,"updatedAt":"x","id":"y"}"#),
        ] {
            assert!(decode_cursor(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn limits_outside_one_to_a_hundred_are_rejected() {
        assert_eq!(parse_limit(Some("100")).unwrap(), Some(100));
        for bad in ["0", "101", "-1", "x"] {
            assert!(parse_limit(Some(bad)).is_err(), "{bad}");
        }
    }
}
