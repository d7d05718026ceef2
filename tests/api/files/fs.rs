//! The folder picker (§13.8): directories only, for the server's owner only.

use reqwest::Method;
use serde_json::json;

use super::names;
use crate::helpers::{TOKEN, urlencode};
use crate::oauth_support::spawn_oauth;

#[tokio::test]
async fn browse_lists_only_visible_directories_sorted_and_parent_goes_up() {
    let app = crate::helpers::spawn_app().await;
    let dir = tempfile::tempdir().unwrap();
    for d in ["zeta", "Alpha", ".hidden", "node_modules", "Alpha/inner"] {
        std::fs::create_dir(dir.path().join(d)).unwrap();
    }
    std::fs::write(dir.path().join("file.txt"), "x").unwrap();
    let here = dir.path().to_string_lossy().into_owned();
    let (status, body) = app
        .call(
            Method::GET,
            &format!("/api/fs/browse?path={}", urlencode(&here)),
            None,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(names(&body), ["Alpha", "zeta"]);
    assert_eq!(body["currentPath"], here.as_str());
    assert_eq!(
        (body["mode"].as_str(), body["isRoot"].as_bool()),
        (Some("browse"), Some(false))
    );
    assert_eq!(
        body["files"][0],
        json!({"name": "Alpha", "type": "directory", "path": "Alpha"})
    );

    let inner = dir
        .path()
        .join("Alpha/inner")
        .to_string_lossy()
        .into_owned();
    let (_, up) = app
        .call(
            Method::GET,
            &format!("/api/fs/parent?path={}", urlencode(&inner)),
            None,
        )
        .await;
    assert_eq!(
        up["currentPath"],
        dir.path().join("Alpha").to_string_lossy().as_ref()
    );
    assert_eq!(names(&up), ["inner"]);
    let (_, root) = app.call(Method::GET, "/api/fs/parent?path=%2F", None).await;
    assert_eq!(
        (root["currentPath"].as_str(), root["isRoot"].as_bool()),
        (Some("/"), Some(true))
    );
    let (_, drives) = app.call(Method::GET, "/api/fs/drives", None).await;
    assert_eq!(drives, json!({"drives": ["/"]}));
    let missing = format!("/api/fs/browse?path={}", urlencode(&format!("{here}/nope")));
    let (status, body) = app.call(Method::GET, &missing, None).await;
    assert_eq!(status, 400);
    assert_eq!(
        body,
        json!({"error": "Bad Request", "message": "Cannot access path"})
    );
}

#[tokio::test]
async fn only_the_owner_may_browse_the_servers_folders() {
    let s = spawn_oauth().await;
    let app = s.create_app(true, &["read", "write"]).await;
    for path in [
        "/api/fs/browse?path=%2F",
        "/api/fs/parent?path=%2Ftmp",
        "/api/fs/drives",
    ] {
        let res = s.app.get_auth(path, &app.api_key).await;
        assert_eq!(res.status(), 403, "{path}");
        let body: serde_json::Value = res.json().await.unwrap();
        assert_eq!(body["error"], "forbidden", "{path}");
        let owner = s.app.get_auth(path, TOKEN).await;
        assert_eq!(owner.status(), 200, "{path}: the shared token is the owner");
    }
}
