//! Why the auth layer turns a request away, as a type: 401 with the exact bodies of
//! `PROTOCOL.md` §2 (REST and WebSocket differ) and `WWW-Authenticate`, 403 for a token without
//! the scope the request needs (RFC 6750 §3.1), 429 with `Retry-After` after too many failures.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::layer::Surface;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rejection {
    /// No valid credential; `www` is the `WWW-Authenticate` value.
    Unauthorized { surface: Surface, www: HeaderValue },
    /// A valid credential without this scope.
    InsufficientScope(&'static str),
    /// Too many failed attempts from this address.
    TooMany { retry_secs: u64 },
}

impl IntoResponse for Rejection {
    fn into_response(self) -> Response {
        match self {
            Rejection::Unauthorized { surface, www } => {
                let body = match surface {
                    Surface::Rest => json!({
                        "error": "Unauthorized",
                        "message": "Invalid or missing API token",
                        "hint": "Include token in Authorization header: \"Bearer <token>\" or query param: ?token=<token>",
                    }),
                    Surface::WebSocket => json!({
                        "error": "Unauthorized",
                        "message": "Invalid or missing API token for WebSocket connection",
                    }),
                };
                let mut res = (StatusCode::UNAUTHORIZED, axum::Json(body)).into_response();
                res.headers_mut().insert(header::WWW_AUTHENTICATE, www);
                res
            }
            Rejection::InsufficientScope(scope) => {
                let body = json!({
                    "error": "forbidden",
                    "message": format!("This token does not have the {scope} scope needed for this request"),
                });
                let mut res = (StatusCode::FORBIDDEN, axum::Json(body)).into_response();
                if let Ok(v) = HeaderValue::from_str(&format!(
                    "Bearer error=\"insufficient_scope\", scope=\"{scope}\""
                )) {
                    res.headers_mut().insert(header::WWW_AUTHENTICATE, v);
                }
                res
            }
            Rejection::TooMany { retry_secs } => {
                let body = json!({
                    "error": "too_many_requests",
                    "message": format!("Too many failed authentication attempts from this address; try again in {retry_secs} s"),
                });
                let mut res = (StatusCode::TOO_MANY_REQUESTS, axum::Json(body)).into_response();
                res.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(retry_secs));
                res
            }
        }
    }
}
