//! Query-string helpers shared by list endpoints (the opaque session-list cursor: base64url of
//! `{"version":1,"updatedAt":…,"id":…}`, as upstream; bounded `limit` values), and list bodies
//! assembled from the JSON bytes the store serialized straight from its rows.

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bytes::Bytes;
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

/// `{"<field>":<array>}`: a list body around a JSON array the store wrote.
pub fn list_body(field: &str, array: &[u8]) -> Vec<u8> {
    let mut body = Vec::with_capacity(array.len() + field.len() + 8);
    body.extend_from_slice(b"{\"");
    body.extend_from_slice(field.as_bytes());
    body.extend_from_slice(b"\":");
    body.extend_from_slice(array);
    body.push(b'}');
    body
}

/// The `pagination` object of a paged session list.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Pagination {
    pub next_cursor: Option<String>,
    pub has_more: bool,
    pub limit: u32,
}

/// `{"sessions":<array>,"pagination":{…}}` (the pagination only when paged).
pub fn session_page_body(array: &[u8], pagination: Option<&Pagination>) -> Vec<u8> {
    let mut body = list_body("sessions", array);
    if let Some(p) = pagination {
        body.pop();
        body.extend_from_slice(b",\"pagination\":");
        // Serializing a plain struct into a Vec cannot fail.
        let _ = serde_json::to_writer(&mut body, p);
        body.push(b'}');
    }
    body
}

/// A 200 response with a JSON body already serialized.
pub fn json_response(body: impl Into<Bytes>) -> Response {
    let json = HeaderValue::from_static("application/json");
    ([(header::CONTENT_TYPE, json)], body.into()).into_response()
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
    fn list_bodies_wrap_the_array_as_serde_would() {
        let p = Pagination {
            next_cursor: Some("abc".into()),
            has_more: true,
            limit: 2,
        };
        let body = session_page_body(b"[{\"id\":1}]", Some(&p));
        let want = serde_json::json!({"sessions": [{"id": 1}], "pagination": {"nextCursor": "abc", "hasMore": true, "limit": 2}});
        assert_eq!(
            serde_json::from_slice::<serde_json::Value>(&body).unwrap(),
            want
        );
        assert!(body.starts_with(br#"{"sessions":[{"id":1}],"pagination":{"nextCursor""#));
        assert_eq!(session_page_body(b"[]", None), br#"{"sessions":[]}"#);
        assert_eq!(list_body("workspaces", b"[]"), br#"{"workspaces":[]}"#);
    }

    #[test]
    fn limits_outside_one_to_a_hundred_are_rejected() {
        assert_eq!(parse_limit(Some("100")).unwrap(), Some(100));
        for bad in ["0", "101", "-1", "x"] {
            assert!(parse_limit(Some(bad)).is_err(), "{bad}");
        }
    }
}
