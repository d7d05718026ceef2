//! OAuth test support: a server with OAuth on (shared token too, a movable clock, no caches),
//! users and apps created through the admin functions, a tiny browser with a cookie jar and
//! redirects off, and the PKCE authorization flow driven through the real HTML forms.

use std::collections::HashMap;
use std::time::Duration;

use jean2::admin::{AppSpec, CreatedApp};
use jean2::auth::oauth::pkce;
use jean2::store::Store;
use jean2::time::Clock;
use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{TOKEN, TestApp, spawn_on};

pub const PASSWORD: &str = "correct horse battery";
pub const VERIFIER: &str = "a-long-random-verifier-string-of-at-least-43-characters";
pub const REDIRECT: &str = "https://app.example/callback";

pub struct OAuthApp {
    pub app: TestApp,
    pub clock: Clock,
    pub store: Store,
}

/// A server with OAuth on (and the shared token [`TOKEN`]); `customize` may adjust more.
pub async fn spawn_oauth_with(customize: impl FnOnce(&mut jean2::config::Settings)) -> OAuthApp {
    spawn_oauth_on(tempfile::tempdir().expect("temp dir"), customize).await
}

/// [`spawn_oauth_with`] on an existing data directory.
pub async fn spawn_oauth_on(
    dir: tempfile::TempDir,
    customize: impl FnOnce(&mut jean2::config::Settings),
) -> OAuthApp {
    let clock = Clock::system();
    let mut s = jean2::config::Settings::for_data_dir(dir.path().to_owned());
    s.auth_token = Some(jean2::config::Secret::new(TOKEN));
    s.oauth.enabled = true;
    s.oauth.clock = clock.clone();
    s.oauth.cache_ttl = Duration::ZERO;
    s.database_url = crate::helpers::test_database().await;
    customize(&mut s);
    let app = spawn_on(dir, s).await;
    let store = crate::helpers::store_of(&app.settings).await;
    OAuthApp { app, clock, store }
}

pub async fn spawn_oauth() -> OAuthApp {
    spawn_oauth_with(|_| {}).await
}

impl OAuthApp {
    pub async fn add_user(&self, email: &str) -> String {
        jean2::admin::add_user(&self.store, email, PASSWORD)
            .await
            .expect("add user")
            .id
    }

    pub async fn public_app(&self, scopes: &[&str]) -> CreatedApp {
        self.create_app(false, scopes).await
    }

    pub async fn create_app(&self, confidential: bool, scopes: &[&str]) -> CreatedApp {
        let spec = AppSpec {
            name: "Test <App>".into(),
            redirect_uris: vec![REDIRECT.into(), "http://127.0.0.1/cb".into()],
            confidential,
            scopes: scopes.iter().map(|s| s.to_string()).collect(),
        };
        jean2::admin::create_app(&self.store, &spec)
            .await
            .expect("create app")
    }

    /// POST a form to the token endpoint (client_secret_post style, or none).
    pub async fn token(&self, form: &[(&str, &str)]) -> (StatusCode, Value) {
        let res = self
            .app
            .client
            .post(self.app.url("/oauth/token"))
            .form(form)
            .send()
            .await
            .unwrap();
        let status = res.status();
        assert_eq!(
            res.headers()["cache-control"],
            "no-store",
            "token answers are never cached"
        );
        (status, res.json().await.unwrap())
    }

    pub async fn exchange(&self, client_id: &str, code: &str) -> (StatusCode, Value) {
        self.token(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", REDIRECT),
            ("client_id", client_id),
            ("code_verifier", VERIFIER),
        ])
        .await
    }

    pub async fn refresh(&self, client_id: &str, refresh: &str) -> (StatusCode, Value) {
        self.token(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh),
            ("client_id", client_id),
        ])
        .await
    }

    /// `GET /api/v1/user/me` with a bearer token: status and body.
    pub async fn me(&self, token: &str) -> (StatusCode, Value) {
        let res = self.app.get_auth("/api/v1/user/me", token).await;
        let status = res.status();
        (status, res.json().await.unwrap_or(Value::Null))
    }

    /// Sign in as `email` and consent (to all the app's scopes): the code for `client_id`, with
    /// the whole flow checked.
    pub async fn code_for(&self, browser: &mut Browser, client_id: &str, email: &str) -> String {
        let url = authorize_url(&self.app, client_id, None);
        let page = browser.get(&url).await;
        if page.status == 302 {
            return self.finish_consent(browser, client_id, page).await;
        }
        assert_eq!(page.status, 200, "login page: {}", page.body);
        let csrf = hidden(&page.body, "csrf");
        if page.body.contains("action=\"/oauth/login\"") {
            let mut form = authz_form(client_id, &csrf);
            form.push(("email".into(), email.into()));
            form.push(("password".into(), PASSWORD.into()));
            let res = browser.post(&self.app.url("/oauth/login"), &form).await;
            assert_eq!(res.status, 303, "login: {}", res.body);
            let back = res.location.expect("login redirects back");
            assert!(back.starts_with("/oauth/authorize?"), "{back}");
            let page = browser.get(&self.app.url(&back)).await;
            return self.finish_consent(browser, client_id, page).await;
        }
        self.finish_consent(browser, client_id, page).await
    }

    async fn finish_consent(&self, browser: &mut Browser, client_id: &str, page: Page) -> String {
        let location = if page.status == 302 {
            page.location.expect("location")
        } else {
            assert_eq!(page.status, 200, "consent page: {}", page.body);
            assert!(
                page.body.contains("Test &lt;App&gt;"),
                "consent names the app, escaped"
            );
            let csrf = hidden(&page.body, "csrf");
            let mut form = authz_form(client_id, &csrf);
            form.push(("decision".into(), "allow".into()));
            let res = browser.post(&self.app.url("/oauth/consent"), &form).await;
            assert_eq!(res.status, 302, "consent: {}", res.body);
            res.location.expect("consent redirects to the client")
        };
        let url = url::Url::parse(&location).unwrap();
        assert!(location.starts_with(REDIRECT), "{location}");
        let q: HashMap<String, String> = url.query_pairs().into_owned().collect();
        assert_eq!(q["state"], "xyz", "state is echoed");
        let issuer = self.app.settings.oauth.public_url.clone();
        assert_eq!(
            q["iss"],
            issuer.unwrap_or_else(|| self.app.base.clone()),
            "iss is the issuer (RFC 9207)"
        );
        q["code"].clone()
    }

    /// The whole PKCE flow: a fresh browser signs in, consents, exchanges the code.
    pub async fn tokens_for(&self, client_id: &str, email: &str) -> Value {
        let mut browser = Browser::new();
        let code = self.code_for(&mut browser, client_id, email).await;
        let (status, body) = self.exchange(client_id, &code).await;
        assert_eq!(status, 200, "{body}");
        body
    }
}

pub fn authorize_url(app: &TestApp, client_id: &str, scope: Option<&str>) -> String {
    let mut q = url::form_urlencoded::Serializer::new(String::new());
    q.append_pair("response_type", "code")
        .append_pair("client_id", client_id)
        .append_pair("redirect_uri", REDIRECT)
        .append_pair("state", "xyz")
        .append_pair("code_challenge", &pkce::challenge_of(VERIFIER))
        .append_pair("code_challenge_method", "S256");
    if let Some(s) = scope {
        q.append_pair("scope", s);
    }
    app.url(&format!("/oauth/authorize?{}", q.finish()))
}

fn authz_form(client_id: &str, csrf: &str) -> Vec<(String, String)> {
    [
        ("csrf", csrf.to_owned()),
        ("response_type", "code".into()),
        ("client_id", client_id.into()),
        ("redirect_uri", REDIRECT.into()),
        ("state", "xyz".into()),
        ("code_challenge", pkce::challenge_of(VERIFIER)),
        ("code_challenge_method", "S256".into()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

/// The value of a hidden form field in a page.
pub fn hidden(body: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = body
        .find(&marker)
        .unwrap_or_else(|| panic!("no {name} field in {body}"))
        + marker.len();
    body[start..].split('"').next().unwrap().to_owned()
}

pub struct Page {
    pub status: u16,
    pub location: Option<String>,
    pub retry_after: Option<String>,
    pub body: String,
}

/// A browser: a cookie jar by hand, redirects not followed.
pub struct Browser {
    client: reqwest::Client,
    cookies: HashMap<String, String>,
}

impl Browser {
    pub fn new() -> Self {
        Self {
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            cookies: HashMap::new(),
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    async fn read(&mut self, res: reqwest::Response) -> Page {
        for c in res.headers().get_all("set-cookie") {
            let c = c.to_str().unwrap();
            assert!(c.contains("HttpOnly") && c.contains("SameSite=Lax"), "{c}");
            let (name, rest) = c.split_once('=').unwrap();
            let value = rest.split(';').next().unwrap();
            if value.is_empty() {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_owned(), value.to_owned());
            }
        }
        let header = |n: &str| res.headers().get(n).map(|v| v.to_str().unwrap().to_owned());
        Page {
            status: res.status().as_u16(),
            location: header("location"),
            retry_after: header("retry-after"),
            body: res.text().await.unwrap(),
        }
    }

    pub async fn get(&mut self, url: &str) -> Page {
        let res = self
            .client
            .get(url)
            .header("cookie", self.cookie_header())
            .send()
            .await
            .unwrap();
        self.read(res).await
    }

    pub async fn post(&mut self, url: &str, form: &[(String, String)]) -> Page {
        let res = self
            .client
            .post(url)
            .header("cookie", self.cookie_header())
            .form(form)
            .send()
            .await
            .unwrap();
        self.read(res).await
    }
}
