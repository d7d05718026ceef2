//! Revocation reaches what is open (issue 12, items 6 and 7): a WebSocket carries its
//! credential's validity. A changed shared token, a disabled user, a revoked application, API
//! key or refresh family close the sockets opened with it (1008, "Credential revoked"); an
//! expired access token closes its socket with 4001 ("refresh and reconnect"). Sockets opened
//! with other credentials stay open (shown with a barrier, never with a silence).

use std::sync::{Arc, Mutex};

use jean2::auth::oauth::jwt::{Claims, Keyset};
use jean2::store::Store;
use serde_json::Value;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

use crate::helpers::*;
use crate::oauth_support::*;

/// Read until the server closes the socket; assert the close code and return the reason.
pub async fn expect_close(ws: &mut WsClient, code: u16, label: &str) -> String {
    loop {
        match ws.next_message().await {
            Some(Message::Close(Some(frame))) => {
                assert_eq!(u16::from(frame.code), code, "{label}: {frame:?}");
                return frame.reason.to_string();
            }
            Some(Message::Text(_) | Message::Ping(_) | Message::Pong(_)) => continue,
            other => panic!("{label}: expected a {code} close, got {other:?}"),
        }
    }
}

/// An access token for `user_id` of `app_id`, signed with the server's key, valid `ttl_secs`.
pub async fn mint_token(
    store: &Store,
    issuer: &str,
    user_id: &str,
    app_id: &str,
    ttl_secs: i64,
) -> String {
    let now = jean2::time::now_ms();
    let keys = Keyset::from_rows(&store.signing_keys().await.unwrap(), now);
    let claims = Claims {
        iss: issuer.to_owned(),
        sub: user_id.to_owned(),
        aud: issuer.to_owned(),
        exp: now / 1000 + ttl_secs,
        iat: now / 1000,
        jti: uuid::Uuid::new_v4().to_string(),
        client_id: app_id.to_owned(),
        scope: "read write".into(),
        sid: uuid::Uuid::new_v4().to_string(),
    };
    keys.sign(&claims).unwrap()
}

/// A server with the shared token `first` whose reloads read the token from the returned cell.
async fn reloadable(
    first: Option<&str>,
) -> (TestApp, mpsc::Sender<()>, Arc<Mutex<Option<String>>>) {
    let dir = tempfile::tempdir().unwrap();
    let mut settings = jean2::config::Settings::for_data_dir(dir.path().to_owned());
    settings.auth_token = first.map(jean2::config::Secret::new);
    settings.terminal_shell = Some("/bin/sh".to_owned());
    let next = Arc::new(Mutex::new(first.map(str::to_owned)));
    let (tx, rx) = mpsc::channel(1);
    let reloader = jean2::server::Reloader {
        signals: rx,
        load: {
            let next = next.clone();
            let settings = settings.clone();
            Box::new(move || {
                let mut s = settings.clone();
                s.auth_token = next
                    .lock()
                    .unwrap()
                    .as_deref()
                    .map(jean2::config::Secret::new);
                Ok(s)
            })
        },
    };
    (spawn_serving(dir, settings, Some(reloader)).await, tx, next)
}

/// Signal a reload and wait until the server has logged it (the `n`th time).
async fn reload(app: &TestApp, tx: &mpsc::Sender<()>, n: usize) {
    tx.send(()).await.unwrap();
    wait_until("the reload is done", async || {
        app.log.contents().matches("reloaded token").count() >= n
    })
    .await;
}

#[tokio::test]
async fn a_reload_with_a_new_token_closes_the_sockets_of_the_old_one_with_1008() {
    let (app, tx, next) = reloadable(Some(TOKEN)).await;
    let mut ws = app.ws(Some(TOKEN)).await.unwrap();
    ws.register().await;

    reload(&app, &tx, 1).await;
    ws.expect_nothing_before_barrier("a reload with the same token keeps the socket")
        .await;

    *next.lock().unwrap() = Some("rotated-token".into());
    reload(&app, &tx, 2).await;
    let reason = expect_close(&mut ws, 1008, "old token after rotation").await;
    assert_eq!(reason, "Credential revoked");
    assert_eq!(app.ws(Some(TOKEN)).await.err(), Some(401));
    app.ws(Some("rotated-token"))
        .await
        .unwrap()
        .register()
        .await;
}

/// Read a terminal socket until the server closes it; the close code and reason.
async fn terminal_close(sock: &mut crate::terminal::Sock) -> (u16, String) {
    loop {
        match sock.next().await {
            Message::Close(Some(f)) => return (u16::from(f.code), f.reason.to_string()),
            Message::Close(None) => return (0, String::new()),
            _ => {}
        }
    }
}

#[tokio::test]
async fn a_reload_with_a_new_token_closes_the_terminal_sockets_of_the_old_one_too() {
    use crate::terminal::{Sock, create, workspace_at};
    let (app, tx, next) = reloadable(Some(TOKEN)).await;
    let dir = tempfile::tempdir().unwrap();
    let ws = workspace_at(&app, dir.path()).await;
    let mut tabs = Sock::open(&app, "/ws/terminal/events", &[("workspaceId", &ws)])
        .await
        .unwrap();
    tabs.event().await;
    let sid = create(&app, &ws).await["id"].as_str().unwrap().to_owned();
    let mut term = Sock::attach(&app, &ws, &sid).await;
    term.json_frame(jean2::terminal::frames::INIT_ACK).await;

    *next.lock().unwrap() = Some("rotated-token".into());
    reload(&app, &tx, 1).await;
    let revoked = (1008, "Credential revoked".to_owned());
    assert_eq!(terminal_close(&mut term).await, revoked, "terminal");
    assert_eq!(terminal_close(&mut tabs).await, revoked, "tab list");
}

#[tokio::test]
async fn turning_auth_on_by_reload_closes_the_sockets_opened_without_a_token() {
    let (app, tx, next) = reloadable(None).await;
    let mut ws = app.ws(None).await.unwrap();
    ws.register().await;
    *next.lock().unwrap() = Some(TOKEN.into());
    reload(&app, &tx, 1).await;
    expect_close(&mut ws, 1008, "socket without a token once auth is on").await;
}

#[tokio::test]
async fn revoking_a_refresh_family_closes_its_sockets_and_no_others() {
    let s = spawn_oauth().await;
    s.add_user("alice@example.com").await;
    s.add_user("bob@example.com").await;
    let app = s.public_app(&["read", "write"]).await;
    let alice = s.tokens_for(&app.client_id, "alice@example.com").await;
    let bob = s.tokens_for(&app.client_id, "bob@example.com").await;
    let token = |t: &Value| t["access_token"].as_str().unwrap().to_owned();
    let mut ws_alice = s.app.ws(Some(&token(&alice))).await.unwrap();
    let mut ws_bob = s.app.ws(Some(&token(&bob))).await.unwrap();
    ws_alice.register().await;
    ws_bob.register().await;

    let res = s
        .app
        .client
        .post(s.app.url("/oauth/revoke"))
        .form(&[
            ("token", alice["refresh_token"].as_str().unwrap()),
            ("client_id", &app.client_id),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    expect_close(&mut ws_alice, 1008, "alice's family was revoked").await;
    ws_bob
        .expect_nothing_before_barrier("bob's grant is another family")
        .await;
    assert_eq!(s.me(&token(&alice)).await.0, 401);
    assert_eq!(s.me(&token(&bob)).await.0, 200);
}

#[tokio::test]
async fn an_expired_access_token_closes_its_socket_with_4001() {
    let s = spawn_oauth().await;
    let user = s.add_user("alice@example.com").await;
    let app = s.public_app(&["read", "write"]).await;
    let issuer = s.app.settings.issuer(s.app.addr.port());
    // Two seconds to live: the socket opens, then the token expires while it is idle.
    let short = mint_token(&s.store, &issuer, &user, &app.client_id, 2).await;
    let long = mint_token(&s.store, &issuer, &user, &app.client_id, 600).await;
    let mut ws_short = s.app.ws(Some(&short)).await.unwrap();
    let mut ws_long = s.app.ws(Some(&long)).await.unwrap();
    ws_short.register().await;
    ws_long.register().await;
    let reason = expect_close(&mut ws_short, 4001, "expired access token").await;
    assert!(reason.contains("refresh and reconnect"), "{reason}");
    ws_long
        .expect_nothing_before_barrier("a token with time left keeps its socket")
        .await;
}

#[tokio::test]
async fn disabling_a_user_or_revoking_a_key_or_an_app_closes_their_sockets() {
    let s = spawn_oauth().await;
    let db = s.app.settings.database_path.clone();
    let issuer = s.app.settings.issuer(s.app.addr.port());
    let u1 = s.add_user("one@example.com").await;
    let u2 = s.add_user("two@example.com").await;
    let app_a = s.public_app(&["read", "write"]).await;
    let app_b = s.public_app(&["read", "write"]).await;
    let (key2_id, key2) = jean2::admin::create_key(&s.store, &app_b.client_id, None)
        .await
        .unwrap();
    let t1 = mint_token(&s.store, &issuer, &u1, &app_a.client_id, 600).await;
    let t2 = mint_token(&s.store, &issuer, &u2, &app_a.client_id, 600).await;
    let mut ws_user1 = s.app.ws(Some(&t1)).await.unwrap();
    let mut ws_user2 = s.app.ws(Some(&t2)).await.unwrap();
    let mut ws_key1 = s.app.ws(Some(&app_b.api_key)).await.unwrap();
    let mut ws_key2 = s.app.ws(Some(&key2)).await.unwrap();
    for ws in [&mut ws_user1, &mut ws_user2, &mut ws_key1, &mut ws_key2] {
        ws.register().await;
    }

    jean2::admin::set_user_disabled(&s.store, &db, "one@example.com", true)
        .await
        .unwrap();
    expect_close(&mut ws_user1, 1008, "disabled user").await;
    ws_user2
        .expect_nothing_before_barrier("another user of the same app")
        .await;

    jean2::admin::revoke_key(&s.store, &db, &key2_id)
        .await
        .unwrap();
    expect_close(&mut ws_key2, 1008, "revoked API key").await;
    ws_key1
        .expect_nothing_before_barrier("another key of the same app")
        .await;

    jean2::admin::revoke_app(&s.store, &db, &app_b.client_id)
        .await
        .unwrap();
    expect_close(&mut ws_key1, 1008, "revoked app").await;
    jean2::admin::revoke_app(&s.store, &db, &app_a.client_id)
        .await
        .unwrap();
    expect_close(&mut ws_user2, 1008, "revoked app of a user token").await;
}
