//! The server-rendered pages of the authorization flow: sign-in, consent, error and signed-out.
//! Every value is HTML-escaped; each form carries the CSRF token and the authorization request
//! as hidden fields. Pages cannot be framed and are never cached.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};

use crate::auth::oauth::authorize::AuthzParams;

/// `&`, `<`, `>`, `"` and `'` as entities.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#x27;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:24rem;margin:4rem auto;padding:0 1rem;color:#222}\
label{display:block;margin:.8rem 0 .2rem}input[type=email],input[type=password]{width:100%;padding:.5rem;box-sizing:border-box}\
button{margin-top:1rem;padding:.5rem 1rem;margin-right:.5rem}.error{color:#a00}ul{padding-left:1.2rem}";

/// A complete page with the protective headers.
pub fn page(status: StatusCode, title: &str, body: &str) -> Response {
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>{} · jean2</title><style>{STYLE}</style></head><body>{body}</body></html>",
        escape(title)
    );
    let mut res = (status, Html(html)).into_response();
    let h = res.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
        ),
    );
    res
}

fn hidden(name: &str, value: Option<&str>) -> String {
    match value {
        Some(v) => format!(
            "<input type=\"hidden\" name=\"{}\" value=\"{}\">",
            escape(name),
            escape(v)
        ),
        None => String::new(),
    }
}

fn request_fields(p: &AuthzParams, csrf: &str) -> String {
    [
        hidden("csrf", Some(csrf)),
        hidden("response_type", p.response_type.as_deref()),
        hidden("client_id", p.client_id.as_deref()),
        hidden("redirect_uri", p.redirect_uri.as_deref()),
        hidden("scope", p.scope.as_deref()),
        hidden("state", p.state.as_deref()),
        hidden("code_challenge", p.code_challenge.as_deref()),
        hidden("code_challenge_method", p.code_challenge_method.as_deref()),
    ]
    .concat()
}

/// The sign-in form. `error` is shown above it (the same text whichever part was wrong).
pub fn login(
    status: StatusCode,
    app_name: &str,
    p: &AuthzParams,
    csrf: &str,
    error: Option<&str>,
    email: &str,
) -> Response {
    let error = error
        .map(|e| format!("<p class=\"error\" role=\"alert\">{}</p>", escape(e)))
        .unwrap_or_default();
    let body = format!(
        "<h1>Sign in</h1><p>to continue to <strong>{}</strong></p>{error}\
         <form method=\"post\" action=\"/oauth/login\">{}\
         <label for=\"email\">Email</label><input id=\"email\" type=\"email\" name=\"email\" value=\"{}\" autocomplete=\"username\" required autofocus>\
         <label for=\"password\">Password</label><input id=\"password\" type=\"password\" name=\"password\" autocomplete=\"current-password\" required>\
         <button type=\"submit\">Sign in</button></form>",
        escape(app_name),
        request_fields(p, csrf),
        escape(email)
    );
    page(status, "Sign in", &body)
}

/// The consent form: the application and the scopes it asks for.
pub fn consent(
    app_name: &str,
    scopes: &[String],
    email: &str,
    p: &AuthzParams,
    csrf: &str,
) -> Response {
    let items: String = scopes
        .iter()
        .map(|s| {
            let what = match s.as_str() {
                "read" => "read your workspaces, sessions and messages",
                "write" => "create and change workspaces and sessions, and chat on your behalf",
                _ => "",
            };
            format!("<li><strong>{}</strong> {}</li>", escape(s), escape(what))
        })
        .collect();
    let body = format!(
        "<h1>Allow access?</h1><p><strong>{}</strong> wants to use your jean2 account <em>{}</em> to:</p>\
         <ul>{items}</ul><form method=\"post\" action=\"/oauth/consent\">{}\
         <button type=\"submit\" name=\"decision\" value=\"allow\">Allow</button>\
         <button type=\"submit\" name=\"decision\" value=\"deny\">Deny</button></form>",
        escape(app_name),
        escape(email),
        request_fields(p, csrf)
    );
    page(StatusCode::OK, "Allow access", &body)
}

/// An error the user must see here (never a redirect to an unverified address).
pub fn error(status: StatusCode, message: &str) -> Response {
    page(
        status,
        "Cannot sign in",
        &format!(
            "<h1>Cannot continue</h1><p class=\"error\">{}</p>",
            escape(message)
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_in_values_is_escaped() {
        assert_eq!(
            escape("<script>\"x\"&'y'</script>"),
            "&lt;script&gt;&quot;x&quot;&amp;&#x27;y&#x27;&lt;/script&gt;"
        );
        let p = AuthzParams {
            state: Some("\"><script>alert(1)</script>".into()),
            ..Default::default()
        };
        assert!(!request_fields(&p, "c").contains("<script>"));
    }
}
