//! The sockets: the events socket's snapshot and changes, opening a terminal from the socket,
//! and who may connect.

use jean2::terminal::frames;
use reqwest::Method;
use serde_json::json;

use super::{Sock, call, create, setup, workspace_at};
use crate::helpers::{TOKEN, urlencode};
use crate::oauth_support::spawn_oauth;

#[tokio::test]
async fn the_events_socket_sends_a_snapshot_then_created_exited_and_destroyed() {
    let (app, ws, _dir) = setup().await;
    let mut events = Sock::open(&app, "/ws/terminal/events", &[("workspaceId", &ws)])
        .await
        .unwrap();
    assert_eq!(
        events.event().await,
        json!({"type": "snapshot", "sessions": []})
    );
    let session = create(&app, &ws).await;
    let sid = session["id"].as_str().unwrap();
    let created = events.event().await;
    assert_eq!(
        (created["type"].as_str(), created["session"]["id"].as_str()),
        (Some("created"), Some(sid))
    );
    let mut term = Sock::attach(&app, &ws, sid).await;
    term.json_frame(frames::INIT_ACK).await;
    term.type_line("exit 3").await;
    assert_eq!(
        events.event().await,
        json!({"type": "exited", "sessionId": sid, "exitCode": 3})
    );
    let (_, list) = call(
        &app,
        Method::GET,
        &format!("/api/workspaces/{ws}/terminals"),
    )
    .await;
    assert_eq!(
        (
            list["sessions"][0]["status"].as_str(),
            list["sessions"][0]["exitCode"].as_i64()
        ),
        (Some("exited"), Some(3))
    );
    call(
        &app,
        Method::DELETE,
        &format!("/api/workspaces/{ws}/terminals/{sid}"),
    )
    .await;
    assert_eq!(
        events.event().await,
        json!({"type": "destroyed", "sessionId": sid})
    );
    let mut late = Sock::open(&app, "/ws/terminal/events", &[("workspaceId", &ws)])
        .await
        .unwrap();
    assert_eq!(
        late.event().await,
        json!({"type": "snapshot", "sessions": []})
    );
}

#[tokio::test]
async fn a_socket_opens_a_new_terminal_only_in_a_folder_of_its_workspace() {
    let (app, ws, dir) = setup().await;
    let cwd = dir.path().to_string_lossy().into_owned();
    let mut fresh = Sock::open(&app, "/ws/terminal", &[("cwd", &cwd), ("workspaceId", &ws)])
        .await
        .unwrap();
    let init = fresh.json_frame(frames::INIT_ACK).await;
    assert_eq!(init["isReconnect"], false);
    let other_dir = tempfile::tempdir().unwrap();
    let other = workspace_at(&app, other_dir.path()).await;
    let cases: [(&[(&str, &str)], &str); 4] = [
        (
            &[("cwd", "/"), ("workspaceId", &ws)],
            "Working directory is outside the workspace",
        ),
        (
            &[("cwd", &cwd), ("workspaceId", &ws), ("sessionId", "nope")],
            "Session not found",
        ),
        (
            &[
                ("cwd", &cwd),
                ("workspaceId", &other),
                ("sessionId", init["sessionId"].as_str().unwrap()),
            ],
            "Terminal session does not belong to this workspace",
        ),
        (
            &[("cwd", "missing-dir"), ("workspaceId", &ws)],
            "Invalid or missing working directory",
        ),
    ];
    for (query, message) in cases {
        let mut sock = Sock::open(&app, "/ws/terminal", query).await.unwrap();
        assert_eq!(
            sock.json_frame(frames::ERROR).await,
            json!({"message": message})
        );
    }
    assert_eq!(
        Sock::open(&app, "/ws/terminal", &[("workspaceId", &ws)])
            .await
            .err(),
        Some(400)
    );
    assert_eq!(
        Sock::open(&app, "/ws/terminal/events", &[]).await.err(),
        Some(400)
    );
}

#[tokio::test]
async fn terminals_are_the_owners_only_and_need_a_credential() {
    let s = spawn_oauth().await;
    let key = s.create_app(true, &["read", "write"]).await.api_key;
    let dir = tempfile::tempdir().unwrap();
    let ws = workspace_at(&s.app, dir.path()).await;
    let list = format!("/api/workspaces/{ws}/terminals");
    let res = s
        .app
        .client
        .get(s.app.url(&list))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403, "an application's key");
    let res = s
        .app
        .client
        .post(s.app.url(&list))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    let url = |token: &str| {
        format!(
            "ws://{}/ws/terminal/events?workspaceId={ws}&token={}",
            s.app.addr,
            urlencode(token)
        )
    };
    let refused = |r: Result<_, tokio_tungstenite::tungstenite::Error>| match r {
        Err(tokio_tungstenite::tungstenite::Error::Http(res)) => res.status().as_u16(),
        other => panic!("expected a refused upgrade, got {:?}", other.map(|_| ())),
    };
    assert_eq!(
        refused(tokio_tungstenite::connect_async(url(&key)).await),
        403
    );
    assert_eq!(
        refused(tokio_tungstenite::connect_async(url("wrong")).await),
        401
    );
    assert!(
        tokio_tungstenite::connect_async(url(TOKEN)).await.is_ok(),
        "the owner's token"
    );
}
