//! Reading OAuth requests: form bodies and query strings parsed strictly (a parameter sent twice
//! is an error, RFC 6749 §3.1), cookies, and client credentials from `client_secret_basic` or
//! `client_secret_post`.

use std::collections::HashMap;

use axum::http::{HeaderMap, HeaderValue, header};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::auth::oauth::authorize::AuthzParams;
use crate::auth::oauth::errors::TokenError;

/// Parameters of a form body or query string; empty values count as absent.
#[derive(Debug, Default)]
pub struct Params(HashMap<String, String>);

impl Params {
    /// Parse `application/x-www-form-urlencoded` text. `Err` names a repeated parameter.
    pub fn parse(text: &str) -> Result<Params, String> {
        let mut map = HashMap::new();
        for (k, v) in url::form_urlencoded::parse(text.as_bytes()) {
            if v.is_empty() {
                continue;
            }
            if map.insert(k.to_string(), v.into_owned()).is_some() {
                return Err(format!("parameter {k} is given more than once"));
            }
        }
        Ok(Params(map))
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    /// The authorization-request parameters among these.
    pub fn authz(&self) -> AuthzParams {
        let f = |n: &str| self.get(n).map(str::to_owned);
        AuthzParams {
            response_type: f("response_type"),
            client_id: f("client_id"),
            redirect_uri: f("redirect_uri"),
            scope: f("scope"),
            state: f("state"),
            code_challenge: f("code_challenge"),
            code_challenge_method: f("code_challenge_method"),
        }
    }
}

/// Parse a token-endpoint body: it must be form-encoded.
pub fn token_params(headers: &HeaderMap, body: &[u8]) -> Result<Params, TokenError> {
    let form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if !form {
        return Err(TokenError::InvalidRequest(
            "the body must be application/x-www-form-urlencoded".into(),
        ));
    }
    let text = std::str::from_utf8(body)
        .map_err(|_| TokenError::InvalidRequest("the body is not UTF-8".into()))?;
    Params::parse(text).map_err(TokenError::InvalidRequest)
}

/// The client's credentials: `(client_id, client_secret)` from HTTP Basic (each part
/// form-urldecoded, RFC 6749 §2.3.1) or from the body. Using both methods is an error.
pub fn client_credentials(
    headers: &HeaderMap,
    p: &Params,
) -> Result<(Option<String>, Option<String>), TokenError> {
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("basic"));
    let Some((_, encoded)) = basic else {
        return Ok((
            p.get("client_id").map(str::to_owned),
            p.get("client_secret").map(str::to_owned),
        ));
    };
    let bad = || TokenError::InvalidClient("malformed HTTP Basic client credentials".into());
    let decoded = STANDARD.decode(encoded.trim()).map_err(|_| bad())?;
    let text = String::from_utf8(decoded).map_err(|_| bad())?;
    let (id, secret) = text.split_once(':').ok_or_else(bad)?;
    let unescape = |s: &str| -> String {
        url::form_urlencoded::parse(format!("x={s}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default()
    };
    let (id, secret) = (unescape(id), unescape(secret));
    if p.get("client_secret").is_some() {
        return Err(TokenError::InvalidRequest(
            "use one client authentication method: HTTP Basic or client_secret in the body, not both".into(),
        ));
    }
    if p.get("client_id").is_some_and(|c| c != id) {
        return Err(TokenError::InvalidRequest(
            "client_id in the body differs from the one in HTTP Basic".into(),
        ));
    }
    Ok((Some(id), Some(secret).filter(|s| !s.is_empty())))
}

/// The value of cookie `name`.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
        .filter(|v| !v.is_empty())
}

/// A `Set-Cookie` for the OAuth pages: HttpOnly, SameSite=Lax, `Secure` over https.
pub fn set_cookie(name: &str, value: &str, max_age_secs: i64, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{name}={value}; Path=/oauth; Max-Age={max_age_secs}; HttpOnly; SameSite=Lax{secure}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static("invalid=; Max-Age=0"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_parameters_are_refused() {
        assert!(Params::parse("a=1&b=2").is_ok());
        assert!(Params::parse("a=1&a=2").unwrap_err().contains('a'));
    }

    #[test]
    fn basic_credentials_are_form_urldecoded() {
        let mut h = HeaderMap::new();
        let v = STANDARD.encode("app%3A1:s%2Bcret");
        h.insert(header::AUTHORIZATION, format!("Basic {v}").parse().unwrap());
        let (id, secret) = client_credentials(&h, &Params::default()).unwrap();
        assert_eq!(
            (id.as_deref(), secret.as_deref()),
            (Some("app:1"), Some("s+cret"))
        );
        let both = Params::parse("client_secret=x").unwrap();
        assert_eq!(
            client_credentials(&h, &both).unwrap_err().code(),
            "invalid_request"
        );
    }

    #[test]
    fn cookies_are_found_by_exact_name() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            "a=1; jean2_session=xyz; b=2".parse().unwrap(),
        );
        assert_eq!(cookie(&h, "jean2_session").as_deref(), Some("xyz"));
        assert_eq!(cookie(&h, "session"), None);
    }
}
