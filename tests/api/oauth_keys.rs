//! OAuth 2.1 server identity over real HTTP: the discovery documents, signing-key rotation, the
//! https issuer under TLS, and revocations and keys that outlive a restart.

use serde_json::Value;

use crate::oauth_support::*;

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
    let db = server.settings.database_url.clone();
    let dir = server.stop().await;
    let s = spawn_oauth_on(dir, move |s| {
        issuer(s);
        s.database_url = db;
    })
    .await;
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
