//! The auth middleware over `/api` and `/ws`. It reads `Authorization: Bearer <token>` (the
//! scheme case-insensitively) or `?token=`; a present header decides alone. Failures answer 401
//! with the exact body of `PROTOCOL.md` §2 and `WWW-Authenticate: Bearer`; too many failures
//! from one address answer 429 with `Retry-After`.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Instant;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::{Auth, Principal};

/// What a request presented.
#[derive(Debug, PartialEq, Eq)]
pub enum Presented<'a> {
    None,
    /// The `Authorization` header, with its `Bearer` scheme removed; `None` if it was not Bearer.
    Header(Option<&'a str>),
    Query(String),
}

/// Pull the credential out of the headers and the query string.
pub fn presented<'a>(headers: &'a HeaderMap, query: Option<&str>) -> Presented<'a> {
    if let Some(value) = headers.get(header::AUTHORIZATION) {
        let bearer = value.to_str().ok().and_then(|v| {
            let (scheme, rest) = v.split_once(' ')?;
            scheme
                .eq_ignore_ascii_case("bearer")
                .then(|| rest.trim())
                .filter(|t| !t.is_empty())
        });
        return Presented::Header(bearer);
    }
    match query.and_then(query_token) {
        Some(t) => Presented::Query(t),
        None => Presented::None,
    }
}

/// The value of `token=` in a raw query string, percent-decoded.
pub fn query_token(query: &str) -> Option<String> {
    url::form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == "token")
        .map(|(_, v)| v.into_owned())
        .filter(|v| !v.is_empty())
}

/// Which 401 body to send.
#[derive(Debug, Clone, Copy)]
pub enum Surface {
    Rest,
    WebSocket,
}

/// Middleware for REST routes.
pub async fn require_rest(State(auth): State<Auth>, req: Request, next: Next) -> Response {
    authenticate(auth, Surface::Rest, req, next).await
}

/// Middleware for the WebSocket upgrade.
pub async fn require_ws(State(auth): State<Auth>, req: Request, next: Next) -> Response {
    authenticate(auth, Surface::WebSocket, req, next).await
}

async fn authenticate(auth: Auth, surface: Surface, mut req: Request, next: Next) -> Response {
    if req.method() == Method::OPTIONS || !auth.enabled() {
        req.extensions_mut().insert(Principal::Anonymous);
        return next.run(req).await;
    }
    let ip = peer_ip(&req);
    let now = Instant::now();
    if let Err(retry) = auth.limiter().check(ip, now) {
        return too_many(retry.as_secs().max(1));
    }
    let principal = match presented(req.headers(), req.uri().query()) {
        Presented::None => None,
        Presented::Header(None) => {
            auth.limiter().record_failure(ip, now);
            None
        }
        Presented::Header(Some(t)) => verified(&auth, t, ip, now),
        Presented::Query(t) => verified(&auth, &t, ip, now),
    };
    match principal {
        Some(p) => {
            req.extensions_mut().insert(p);
            next.run(req).await
        }
        None => unauthorized(surface),
    }
}

fn verified(auth: &Auth, token: &str, ip: IpAddr, now: Instant) -> Option<Principal> {
    let p = auth.verify(token);
    if p.is_none() {
        tracing::debug!(client.ip = %ip, "authentication failed");
        auth.limiter().record_failure(ip, now);
    }
    p
}

/// The peer address, from axum's connect info.
pub fn peer_ip(req: &Request) -> IpAddr {
    req.extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip())
        .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED))
}

/// 401 with the body the clients know.
pub fn unauthorized(surface: Surface) -> Response {
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
    res.headers_mut()
        .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    res
}

fn too_many(retry_secs: u64) -> Response {
    let body = json!({
        "error": "too_many_requests",
        "message": format!("Too many failed authentication attempts from this address; try again in {retry_secs} s"),
    });
    let mut res = (StatusCode::TOO_MANY_REQUESTS, axum::Json(body)).into_response();
    res.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(retry_secs));
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(auth: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::AUTHORIZATION, auth.parse().unwrap());
        h
    }

    #[test]
    fn bearer_scheme_is_case_insensitive() {
        for scheme in ["Bearer", "bearer", "BEARER"] {
            let h = headers(&format!("{scheme} abc"));
            assert_eq!(
                presented(&h, None),
                Presented::Header(Some("abc")),
                "{scheme}"
            );
        }
    }

    #[test]
    fn header_decides_even_when_query_has_a_token() {
        let h = headers("Basic abc");
        assert_eq!(presented(&h, Some("token=abc")), Presented::Header(None));
    }

    #[test]
    fn query_token_is_percent_decoded() {
        assert_eq!(
            presented(&HeaderMap::new(), Some("a=1&token=s%2B3%20x")),
            Presented::Query("s+3 x".into())
        );
        assert_eq!(
            presented(&HeaderMap::new(), Some("token=")),
            Presented::None
        );
    }
}
