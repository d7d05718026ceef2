//! `GET /oauth/authorize` and its forms: sign-in (`POST /oauth/login`), consent
//! (`POST /oauth/consent`) and `POST /oauth/logout`. Handlers translate; the checks live in
//! `auth::oauth::authorize`. Forms are protected by a double-submit CSRF token (cookie + field).

use std::time::Instant;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::forms::{Params, cookie, set_cookie};
use super::{core, html};
use crate::app::AppState;
use crate::auth::oauth::authorize::{self as az, AuthzError, AuthzParams, ValidAuthz};
use crate::auth::oauth::signin::{Next, SignIn};
use crate::auth::oauth::{LOGIN_SESSION_MS, OAuth, secrets};
use crate::store::users::User;

const SESSION_COOKIE: &str = "jean2_session";
const CSRF_COOKIE: &str = "jean2_csrf";
const WRONG_CREDENTIALS: &str = "The email or the password is not correct.";

type Peer = ConnectInfo<std::net::SocketAddr>;

fn found(location: &str) -> Response {
    let mut res = StatusCode::FOUND.into_response();
    if let Ok(v) = HeaderValue::from_str(location) {
        res.headers_mut().insert(header::LOCATION, v);
    }
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

fn not_enabled() -> Response {
    html::error(
        StatusCode::NOT_FOUND,
        "OAuth is not enabled on this server.",
    )
}

fn refused(oauth: &OAuth, e: AuthzError) -> Response {
    match e {
        AuthzError::Page(m) => html::error(StatusCode::BAD_REQUEST, &m),
        AuthzError::Redirect {
            redirect_uri,
            error,
            description,
            state,
        } => found(&az::error_redirect(
            oauth,
            &redirect_uri,
            error,
            &description,
            state.as_deref(),
        )),
    }
}

/// The signed-in person of this browser.
async fn session_user(oauth: &OAuth, headers: &HeaderMap) -> Option<User> {
    oauth.session_user(&cookie(headers, SESSION_COOKIE)?).await
}

/// The CSRF token of this browser, and the cookie to set when it is new.
fn csrf_of(oauth: &OAuth, headers: &HeaderMap) -> (String, Option<HeaderValue>) {
    match cookie(headers, CSRF_COOKIE) {
        Some(t) => (t, None),
        None => {
            let t = secrets::random_token();
            let c = set_cookie(CSRF_COOKIE, &t, 3600 * 12, oauth.secure_cookies());
            (t, Some(c))
        }
    }
}

fn with_cookie(mut res: Response, cookie: Option<HeaderValue>) -> Response {
    if let Some(c) = cookie {
        res.headers_mut().append(header::SET_COOKIE, c);
    }
    res
}

fn csrf_ok(headers: &HeaderMap, form: &Params) -> bool {
    match (cookie(headers, CSRF_COOKIE), form.get("csrf")) {
        (Some(c), Some(f)) => secrets::ct_eq(&c, f),
        _ => false,
    }
}

fn csrf_failed() -> Response {
    html::error(
        StatusCode::BAD_REQUEST,
        "This form has expired or was not sent from this site. Go back to the application and start again.",
    )
}

/// The common start of the sign-in and consent form posts: OAuth on, the form parses, its CSRF
/// token matches the cookie, and the authorization request it carries is still valid.
async fn posted_form(
    app: &AppState,
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<(OAuth, Params, AuthzParams, ValidAuthz), Response> {
    let Some(oauth) = core(app) else {
        return Err(not_enabled());
    };
    let form = Params::parse(&String::from_utf8_lossy(body))
        .map_err(|m| html::error(StatusCode::BAD_REQUEST, &m))?;
    if !csrf_ok(headers, &form) {
        return Err(csrf_failed());
    }
    let p = form.authz();
    let v = az::validate(&oauth, &p)
        .await
        .map_err(|e| refused(&oauth, e))?;
    Ok((oauth, form, p, v))
}

/// Signed in: skip consent if a remembered grant covers the request, else ask.
async fn continue_as(
    oauth: &OAuth,
    v: &ValidAuthz,
    user: &User,
    p: &AuthzParams,
    csrf: &str,
) -> Response {
    match oauth.continue_as(v, user).await {
        Ok(Next::Redirect(url)) => found(&url),
        Ok(Next::Consent) => html::consent(&v.app.name, &v.scopes, &user.email, p, csrf),
        Err(e) => refused(oauth, e),
    }
}

/// `GET /oauth/authorize`.
pub async fn authorize(
    State(app): State<AppState>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Response {
    let Some(oauth) = core(&app) else {
        return not_enabled();
    };
    let p = match Params::parse(q.as_deref().unwrap_or("")) {
        Ok(p) => p.authz(),
        Err(m) => return html::error(StatusCode::BAD_REQUEST, &m),
    };
    let v = match az::validate(&oauth, &p).await {
        Ok(v) => v,
        Err(e) => return refused(&oauth, e),
    };
    let (csrf, new_cookie) = csrf_of(&oauth, &headers);
    let res = match session_user(&oauth, &headers).await {
        Some(user) => continue_as(&oauth, &v, &user, &p, &csrf).await,
        None => html::login(StatusCode::OK, &v.app.name, &p, &csrf, None, ""),
    };
    with_cookie(res, new_cookie)
}

/// `POST /oauth/login`: check the password, start a session, go back to the authorization.
pub async fn login(
    State(app): State<AppState>,
    ConnectInfo(peer): Peer,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (oauth, form, p, v) = match posted_form(&app, &headers, &body).await {
        Ok(parts) => parts,
        Err(res) => return res,
    };
    let csrf = form.get("csrf").unwrap_or_default();
    let email = form.get("email").unwrap_or_default();
    let password = form.get("password").unwrap_or_default().to_owned();
    let login_page =
        |status, error: Option<&str>| html::login(status, &v.app.name, &p, csrf, error, email);
    match oauth
        .sign_in(
            app.auth.client_ip(peer.ip(), &headers),
            email,
            password,
            Instant::now(),
        )
        .await
    {
        Ok(SignIn::Started { session, .. }) => {
            let again = serde_urlencoded_authz(&p);
            let mut res = StatusCode::SEE_OTHER.into_response();
            if let Ok(loc) = HeaderValue::from_str(&format!("/oauth/authorize?{again}")) {
                res.headers_mut().insert(header::LOCATION, loc);
            }
            let max_age = LOGIN_SESSION_MS / 1000;
            let c = set_cookie(SESSION_COOKIE, &session, max_age, oauth.secure_cookies());
            res.headers_mut().append(header::SET_COOKIE, c);
            res
        }
        Ok(SignIn::Refused) => login_page(StatusCode::UNAUTHORIZED, Some(WRONG_CREDENTIALS)),
        Ok(SignIn::EmailTooLong) => login_page(
            StatusCode::BAD_REQUEST,
            Some("That is longer than any email address can be."),
        ),
        Ok(SignIn::TooMany(retry)) => {
            let secs = retry.as_secs().max(1);
            let text = format!("Too many failed sign-ins. Try again in {secs} seconds.");
            let mut res = login_page(StatusCode::TOO_MANY_REQUESTS, Some(&text));
            res.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
            res
        }
        Err(e) => {
            tracing::error!(error = %e, "cannot sign in");
            html::error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "An internal error occurred; please try again.",
            )
        }
    }
}

/// The authorization request as a query string again (always for our own `/oauth/authorize`).
fn serde_urlencoded_authz(p: &AuthzParams) -> String {
    let mut s = url::form_urlencoded::Serializer::new(String::new());
    let pairs = [
        ("response_type", &p.response_type),
        ("client_id", &p.client_id),
        ("redirect_uri", &p.redirect_uri),
        ("scope", &p.scope),
        ("state", &p.state),
        ("code_challenge", &p.code_challenge),
        ("code_challenge_method", &p.code_challenge_method),
    ];
    for (k, v) in pairs {
        if let Some(v) = v {
            s.append_pair(k, v);
        }
    }
    s.finish()
}

/// `POST /oauth/consent`: `decision=allow` remembers the grant and issues a code; `deny` sends
/// `access_denied` back.
pub async fn consent(State(app): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let (oauth, form, p, v) = match posted_form(&app, &headers, &body).await {
        Ok(parts) => parts,
        Err(res) => return res,
    };
    let csrf = form.get("csrf").unwrap_or_default();
    let Some(user) = session_user(&oauth, &headers).await else {
        return html::login(StatusCode::OK, &v.app.name, &p, csrf, None, "");
    };
    let allow = match form.get("decision") {
        Some("allow") => true,
        Some("deny") => false,
        _ => return html::error(StatusCode::BAD_REQUEST, "decision must be allow or deny."),
    };
    match oauth.consent(&v, &user, allow).await {
        Ok(url) => found(&url),
        Err(e) => refused(&oauth, e),
    }
}

/// `POST /oauth/logout`: end this browser's sign-in session.
pub async fn logout(State(app): State<AppState>, headers: HeaderMap) -> Response {
    let Some(oauth) = core(&app) else {
        return not_enabled();
    };
    if let Some(session) = cookie(&headers, SESSION_COOKIE) {
        oauth.sign_out(&session).await;
    }
    let mut res = html::page(
        StatusCode::OK,
        "Signed out",
        "<h1>Signed out</h1><p>You can close this page.</p>",
    );
    res.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(SESSION_COOKIE, "", 0, oauth.secure_cookies()),
    );
    res
}
