//! Headers every response carries: `X-Content-Type-Options: nosniff` (a browser never guesses a
//! script or a page out of a JSON body or a file), and with TLS on, `Strict-Transport-Security`
//! (a browser that has once reached this server over https never again tries plain http).
//!
//! HSTS is left out for `localhost` names: it would hold for every port of that name, so a
//! browser would refuse plain http to the user's other local servers. Browsers ignore it for IP
//! addresses anyway (RFC 6797 §8.1).

use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, header};

/// A year, the usual HSTS lifetime; without `includeSubDomains`, as other hosts of the domain
/// are not ours to decide.
const HSTS: &str = "max-age=31536000";

/// Whether the answer to `req` gets HSTS, on a server that speaks TLS when `tls`.
pub fn wants_hsts(tls: bool, req: &Request) -> bool {
    tls && !is_localhost(req)
}

/// Add the headers to an answer (those it already has are kept).
pub fn add(headers: &mut HeaderMap, hsts: bool) {
    headers
        .entry(header::X_CONTENT_TYPE_OPTIONS)
        .or_insert(HeaderValue::from_static("nosniff"));
    if hsts {
        headers
            .entry(header::STRICT_TRANSPORT_SECURITY)
            .or_insert(HeaderValue::from_static(HSTS));
    }
}

/// Whether the request names `localhost` (or a `*.localhost` name) as its host.
fn is_localhost(req: &Request) -> bool {
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .or_else(|| req.uri().host())
        .unwrap_or("");
    let name = match host.rsplit_once(':') {
        Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name,
        _ => host,
    };
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    name == "localhost" || name.ends_with(".localhost")
}

#[cfg(test)]
mod tests {
    use axum::body::Body;

    use super::*;

    #[test]
    fn localhost_names_are_told_apart_from_others() {
        let req = |host: &str| {
            Request::builder()
                .header("host", host)
                .body(Body::empty())
                .unwrap()
        };
        for (host, want) in [
            ("localhost", true),
            ("localhost:8742", true),
            ("app.localhost:8742", true),
            ("LOCALHOST.", true),
            ("127.0.0.1:8742", false),
            ("jean2.example.com", false),
            ("notlocalhost", false),
        ] {
            assert_eq!(is_localhost(&req(host)), want, "{host}");
        }
    }
}
