//! Item 9: `jean2 users set-password` (the real binary, next to a running server) ends what was
//! granted under the old password: refresh families and remembered consents.

use std::io::Write as _;
use std::process::{Command, Stdio};

use crate::oauth_support::*;

/// `jean2 users set-password <email> --password-stdin` on the server's data dir.
fn set_password(s: &OAuthApp, email: &str, password: &str) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_jean2"))
        .args(["users", "set-password", email, "--password-stdin"])
        .env("JEAN2_DATA_DIR", s.app.data_dir.path())
        .env("JEAN2_DATABASE_PATH", &s.app.settings.database_path)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(format!("{password}\n").as_bytes()).unwrap();
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test]
async fn a_new_password_revokes_refresh_tokens_and_remembered_consents() {
    let s = spawn_oauth().await;
    s.add_user("a@example.com").await;
    // Confidential, so a remembered consent would skip the consent page.
    let app = s.create_app(true, &[]).await;
    let mut browser = Browser::new();
    s.code_for(&mut browser, &app.client_id, "a@example.com")
        .await;
    let remembered = browser
        .get(&authorize_url(&s.app, &app.client_id, None))
        .await;
    assert_eq!(remembered.status, 302, "consent is remembered before");
    let secret = app.client_secret.clone().unwrap();
    let code = remembered.location.unwrap();
    let code = url::Url::parse(&code)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "code")
        .unwrap()
        .1
        .into_owned();
    let (status, tokens) = s
        .token(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("client_id", &app.client_id),
            ("client_secret", &secret),
            ("code_verifier", VERIFIER),
        ])
        .await;
    assert_eq!(status, 200, "{tokens}");
    let refresh = tokens["refresh_token"].as_str().unwrap();

    set_password(&s, "a@example.com", "a brand new password");

    let (status, err) = s
        .token(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh),
            ("client_id", &app.client_id),
            ("client_secret", &secret),
        ])
        .await;
    assert_eq!(
        (status.as_u16(), err["error"].as_str()),
        (400, Some("invalid_grant")),
        "{err}"
    );
    // The browser session ended too: sign in again with the new password, and the consent
    // page is back.
    let page = browser
        .get(&authorize_url(&s.app, &app.client_id, None))
        .await;
    assert!(
        page.body.contains("action=\"/oauth/login\""),
        "{}",
        page.body
    );
    let csrf = hidden(&page.body, "csrf");
    let mut form: Vec<(String, String)> = [
        ("csrf", csrf),
        ("response_type", "code".into()),
        ("client_id", app.client_id.clone()),
        ("redirect_uri", REDIRECT.into()),
        ("state", "xyz".into()),
        (
            "code_challenge",
            jean2::auth::oauth::pkce::challenge_of(VERIFIER),
        ),
        ("code_challenge_method", "S256".into()),
        ("email", "a@example.com".into()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    form.push(("password".into(), "a brand new password".into()));
    let signed_in = browser.post(&s.app.url("/oauth/login"), &form).await;
    assert_eq!(signed_in.status, 303, "{}", signed_in.body);
    let again = browser.get(&s.app.url(&signed_in.location.unwrap())).await;
    assert_eq!(again.status, 200, "asked again: {:?}", again.location);
    assert!(
        again.body.contains("action=\"/oauth/consent\""),
        "{}",
        again.body
    );
}
