//! Item 16: behind a reverse proxy every connection comes from the proxy. With the proxy in
//! `JEAN2_TRUSTED_PROXIES`, a stranger's wrong tokens lock out the stranger (the right-most
//! untrusted `X-Forwarded-For` entry), not the owner; without it the header is ignored, so it
//! cannot be forged to dodge the limiter.

use jean2::config::Secret;

use crate::helpers::{TOKEN, TestApp, spawn_app_with};

const STRANGER: &str = "203.0.113.5";
const OWNER: &str = "198.51.100.7";

async fn spawn(trusted: &[&str]) -> TestApp {
    let trusted: Vec<ipnet::IpNet> = trusted.iter().map(|t| t.parse().unwrap()).collect();
    spawn_app_with(|s| {
        s.auth_token = Some(Secret::new(TOKEN));
        s.auth_max_failures = 3;
        s.trusted_proxies = trusted;
    })
    .await
}

/// `GET /api/auth/verify` with this token, as forwarded by the proxy for `forwarded_for`.
async fn verify(app: &TestApp, forwarded_for: &str, token: &str) -> u16 {
    app.client
        .get(app.url("/api/auth/verify"))
        .header("x-forwarded-for", forwarded_for)
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn behind_a_trusted_proxy_a_strangers_wrong_tokens_lock_out_only_the_stranger() {
    let app = spawn(&["127.0.0.1/32"]).await;
    for i in 0..3 {
        assert_eq!(verify(&app, STRANGER, "wrong").await, 401, "guess {i}");
    }
    assert_eq!(
        verify(&app, STRANGER, TOKEN).await,
        429,
        "the stranger waits"
    );
    assert_eq!(verify(&app, OWNER, TOKEN).await, 200, "the owner does not");
    assert_eq!(
        verify(&app, &format!("{OWNER}, {STRANGER}"), TOKEN).await,
        429,
        "a forged left-most entry does not free the stranger"
    );
    let log = app.log.contents();
    assert!(
        log.contains(&format!("client.ip={STRANGER}")),
        "the log names the client, not the proxy:\n{log}"
    );
}

#[tokio::test]
async fn without_trusted_proxies_forwarded_for_is_ignored() {
    let app = spawn(&[]).await;
    for i in 0..3 {
        assert_eq!(verify(&app, STRANGER, "wrong").await, 401, "guess {i}");
    }
    assert_eq!(
        verify(&app, OWNER, TOKEN).await,
        429,
        "the header proves nothing from an untrusted peer: the peer address is limited"
    );
}
