//! One span and one log line per request. The span (`request`, with the request id, method and
//! matched route; at debug) encloses the handler, so every line logged while handling the
//! request carries them when the log is at debug; the closing line adds the status and
//! duration. Secret query parameters are scrubbed from anything logged; the `Authorization`
//! header is never logged.
//!
//! The closing line is formatted straight into the log's buffer (or, without one, is a `tracing`
//! event) from borrowed parts (the scrubbed URI is written piece by piece, never collected into
//! a `String`), and request ids come from a counter: no lock, no system call, no allocation
//! until the response header.

use std::cell::Cell;
use std::fmt;
use std::time::Instant;

use axum::extract::Request;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, Uri};
use axum::middleware::Next;
use axum::response::Response;
use tracing::{Instrument as _, Span};

use super::line::{Closing, Level};

/// The header that carries the request id (taken from the client when it sends one).
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Query parameters whose values never reach a log.
const SECRET_PARAMS: &[&str] = &[
    "token",
    "key",
    "code",
    "code_verifier",
    "client_secret",
    "refresh_token",
    "access_token",
    "password",
    "state",
];

pub use crate::routes::UNMATCHED;

/// The route of paths under `/api` that name no endpoint (answered 404 once authenticated).
pub const UNKNOWN_API: &str = "/api/{*rest}";

/// A request's id: the client's `x-request-id` when it sent a readable one, or a new one shaped
/// like a UUID: a random prefix drawn once per thread and a counter.
pub enum RequestId {
    Given(HeaderValue),
    Made([u8; 36]),
}

impl RequestId {
    /// The id of a request with these headers.
    pub fn of(headers: &HeaderMap) -> Self {
        match headers.get(REQUEST_ID) {
            Some(v) if v.to_str().is_ok() => RequestId::Given(v.clone()),
            _ => Self::next(),
        }
    }

    /// A new id: this thread's random prefix and its count (a process-wide counter was one
    /// cache line the worker threads fought over on every request).
    pub fn next() -> Self {
        thread_local! {
            static NEXT: Cell<(u64, u64)> = Cell::new((rand::random(), 0));
        }
        let (prefix, n) = NEXT.with(|next| {
            let (prefix, n) = next.get();
            next.set((prefix, n.wrapping_add(1)));
            (prefix, n)
        });
        let mut buf = [0u8; 36];
        uuid::Uuid::from_u128(u128::from(prefix) << 64 | u128::from(n))
            .hyphenated()
            .encode_lower(&mut buf);
        RequestId::Made(buf)
    }

    pub fn as_str(&self) -> &str {
        match self {
            RequestId::Given(v) => v.to_str().unwrap_or(""),
            RequestId::Made(b) => std::str::from_utf8(b).unwrap_or(""),
        }
    }

    /// The value of the response's `x-request-id`.
    pub fn header_value(self) -> HeaderValue {
        match self {
            RequestId::Given(v) => v,
            RequestId::Made(b) => {
                HeaderValue::from_bytes(&b).unwrap_or_else(|_| HeaderValue::from_static("invalid"))
            }
        }
    }
}

/// The `request` span: every line logged inside it carries these three fields. At debug only:
/// at info, creating, entering and closing it on every request cost more than the handler of
/// a small request (docs/benchmarks.md, "Request path"); a handler's line at info or warn
/// goes without them, and the request's closing line still names its id and route.
pub fn request_span(id: &RequestId, method: &Method, route: &str) -> Span {
    tracing::debug_span!(
        "request",
        request.id = id.as_str(),
        http.method = method.as_str(),
        http.route = route,
    )
}

/// A path and query with secret parameter values replaced by `***`, written on demand.
pub struct Scrubbed<'a> {
    pub path: &'a str,
    pub query: Option<&'a str>,
}

impl<'a> Scrubbed<'a> {
    pub fn of(uri: &'a Uri) -> Self {
        Scrubbed {
            path: uri.path(),
            query: uri.query(),
        }
    }
}

impl Scrubbed<'_> {
    /// Whether an API key could hide in the URI: every key holds `jean_sk_`, written out or
    /// percent-encoded. Most URIs hold neither, and are written without an allocation.
    fn may_hold_api_key(&self) -> bool {
        // One pass for `%`, `j` or `J`; only then the slower look for the word.
        let suspect = |s: &str| {
            s.bytes().any(|b| b == b'%' || b | 0x20 == b'j')
                && (s.contains('%')
                    || s.as_bytes()
                        .windows(4)
                        .any(|w| w.eq_ignore_ascii_case(b"jean")))
        };
        suspect(self.path) || self.query.is_some_and(suspect)
    }

    /// Secret parameters scrubbed (API keys anywhere are the caller's business).
    fn write_params(&self, f: &mut impl fmt::Write) -> fmt::Result {
        f.write_str(self.path)?;
        let Some(q) = self.query else {
            return Ok(());
        };
        f.write_str("?")?;
        for (i, pair) in q.split('&').enumerate() {
            if i > 0 {
                f.write_str("&")?;
            }
            let name = pair.split('=').next().unwrap_or("");
            // Borrowed unless the name is percent- or plus-encoded.
            let secret = url::form_urlencoded::parse(name.as_bytes())
                .next()
                .is_some_and(|(k, _)| SECRET_PARAMS.iter().any(|s| k.eq_ignore_ascii_case(s)));
            if secret {
                write!(f, "{name}=***")?;
            } else {
                f.write_str(pair)?;
            }
        }
        Ok(())
    }
}

impl Scrubbed<'_> {
    /// Write the scrubbed path and query.
    pub fn write_into(&self, f: &mut impl fmt::Write) -> fmt::Result {
        if !self.may_hold_api_key() {
            return self.write_params(f);
        }
        let mut plain = String::new();
        self.write_params(&mut plain)?;
        f.write_str(&crate::auth::oauth::secrets::scrub_api_keys(&plain))
    }
}

impl fmt::Display for Scrubbed<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.write_into(f)
    }
}

/// The closing line of a request: `GET /path?q 200` with the route, duration and request id.
/// Health checks at debug, server errors at warn, the rest at info.
///
/// When the process's log is the plain buffered one ([`super::logging::direct`]), the line is
/// built byte by byte ([`super::line`]) and copied into its buffer, shaped like the `tracing`
/// lines around it (timestamp, level, message, fields; strings quoted and escaped as `tracing`
/// does): a `tracing` event cost a third of a small request's time. The filter (`JEAN2_LOG`)
/// still decides whether it is written. Otherwise (colours on a terminal,
/// the tests' own subscribers) it is a `tracing` event.
pub fn log_done(route: &str, method: &Method, uri: &Uri, status: u16, start: Instant, id: &str) {
    let end = Instant::now();
    let duration = end.saturating_duration_since(start);
    let uri = Scrubbed::of(uri);
    macro_rules! log_at {
        ($level:ident, $name:ident) => {
            match super::logging::direct() {
                Some(lines) if tracing::enabled!(tracing::Level::$level) => {
                    let closing = Closing {
                        level: Level::$name,
                        method: method.as_str(),
                        uri,
                        status,
                        route,
                        duration,
                        id,
                        at: end,
                    };
                    lines.write_with(|out| closing.write_to(out));
                }
                Some(_) => {}
                None => tracing::event!(
                    tracing::Level::$level,
                    http.route = route,
                    duration_ms = format_args!("{:.2}", duration.as_secs_f64() * 1000.0),
                    request.id = id,
                    "{method} {uri} {status}"
                ),
            }
        };
    }
    if route == "/api/health" || route == "/" {
        log_at!(DEBUG, Debug);
    } else if status >= 500 {
        log_at!(WARN, Warn);
    } else {
        log_at!(INFO, Info);
    }
}

/// What the span and the closing line need of a request, taken before it is handed on.
pub struct Seen {
    pub start: Instant,
    pub id: RequestId,
    method: Method,
    uri: Uri,
    route: &'static str,
}

impl Seen {
    /// What is needed of `req`, which goes to `route` (a pattern, or [`UNMATCHED`]).
    pub fn of(req: &Request, route: &'static str) -> Self {
        Seen {
            start: Instant::now(),
            id: RequestId::of(req.headers()),
            method: req.method().clone(),
            // The routes are not nested (router.rs): the URI is the one the client sent.
            uri: req.uri().clone(),
            route,
        }
    }

    fn route(&self) -> &str {
        self.route
    }

    /// The `request` span (disabled below debug).
    pub fn span(&self) -> Span {
        request_span(&self.id, &self.method, self.route())
    }

    /// Write the closing line for an answer with `status`.
    pub fn log_done(&self, status: u16) {
        log_done(
            self.route(),
            &self.method,
            &self.uri,
            status,
            self.start,
            self.id.as_str(),
        );
    }
}

/// The span and the closing line as a middleware on their own (`examples/bare.rs` measures
/// them apart from the rest of [`super::front`]); every request is logged as [`UNMATCHED`].
pub async fn log_request(req: Request, next: Next) -> Response {
    let seen = Seen::of(&req, UNMATCHED);
    let res = next.run(req).instrument(seen.span()).await;
    seen.log_done(res.status().as_u16());
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A path and query with secret parameter values replaced by `***`.
    fn scrub_uri(path: &str, query: Option<&str>) -> String {
        Scrubbed { path, query }.to_string()
    }

    #[test]
    fn secret_params_are_scrubbed() {
        assert_eq!(
            scrub_uri("/ws", Some("token=s3cret&x=1")),
            "/ws?token=***&x=1"
        );
        assert_eq!(
            scrub_uri("/a", Some("TOKEN=s3cret&client_secret=z")),
            "/a?TOKEN=***&client_secret=***"
        );
        assert_eq!(scrub_uri("/a", None), "/a");
        assert_eq!(scrub_uri("/a", Some("limit=5")), "/a?limit=5");
        assert_eq!(
            scrub_uri("/a/jean_sk_abc", Some("client_id=JEAN%5FSK%5Fxyz&token=t")),
            "/a/***?client_id=***&token=***"
        );
        assert_eq!(
            scrub_uri("/a", Some("to%6Ben=s3cret&&x")),
            "/a?to%6Ben=***&&x",
            "an encoded name is decoded before it is compared"
        );
    }

    #[test]
    fn request_ids_are_unique_and_shaped_like_uuids() {
        let a = RequestId::next();
        let b = RequestId::next();
        assert_ne!(a.as_str(), b.as_str());
        assert!(uuid::Uuid::parse_str(a.as_str()).is_ok(), "{}", a.as_str());
        let mut h = HeaderMap::new();
        h.insert(REQUEST_ID, HeaderValue::from_static("from-the-client"));
        assert_eq!(RequestId::of(&h).as_str(), "from-the-client");
    }
}
