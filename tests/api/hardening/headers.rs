//! Item 17: `X-Content-Type-Options: nosniff` on every answer, `Strict-Transport-Security` with
//! TLS, and the warnings and masking of `jean2 start` / `jean2 auth` for a short token.

use std::time::Duration;

use reqwest::header::{HeaderMap, STRICT_TRANSPORT_SECURITY, X_CONTENT_TYPE_OPTIONS};

use crate::daemon::harness::Daemon;
use crate::helpers::{spawn_app_with, spawn_app_with_token};

#[tokio::test]
async fn every_answer_says_nosniff_and_plain_http_sends_no_hsts() {
    let app = spawn_app_with_token().await;
    let answers = [
        ("health", app.get("/api/health").await),
        ("401", app.get("/api/workspaces").await),
        ("404", app.get("/no/such/path").await),
        ("refused upgrade", app.get("/ws").await),
        (
            "preflight",
            app.client
                .request(reqwest::Method::OPTIONS, app.url("/api/workspaces"))
                .header("origin", "http://example.com")
                .header("access-control-request-method", "GET")
                .send()
                .await
                .unwrap(),
        ),
    ];
    for (label, res) in answers {
        let h = res.headers();
        assert_eq!(
            h[X_CONTENT_TYPE_OPTIONS],
            "nosniff",
            "{label}: {}",
            res.status()
        );
        assert!(h.get(STRICT_TRANSPORT_SECURITY).is_none(), "{label}");
    }
}

#[tokio::test]
async fn with_tls_answers_carry_strict_transport_security() {
    let dir = tempfile::tempdir().unwrap();
    let ck = rcgen::generate_simple_self_signed(vec!["127.0.0.1".into()]).unwrap();
    let files = jean2::config::TlsFiles {
        cert: dir.path().join("cert.pem"),
        key: dir.path().join("key.pem"),
    };
    std::fs::write(&files.cert, ck.cert.pem()).unwrap();
    std::fs::write(&files.key, ck.key_pair.serialize_pem()).unwrap();
    let app = spawn_app_with(|s| s.tls = Some(files)).await;
    let client = reqwest::Client::builder()
        .danger_accept_invalid_certs(true)
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let get = async |host: Option<&str>| -> HeaderMap {
        let mut req = client.get(app.url("/api/health"));
        if let Some(h) = host {
            req = req.header("host", h);
        }
        req.send().await.unwrap().headers().clone()
    };
    let h = get(None).await;
    assert_eq!(h[STRICT_TRANSPORT_SECURITY], "max-age=31536000");
    assert_eq!(h[X_CONTENT_TYPE_OPTIONS], "nosniff");
    let h = get(Some(&format!("localhost:{}", app.addr.port()))).await;
    assert!(
        h.get(STRICT_TRANSPORT_SECURITY).is_none(),
        "not for localhost: it would hold for the user's other local servers"
    );
}

#[test]
fn start_and_auth_warn_about_a_short_token_and_show_at_most_four_characters() {
    let d = Daemon::new();
    d.write_env("JEAN2_AUTH_TOKEN=q7zx9-w3vj1\n");
    let started = d.ok(&["start", "-p", "0"]);
    assert!(
        started
            .stderr
            .contains("JEAN2_AUTH_TOKEN is only 11 characters"),
        "{started:?}"
    );
    let auth = d.ok(&["auth"]);
    assert!(auth.stdout.contains("*** (11 chars)"), "{auth:?}");
    assert!(
        auth.stdout.contains("warning: JEAN2_AUTH_TOKEN is only 11"),
        "{auth:?}"
    );
    assert!(
        !auth.all().contains("q7z") && !auth.all().contains("vj1"),
        "{auth:?}"
    );

    d.write_env("JEAN2_AUTH_TOKEN=abcdefghijklmnopqrstuvwx\n");
    let auth = d.ok(&["auth"]);
    assert!(auth.stdout.contains("ab…wx (24 chars)"), "{auth:?}");
    assert!(
        !auth.all().contains("abc") && !auth.all().contains("vwx"),
        "{auth:?}"
    );
    assert!(!auth.all().contains("warning"), "{auth:?}");
}
