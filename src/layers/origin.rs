//! CORS and the Host/Origin guard.
//!
//! With a token set, any origin may call (the bearer token is not an ambient credential) and
//! CORS answers `*`, as upstream does. With auth off, a web page the user happens to visit must not
//! drive the local server: only loopback and browser-extension origins (plus
//! `JEAN2_ALLOWED_ORIGINS`) pass, and the `Host` header must be a loopback name, the bound address
//! or one of `JEAN2_ALLOWED_HOSTS` (DNS rebinding). Preflights are answered here with 204.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::auth::Auth;
use crate::config::{Settings, is_loopback_host};
use crate::error::AppError;

const ALLOW_METHODS: &str = "GET,HEAD,PUT,POST,DELETE,PATCH";

/// What the guard needs; cheap to clone.
#[derive(Clone)]
pub struct OriginPolicy {
    inner: Arc<Inner>,
}

struct Inner {
    auth: Auth,
    bound_host: String,
    allowed_origins: Vec<String>,
    allowed_hosts: Vec<String>,
    warned_null: AtomicBool,
}

impl OriginPolicy {
    pub fn new(settings: &Settings, auth: Auth) -> Self {
        Self {
            inner: Arc::new(Inner {
                auth,
                bound_host: settings.host.clone(),
                allowed_origins: settings.allowed_origins.clone(),
                allowed_hosts: settings.allowed_hosts.clone(),
                warned_null: AtomicBool::new(false),
            }),
        }
    }

    /// Whether a browser page from `origin` may call while auth is off.
    pub fn origin_allowed(&self, origin: &str) -> bool {
        let origin = origin.trim_end_matches('/');
        if self.inner.allowed_origins.iter().any(|o| o == origin) {
            return true;
        }
        if [
            "chrome-extension://",
            "moz-extension://",
            "safari-web-extension://",
        ]
        .iter()
        .any(|p| origin.starts_with(p))
        {
            return true;
        }
        match url::Url::parse(origin) {
            Ok(u) if u.scheme() == "http" || u.scheme() == "https" => {
                u.host_str().is_some_and(is_loopback_host)
            }
            _ => false,
        }
    }

    /// Whether the `Host` header names this machine (or a configured name) while auth is off.
    pub fn host_allowed(&self, host: &str) -> bool {
        let name = strip_port(host);
        is_loopback_host(name)
            || name.eq_ignore_ascii_case(self.inner.bound_host.trim_matches(['[', ']']))
            || self
                .inner
                .allowed_hosts
                .iter()
                .any(|h| strip_port(h).eq_ignore_ascii_case(name))
    }

    fn warn_null_once(&self) {
        if !self.inner.warned_null.swap(true, Ordering::Relaxed) {
            tracing::warn!(
                "refused a request with `Origin: null` (the Jean2 desktop app, or a sandboxed frame of a web page) \
                 because authentication is off. To use the desktop app: set JEAN2_AUTH_TOKEN and enter the token in the app, \
                 or allow it with JEAN2_ALLOWED_ORIGINS=null"
            );
        }
    }
}

/// `host:port`, `[::1]:port`, `host` → the name alone.
fn strip_port(host: &str) -> &str {
    if let Some(rest) = host.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    match host.rsplit_once(':') {
        Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) && !name.contains(':') => {
            name
        }
        _ => host,
    }
}

/// What the guard decided about one request.
pub enum Verdict {
    /// Answered here: refused (403) or a CORS preflight (204).
    Answer(Response),
    /// Goes on; the answer gets these CORS headers (`Access-Control-Allow-Origin`) when set.
    Pass(Option<HeaderValue>),
}

impl OriginPolicy {
    /// Judge a request by its `Host` and `Origin` (and answer preflights). Borrows only.
    pub fn judge(&self, req: &Request) -> Verdict {
        let headers = req.headers();
        let origin = headers.get(header::ORIGIN).and_then(|o| o.to_str().ok());
        let open = self.inner.auth.enabled();
        if let Some(refusal) = (!open).then(|| self.refusal(headers, origin)).flatten() {
            return Verdict::Answer(refusal);
        }
        let allow_origin = match (open, origin) {
            (_, None) => None,
            (true, Some(_)) => Some(HeaderValue::from_static("*")),
            (false, Some(o)) => HeaderValue::from_str(o).ok(),
        };
        let is_preflight = req.method() == Method::OPTIONS
            && headers.contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
        if is_preflight {
            return Verdict::Answer(preflight(headers, allow_origin));
        }
        Verdict::Pass(allow_origin)
    }

    /// The 403 for a `Host` or `Origin` not allowed while auth is off.
    fn refusal(&self, headers: &HeaderMap, origin: Option<&str>) -> Option<Response> {
        if let Some(host) = headers.get(header::HOST) {
            let host = host.to_str().unwrap_or("");
            if !self.host_allowed(host) {
                return Some(
                    AppError::Forbidden(format!(
                        "Host {host:?} is not allowed while authentication is off. Set JEAN2_AUTH_TOKEN, \
                         or add the name to JEAN2_ALLOWED_HOSTS"
                    ))
                    .into_response(),
                );
            }
        }
        let o = origin.filter(|o| !self.origin_allowed(o))?;
        if o == "null" {
            self.warn_null_once();
        }
        Some(
            AppError::Forbidden(format!(
                "Origin {o:?} is not allowed while authentication is off. Set JEAN2_AUTH_TOKEN and \
                 use it in the client, or add the origin to JEAN2_ALLOWED_ORIGINS"
            ))
            .into_response(),
        )
    }
}

/// The 204 answer to a CORS preflight.
fn preflight(headers: &HeaderMap, allow_origin: Option<HeaderValue>) -> Response {
    let mut res = StatusCode::NO_CONTENT.into_response();
    let h = res.headers_mut();
    if let Some(v) = allow_origin {
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, v);
    }
    h.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static(ALLOW_METHODS),
    );
    if let Some(v) = headers.get(header::ACCESS_CONTROL_REQUEST_HEADERS) {
        h.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, v.clone());
    }
    h.insert(
        header::ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from_static("600"),
    );
    add_vary(h);
    res
}

/// The CORS headers of an answer to a request from a browser page.
pub fn add_cors(res: &mut Response, allow_origin: HeaderValue) {
    let h = res.headers_mut();
    h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, allow_origin);
    h.insert(
        header::ACCESS_CONTROL_EXPOSE_HEADERS,
        HeaderValue::from_static("Retry-After"),
    );
    add_vary(h);
}

fn add_vary(h: &mut HeaderMap) {
    h.append(header::VARY, HeaderValue::from_static("Origin"));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(origins: &[&str], hosts: &[&str]) -> OriginPolicy {
        let mut s = Settings::for_data_dir("/tmp/x".into());
        s.allowed_origins = origins.iter().map(|s| s.to_string()).collect();
        s.allowed_hosts = hosts.iter().map(|s| s.to_string()).collect();
        OriginPolicy::new(
            &s,
            Auth::with_limits(None, 20, std::time::Duration::from_secs(60), None),
        )
    }

    #[test]
    fn loopback_and_extension_origins_pass_others_do_not() {
        let p = policy(&["https://app.example"], &[]);
        for ok in [
            "http://localhost:3774",
            "http://127.0.0.1:3774",
            "http://[::1]:8742",
            "chrome-extension://abcdef",
            "https://app.example",
        ] {
            assert!(p.origin_allowed(ok), "{ok}");
        }
        for bad in [
            "null",
            "https://evil.example",
            "http://localhost.evil.example",
            "file://",
        ] {
            assert!(!p.origin_allowed(bad), "{bad}");
        }
        assert!(policy(&["null"], &[]).origin_allowed("null"));
    }

    #[test]
    fn host_must_be_loopback_or_configured() {
        let p = policy(&[], &["box.tailnet.ts.net"]);
        for ok in [
            "localhost:8742",
            "127.0.0.1:8742",
            "[::1]:8742",
            "localhost",
            "box.tailnet.ts.net:8742",
        ] {
            assert!(p.host_allowed(ok), "{ok}");
        }
        for bad in ["evil.example", "evil.example:8742", "10.0.0.5:8742"] {
            assert!(!p.host_allowed(bad), "{bad}");
        }
    }
}
