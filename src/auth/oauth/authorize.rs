//! The authorization request (RFC 6749 §4.1 with OAuth 2.1 rules): which errors may go back to
//! the client (a redirect with `error=`) and which must not (unknown client, unregistered
//! `redirect_uri`: an error page, never a redirect, so the endpoint is no open redirector); PKCE
//! `S256` required; scopes narrowed to the app's; codes issued single-use for 60 s.

use serde::{Deserialize, Serialize};

use super::errors::TokenError;
use super::grants::{CODE_TTL_MS, narrow_scope};
use super::{OAuth, pkce, secrets};
use crate::store::apps::App;
use crate::store::oauth_tokens::CodeRow;

/// The parameters of an authorization request, as the query string (or the hidden fields of the
/// login and consent forms) carries them.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct AuthzParams {
    pub response_type: Option<String>,
    pub client_id: Option<String>,
    pub redirect_uri: Option<String>,
    pub scope: Option<String>,
    pub state: Option<String>,
    pub code_challenge: Option<String>,
    pub code_challenge_method: Option<String>,
}

/// A request that passed every check.
#[derive(Debug, Clone)]
pub struct ValidAuthz {
    pub app: App,
    pub redirect_uri: String,
    pub scopes: Vec<String>,
    pub state: Option<String>,
    pub code_challenge: String,
}

/// Why a request is refused, and where the answer goes.
#[derive(Debug)]
pub enum AuthzError {
    /// Show this on an error page; never redirect.
    Page(String),
    /// Send the user back to the client with `error` (RFC 6749 §4.1.2.1).
    Redirect {
        redirect_uri: String,
        error: &'static str,
        description: String,
        state: Option<String>,
    },
}

impl From<crate::store::StoreError> for AuthzError {
    fn from(e: crate::store::StoreError) -> Self {
        let _ = TokenError::internal(e);
        AuthzError::Page("An internal error occurred; please try again.".into())
    }
}

/// Whether `presented` is one of `registered`: exactly, or for an `http` loopback IP literal
/// (`127.0.0.1`, `[::1]`) with any port (RFC 8252 §7.3).
pub fn redirect_uri_registered(registered: &[String], presented: &str) -> bool {
    if registered.iter().any(|r| r == presented) {
        return true;
    }
    let Ok(p) = url::Url::parse(presented) else {
        return false;
    };
    let loopback = |u: &url::Url| {
        u.scheme() == "http" && matches!(u.host_str(), Some("127.0.0.1") | Some("[::1]"))
    };
    if !loopback(&p) || p.fragment().is_some() {
        return false;
    }
    registered.iter().any(|r| {
        url::Url::parse(r).is_ok_and(|mut r| {
            let mut p = p.clone();
            let _ = r.set_port(None);
            let _ = p.set_port(None);
            loopback(&r) && r == p
        })
    })
}

/// Check an authorization request in the order RFC 6749 requires: client and `redirect_uri`
/// first (errors shown here), then the rest (errors sent back to the client).
pub async fn validate(oauth: &OAuth, p: &AuthzParams) -> Result<ValidAuthz, AuthzError> {
    let client_id = p
        .client_id
        .as_deref()
        .filter(|c| !c.is_empty())
        .ok_or_else(|| AuthzError::Page("The request has no client_id.".into()))?;
    if secrets::is_api_key(client_id) {
        return Err(AuthzError::Page(
            "The client_id of this request is an API key. API keys are secrets and must never be \
             put in a URL; the application should use its client_id (app_…). Whoever sent you \
             here should revoke that key."
                .into(),
        ));
    }
    let app = oauth.find_client(client_id).await?.ok_or_else(|| {
        AuthzError::Page(
            "The application asking to sign you in is not known to this server.".into(),
        )
    })?;
    let redirect_uri = p
        .redirect_uri
        .as_deref()
        .filter(|r| !r.is_empty())
        .ok_or_else(|| AuthzError::Page("The request has no redirect_uri.".into()))?;
    if !redirect_uri_registered(&app.redirect_uris, redirect_uri) {
        return Err(AuthzError::Page(
            "The redirect_uri of this request is not registered for the application.".into(),
        ));
    }
    let back = |error: &'static str, description: &str| AuthzError::Redirect {
        redirect_uri: redirect_uri.to_owned(),
        error,
        description: description.to_owned(),
        state: p.state.clone(),
    };
    if p.response_type.as_deref() != Some("code") {
        return Err(back(
            "unsupported_response_type",
            "response_type must be code",
        ));
    }
    let challenge = p
        .code_challenge
        .as_deref()
        .filter(|c| !c.is_empty())
        .ok_or_else(|| back("invalid_request", "code_challenge is required (PKCE, S256)"))?;
    if p.code_challenge_method.as_deref() != Some("S256") {
        return Err(back(
            "invalid_request",
            "code_challenge_method must be S256 (plain is not supported)",
        ));
    }
    if !pkce::valid_challenge(challenge) {
        return Err(back(
            "invalid_request",
            "code_challenge must be 43 base64url characters (BASE64URL(SHA256(verifier)))",
        ));
    }
    let scopes =
        narrow_scope(p.scope.as_deref(), &app.scopes).map_err(|m| back("invalid_scope", &m))?;
    Ok(ValidAuthz {
        app,
        redirect_uri: redirect_uri.to_owned(),
        scopes,
        state: p.state.clone(),
        code_challenge: challenge.to_owned(),
    })
}

/// Whether `granted` (space-separated) covers every scope of the request.
pub fn grant_covers(granted: &str, wanted: &[String]) -> bool {
    wanted
        .iter()
        .all(|w| granted.split_whitespace().any(|g| g == w))
}

/// Issue a code for `user_id` and return the URL to send the browser to.
pub async fn issue_code(
    oauth: &OAuth,
    v: &ValidAuthz,
    user_id: &str,
) -> Result<String, AuthzError> {
    let code = secrets::random_token();
    let row = CodeRow {
        app_id: v.app.id.clone(),
        user_id: user_id.to_owned(),
        redirect_uri: v.redirect_uri.clone(),
        code_challenge: v.code_challenge.clone(),
        scope: v.scopes.join(" "),
        expires_at: oauth.now_ms() + CODE_TTL_MS,
        used_at: None,
        family_id: None,
    };
    oauth
        .store()
        .insert_code(&secrets::hash(&code), &row)
        .await?;
    let mut params = vec![("code", code.as_str())];
    if let Some(s) = &v.state {
        params.push(("state", s));
    }
    params.push(("iss", oauth.issuer()));
    Ok(with_query(&v.redirect_uri, &params))
}

/// `uri` with `params` appended to its query string.
pub fn with_query(uri: &str, params: &[(&str, &str)]) -> String {
    match url::Url::parse(uri) {
        Ok(mut u) => {
            {
                let mut q = u.query_pairs_mut();
                for (k, v) in params {
                    q.append_pair(k, v);
                }
            }
            u.to_string()
        }
        Err(_) => uri.to_owned(),
    }
}

/// The error redirect of RFC 6749 §4.1.2.1 (with `iss`, RFC 9207).
pub fn error_redirect(
    oauth: &OAuth,
    redirect_uri: &str,
    error: &str,
    description: &str,
    state: Option<&str>,
) -> String {
    let mut params = vec![("error", error), ("error_description", description)];
    if let Some(s) = state {
        params.push(("state", s));
    }
    params.push(("iss", oauth.issuer()));
    with_query(redirect_uri, &params)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirect_uris_match_exactly_except_loopback_ports() {
        let reg = vec![
            "https://app.example/cb".to_owned(),
            "http://127.0.0.1/callback".to_owned(),
            "http://[::1]:8000/cb".to_owned(),
        ];
        let cases = [
            ("exact", "https://app.example/cb", true),
            ("trailing slash", "https://app.example/cb/", false),
            ("other path", "https://app.example/cb2", false),
            ("other host", "https://evil.example/cb", false),
            ("extra query", "https://app.example/cb?x=1", false),
            ("loopback any port", "http://127.0.0.1:53211/callback", true),
            ("loopback v6 any port", "http://[::1]:1234/cb", true),
            ("loopback other path", "http://127.0.0.1:53211/other", false),
            (
                "localhost is not an IP literal",
                "http://localhost:53211/callback",
                false,
            ),
            (
                "https loopback not registered",
                "https://127.0.0.1:53211/callback",
                false,
            ),
        ];
        for (label, uri, want) in cases {
            assert_eq!(redirect_uri_registered(&reg, uri), want, "{label}");
        }
    }

    #[test]
    fn query_parameters_are_appended_and_encoded() {
        assert_eq!(
            with_query(
                "https://a.example/cb?x=1",
                &[("code", "a b"), ("state", "s&t")]
            ),
            "https://a.example/cb?x=1&code=a+b&state=s%26t"
        );
    }
}
