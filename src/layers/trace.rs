//! One span and one log line per request. The span (`request`, with the request id, method and
//! matched route) encloses the handler, so every line logged while handling the request carries
//! them; the closing line adds the status and duration. Secret query parameters are scrubbed
//! from anything logged; the `Authorization` header is never logged.

use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument as _;

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

/// A path and query with secret parameter values replaced by `***`.
pub fn scrub_uri(path: &str, query: Option<&str>) -> String {
    let Some(q) = query else {
        return path.to_owned();
    };
    let scrubbed: Vec<String> = q
        .split('&')
        .map(|pair| {
            let name = pair.split('=').next().unwrap_or("");
            let decoded: String = url::form_urlencoded::parse(name.as_bytes())
                .map(|(k, _)| k.into_owned())
                .next()
                .unwrap_or_default();
            if SECRET_PARAMS
                .iter()
                .any(|s| decoded.eq_ignore_ascii_case(s))
            {
                format!("{name}=***")
            } else {
                pair.to_owned()
            }
        })
        .collect();
    format!("{path}?{}", scrubbed.join("&"))
}

/// The middleware.
pub async fn log_request(req: Request, next: Next) -> Response {
    let start = Instant::now();
    let method = req.method().clone();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_owned());
    let uri = crate::auth::oauth::secrets::scrub_api_keys(&scrub_uri(
        req.uri().path(),
        req.uri().query(),
    ))
    .into_owned();
    let request_id = req
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let span = tracing::info_span!(
        "request",
        request.id = %request_id,
        http.method = %method,
        http.route = route.as_deref().unwrap_or("<unmatched>"),
    );
    let res = next.run(req).instrument(span).await;
    let status = res.status().as_u16();
    let duration_ms = start.elapsed().as_secs_f64() * 1000.0;
    let route = route.as_deref().unwrap_or("<unmatched>");
    macro_rules! log_at {
        ($level:ident) => {
            tracing::$level!(
                http.route = route,
                duration_ms = format_args!("{duration_ms:.2}"),
                request.id = %request_id,
                "{method} {uri} {status}"
            )
        };
    }
    if route == "/api/health" || route == "/" {
        log_at!(debug);
    } else if status >= 500 {
        log_at!(warn);
    } else {
        log_at!(info);
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;

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
    }
}
