//! REST workspaces: the default workspace, create/validate, get/patch/delete, the sidebar list.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::*;

#[tokio::test]
async fn listing_an_empty_server_creates_one_default_virtual_workspace() {
    let app = spawn_app().await;
    let (status, body) = app.call(Method::GET, "/api/workspaces", None).await;
    assert_eq!(status, 200);
    let list = body["workspaces"].as_array().unwrap();
    assert_eq!(list.len(), 1, "{body}");
    let ws = &list[0];
    assert_eq!(ws["name"], "Virtual Workspace");
    assert_eq!(ws["isVirtual"], true);
    assert_eq!(ws["additionalPaths"], json!([]));
    assert_eq!(ws["settings"], json!({"autoApproveSeverity": "low"}));
    let path = ws["path"].as_str().unwrap();
    let want_prefix = app.data_dir.path().join("workspaces");
    assert!(path.starts_with(want_prefix.to_str().unwrap()), "{path}");
    assert!(std::path::Path::new(path).is_dir(), "the directory exists");
    for field in ["id", "createdAt", "updatedAt"] {
        assert!(ws[field].is_string(), "{field}");
    }
    let (_, again) = app.call(Method::GET, "/api/workspaces", None).await;
    assert_eq!(again["workspaces"], body["workspaces"], "no second default");
}

#[tokio::test]
async fn creating_a_virtual_workspace_makes_its_directory_and_answers_201() {
    let app = spawn_app().await;
    let extra = app.data_dir.path().join("extra");
    std::fs::create_dir_all(&extra).unwrap();
    let body = json!({"name": "Workspace 2", "isVirtual": true,
                      "additionalPaths": [extra.to_str().unwrap(), "/definitely/not/here"], "extraKey": 1});
    let (status, res) = app.call(Method::POST, "/api/workspaces", Some(&body)).await;
    assert_eq!(status, 201, "{res}");
    let ws = &res["workspace"];
    assert_eq!(ws["name"], "Workspace 2");
    assert_eq!(
        ws["additionalPaths"],
        json!([extra.to_str().unwrap()]),
        "only existing paths are kept"
    );
    let path = ws["path"].as_str().unwrap();
    assert!(
        path.ends_with(ws["id"].as_str().unwrap()),
        "virtual dir is named by the id: {path}"
    );
    assert!(std::path::Path::new(path).is_dir());
}

#[tokio::test]
async fn a_physical_path_is_created_and_tilde_is_expanded() {
    let app = spawn_app().await;
    let target = app.data_dir.path().join("proj/deep");
    let (status, res) = app
        .call(
            Method::POST,
            "/api/workspaces",
            Some(&json!({"name": "P", "path": target.to_str().unwrap()})),
        )
        .await;
    assert_eq!(status, 201, "{res}");
    assert_eq!(res["workspace"]["isVirtual"], false);
    assert!(target.is_dir());
    let home = std::env::var("HOME").unwrap();
    let (status, res) = app
        .call(
            Method::POST,
            "/api/workspaces",
            Some(&json!({"name": "H", "path": "~"})),
        )
        .await;
    assert_eq!(status, 201, "{res}");
    assert_eq!(res["workspace"]["path"], home);
}

#[tokio::test]
async fn bad_workspace_bodies_get_precise_400s() {
    let app = spawn_app().await;
    let file = app.data_dir.path().join("a-file");
    std::fs::write(&file, "x").unwrap();
    let cases: Vec<(&str, Value, &str)> = vec![
        (
            "missing name",
            json!({"isVirtual": true}),
            "Validation failed",
        ),
        (
            "empty name",
            json!({"name": " ", "isVirtual": true}),
            "Validation failed",
        ),
        (
            "physical without path",
            json!({"name": "x"}),
            "Path is required for physical workspaces",
        ),
        (
            "path is a file",
            json!({"name": "x", "path": file.to_str().unwrap()}),
            "exists but is not a directory",
        ),
        (
            "uncreatable path",
            json!({"name": "x", "path": format!("{}/sub", file.display())}),
            "Failed to create workspace directory",
        ),
        (
            "relative path",
            json!({"name": "x", "path": "rel/dir"}),
            "must be absolute",
        ),
        ("not an object", json!([1]), "Validation failed"),
    ];
    for (label, body, want) in cases {
        let (status, res) = app.call(Method::POST, "/api/workspaces", Some(&body)).await;
        assert_eq!(status, 400, "{label}: {res}");
        assert_eq!(res["error"], "bad_request", "{label}");
        assert!(
            res["message"].as_str().unwrap().contains(want),
            "{label}: {res}"
        );
    }
    let (_, res) = app
        .call(
            Method::POST,
            "/api/workspaces",
            Some(&json!({"isVirtual": true})),
        )
        .await;
    assert_eq!(
        res["details"],
        json!([{"path": "name", "message": "Name is required"}])
    );
    let res = app
        .client
        .post(app.url("/api/workspaces"))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400, "malformed JSON");
    let res: Value = res.json().await.unwrap();
    assert_eq!(res["error"], "bad_request");
}

#[tokio::test]
async fn get_patch_put_and_delete_a_workspace() {
    let app = spawn_app().await;
    let ws = app.create_workspace("Before").await;
    let id = ws["id"].as_str().unwrap();
    let (status, got) = app
        .call(Method::GET, &format!("/api/workspaces/{id}"), None)
        .await;
    assert_eq!((status, &got["workspace"]), (200, &ws));
    let (status, res) = app
        .call(
            Method::PATCH,
            &format!("/api/workspaces/{id}"),
            Some(&json!({"name": "After", "settings": {"isAgentHome": false}})),
        )
        .await;
    assert_eq!(status, 200, "{res}");
    assert_eq!(res["workspace"]["name"], "After");
    assert_eq!(res["workspace"]["settings"], json!({"isAgentHome": false}));
    assert!(res["workspace"]["updatedAt"].as_str() >= ws["updatedAt"].as_str());
    let (status, res) = app
        .call(
            Method::PUT,
            &format!("/api/workspaces/{id}"),
            Some(&json!({"name": "Put"})),
        )
        .await;
    assert_eq!(
        (status, res["workspace"]["name"].as_str()),
        (200, Some("Put"))
    );
    let (status, res) = app
        .call(
            Method::PATCH,
            &format!("/api/workspaces/{id}"),
            Some(&json!({})),
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(
        res["message"],
        "Name, additionalPaths, or settings is required"
    );

    let s1 = app.create_session(id).await;
    let (status, res) = app
        .call(Method::DELETE, &format!("/api/workspaces/{id}"), None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(res, json!({"success": true, "deletedSessions": [s1["id"]]}));
    let (status, _) = app
        .call(
            Method::GET,
            &format!("/api/sessions/{}", s1["id"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(status, 404, "its sessions are gone");
}

#[tokio::test]
async fn unknown_workspace_ids_are_404_never_400() {
    let app = spawn_app().await;
    for id in ["nonexistent", "00000000-0000-4000-8000-000000000000"] {
        for (method, path) in [
            (Method::GET, format!("/api/workspaces/{id}")),
            (Method::PATCH, format!("/api/workspaces/{id}")),
            (Method::DELETE, format!("/api/workspaces/{id}")),
            (
                Method::GET,
                format!("/api/workspaces/{id}/sessions?limit=5"),
            ),
            (
                Method::GET,
                format!("/api/workspaces/{id}/files?showHidden=true"),
            ),
            (Method::GET, format!("/api/workspaces/{id}/scheduled-jobs")),
            (Method::GET, format!("/api/workspaces/{id}/pinned-messages")),
            (Method::GET, format!("/api/workspaces/{id}/git/status")),
        ] {
            let body = json!({"name": "x"});
            let (status, res) = app.call(method.clone(), &path, Some(&body)).await;
            assert_eq!(status, 404, "{method} {path}: {res}");
            assert_eq!(
                res,
                json!({"error": "not_found", "message": "Workspace not found"}),
                "{method} {path}"
            );
        }
    }
}

#[tokio::test]
async fn a_method_a_route_does_not_serve_is_the_json_404() {
    let app = spawn_app().await;
    for (method, path) in [
        (Method::DELETE, "/api/workspaces"),
        (Method::POST, "/api/models"),
        (Method::DELETE, "/api/sessions/tags"),
        // The public routes too.
        (Method::DELETE, "/api/health"),
        (Method::POST, "/api/info"),
    ] {
        let (status, res) = app.call(method.clone(), path, None).await;
        assert_eq!(status, 404, "{method} {path}");
        assert_eq!(res["error"], "Not Found", "{method} {path}");
        assert_eq!(res["method"], method.as_str(), "{method} {path}");
    }
}

#[tokio::test]
async fn deleting_a_workspace_tells_connections_that_had_its_sessions_open() {
    let app = spawn_app().await;
    let wid = app
        .post_json(
            "/api/workspaces",
            &json!({"name": "Doomed", "isVirtual": true}),
        )
        .await
        .json::<Value>()
        .await
        .unwrap()["workspace"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let sid = app
        .post_json("/api/sessions", &json!({"workspaceId": wid}))
        .await
        .json::<Value>()
        .await
        .unwrap()["session"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut ws = app.ws(None).await.unwrap();
    ws.send_json(&json!({"type": "session.resume", "sessionId": sid}))
        .await;
    ws.expect("session.resumed").await;
    ws.expect("ask.pending_sync").await;

    let res = app
        .client
        .delete(app.url(&format!("/api/workspaces/{wid}")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let deleted = ws.expect("session.deleted").await;
    assert_eq!(deleted["sessionId"], sid.as_str());
}
