//! The resource side with OAuth on: API keys (headers only on REST), a key together with a
//! user's token, the shared token unchanged, `WWW-Authenticate` with `resource_metadata`,
//! scopes, credentials on the WebSocket upgrade, and per-app request counts.

use serde_json::Value;

use crate::helpers::{TOKEN, urlencode};
use crate::oauth_support::*;

#[tokio::test]
async fn an_api_key_authenticates_its_application_from_headers_only() {
    let s = spawn_oauth().await;
    let app = s.public_app(&[]).await;
    let bearer = s.app.get_auth("/api/auth/verify", &app.api_key).await;
    assert_eq!(bearer.status(), 200);
    let header = s
        .app
        .client
        .get(s.app.url("/api/auth/verify"))
        .header("X-API-Key", &app.api_key)
        .send()
        .await
        .unwrap();
    assert_eq!(header.status(), 200);
    let query = s
        .app
        .get(&format!(
            "/api/auth/verify?token={}",
            urlencode(&app.api_key)
        ))
        .await;
    assert_eq!(
        query.status(),
        401,
        "API keys are never read from the query string on REST"
    );
    let me = s.me(&app.api_key).await;
    assert_eq!(me.0, 403, "an application is not a user: {}", me.1);
}

#[tokio::test]
async fn an_api_key_with_a_user_token_must_be_of_the_same_application() {
    let s = spawn_oauth().await;
    s.add_user("a@example.com").await;
    let a = s.public_app(&[]).await;
    let b = s.public_app(&[]).await;
    let t = s.tokens_for(&a.client_id, "a@example.com").await;
    let access = t["access_token"].as_str().unwrap();
    let with = |key: &str| {
        s.app
            .client
            .get(s.app.url("/api/v1/user/me"))
            .bearer_auth(access)
            .header("X-API-Key", key)
            .send()
    };
    assert_eq!(with(&a.api_key).await.unwrap().status(), 200);
    assert_eq!(with(&b.api_key).await.unwrap().status(), 401);
}

#[tokio::test]
async fn shared_token_still_works_and_401s_point_at_the_resource_metadata() {
    let s = spawn_oauth().await;
    assert_eq!(
        s.app.get_auth("/api/auth/verify", TOKEN).await.status(),
        200
    );
    assert_eq!(
        s.app
            .get(&format!("/api/auth/verify?token={TOKEN}"))
            .await
            .status(),
        200
    );
    let res = s.app.get("/api/auth/verify").await;
    assert_eq!(res.status(), 401);
    assert_eq!(
        res.headers()["www-authenticate"],
        format!(
            "Bearer resource_metadata=\"{}/.well-known/oauth-protected-resource\"",
            s.app.base
        )
    );
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["message"], "Invalid or missing API token");
    let wrong = s.app.get_auth("/api/auth/verify", "not-a-token").await;
    assert_eq!(wrong.status(), 401);
    assert!(
        wrong.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Bearer error=\"invalid_token\", resource_metadata="),
        "{:?}",
        wrong.headers()["www-authenticate"]
    );
}

#[tokio::test]
async fn scopes_limit_what_a_token_may_do() {
    let s = spawn_oauth().await;
    let read_only = s.public_app(&["read"]).await;
    let res = s
        .app
        .client
        .post(s.app.url("/api/workspaces"))
        .bearer_auth(&read_only.api_key)
        .json(&serde_json::json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403, "read scope cannot write");
    assert!(
        res.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("insufficient_scope")
    );
    assert_eq!(
        s.app
            .get_auth("/api/auth/verify", &read_only.api_key)
            .await
            .status(),
        200
    );
}

#[tokio::test]
async fn access_tokens_open_the_websocket_by_query_or_subprotocol() {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let s = spawn_oauth().await;
    s.add_user("a@example.com").await;
    let app = s.public_app(&[]).await;
    let t = s.tokens_for(&app.client_id, "a@example.com").await;
    let access = t["access_token"].as_str().unwrap();
    let mut ws = s
        .app
        .ws(Some(access))
        .await
        .expect("?token= with an access token");
    ws.register().await;
    s.app
        .ws(Some(&app.api_key))
        .await
        .expect("?token= with an API key");
    assert_eq!(s.app.ws(Some("nope")).await.err(), Some(401));

    let mut req = format!("ws://{}/ws", s.app.addr)
        .into_client_request()
        .unwrap();
    req.headers_mut().insert(
        "sec-websocket-protocol",
        format!("jean2.v1, jean2.bearer.{access}").parse().unwrap(),
    );
    let (_stream, res) = tokio_tungstenite::connect_async(req)
        .await
        .expect("subprotocol credential");
    assert_eq!(res.headers()["sec-websocket-protocol"], "jean2.v1");
}

#[tokio::test]
async fn requests_are_counted_per_application_per_day() {
    let s = spawn_oauth().await;
    let app = s.public_app(&[]).await;
    for _ in 0..3 {
        assert_eq!(
            s.app
                .get_auth("/api/auth/verify", &app.api_key)
                .await
                .status(),
            200
        );
    }
    assert_eq!(
        s.app.get_auth("/api/auth/verify", TOKEN).await.status(),
        200,
        "the owner is not an app"
    );
    let OAuthApp {
        app: server, store, ..
    } = s;
    let _dir = server.stop().await;
    let usage = store.usage(&app.client_id).await.unwrap();
    assert_eq!(usage.len(), 1);
    assert_eq!(usage[0].1, 3, "{usage:?}");
}

#[tokio::test]
async fn with_oauth_on_a_credential_is_required_even_without_a_shared_token() {
    let s = spawn_oauth_with(|s| s.auth_token = None).await;
    let app = s.public_app(&[]).await;
    assert_eq!(s.app.get("/api/auth/verify").await.status(), 401);
    assert_eq!(
        s.app
            .get_auth("/api/auth/verify", &app.api_key)
            .await
            .status(),
        200
    );
    assert_eq!(s.app.ws(None).await.err(), Some(401));
    let info: Value = s.app.get("/api/info").await.json().await.unwrap();
    assert_eq!(info["features"]["authentication"], true, "{info}");
}
