//! Items 4 and 5: the sign-in form over real HTTP. Parallel guesses cannot all pass the limiter
//! (check and count are one step), an e-mail longer than any address is refused without
//! touching the limiters, and OAuth form bodies are capped at 16 KiB.

use jean2::auth::oauth::{ACCOUNT_MAX_FAILURES, pkce};

use crate::oauth_support::{OAuthApp, REDIRECT, VERIFIER, spawn_oauth};

/// Any value works for the double-submit CSRF check, as long as cookie and field agree.
const CSRF: &str = "csrf-for-the-test";

/// A sign-in form for `client_id` (a valid authorization request plus the credentials).
fn login_form(client_id: &str, email: &str, password: &str) -> Vec<(String, String)> {
    [
        ("csrf", CSRF.to_owned()),
        ("response_type", "code".into()),
        ("client_id", client_id.into()),
        ("redirect_uri", REDIRECT.into()),
        ("state", "xyz".into()),
        ("code_challenge", pkce::challenge_of(VERIFIER)),
        ("code_challenge_method", "S256".into()),
        ("email", email.into()),
        ("password", password.into()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

/// POST a sign-in form; its status (redirects are not followed).
async fn login(s: &OAuthApp, form: &[(String, String)]) -> u16 {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    client
        .post(s.app.url("/oauth/login"))
        .header("cookie", format!("jean2_csrf={CSRF}"))
        .form(form)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn parallel_guesses_for_one_account_get_no_more_tries_than_the_limit() {
    let s = spawn_oauth().await;
    s.add_user("a@example.com").await;
    let app = s.public_app(&[]).await;
    let form = login_form(&app.client_id, "a@example.com", "wrong password");
    let guesses = (0..30).map(|_| login(&s, &form));
    let statuses = futures_util::future::join_all(guesses).await;
    let refused = statuses.iter().filter(|s| **s == 401).count();
    let limited = statuses.iter().filter(|s| **s == 429).count();
    assert_eq!(
        (refused, limited),
        (
            ACCOUNT_MAX_FAILURES as usize,
            30 - ACCOUNT_MAX_FAILURES as usize
        ),
        "{statuses:?}"
    );
}

#[tokio::test]
async fn a_right_password_is_not_counted_as_a_failure() {
    let s = spawn_oauth().await;
    s.add_user("a@example.com").await;
    let app = s.public_app(&[]).await;
    let right = login_form(
        &app.client_id,
        "a@example.com",
        crate::oauth_support::PASSWORD,
    );
    for i in 0..ACCOUNT_MAX_FAILURES + 2 {
        assert_eq!(login(&s, &right).await, 303, "sign-in {i}");
    }
    let wrong = login_form(&app.client_id, "a@example.com", "wrong password");
    assert_eq!(login(&s, &wrong).await, 401);
}

#[tokio::test]
async fn an_email_longer_than_any_address_is_refused_and_not_counted() {
    let s = spawn_oauth().await;
    s.add_user("a@example.com").await;
    let app = s.public_app(&[]).await;
    let long = format!("{}@example.com", "a".repeat(255 - "@example.com".len()));
    assert_eq!(long.len(), 255);
    let form = login_form(&app.client_id, &long, "guess");
    for i in 0..ACCOUNT_MAX_FAILURES + 1 {
        assert_eq!(login(&s, &form).await, 400, "attempt {i}");
    }
    let longest = format!("{}@example.com", "a".repeat(254 - "@example.com".len()));
    let form = login_form(&app.client_id, &longest, "guess");
    assert_eq!(login(&s, &form).await, 401, "254 bytes is an address");
}

#[tokio::test]
async fn oauth_form_bodies_over_16_kib_are_refused_before_they_are_read() {
    let s = spawn_oauth().await;
    let app = s.public_app(&[]).await;
    let big = "x".repeat(17 * 1024);
    let form = login_form(&app.client_id, "a@example.com", &big);
    assert_eq!(login(&s, &form).await, 413, "sign-in");
    let res = s
        .app
        .client
        .post(s.app.url("/oauth/token"))
        .form(&[("grant_type", "refresh_token"), ("refresh_token", &big)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 413, "token endpoint");
    let small = login_form(&app.client_id, "a@example.com", &"x".repeat(8 * 1024));
    assert_eq!(login(&s, &small).await, 401, "a long password still fits");
}
