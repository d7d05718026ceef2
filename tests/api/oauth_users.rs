//! Each person's data is theirs: two users through their own tokens cannot see or change each
//! other's workspaces and sessions, their WebSockets never carry the other's events, the owner
//! (shared token) sees everything, and scopes hold on REST and WebSocket alike.

use serde_json::{Value, json};

use crate::helpers::TOKEN;
use crate::oauth_support::*;

pub async fn post(s: &OAuthApp, token: &str, path: &str, body: Value) -> (u16, Value) {
    let res = s
        .app
        .client
        .post(s.app.url(path))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

pub async fn get(s: &OAuthApp, token: &str, path: &str) -> (u16, Value) {
    let res = s.app.get_auth(path, token).await;
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn two_users_cannot_see_each_others_workspaces_sessions_or_events() {
    let s = spawn_oauth().await;
    s.add_user("alice@example.com").await;
    s.add_user("bob@example.com").await;
    let app = s.public_app(&[]).await;
    let alice = s.tokens_for(&app.client_id, "alice@example.com").await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let bob = s.tokens_for(&app.client_id, "bob@example.com").await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();

    let mut bob_ws = s.app.ws(Some(&bob)).await.expect("bob's websocket");
    bob_ws.register().await;
    let mut owner_ws = s.app.ws(Some(TOKEN)).await.expect("owner's websocket");
    owner_ws.register().await;

    let (status, ws) = post(
        &s,
        &alice,
        "/api/workspaces",
        json!({"name": "Alice's", "isVirtual": true}),
    )
    .await;
    assert_eq!(status, 201, "{ws}");
    let ws_id = ws["workspace"]["id"].as_str().unwrap().to_owned();
    let (status, session) = post(
        &s,
        &alice,
        "/api/sessions",
        json!({"workspaceId": ws_id, "title": "private"}),
    )
    .await;
    assert_eq!(status, 201, "{session}");
    let sid = session["session"]["id"].as_str().unwrap().to_owned();

    let created = owner_ws.recv_json().await;
    assert_eq!(
        created["type"], "session.created",
        "the owner hears everything: {created}"
    );
    bob_ws
        .expect_nothing_before_barrier("bob hears nothing of alice's")
        .await;

    bob_cannot_read_list_or_create_in_alices_workspace(&s, &alice, &bob, &ws_id, &sid).await;

    bob_ws
        .send_json(&json!({"type": "session.resume", "sessionId": sid}))
        .await;
    let answer = bob_ws.recv_json().await;
    assert!(
        answer["type"].as_str().unwrap().contains("error"),
        "bob cannot resume it: {answer}"
    );
}

/// What bob may not do with alice's workspace `ws_id` and session `sid` over REST.
async fn bob_cannot_read_list_or_create_in_alices_workspace(
    s: &OAuthApp,
    alice: &str,
    bob: &str,
    ws_id: &str,
    sid: &str,
) {
    let cases = [
        (
            "bob reads alice's workspace",
            format!("/api/workspaces/{ws_id}"),
        ),
        ("bob reads alice's session", format!("/api/sessions/{sid}")),
        (
            "bob reads alice's transcript",
            format!("/api/sessions/{sid}/transcript"),
        ),
    ];
    for (label, path) in &cases {
        assert_eq!(get(s, bob, path).await.0, 404, "{label}");
        assert_eq!(get(s, alice, path).await.0, 200, "{label} (as alice)");
        assert_eq!(get(s, TOKEN, path).await.0, 200, "{label} (as the owner)");
    }
    let (_, bobs) = get(s, bob, "/api/workspaces").await;
    assert!(
        bobs["workspaces"]
            .as_array()
            .unwrap()
            .iter()
            .all(|w| w["id"] != ws_id),
        "{bobs}"
    );
    let (_, sessions) = get(s, bob, "/api/sessions").await;
    assert!(
        sessions["sessions"]
            .as_array()
            .unwrap()
            .iter()
            .all(|x| x["id"] != sid)
    );
    let (status, _) = post(s, bob, "/api/sessions", json!({"workspaceId": ws_id})).await;
    assert_eq!(
        status, 404,
        "bob cannot create sessions in alice's workspace"
    );
}

#[tokio::test]
async fn a_read_only_token_cannot_change_anything_over_rest_or_websocket() {
    let s = spawn_oauth().await;
    s.add_user("r@example.com").await;
    let app = s.public_app(&["read"]).await;
    let token = s.tokens_for(&app.client_id, "r@example.com").await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(get(&s, &token, "/api/workspaces").await.0, 200);
    let (status, body) = post(
        &s,
        &token,
        "/api/workspaces",
        json!({"name": "x", "isVirtual": true}),
    )
    .await;
    assert_eq!(status, 403, "{body}");
    let mut ws = s.app.ws(Some(&token)).await.expect("read may connect");
    ws.register().await;
    ws.send_json(&json!({"type": "session.create"})).await;
    let answer = ws.recv_json().await;
    assert_eq!(answer["code"], "forbidden", "{answer}");
}

#[tokio::test]
async fn only_the_owner_may_turn_server_folders_into_workspaces() {
    let s = spawn_oauth().await;
    s.add_user("u@example.com").await;
    let app = s.public_app(&[]).await;
    let token = s.tokens_for(&app.client_id, "u@example.com").await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let folder = s.app.data_dir.path().join("somewhere");
    let body = json!({"name": "mine", "path": folder.display().to_string()});
    let (status, err) = post(&s, &token, "/api/workspaces", body.clone()).await;
    assert_eq!(status, 403, "a user names no server folder: {err}");
    assert!(
        err["message"].as_str().unwrap().contains("isVirtual"),
        "{err}"
    );
    assert_eq!(
        post(&s, &app.api_key, "/api/workspaces", body.clone())
            .await
            .0,
        403,
        "nor does an app key"
    );
    assert_eq!(
        post(&s, TOKEN, "/api/workspaces", body).await.0,
        201,
        "the owner may"
    );
}
