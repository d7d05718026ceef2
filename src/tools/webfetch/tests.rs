//! Unit tests of `webfetch` against local servers: refusals by address, name and redirect,
//! formats, limits and the plain-http ask.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Router;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;

use super::*;
use crate::tools::testenv::TestEnv;

/// A local server; the counter counts requests to `/secret`.
async fn serve(redirect_to: Option<String>) -> (SocketAddr, Arc<AtomicUsize>) {
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&hits);
    let page = "<html><head><title> Hello page </title></head><body><h1>Hi</h1><p>Some <b>bold</b> text.</p><script>x()</script></body></html>";
    let target = redirect_to.unwrap_or_default();
    let app = Router::new()
        .route(
            "/page",
            get(
                move || async move { ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], page) },
            ),
        )
        .route("/plain", get(|| async { "just text" }))
        .route("/missing", get(|| async { StatusCode::NOT_FOUND }))
        .route("/huge", get(|| async { "x".repeat(MAX_BODY + 1) }))
        .route(
            "/redirect",
            get(move || async move {
                (StatusCode::FOUND, [(header::LOCATION, target)]).into_response()
            }),
        )
        .route(
            "/secret",
            get(move || async move {
                counter.fetch_add(1, Ordering::SeqCst);
                "secret"
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (addr, hits)
}

fn env_with(policy: NetPolicy) -> TestEnv {
    let mut t = TestEnv::new();
    t.env.web = WebClient::new(policy).unwrap();
    t
}

fn open() -> NetPolicy {
    NetPolicy {
        allow_private: true,
        ..Default::default()
    }
}

#[tokio::test]
async fn a_url_to_loopback_is_refused_before_and_during_the_run() {
    let (addr, hits) = serve(None).await;
    let t = TestEnv::new();
    let input = json!({"url": format!("http://{addr}/secret")});
    let refusal = "Access to private IP addresses and localhost is not allowed: 127.0.0.1";
    assert_eq!(
        t.assess("webfetch", &input),
        Assessment::Refuse(refusal.into())
    );
    assert_eq!(
        t.run("webfetch", input).await.error.as_deref(),
        Some(refusal)
    );
    assert_eq!(hits.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn a_name_that_resolves_to_loopback_is_refused_at_connect() {
    let (addr, hits) = serve(None).await;
    let hosts = HashMap::from([("rebind.test".to_owned(), vec![addr.ip()])]);
    let t = env_with(NetPolicy {
        hosts,
        ..Default::default()
    });
    let input = json!({"url": format!("http://rebind.test:{}/secret", addr.port())});
    assert!(
        matches!(t.assess("webfetch", &input), Assessment::Ask(_)),
        "plain http asks"
    );
    let out = t.run("webfetch", input).await;
    assert_eq!(
        out.error.as_deref(),
        Some("Access to private IP addresses and localhost is not allowed: rebind.test")
    );
    assert_eq!(hits.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn a_redirect_to_loopback_is_refused_under_the_default_policy() {
    let (secret, hits) = serve(None).await;
    for target in [
        format!("http://{secret}/secret"),
        format!("http://localhost:{}/secret", secret.port()),
    ] {
        let (front, _) = serve(Some(target.clone())).await;
        // Only the front server's exact address is let through, as a public server would be.
        let t = env_with(NetPolicy {
            exempt: vec![front],
            ..Default::default()
        });
        let out = t
            .run(
                "webfetch",
                json!({"url": format!("http://{front}/redirect")}),
            )
            .await;
        let error = out.error.unwrap_or_default();
        assert!(
            error.starts_with("Access to private IP addresses"),
            "{target}: {error}"
        );
    }
    assert_eq!(hits.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn a_redirect_is_followed_when_the_target_is_allowed() {
    let (secret, hits) = serve(None).await;
    let (front, _) = serve(Some(format!("http://{secret}/secret"))).await;
    let t = env_with(open());
    let out = t
        .run(
            "webfetch",
            json!({"url": format!("http://{front}/redirect")}),
        )
        .await;
    assert_eq!(out.result.unwrap()["content"], "secret");
    assert_eq!(hits.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn an_html_page_comes_back_raw_as_markdown_or_as_text() {
    let (addr, _) = serve(None).await;
    let t = env_with(open());
    let url = format!("http://{addr}/page");
    let raw = t.run("webfetch", json!({"url": url})).await.result.unwrap();
    assert!(raw["content"].as_str().unwrap().starts_with("<html>"));
    assert_eq!(raw["title"], "Hello page");
    assert_eq!(raw["contentType"], "text/html; charset=utf-8");
    let md = t
        .run("webfetch", json!({"url": url, "format": "markdown"}))
        .await;
    let md_text = md.result.unwrap()["content"].as_str().unwrap().to_owned();
    assert!(
        md_text.contains("# Hi") && md_text.contains("**bold**"),
        "{md_text}"
    );
    assert_eq!(
        md.visualization.unwrap()["message"],
        format!("Fetched: {url}")
    );
    let text = t
        .run("webfetch", json!({"url": url, "format": "text"}))
        .await
        .result
        .unwrap();
    let text = text["content"].as_str().unwrap();
    assert!(
        text.contains("Some bold text.") && !text.contains('<'),
        "{text}"
    );
}

#[tokio::test]
async fn a_non_html_body_is_returned_as_is_in_every_format() {
    let (addr, _) = serve(None).await;
    let t = env_with(open());
    let out = t
        .run(
            "webfetch",
            json!({"url": format!("http://{addr}/plain"), "format": "markdown"}),
        )
        .await;
    let result = out.result.unwrap();
    assert_eq!(result["content"], "just text");
    assert_eq!(result["title"], format!("http://{addr}/plain"));
}

#[tokio::test]
async fn a_non_2xx_answer_and_a_body_over_5_mb_fail() {
    let (addr, _) = serve(None).await;
    let t = env_with(open());
    let missing = t
        .run("webfetch", json!({"url": format!("http://{addr}/missing")}))
        .await;
    assert_eq!(
        missing.error.as_deref(),
        Some("Request failed with status code: 404")
    );
    let huge = t
        .run("webfetch", json!({"url": format!("http://{addr}/huge")}))
        .await;
    assert!(huge.error.unwrap().starts_with("Response too large"));
}

#[tokio::test]
async fn plain_http_asks_at_medium_and_https_does_not() {
    let t = TestEnv::new();
    let ask = t.ask("webfetch", &json!({"url": "http://example.com/a"}));
    assert_eq!(ask.risk, Risk::Medium);
    assert_eq!(
        ask.question,
        "Fetch URL \"example.com\" (unencrypted HTTP) requires approval."
    );
    assert_eq!(ask.metadata["url"], "http://example.com/a");
    assert_eq!(ask.intents[0].targets[0].target, "example.com");
    assert_eq!(
        t.assess("webfetch", &json!({"url": "https://example.com/"})),
        Assessment::Allow
    );
    let ftp = t.assess("webfetch", &json!({"url": "ftp://example.com/"}));
    assert_eq!(
        ftp,
        Assessment::Refuse("Only HTTP and HTTPS URLs are allowed. Blocked: ftp:".into())
    );
}
