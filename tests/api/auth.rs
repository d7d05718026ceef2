//! The shared-token auth table of issue #2: public routes, protected routes with every kind of
//! credential, header-vs-query precedence, the exact 401 body, and the failed-attempt limiter.

use std::time::Duration;

use reqwest::header::{AUTHORIZATION, RETRY_AFTER, WWW_AUTHENTICATE};
use serde_json::{Value, json};

use crate::helpers::*;

fn expected_401() -> Value {
    json!({
        "error": "Unauthorized",
        "message": "Invalid or missing API token",
        "hint": "Include token in Authorization header: \"Bearer <token>\" or query param: ?token=<token>"
    })
}

#[tokio::test]
async fn public_routes_answer_200_with_and_without_auth() {
    for (label, app) in [
        ("auth off", spawn_app().await),
        ("auth on", spawn_app_with_token().await),
    ] {
        for path in ["/", "/api/health", "/api/info"] {
            let res = app.get(path).await;
            assert_eq!(res.status(), 200, "{label} {path}");
            assert_eq!(
                res.headers()["content-type"],
                "application/json",
                "{label} {path}"
            );
        }
    }
}

#[tokio::test]
async fn verify_passes_without_token_when_auth_is_off() {
    let app = spawn_app().await;
    let res = app.get("/api/auth/verify").await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["valid"], true);
    assert!(body["timestamp"].is_string());
}

/// Every way a credential can be presented, and what it must give.
#[tokio::test]
async fn protected_routes_follow_the_auth_table() {
    let app = spawn_app_with_token().await;
    let cases = header_cases().into_iter().chain(query_and_path_cases());
    for (label, header, path, want) in cases {
        let mut req = app.client.get(app.url(&path));
        if let Some(h) = header {
            req = req.header(AUTHORIZATION, h);
        }
        let res = req.send().await.unwrap();
        assert_eq!(res.status().as_u16(), want, "{label}");
        if want == 401 {
            assert_eq!(res.headers()[WWW_AUTHENTICATE], "Bearer", "{label}");
            assert_eq!(res.headers()["content-type"], "application/json", "{label}");
            let body: Value = res.json().await.unwrap();
            assert_eq!(body, expected_401(), "{label}");
        }
    }
}

/// A row of the auth table: label, `Authorization` header, path, expected status.
type Case = (&'static str, Option<String>, String, u16);

/// Credentials presented in the `Authorization` header.
fn header_cases() -> Vec<Case> {
    let short = &TOKEN[..TOKEN.len() - 1];
    let long = format!("{TOKEN}x");
    vec![
        ("no credential", None, "/api/auth/verify".into(), 401),
        (
            "right header",
            Some(format!("Bearer {TOKEN}")),
            "/api/auth/verify".into(),
            200,
        ),
        (
            "lowercase scheme",
            Some(format!("bearer {TOKEN}")),
            "/api/auth/verify".into(),
            200,
        ),
        (
            "uppercase scheme",
            Some(format!("BEARER {TOKEN}")),
            "/api/auth/verify".into(),
            200,
        ),
        (
            "wrong header",
            Some("Bearer nope".into()),
            "/api/auth/verify".into(),
            401,
        ),
        (
            "one char short",
            Some(format!("Bearer {short}")),
            "/api/auth/verify".into(),
            401,
        ),
        (
            "one char long",
            Some(format!("Bearer {long}")),
            "/api/auth/verify".into(),
            401,
        ),
        (
            "empty bearer",
            Some("Bearer ".into()),
            "/api/auth/verify".into(),
            401,
        ),
        (
            "basic scheme",
            Some(format!("Basic {TOKEN}")),
            "/api/auth/verify".into(),
            401,
        ),
    ]
}

/// Credentials in the query, precedence between header and query, and unknown `/api` paths.
fn query_and_path_cases() -> Vec<Case> {
    let short = &TOKEN[..TOKEN.len() - 1];
    let enc = urlencode(TOKEN);
    vec![
        (
            "right query",
            None,
            format!("/api/auth/verify?token={enc}"),
            200,
        ),
        (
            "wrong query",
            None,
            "/api/auth/verify?token=nope".into(),
            401,
        ),
        (
            "short query",
            None,
            format!("/api/auth/verify?token={}", urlencode(short)),
            401,
        ),
        (
            "wrong header is not rescued by right query",
            Some("Bearer nope".into()),
            format!("/api/auth/verify?token={enc}"),
            401,
        ),
        (
            "right header wins over wrong query",
            Some(format!("Bearer {TOKEN}")),
            "/api/auth/verify?token=nope".into(),
            200,
        ),
        (
            "unknown /api path without token",
            None,
            "/api/does-not-exist".into(),
            401,
        ),
        (
            "unknown /api path with token",
            Some(format!("Bearer {TOKEN}")),
            "/api/does-not-exist".into(),
            404,
        ),
    ]
}

#[tokio::test]
async fn preflight_needs_no_token_and_answers_204() {
    let app = spawn_app_with_token().await;
    let res = app
        .client
        .request(reqwest::Method::OPTIONS, app.url("/api/workspaces"))
        .header("Origin", "http://localhost:3774")
        .header("Access-Control-Request-Method", "GET")
        .header(
            "Access-Control-Request-Headers",
            "authorization,content-type",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    let h = res.headers();
    assert_eq!(h["access-control-allow-origin"], "*");
    assert_eq!(
        h["access-control-allow-methods"],
        "GET,HEAD,PUT,POST,DELETE,PATCH"
    );
    assert_eq!(
        h["access-control-allow-headers"],
        "authorization,content-type"
    );
}

#[tokio::test]
async fn with_a_token_any_origin_may_call_including_null() {
    let app = spawn_app_with_token().await;
    for origin in ["null", "https://app.example", "http://localhost:3774"] {
        let res = app
            .client
            .get(app.url("/api/auth/verify"))
            .header("Origin", origin)
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "{origin}");
        assert_eq!(
            res.headers()["access-control-allow-origin"],
            "*",
            "{origin}"
        );
    }
}

#[tokio::test]
async fn with_auth_off_only_local_origins_and_hosts_pass() {
    let app = spawn_app_with(|s| s.allowed_origins = vec!["https://ok.example".into()]).await;
    let cases = [
        ("loopback origin", Some("http://localhost:3774"), None, 200),
        ("127 origin", Some("http://127.0.0.1:3774"), None, 200),
        (
            "extension origin",
            Some("chrome-extension://abc"),
            None,
            200,
        ),
        ("configured origin", Some("https://ok.example"), None, 200),
        ("foreign origin", Some("https://evil.example"), None, 403),
        ("null origin", Some("null"), None, 403),
        ("no origin (curl)", None, None, 200),
        ("rebinding host", None, Some("evil.example:8742"), 403),
        ("localhost host", None, Some("localhost:8742"), 200),
    ];
    for (label, origin, host, want) in cases {
        let mut req = app.client.get(app.url("/api/auth/verify"));
        if let Some(o) = origin {
            req = req.header("Origin", o);
        }
        if let Some(h) = host {
            req = req.header("Host", h);
        }
        let res = req.send().await.unwrap();
        assert_eq!(res.status().as_u16(), want, "{label}");
        if let (200, Some(o)) = (want, origin) {
            assert_eq!(res.headers()["access-control-allow-origin"], o, "{label}");
        }
        if want == 403 {
            let body: Value = res.json().await.unwrap();
            assert_eq!(body["error"], "forbidden", "{label}");
        }
    }
    let null_ok = spawn_app_with(|s| s.allowed_origins = vec!["null".into()]).await;
    let res = null_ok
        .client
        .get(null_ok.url("/api/auth/verify"))
        .header("Origin", "null")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "null allowed when listed");
}

#[tokio::test]
async fn repeated_failures_from_one_address_get_429_with_retry_after() {
    let app = spawn_app_with(|s| {
        s.auth_token = Some(jean2::config::Secret::new(TOKEN));
        s.auth_max_failures = 5;
        s.auth_failure_window = Duration::from_secs(60);
    })
    .await;
    // Successes never count.
    for _ in 0..10 {
        assert_eq!(app.get_auth("/api/auth/verify", TOKEN).await.status(), 200);
    }
    for i in 0..5 {
        let res = app.get_auth("/api/auth/verify", "wrong").await;
        assert_eq!(res.status(), 401, "failure {i}");
    }
    let res = app.get_auth("/api/auth/verify", "wrong").await;
    assert_eq!(res.status(), 429);
    let retry: u64 = res.headers()[RETRY_AFTER]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry), "Retry-After {retry}");
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"], "too_many_requests");
    // Blocked addresses are blocked for every attempt until the window passes, so guessing
    // cannot go on behind the 429.
    assert_eq!(app.get_auth("/api/auth/verify", TOKEN).await.status(), 429);
    // Public routes stay open.
    assert_eq!(app.get("/api/health").await.status(), 200);
}

#[tokio::test]
async fn the_limiter_window_ends() {
    let clock = jean2::time::Clock::system();
    let app = spawn_app_with(|s| {
        s.auth_token = Some(jean2::config::Secret::new(TOKEN));
        s.auth_max_failures = 2;
        s.auth_failure_window = Duration::from_secs(60);
        s.oauth.clock = clock.clone();
    })
    .await;
    for _ in 0..2 {
        app.get_auth("/api/auth/verify", "wrong").await;
    }
    assert_eq!(app.get_auth("/api/auth/verify", TOKEN).await.status(), 429);
    clock.advance(Duration::from_secs(50));
    assert_eq!(
        app.get_auth("/api/auth/verify", TOKEN).await.status(),
        429,
        "still inside the window"
    );
    clock.advance(Duration::from_secs(11));
    assert_eq!(app.get_auth("/api/auth/verify", TOKEN).await.status(), 200);
}

#[tokio::test]
async fn oversized_headers_are_refused_and_the_server_stays_up() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = spawn_app_with_token().await;
    let mut conn = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    let head = format!(
        "GET /api/health HTTP/1.1\r\nHost: localhost\r\nX-Big: {}\r\n\r\n",
        "x".repeat(1024 * 1024)
    );
    // The server may close before reading it all; that is the point.
    let _ = conn.write_all(head.as_bytes()).await;
    let mut buf = vec![0u8; 64];
    let n = tokio::time::timeout(HUNG, conn.read(&mut buf))
        .await
        .expect("an answer or a close")
        .unwrap_or(0);
    let answer = String::from_utf8_lossy(&buf[..n]);
    assert!(
        n == 0 || answer.starts_with("HTTP/1.1 431"),
        "expected 431 or a closed connection, got {answer:?}"
    );
    assert_eq!(app.get("/api/health").await.status(), 200, "still serving");
}

#[tokio::test]
async fn idle_connections_do_not_block_other_clients() {
    // A slowloris-style client costs a connection only until the header timeout; here we just
    // check that other clients are served meanwhile.
    let app = spawn_app().await;
    let _idle: Vec<_> =
        futures_util::future::join_all((0..200).map(|_| tokio::net::TcpStream::connect(app.addr)))
            .await;
    assert_eq!(app.get("/api/health").await.status(), 200);
}

/// A path that `pattern` matches: each `{param}` filled in, a catch-all with two segments.
fn path_of(pattern: &str) -> String {
    pattern
        .split('/')
        .map(|seg| match seg.strip_prefix("{*") {
            Some(_) => "any/thing".to_owned(),
            None if seg.starts_with('{') => "x1".to_owned(),
            None => seg.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// The front layer decides what a request needs from its path, before the router runs
/// (`src/routes.rs`): every route the API registers is checked here through the running server,
/// with every method, so no route answers without a credential, and the public ones do.
#[tokio::test]
async fn every_registered_route_needs_the_credential_its_table_says() {
    let app = spawn_app_with_token().await;
    let methods = ["GET", "POST", "PUT", "PATCH", "DELETE"];
    let guarded = jean2::api::router();
    assert!(guarded.paths().len() > 40, "{:?}", guarded.paths());
    for pattern in guarded
        .paths()
        .iter()
        .chain(&["/api", "/api/", "/api/{*rest}"])
    {
        let path = path_of(pattern);
        for method in methods {
            let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
            let res = app
                .client
                .request(method.clone(), app.url(&path))
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 401, "{method} {path} ({pattern})");
            let body: Value = res.json().await.unwrap();
            assert_eq!(body, expected_401(), "{method} {path}");
        }
    }
    for pattern in jean2::ws::router().paths() {
        let res = app.get(&path_of(pattern)).await;
        assert_eq!(res.status(), 401, "{pattern}");
    }
    // The public routes are reached without one (attachment content then wants its own key:
    // its 401 is the handler's, with its own body).
    for pattern in jean2::api::public_router().paths() {
        let res = app.get(&path_of(pattern)).await;
        let status = res.status();
        let body: Value = res.json().await.unwrap();
        assert_ne!(body, expected_401(), "{pattern}: {status}");
    }
}
