//! The OAuth negative suite: every way a request must be refused, each case labelled. Refused
//! credentials (tokens, API keys, disabled users) are in `oauth_negative_tokens`.

use std::time::Duration;

use jean2::auth::oauth::pkce;
use serde_json::Value;

use crate::oauth_support::*;

/// An authorization request with these parameters replaced (`None` removes one).
fn authorize_with(s: &OAuthApp, client_id: &str, changes: &[(&str, Option<&str>)]) -> String {
    let challenge = pkce::challenge_of(VERIFIER);
    let mut params: Vec<(&str, Option<&str>)> = vec![
        ("response_type", Some("code")),
        ("client_id", Some(client_id)),
        ("redirect_uri", Some(REDIRECT)),
        ("state", Some("xyz")),
        ("code_challenge", Some(challenge.as_str())),
        ("code_challenge_method", Some("S256")),
    ];
    for (k, v) in changes {
        params.retain(|(n, _)| n != k);
        params.push((k, *v));
    }
    let mut q = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in params {
        if let Some(v) = v {
            q.append_pair(k, v);
        }
    }
    s.app.url(&format!("/oauth/authorize?{}", q.finish()))
}

#[tokio::test]
async fn authorization_requests_are_refused_with_a_redirect_or_a_page() {
    let s = spawn_oauth().await;
    let app = s.public_app(&[]).await;
    let id = app.client_id.as_str();
    // Errors about the request go back to the (verified) redirect URI.
    let redirected = [
        (
            "plain method",
            vec![("code_challenge_method", Some("plain"))],
            "invalid_request",
        ),
        (
            "missing PKCE",
            vec![("code_challenge", None), ("code_challenge_method", None)],
            "invalid_request",
        ),
        (
            "missing method",
            vec![("code_challenge_method", None)],
            "invalid_request",
        ),
        (
            "token response type",
            vec![("response_type", Some("token"))],
            "unsupported_response_type",
        ),
        (
            "scope beyond the app's",
            vec![("scope", Some("read admin"))],
            "invalid_scope",
        ),
    ];
    for (label, changes, error) in redirected {
        let page = Browser::new().get(&authorize_with(&s, id, &changes)).await;
        assert_eq!(page.status, 302, "{label}: {}", page.body);
        let loc = url::Url::parse(&page.location.unwrap()).unwrap();
        assert!(loc.as_str().starts_with(REDIRECT), "{label}");
        let q: std::collections::HashMap<_, _> = loc.query_pairs().into_owned().collect();
        assert_eq!(q["error"], error, "{label}");
        assert_eq!(q["state"], "xyz", "{label}");
    }
    // Errors about the client or the redirect URI never redirect.
    let shown = [
        ("unknown client", "app_nope", vec![]),
        (
            "unregistered redirect URI",
            id,
            vec![("redirect_uri", Some("https://evil.example/cb"))],
        ),
        (
            "redirect URI with another path",
            id,
            vec![("redirect_uri", Some("https://app.example/callback/x"))],
        ),
        ("missing redirect URI", id, vec![("redirect_uri", None)]),
    ];
    for (label, client, changes) in shown {
        let page = Browser::new()
            .get(&authorize_with(&s, client, &changes))
            .await;
        assert_eq!(page.status, 400, "{label}");
        assert!(page.location.is_none(), "{label}: never a redirect");
    }
}

#[tokio::test]
async fn code_exchanges_are_refused_when_anything_does_not_match() {
    let s = spawn_oauth().await;
    s.add_user("a@example.com").await;
    let app = s.public_app(&[]).await;
    let other = s.public_app(&[]).await;
    let id = app.client_id.as_str();
    let mut browser = Browser::new();
    type Case<'a> = (&'a str, Vec<(&'a str, &'a str)>, u16, &'a str);
    let cases: [Case; 6] = [
        (
            "wrong verifier",
            vec![(
                "code_verifier",
                "another-verifier-that-is-long-enough-to-be-valid-0001",
            )],
            400,
            "invalid_grant",
        ),
        (
            "mismatched redirect URI",
            vec![("redirect_uri", "http://127.0.0.1/cb")],
            400,
            "invalid_grant",
        ),
        (
            "another client's code",
            vec![("client_id", other.client_id.as_str())],
            400,
            "invalid_grant",
        ),
        (
            "unknown client",
            vec![("client_id", "app_nope")],
            401,
            "invalid_client",
        ),
        (
            "missing verifier",
            vec![("code_verifier", "")],
            400,
            "invalid_request",
        ),
        (
            "unsupported grant",
            vec![("grant_type", "password")],
            400,
            "unsupported_grant_type",
        ),
    ];
    for (label, changes, status, error) in cases {
        let code = s.code_for(&mut browser, id, "a@example.com").await;
        let mut form = vec![
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", REDIRECT),
            ("client_id", id),
            ("code_verifier", VERIFIER),
        ];
        for (k, v) in changes {
            form.retain(|(n, _)| *n != k);
            form.push((k, v));
        }
        let (got, body) = s.token(&form).await;
        assert_eq!(
            (got.as_u16(), body["error"].as_str()),
            (status, Some(error)),
            "{label}: {body}"
        );
    }
}

#[tokio::test]
async fn a_reused_code_fails_and_revokes_what_its_first_use_issued() {
    let s = spawn_oauth().await;
    s.add_user("a@example.com").await;
    let app = s.public_app(&[]).await;
    let mut browser = Browser::new();
    let code = s
        .code_for(&mut browser, &app.client_id, "a@example.com")
        .await;
    let (status, first) = s.exchange(&app.client_id, &code).await;
    assert_eq!(status, 200);
    let (status, again) = s.exchange(&app.client_id, &code).await;
    assert_eq!(
        (status.as_u16(), again["error"].as_str()),
        (400, Some("invalid_grant")),
        "reused code"
    );
    assert_eq!(
        s.me(first["access_token"].as_str().unwrap()).await.0,
        401,
        "first access token revoked"
    );
    let (_, r) = s
        .refresh(&app.client_id, first["refresh_token"].as_str().unwrap())
        .await;
    assert_eq!(r["error"], "invalid_grant", "first refresh token revoked");
}

#[tokio::test]
async fn an_expired_code_is_refused() {
    let s = spawn_oauth().await;
    s.add_user("a@example.com").await;
    let app = s.public_app(&[]).await;
    let code = s
        .code_for(&mut Browser::new(), &app.client_id, "a@example.com")
        .await;
    s.clock.advance(Duration::from_secs(61));
    let (status, body) = s.exchange(&app.client_id, &code).await;
    assert_eq!(
        (status.as_u16(), body["error"].as_str()),
        (400, Some("invalid_grant")),
        "expired code: {body}"
    );
}

#[tokio::test]
async fn a_wrong_client_secret_is_invalid_client_with_www_authenticate() {
    let s = spawn_oauth().await;
    let app = s.create_app(true, &[]).await;
    for (label, basic) in [("basic", true), ("post", false)] {
        let mut req = s.app.client.post(s.app.url("/oauth/token"));
        let mut form = vec![("grant_type", "refresh_token"), ("refresh_token", "x")];
        if basic {
            req = req.basic_auth(&app.client_id, Some("wrong"));
        } else {
            form.push(("client_id", &app.client_id));
            form.push(("client_secret", "wrong"));
        }
        let res = req.form(&form).send().await.unwrap();
        assert_eq!(res.status(), 401, "{label}");
        assert!(res.headers().contains_key("www-authenticate"), "{label}");
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["error"], "invalid_client", "{label}");
    }
}

#[tokio::test]
async fn forms_without_the_csrf_token_are_refused() {
    let s = spawn_oauth().await;
    s.add_user("a@example.com").await;
    let app = s.public_app(&[]).await;
    let mut browser = Browser::new();
    browser
        .get(&authorize_url(&s.app, &app.client_id, None))
        .await;
    let form: Vec<(String, String)> = [
        ("csrf", "forged"),
        ("response_type", "code"),
        ("client_id", app.client_id.as_str()),
        ("redirect_uri", REDIRECT),
        ("email", "a@example.com"),
        ("password", PASSWORD),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    let res = browser.post(&s.app.url("/oauth/login"), &form).await;
    assert_eq!(res.status, 400);
    assert!(res.location.is_none());
}

#[tokio::test]
async fn oauth_routes_do_not_exist_when_oauth_is_off() {
    let app = crate::helpers::spawn_app_with_token().await;
    assert_eq!(
        app.get("/.well-known/oauth-authorization-server")
            .await
            .status(),
        404
    );
    assert_eq!(app.get("/oauth/authorize").await.status(), 404);
}

#[tokio::test]
async fn codes_and_refresh_tokens_presented_by_another_client_are_refused_without_burning_them() {
    let s = spawn_oauth().await;
    s.add_user("a@example.com").await;
    let app = s.public_app(&[]).await;
    let thief = s.public_app(&[]).await;
    let code = s
        .code_for(&mut Browser::new(), &app.client_id, "a@example.com")
        .await;
    let (status, err) = s.exchange(&thief.client_id, &code).await;
    assert_eq!(
        (status.as_u16(), err["error"].as_str()),
        (400, Some("invalid_grant")),
        "another client's code"
    );
    let (status, t) = s.exchange(&app.client_id, &code).await;
    assert_eq!(status, 200, "the rightful client still redeems it: {t}");

    let refresh = t["refresh_token"].as_str().unwrap();
    let (_, err) = s.refresh(&thief.client_id, refresh).await;
    assert_eq!(
        err["error"], "invalid_grant",
        "another client's refresh token"
    );
    s.clock.advance(Duration::from_secs(10));
    let (status, body) = s.refresh(&app.client_id, refresh).await;
    assert_eq!(
        status, 200,
        "not counted as a use, so no replay alarm: {body}"
    );
}

#[tokio::test]
async fn failed_sign_ins_are_limited_per_address_across_accounts() {
    let s = spawn_oauth_with(|s| s.auth_max_failures = 3).await;
    s.add_user("real@example.com").await;
    let app = s.public_app(&[]).await;
    let mut browser = Browser::new();
    let page = browser
        .get(&authorize_url(&s.app, &app.client_id, None))
        .await;
    let csrf = hidden(&page.body, "csrf");
    let attempt = |email: &str, password: &str| -> Vec<(String, String)> {
        [
            ("csrf", csrf.clone()),
            ("response_type", "code".into()),
            ("client_id", app.client_id.clone()),
            ("redirect_uri", REDIRECT.into()),
            ("code_challenge", pkce::challenge_of(VERIFIER)),
            ("code_challenge_method", "S256".into()),
            ("email", email.into()),
            ("password", password.into()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect()
    };
    for (i, email) in ["a@example.com", "b@example.com", "c@example.com"]
        .iter()
        .enumerate()
    {
        let res = browser
            .post(&s.app.url("/oauth/login"), &attempt(email, "guess"))
            .await;
        assert_eq!(
            res.status, 401,
            "guess {i} (unknown accounts fail like wrong passwords)"
        );
    }
    let res = browser
        .post(
            &s.app.url("/oauth/login"),
            &attempt("real@example.com", PASSWORD),
        )
        .await;
    assert_eq!(
        res.status, 429,
        "this address is limited, whichever account it tries"
    );
    assert!(res.retry_after.is_some());
}
