//! The OAuth negative suite, credentials half: access tokens, API keys, apps and users that must
//! no longer (or never) be accepted, each case labelled. Refused requests are in `oauth_negative`.

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jean2::auth::oauth::jwt::{Claims, Keyset};
use jean2::auth::oauth::pkce;
use serde_json::{Value, json};

use crate::oauth_support::*;

fn b64(v: &Value) -> String {
    URL_SAFE_NO_PAD.encode(v.to_string())
}

#[tokio::test]
async fn forged_expired_and_misdirected_access_tokens_are_refused() {
    let s = spawn_oauth().await;
    let user = s.add_user("a@example.com").await;
    let app = s.public_app(&[]).await;
    let t = s.tokens_for(&app.client_id, "a@example.com").await;
    let good = t["access_token"].as_str().unwrap().to_owned();
    let parts: Vec<&str> = good.split('.').collect();
    let header: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).unwrap()).unwrap();

    let none = format!(
        "{}.{}.",
        b64(&json!({"alg": "none", "typ": "at+jwt"})),
        parts[1]
    );
    let mut sig = URL_SAFE_NO_PAD.decode(parts[2]).unwrap();
    sig[5] ^= 0x40;
    let tampered = format!("{}.{}.{}", parts[0], parts[1], URL_SAFE_NO_PAD.encode(sig));
    let hs256 = format!(
        "{}.{}.{}",
        b64(&json!({"alg": "HS256", "typ": "at+jwt", "kid": header["kid"]})),
        parts[1],
        parts[2]
    );
    // Signed with the server's own key, but for another audience.
    let keys = Keyset::from_rows(&s.store.signing_keys().await.unwrap(), s.clock.now_ms());
    let now = s.clock.now_ms() / 1000;
    let claims = |aud: &str| Claims {
        iss: s.app.base.clone(),
        sub: user.clone(),
        aud: aud.into(),
        exp: now + 600,
        iat: now,
        jti: "j".into(),
        client_id: app.client_id.clone(),
        scope: "read write".into(),
        sid: "none".into(),
    };
    let wrong_aud = keys.sign(&claims("https://other.example")).unwrap();
    let right_aud = keys.sign(&claims(&s.app.base)).unwrap();
    assert_eq!(
        s.me(&right_aud).await.0,
        200,
        "control: a well-formed token passes"
    );

    for (label, token) in [
        ("alg none", none.as_str()),
        ("tampered signature", tampered.as_str()),
        ("algorithm confusion (HS256)", hs256.as_str()),
        ("wrong audience", wrong_aud.as_str()),
    ] {
        assert_eq!(s.me(token).await.0, 401, "{label}");
    }
    assert_eq!(s.me(&good).await.0, 200);
    s.clock.advance(Duration::from_secs(15 * 60 + 1));
    assert_eq!(s.me(&good).await.0, 401, "expired token");
}

#[tokio::test]
async fn revoked_and_expired_api_keys_and_revoked_apps_are_refused() {
    let s = spawn_oauth().await;
    let app = s.public_app(&[]).await;
    assert_eq!(
        s.app
            .get_auth("/api/auth/verify", &app.api_key)
            .await
            .status(),
        200
    );
    let keys = s.store.list_api_keys(&app.client_id).await.unwrap();
    s.store.revoke_api_key(&keys[0].id).await.unwrap();
    assert_eq!(
        s.app
            .get_auth("/api/auth/verify", &app.api_key)
            .await
            .status(),
        401,
        "revoked key"
    );

    let (_, expiring) = jean2::admin::create_key(&s.store, &app.client_id, Some(1))
        .await
        .unwrap();
    assert_eq!(
        s.app.get_auth("/api/auth/verify", &expiring).await.status(),
        200
    );
    s.clock.advance(Duration::from_secs(86_401));
    assert_eq!(
        s.app.get_auth("/api/auth/verify", &expiring).await.status(),
        401,
        "expired key"
    );

    let other = s.public_app(&[]).await;
    s.store
        .revoke_app(&other.client_id, s.clock.now_ms())
        .await
        .unwrap();
    assert_eq!(
        s.app
            .get_auth("/api/auth/verify", &other.api_key)
            .await
            .status(),
        401,
        "revoked app"
    );
}

#[tokio::test]
async fn a_disabled_user_cannot_sign_in_use_tokens_or_refresh() {
    let s = spawn_oauth().await;
    s.add_user("a@example.com").await;
    let app = s.public_app(&[]).await;
    let t = s.tokens_for(&app.client_id, "a@example.com").await;
    s.store
        .set_user_disabled("A@example.com", true)
        .await
        .unwrap();
    assert_eq!(
        s.me(t["access_token"].as_str().unwrap()).await.0,
        401,
        "disabled user: access token"
    );
    let (_, r) = s
        .refresh(&app.client_id, t["refresh_token"].as_str().unwrap())
        .await;
    assert_eq!(r["error"], "invalid_grant", "disabled user: refresh");

    let mut browser = Browser::new();
    let page = browser
        .get(&authorize_url(&s.app, &app.client_id, None))
        .await;
    let form: Vec<(String, String)> = [
        ("csrf", hidden(&page.body, "csrf")),
        ("response_type", "code".into()),
        ("client_id", app.client_id.clone()),
        ("redirect_uri", REDIRECT.into()),
        ("code_challenge", pkce::challenge_of(VERIFIER)),
        ("code_challenge_method", "S256".into()),
        ("email", "a@example.com".into()),
        ("password", PASSWORD.into()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    let res = browser.post(&s.app.url("/oauth/login"), &form).await;
    assert_eq!(res.status, 401, "disabled user: sign-in");
    assert!(
        res.body
            .contains("The email or the password is not correct."),
        "nothing says the account exists"
    );
}
