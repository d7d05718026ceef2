//! Items 10–13, the OAuth details: public clients always see the consent page, an API key is
//! never a `client_id` (and never reaches the log), a code survives a wrong exchange attempt,
//! and a refresh twin within the grace period gets the same successor pair.

use std::time::Duration;

use crate::oauth_support::*;

#[tokio::test]
async fn a_public_client_sees_the_consent_page_even_with_a_remembered_grant() {
    let s = spawn_oauth().await;
    s.add_user("a@example.com").await;
    let app = s.public_app(&[]).await;
    let mut browser = Browser::new();
    s.code_for(&mut browser, &app.client_id, "a@example.com")
        .await;
    let again = browser
        .get(&authorize_url(&s.app, &app.client_id, None))
        .await;
    assert_eq!(
        again.status, 200,
        "no silent redirect: {:?}",
        again.location
    );
    assert!(
        again.body.contains("action=\"/oauth/consent\""),
        "{}",
        again.body
    );
    // And allowing again still completes the flow.
    let code = s
        .code_for(&mut browser, &app.client_id, "a@example.com")
        .await;
    assert_eq!(s.exchange(&app.client_id, &code).await.0, 200);
}

#[tokio::test]
async fn an_api_key_is_refused_as_a_client_id_and_never_logged() {
    let s = spawn_oauth().await;
    s.add_user("a@example.com").await;
    let app = s.public_app(&[]).await;

    let (status, body) = s
        .token(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", "whatever"),
            ("client_id", &app.api_key),
        ])
        .await;
    assert_eq!(
        (status.as_u16(), body["error"].as_str()),
        (401, Some("invalid_client")),
        "{body}"
    );

    let page = Browser::new()
        .get(&authorize_url(&s.app, &app.api_key, None))
        .await;
    assert_eq!(page.status, 400, "{}", page.body);
    assert!(page.body.contains("API key"), "{}", page.body);
    assert!(!page.body.contains("action=\"/oauth/login\""));

    // Sent by a careless client in a URL, the key reaches no log line.
    let res = s
        .app
        .get(&format!("/api/health?note={}", app.api_key))
        .await;
    assert_eq!(res.status(), 200);
    let log = s.app.log.contents();
    assert!(log.contains("/oauth/authorize?"), "the request was logged");
    let secret = app.api_key.trim_start_matches("jean_sk_");
    assert!(!log.contains(secret), "the key is in the log:\n{log}");
}

#[tokio::test]
async fn a_wrong_exchange_attempt_does_not_spoil_the_code() {
    let s = spawn_oauth().await;
    s.add_user("a@example.com").await;
    let app = s.public_app(&[]).await;
    let code = s
        .code_for(&mut Browser::new(), &app.client_id, "a@example.com")
        .await;
    let attempt = |redirect: &'static str, verifier: &'static str| {
        let (s, client_id, code) = (&s, app.client_id.clone(), code.clone());
        async move {
            s.token(&[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", redirect),
                ("client_id", &client_id),
                ("code_verifier", verifier),
            ])
            .await
        }
    };
    let wrong_verifier = "another-verifier-of-at-least-forty-three-characters-yes";
    let (status, body) = attempt(REDIRECT, wrong_verifier).await;
    assert_eq!(
        (status.as_u16(), body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    let (status, body) = attempt("http://127.0.0.1/cb", VERIFIER).await;
    assert_eq!(
        (status.as_u16(), body["error"].as_str()),
        (400, Some("invalid_grant"))
    );

    let (status, body) = attempt(REDIRECT, VERIFIER).await;
    assert_eq!(status, 200, "the rightful exchange still works: {body}");
    let access = body["access_token"].as_str().unwrap().to_owned();
    let (status, body) = attempt(REDIRECT, VERIFIER).await;
    assert_eq!(
        (status.as_u16(), body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    assert_eq!(
        s.me(&access).await.0,
        401,
        "a reuse after the exchange still revokes what it issued"
    );
}

#[tokio::test]
async fn a_refresh_twin_within_the_grace_period_gets_the_same_successor_pair() {
    let s = spawn_oauth().await;
    s.add_user("a@example.com").await;
    let app = s.public_app(&[]).await;
    let t = s.tokens_for(&app.client_id, "a@example.com").await;
    let first = t["refresh_token"].as_str().unwrap();

    let (status, a) = s.refresh(&app.client_id, first).await;
    assert_eq!(status, 200, "{a}");
    s.clock.advance(Duration::from_secs(2));
    let (status, b) = s.refresh(&app.client_id, first).await;
    assert_eq!(status, 200, "{b}");
    assert_eq!(
        a["refresh_token"], b["refresh_token"],
        "one successor, not a fork"
    );
    assert_eq!(a["access_token"], b["access_token"]);

    // Concurrent twins of the successor: both answered alike.
    let second = a["refresh_token"].as_str().unwrap();
    let (x, y) = tokio::join!(
        s.refresh(&app.client_id, second),
        s.refresh(&app.client_id, second)
    );
    assert_eq!((x.0.as_u16(), y.0.as_u16()), (200, 200), "{} {}", x.1, y.1);
    assert_eq!(x.1["refresh_token"], y.1["refresh_token"]);

    // The family is one chain: replaying the first token later revokes all of it.
    s.clock.advance(Duration::from_secs(6));
    let (status, _) = s.refresh(&app.client_id, first).await;
    assert_eq!(status, 400);
    let newest = x.1["refresh_token"].as_str().unwrap();
    let (status, err) = s.refresh(&app.client_id, newest).await;
    assert_eq!(
        (status.as_u16(), err["error"].as_str()),
        (400, Some("invalid_grant")),
        "the newest token is revoked too"
    );
}
