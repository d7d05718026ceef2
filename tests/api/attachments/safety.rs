//! What must never happen with attachments: a file over the cap kept (413), files outliving
//! their session or workspace, an id or a file name naming a path, one user reaching another's.

use reqwest::Method;
use serde_json::json;

use super::{files_on_disk, form, get_raw, new_session, post_form, upload, uploaded};
use crate::helpers::{TOKEN, spawn_app};

#[tokio::test]
async fn a_file_over_20_mib_is_refused_with_413_and_not_kept() {
    let app = spawn_app().await;
    let sid = new_session(&app).await;
    let big = vec![b'a'; 20 * 1024 * 1024 + 1];
    let (status, body) = upload(&app, &sid, "big.txt", "text/plain", &big).await;
    assert_eq!(status, 413, "{body}");
    assert_eq!(body["error"], "payload_too_large");
    assert_eq!(
        body["message"],
        "File size (20 MB) exceeds the 20 MB limit."
    );
    assert!(files_on_disk(&app).is_empty(), "{:?}", files_on_disk(&app));
    // Exactly the limit is fine.
    let (status, body) = upload(&app, &sid, "max.txt", "text/plain", &big[1..]).await;
    assert_eq!(status, 201, "{body}");
}

#[tokio::test]
async fn deleting_a_session_or_its_workspace_removes_the_files() {
    let app = spawn_app().await;
    let w = app.create_workspace("w").await;
    let wid = w["id"].as_str().unwrap();
    let one = app.create_session(wid).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let two = app.create_session(wid).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let a = uploaded(&app, &one, "a.txt", "text/plain", b"one").await;
    uploaded(&app, &two, "b.txt", "text/plain", b"two").await;
    assert_eq!(files_on_disk(&app).len(), 2);

    let (status, _) = app
        .call(Method::DELETE, &format!("/api/sessions/{one}"), None)
        .await;
    assert_eq!(status, 200);
    let left = files_on_disk(&app);
    assert_eq!(left.len(), 1, "{left:?}");
    assert_eq!(std::fs::read(&left[0]).unwrap(), b"two");
    let res = get_raw(&app, a["url"].as_str().unwrap()).await;
    assert_eq!(res.status(), 404);

    let (status, _) = app
        .call(Method::DELETE, &format!("/api/workspaces/{wid}"), None)
        .await;
    assert_eq!(status, 200);
    assert!(files_on_disk(&app).is_empty(), "{:?}", files_on_disk(&app));
}

#[tokio::test]
async fn ids_are_never_paths() {
    let app = spawn_app().await;
    let w = app.create_workspace("w").await;
    // A client may choose a session id; it names no folder.
    let (status, s) = app
        .call(
            Method::POST,
            "/api/sessions",
            Some(&json!({"workspaceId": w["id"], "id": "../../escape"})),
        )
        .await;
    assert_eq!(status, 201, "{s}");
    let body = form("file", Some("../../../evil.txt"), Some("text/plain"), b"x");
    let (status, a) = post_form(&app, None, "..%2F..%2Fescape", body).await;
    assert_eq!(status, 201, "{a}");
    assert_eq!(a["filename"], "../../../evil.txt", "a label only");
    let on_disk = files_on_disk(&app);
    assert_eq!(on_disk.len(), 1);
    let root = app.data_dir.path().join("attachments");
    let rel = on_disk[0].strip_prefix(&root).unwrap();
    assert_eq!(rel.components().count(), 2, "{rel:?}");
    assert!(rel.ends_with(a["id"].as_str().unwrap()), "{rel:?}");
    assert!(!app.data_dir.path().join("escape").exists());
    assert!(
        !app.data_dir
            .path()
            .parent()
            .unwrap()
            .join("evil.txt")
            .exists()
    );

    let key = a["url"]
        .as_str()
        .unwrap()
        .split("key=")
        .nth(1)
        .unwrap()
        .to_owned();
    for bad in [
        "..",
        "..%2F..%2Fdata%2Fagent.db",
        "%2Fetc%2Fpasswd",
        "att_x%00",
    ] {
        let res = get_raw(
            &app,
            &format!("/api/sessions/..%2F..%2Fescape/attachments/{bad}/content?key={key}"),
        )
        .await;
        assert_eq!(res.status(), 404, "{bad}");
    }
}

#[tokio::test]
async fn an_oauth_user_reaches_only_the_attachments_of_their_own_sessions() {
    use crate::oauth_support::spawn_oauth;
    use crate::oauth_users::post;
    let s = spawn_oauth().await;
    s.add_user("alice@example.com").await;
    s.add_user("bob@example.com").await;
    let client = s.public_app(&[]).await;
    let token = async |email: &str| {
        s.tokens_for(&client.client_id, email).await["access_token"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let (alice, bob) = (
        token("alice@example.com").await,
        token("bob@example.com").await,
    );
    let (_, w) = post(
        &s,
        &alice,
        "/api/workspaces",
        json!({"name": "A", "isVirtual": true}),
    )
    .await;
    let (status, session) = post(
        &s,
        &alice,
        "/api/sessions",
        json!({"workspaceId": w["workspace"]["id"]}),
    )
    .await;
    assert_eq!(status, 201, "{session}");
    let sid = session["session"]["id"].as_str().unwrap();
    let file = || form("file", Some("a.txt"), Some("text/plain"), b"alice's");
    let (status, body) = post_form(&s.app, Some(&bob), sid, file()).await;
    assert_eq!(
        (status, body["message"].as_str()),
        (404, Some("Session not found"))
    );
    let (status, a) = post_form(&s.app, Some(&alice), sid, file()).await;
    assert_eq!(status, 201, "{a}");
    let list = format!("/api/sessions/{sid}/attachments");
    assert_eq!(s.app.get_auth(&list, &bob).await.status(), 404);
    assert_eq!(s.app.get_auth(&list, &alice).await.status(), 200);
    assert_eq!(
        s.app.get_auth(&list, TOKEN).await.status(),
        200,
        "the owner sees all"
    );
}
