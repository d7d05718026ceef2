//! OAuth 2.1 end to end over real HTTP: the PKCE flow through the HTML forms, refresh rotation
//! and family revocation, the confidential flow with both client-auth methods, discovery, key
//! rotation, revocation, introspection and sign-in limits.

use base64::Engine as _;
use serde_json::Value;

use crate::oauth_support::*;

#[tokio::test]
async fn pkce_flow_issues_tokens_that_rotate_and_a_replayed_refresh_token_revokes_the_family() {
    let s = spawn_oauth().await;
    let user_id = s.add_user("Ada@Example.com").await;
    let app = s.public_app(&[]).await;
    assert!(app.client_secret.is_none(), "public apps have no secret");

    let t = s.tokens_for(&app.client_id, "ada@example.com").await;
    assert_eq!(t["token_type"], "Bearer");
    assert_eq!(t["expires_in"], 900);
    assert_eq!(t["scope"], "read write");
    let access = t["access_token"].as_str().unwrap();
    let header: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(access.split('.').next().unwrap())
            .unwrap(),
    )
    .unwrap();
    assert_eq!(header["typ"], "at+jwt");
    assert_eq!(header["alg"], "EdDSA");

    let (status, me) = s.me(access).await;
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["id"], user_id);
    assert_eq!(me["email"], "Ada@Example.com");
    assert_eq!(me["email_verified"], false);
    assert!(me["created_at"].is_string());

    let old_refresh = t["refresh_token"].as_str().unwrap();
    let (status, t2) = s.refresh(&app.client_id, old_refresh).await;
    assert_eq!(status, 200, "{t2}");
    let new_refresh = t2["refresh_token"].as_str().unwrap();
    assert_ne!(new_refresh, old_refresh, "refresh tokens rotate");
    assert_eq!(s.me(t2["access_token"].as_str().unwrap()).await.0, 200);

    // Replaying the used token after the grace period revokes the whole family.
    s.clock.advance(std::time::Duration::from_secs(6));
    let (status, err) = s.refresh(&app.client_id, old_refresh).await;
    assert_eq!(status, 400);
    assert_eq!(err["error"], "invalid_grant");
    let (status, err) = s.refresh(&app.client_id, new_refresh).await;
    assert_eq!(
        (status.as_u16(), err["error"].as_str()),
        (400, Some("invalid_grant")),
        "the newest token of the family is revoked too"
    );
    assert_eq!(
        s.me(t2["access_token"].as_str().unwrap()).await.0,
        401,
        "and so are its access tokens"
    );
}

#[tokio::test]
async fn a_concurrent_refresh_within_the_grace_period_is_not_a_replay() {
    let s = spawn_oauth().await;
    s.add_user("a@example.com").await;
    let app = s.public_app(&[]).await;
    let t = s.tokens_for(&app.client_id, "a@example.com").await;
    let r = t["refresh_token"].as_str().unwrap();
    let (a, b) = tokio::join!(s.refresh(&app.client_id, r), s.refresh(&app.client_id, r));
    assert_eq!((a.0.as_u16(), b.0.as_u16()), (200, 200), "{} {}", a.1, b.1);
}

#[tokio::test]
async fn a_remembered_grant_skips_consent_and_logout_ends_the_session() {
    let s = spawn_oauth().await;
    s.add_user("a@example.com").await;
    // Confidential: a public client sees the consent page every time (RFC 8252 §8.6).
    let app = s.create_app(true, &[]).await;
    let mut browser = Browser::new();
    s.code_for(&mut browser, &app.client_id, "a@example.com")
        .await;
    let again = browser
        .get(&authorize_url(&s.app, &app.client_id, Some("read")))
        .await;
    assert_eq!(
        again.status, 302,
        "signed in and consented: straight back with a code"
    );
    assert!(again.location.unwrap().contains("code="));

    let out = browser.post(&s.app.url("/oauth/logout"), &[]).await;
    assert_eq!(out.status, 200);
    let page = browser
        .get(&authorize_url(&s.app, &app.client_id, None))
        .await;
    assert!(
        page.body.contains("action=\"/oauth/login\""),
        "signed out: the login page again"
    );
}

#[tokio::test]
async fn confidential_clients_authenticate_with_basic_and_with_post() {
    let s = spawn_oauth().await;
    s.add_user("svc@example.com").await;
    let app = s.create_app(true, &["read"]).await;
    let secret = app
        .client_secret
        .clone()
        .expect("confidential apps get a secret");

    // client_secret_basic
    let mut browser = Browser::new();
    let code = s
        .code_for(&mut browser, &app.client_id, "svc@example.com")
        .await;
    let res = s
        .app
        .client
        .post(s.app.url("/oauth/token"))
        .basic_auth(&app.client_id, Some(&secret))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", VERIFIER),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let t: Value = res.json().await.unwrap();
    assert_eq!(t["scope"], "read", "narrowed to the app's scopes");

    // client_secret_post
    let code = s
        .code_for(&mut browser, &app.client_id, "svc@example.com")
        .await;
    let (status, t) = s
        .token(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", VERIFIER),
            ("client_id", &app.client_id),
            ("client_secret", &secret),
        ])
        .await;
    assert_eq!(status, 200, "{t}");

    // Without its secret a confidential client is refused.
    let (status, err) = s
        .refresh(&app.client_id, t["refresh_token"].as_str().unwrap())
        .await;
    assert_eq!(
        (status.as_u16(), err["error"].as_str()),
        (401, Some("invalid_client"))
    );
}

#[tokio::test]
async fn discovery_documents_advertise_the_endpoints_and_s256_only() {
    let s = spawn_oauth().await;
    let meta: Value = s
        .app
        .get("/.well-known/oauth-authorization-server")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(meta["issuer"], s.app.base);
    assert_eq!(
        meta["code_challenge_methods_supported"],
        serde_json::json!(["S256"])
    );
    assert_eq!(
        meta["token_endpoint"],
        format!("{}/oauth/token", s.app.base)
    );
    let pr: Value = s
        .app
        .get("/.well-known/oauth-protected-resource")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(pr["authorization_servers"][0], s.app.base);
    let jwks: Value = s
        .app
        .get("/.well-known/jwks.json")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(jwks["keys"][0]["crv"], "Ed25519");
}

#[tokio::test]
async fn rotated_signing_keys_are_published_and_old_tokens_keep_verifying() {
    let s = spawn_oauth().await;
    s.add_user("a@example.com").await;
    let app = s.public_app(&[]).await;
    let t = s.tokens_for(&app.client_id, "a@example.com").await;
    let key = jean2::auth::oauth::jwt::generate_key(s.clock.now_ms()).unwrap();
    s.store.add_signing_key(&key).await.unwrap();
    s.clock.advance(std::time::Duration::from_secs(6)); // past the key reload interval
    let jwks: Value = s
        .app
        .get("/.well-known/jwks.json")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        jwks["keys"].as_array().unwrap().len(),
        2,
        "current and previous: {jwks}"
    );
    assert_eq!(jwks["keys"][0]["kid"], key.kid);
    assert_eq!(
        s.me(t["access_token"].as_str().unwrap()).await.0,
        200,
        "old key still verifies"
    );
    let t2 = s.tokens_for(&app.client_id, "a@example.com").await;
    let header = jsonwebtoken::decode_header(t2["access_token"].as_str().unwrap()).unwrap();
    assert_eq!(
        header.kid.as_deref(),
        Some(key.kid.as_str()),
        "new tokens use the new key"
    );
    assert_eq!(s.me(t2["access_token"].as_str().unwrap()).await.0, 200);
}

#[tokio::test]
async fn revocation_ends_a_refresh_family_and_introspection_reports_it() {
    let s = spawn_oauth().await;
    s.add_user("a@example.com").await;
    let app = s.create_app(true, &[]).await;
    let secret = app.client_secret.clone().unwrap();
    let mut browser = Browser::new();
    let code = s
        .code_for(&mut browser, &app.client_id, "a@example.com")
        .await;
    let (_, t) = s
        .token(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", VERIFIER),
            ("client_id", &app.client_id),
            ("client_secret", &secret),
        ])
        .await;
    let introspect = |token: String| {
        let s = &s;
        let (id, secret) = (app.client_id.clone(), secret.clone());
        async move {
            let res = s
                .app
                .client
                .post(s.app.url("/oauth/introspect"))
                .basic_auth(id, Some(secret))
                .form(&[("token", token)])
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 200);
            res.json::<Value>().await.unwrap()
        }
    };
    let info = introspect(t["access_token"].as_str().unwrap().to_owned()).await;
    assert_eq!(info["active"], true, "{info}");
    assert_eq!(info["client_id"], app.client_id);
    assert_eq!(
        introspect(t["refresh_token"].as_str().unwrap().to_owned()).await["active"],
        true
    );

    let res = s
        .app
        .client
        .post(s.app.url("/oauth/revoke"))
        .basic_auth(&app.client_id, Some(&secret))
        .form(&[("token", t["refresh_token"].as_str().unwrap())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(
        introspect(t["refresh_token"].as_str().unwrap().to_owned()).await["active"],
        false
    );
    assert_eq!(
        introspect(t["access_token"].as_str().unwrap().to_owned()).await["active"],
        false,
        "the family's access tokens go too"
    );
    assert_eq!(s.me(t["access_token"].as_str().unwrap()).await.0, 401);
    assert_eq!(
        introspect("garbage".into()).await,
        serde_json::json!({"active": false})
    );
}

#[tokio::test]
async fn failed_sign_ins_are_limited_per_account_with_retry_after() {
    let s = spawn_oauth().await;
    s.add_user("a@example.com").await;
    let app = s.public_app(&[]).await;
    let mut browser = Browser::new();
    let page = browser
        .get(&authorize_url(&s.app, &app.client_id, None))
        .await;
    let csrf = hidden(&page.body, "csrf");
    let attempt = |password: &str| {
        let mut form: Vec<(String, String)> = vec![
            ("csrf".into(), csrf.clone()),
            ("response_type".into(), "code".into()),
            ("client_id".into(), app.client_id.clone()),
            ("redirect_uri".into(), REDIRECT.into()),
            (
                "code_challenge".into(),
                jean2::auth::oauth::pkce::challenge_of(VERIFIER),
            ),
            ("code_challenge_method".into(), "S256".into()),
            ("email".into(), "A@example.com".into()),
        ];
        form.push(("password".into(), password.into()));
        form
    };
    for i in 0..jean2::auth::oauth::ACCOUNT_MAX_FAILURES {
        let res = browser
            .post(&s.app.url("/oauth/login"), &attempt("wrong password"))
            .await;
        assert_eq!(res.status, 401, "failure {i}");
        assert!(
            res.body
                .contains("The email or the password is not correct.")
        );
    }
    let res = browser
        .post(&s.app.url("/oauth/login"), &attempt(PASSWORD))
        .await;
    assert_eq!(
        res.status, 429,
        "even the right password waits once the account is limited"
    );
    assert!(res.retry_after.unwrap().parse::<u64>().unwrap() > 0);
}

#[tokio::test]
async fn under_tls_the_issuer_is_https_and_cookies_are_secure() {
    let dir = tempfile::tempdir().unwrap();
    let cert =
        rcgen::generate_simple_self_signed(vec!["127.0.0.1".into(), "localhost".into()]).unwrap();
    let (cert_path, key_path) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert_path, cert.cert.pem()).unwrap();
    std::fs::write(&key_path, cert.key_pair.serialize_pem()).unwrap();
    let s = spawn_oauth_on(dir, |s| {
        s.tls = Some(jean2::config::TlsFiles {
            cert: cert_path,
            key: key_path,
        });
    })
    .await;
    let client = reqwest::Client::builder()
        .danger_accept_invalid_certs(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let meta: Value = client
        .get(s.app.url("/.well-known/oauth-authorization-server"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(s.app.base.starts_with("https://"));
    assert_eq!(meta["issuer"], s.app.base, "the issuer is the https URL");
    let app = s.public_app(&[]).await;
    let res = client
        .get(authorize_url(&s.app, &app.client_id, None))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let cookie = res.headers()["set-cookie"].to_str().unwrap();
    assert!(
        cookie.contains("; Secure") && cookie.contains("HttpOnly"),
        "{cookie}"
    );
}

#[tokio::test]
async fn revocations_and_signing_keys_survive_a_restart() {
    // A stable issuer, as in production (the default one names the port, which tests change).
    let issuer =
        |s: &mut jean2::config::Settings| s.oauth.public_url = Some("http://jean.test".into());
    let s = spawn_oauth_with(issuer).await;
    s.add_user("a@example.com").await;
    let app = s.public_app(&[]).await;
    let revoked = s.tokens_for(&app.client_id, "a@example.com").await;
    let kept = s.tokens_for(&app.client_id, "a@example.com").await;
    let res = s
        .app
        .client
        .post(s.app.url("/oauth/revoke"))
        .form(&[
            ("token", revoked["refresh_token"].as_str().unwrap()),
            ("client_id", &app.client_id),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let OAuthApp {
        app: server, store, ..
    } = s;
    store.close().await;
    let dir = server.stop().await;
    let s = spawn_oauth_on(dir, issuer).await;
    assert_eq!(
        s.me(revoked["access_token"].as_str().unwrap()).await.0,
        401,
        "still revoked"
    );
    assert_eq!(
        s.me(kept["access_token"].as_str().unwrap()).await.0,
        200,
        "same signing key after restart"
    );
}
