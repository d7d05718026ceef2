//! The auth middleware over `/api` and `/ws`. It reads `Authorization: Bearer <token>` (the
//! scheme case-insensitively) or `?token=`; a present header decides alone. Failures answer 401
//! with the exact body of `PROTOCOL.md` §2 and `WWW-Authenticate: Bearer` (with
//! `resource_metadata` when OAuth is on); too many failures from one address answer 429 with
//! `Retry-After`.
//!
//! With OAuth on, a bearer credential may also be a JWT access token (→ that user) or an API key
//! (→ that application; also `X-API-Key`). On REST those come from headers only — `?token=` is
//! the shared token's alone; on the WebSocket upgrade any of them may come as `?token=` or as the
//! subprotocol `jean2.bearer.<token>`. Application principals are then held to their scopes
//! (`read` for GET/HEAD and the upgrade, `write` for the rest) and counted per app per day.

use std::borrow::Cow;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use axum::extract::Request;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, header};
use axum::response::{IntoResponse, Response};

use super::oauth::{OAuth, secrets};
use super::rejection::Rejection;
use super::{Auth, Principal, SCOPE_READ, SCOPE_WRITE};

/// The header an application may send its API key in.
pub const API_KEY_HEADER: HeaderName = HeaderName::from_static("x-api-key");
/// The WebSocket subprotocol prefix that carries a credential (browsers cannot set headers).
pub const WS_BEARER_PROTOCOL: &str = "jean2.bearer.";

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
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Surface {
    Rest,
    WebSocket,
}

/// What a request presents to [`check`], borrowed from its parts (the check's future holds
/// these, not the request, whose body is not `Sync`).
#[derive(Clone, Copy)]
pub struct Asked<'a> {
    method: &'a Method,
    headers: &'a HeaderMap,
    query: Option<&'a str>,
    /// The connection's peer (`None` where unknown): the client's address is worked out from
    /// it only when needed ([`Asked::ip`]: a failure to count, a limited address).
    peer: Option<SocketAddr>,
}

impl<'a> Asked<'a> {
    /// What `req`, from `peer`, presents.
    pub fn of(req: &'a Request, peer: Option<SocketAddr>) -> Self {
        Asked {
            method: req.method(),
            headers: req.headers(),
            query: req.uri().query(),
            peer,
        }
    }

    /// The client's address ([`client_ip`]).
    fn ip(&self, auth: &Auth) -> IpAddr {
        client_ip(auth, self.peer, self.headers)
    }
}

/// Who is calling, or why they may not. Every method is checked alike: CORS preflights are
/// answered before this layer, so an `OPTIONS` that gets here is an ordinary request.
pub async fn check(
    auth: &Auth,
    surface: Surface,
    asked: Asked<'_>,
) -> Result<Principal, Rejection> {
    if let Some(decided) = check_now(auth, surface, asked) {
        return decided;
    }
    let resolved = resolve(auth, surface, asked.headers, asked.query).await;
    decide(auth, surface, asked, resolved)
}

/// [`check`]'s answer when it needs no OAuth lookup (no API key, no access token to look up):
/// the shared token, a missing or malformed credential, auth off, a blocked address. `None`:
/// only [`check`] can tell. The request path answers most requests from here, without a future.
pub fn check_now(
    auth: &Auth,
    surface: Surface,
    asked: Asked<'_>,
) -> Option<Result<Principal, Rejection>> {
    if !auth.enabled() {
        return Some(Ok(Principal::Anonymous));
    }
    let limiter = auth.limiter();
    if !limiter.is_quiet()
        && let Err(retry) = limiter.check(asked.ip(auth), auth.now())
    {
        return Some(Err(Rejection::TooMany {
            retry_secs: retry.as_secs().max(1),
        }));
    }
    let resolved = resolve_now(auth, surface, asked.headers, asked.query)?;
    Some(decide(auth, surface, asked, resolved))
}

/// The principal, or the rejection, for what the credentials resolved to.
fn decide(
    auth: &Auth,
    surface: Surface,
    asked: Asked<'_>,
    resolved: Resolved,
) -> Result<Principal, Rejection> {
    let p = match resolved {
        Resolved::Valid(p) => p,
        Resolved::Missing => {
            return Err(Rejection::Unauthorized {
                surface,
                www: www_authenticate(auth.oauth(), false),
            });
        }
        Resolved::Invalid => {
            let ip = asked.ip(auth);
            tracing::debug!(client.ip = %ip, "authentication failed");
            auth.limiter().record_failure(ip, auth.now());
            return Err(Rejection::Unauthorized {
                surface,
                www: www_authenticate(auth.oauth(), true),
            });
        }
    };
    let needed = match (surface, asked.method) {
        (Surface::WebSocket, _) => SCOPE_READ,
        (Surface::Rest, &Method::GET | &Method::HEAD) => SCOPE_READ,
        (Surface::Rest, _) => SCOPE_WRITE,
    };
    if !p.allows(needed) {
        return Err(Rejection::InsufficientScope(needed));
    }
    if let (Some(oauth), Some(app)) = (auth.oauth(), p.app_id()) {
        oauth.count_request(app);
    }
    Ok(p)
}

/// The outcome of reading a request's credentials.
enum Resolved {
    /// Nothing was presented.
    Missing,
    Valid(Principal),
    /// Something was presented and it is not valid (counts as a failure).
    Invalid,
}

/// What [`resolve`] decides without an OAuth lookup, or `None` when it would need one.
fn resolve_now(
    auth: &Auth,
    surface: Surface,
    headers: &HeaderMap,
    query: Option<&str>,
) -> Option<Resolved> {
    let oauth = auth.oauth();
    let api_key = oauth.is_some() && headers.contains_key(API_KEY_HEADER);
    let bearer = |t: &str| match auth.verify(t) {
        Some(p) => Some(Resolved::Valid(p)),
        // Not the shared token: without OAuth nothing else could make it valid.
        None => oauth.is_none().then_some(Resolved::Invalid),
    };
    match presented(headers, query) {
        Presented::Header(None) => Some(Resolved::Invalid),
        Presented::Query(t) if surface == Surface::Rest => match auth.verify(&t) {
            Some(p) if !api_key => Some(Resolved::Valid(p)),
            _ => Some(Resolved::Invalid),
        },
        _ if api_key => None,
        Presented::Header(Some(t)) => bearer(t),
        Presented::Query(t) => bearer(&t),
        Presented::None if surface == Surface::WebSocket && oauth.is_some() => None,
        Presented::None => Some(Resolved::Missing),
    }
}

/// Read and check every credential the surface allows.
async fn resolve(
    auth: &Auth,
    surface: Surface,
    headers: &HeaderMap,
    query: Option<&str>,
) -> Resolved {
    let oauth = auth.oauth();
    let api_key = oauth
        .and(headers.get(API_KEY_HEADER))
        .map(|v| v.to_str().unwrap_or(""));
    // Borrowed from the header in the usual case (no copy of the token per request).
    let bearer: Option<Cow<'_, str>> = match presented(headers, query) {
        Presented::Header(None) => return Resolved::Invalid,
        Presented::Header(Some(t)) => Some(Cow::Borrowed(t)),
        Presented::Query(t) if surface == Surface::Rest => {
            // REST: the query string carries the shared token only, never access tokens or keys.
            return match auth.verify(&t) {
                Some(p) if api_key.is_none() => Resolved::Valid(p),
                _ => Resolved::Invalid,
            };
        }
        Presented::Query(t) => Some(Cow::Owned(t)),
        Presented::None if surface == Surface::WebSocket && oauth.is_some() => {
            subprotocol_token(headers).map(Cow::Owned)
        }
        Presented::None => None,
    };
    let (Some(oauth), Some(key)) = (oauth, api_key) else {
        return match bearer {
            None => Resolved::Missing,
            Some(t) => check_bearer(auth, &t).await,
        };
    };
    // An API key, alone or with a user's token that must belong to the same application.
    // The OAuth lookups are boxed: inline, their futures made every request's future (the
    // shared token's too) kilobytes larger, allocated and copied on every request.
    let Some(app) = Box::pin(oauth.verify_api_key(key)).await else {
        return Resolved::Invalid;
    };
    match bearer {
        None => Resolved::Valid(Principal::App {
            app_id: app.app_id,
            scopes: app.scopes,
        }),
        Some(t) => match check_bearer(auth, &t).await {
            Resolved::Valid(p) if p.app_id() == Some(app.app_id.as_str()) => Resolved::Valid(p),
            _ => Resolved::Invalid,
        },
    }
}

/// One bearer credential: the shared token, an API key or a JWT access token.
async fn check_bearer(auth: &Auth, token: &str) -> Resolved {
    if let Some(p) = auth.verify(token) {
        return Resolved::Valid(p);
    }
    let Some(oauth) = auth.oauth() else {
        return Resolved::Invalid;
    };
    let principal = if secrets::is_api_key(token) {
        Box::pin(oauth.verify_api_key(token))
            .await
            .map(|k| Principal::App {
                app_id: k.app_id,
                scopes: k.scopes,
            })
    } else {
        Box::pin(oauth.verify_access_token(token))
            .await
            .map(|c| Principal::User {
                scopes: c.scope.split_whitespace().map(str::to_owned).collect(),
                user_id: c.sub,
                app_id: c.client_id,
            })
    };
    principal.map_or(Resolved::Invalid, Resolved::Valid)
}

/// The token of a `jean2.bearer.<token>` entry in `Sec-WebSocket-Protocol`.
pub fn subprotocol_token(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .find_map(|p| p.trim().strip_prefix(WS_BEARER_PROTOCOL))
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
}

/// `Bearer`, or with OAuth on `Bearer resource_metadata="…"` (RFC 9728), with
/// `error="invalid_token"` when a credential was presented and refused (RFC 6750 §3.1).
fn www_authenticate(oauth: Option<&OAuth>, invalid: bool) -> HeaderValue {
    let Some(o) = oauth else {
        return HeaderValue::from_static("Bearer");
    };
    let error = if invalid {
        "error=\"invalid_token\", "
    } else {
        ""
    };
    HeaderValue::from_str(&format!(
        "Bearer {error}resource_metadata=\"{}\"",
        o.resource_metadata_url()
    ))
    .unwrap_or_else(|_| HeaderValue::from_static("Bearer"))
}

/// The client's address: the connection's peer, or behind a trusted proxy
/// (`JEAN2_TRUSTED_PROXIES`) the right-most untrusted `X-Forwarded-For` entry.
fn client_ip(auth: &Auth, peer: Option<SocketAddr>, headers: &HeaderMap) -> IpAddr {
    let peer = peer.map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |p| p.ip());
    auth.client_ip(peer, headers)
}

/// 401 with the body the clients know.
pub fn unauthorized(surface: Surface) -> Response {
    Rejection::Unauthorized {
        surface,
        www: HeaderValue::from_static("Bearer"),
    }
    .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subprotocol_carries_a_bearer_token() {
        let mut h = HeaderMap::new();
        h.insert(
            header::SEC_WEBSOCKET_PROTOCOL,
            "jean2.v1, jean2.bearer.abc.def".parse().unwrap(),
        );
        assert_eq!(subprotocol_token(&h).as_deref(), Some("abc.def"));
        assert_eq!(subprotocol_token(&HeaderMap::new()), None);
    }

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
