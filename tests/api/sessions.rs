//! REST sessions: create/list/get/update/delete, the sidebar list with paging, transcripts.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::*;

fn ids(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn post_sessions_creates_a_session_with_every_field() {
    let app = spawn_app().await;
    let ws = app.create_workspace("W").await;
    let wid = ws["id"].as_str().unwrap();
    let (status, res) = app
        .call(
            Method::POST,
            "/api/sessions",
            Some(&json!({"workspaceId": wid, "preconfigId": "general"})),
        )
        .await;
    assert_eq!(status, 201, "{res}");
    let s = &res["session"];
    let keys: Vec<&str> = s.as_object().unwrap().keys().map(String::as_str).collect();
    for k in [
        "id",
        "preconfigId",
        "workspaceId",
        "title",
        "status",
        "createdAt",
        "updatedAt",
        "metadata",
        "selectedModel",
        "selectedProvider",
        "selectedVariant",
        "promptTokens",
        "completionTokens",
        "totalTokens",
        "cacheReadTokens",
        "cacheWriteTokens",
        "noCacheTokens",
        "parentId",
        "agentName",
        "subagentStatus",
        "runningAt",
        "compacting",
        "tags",
        "autoApproveSeverity",
        "agentId",
    ] {
        assert!(keys.contains(&k), "missing {k}");
    }
    assert_eq!(keys.len(), 25, "{keys:?}");
    assert_eq!(
        (s["title"].as_str(), s["status"].as_str()),
        (Some("New Session"), Some("active"))
    );
    assert_eq!(s["preconfigId"], "general");
    assert_eq!(s["parentId"], Value::Null);
    assert!(uuid::Uuid::parse_str(s["id"].as_str().unwrap()).is_ok());

    let (status, res) = app
        .call(
            Method::POST,
            "/api/sessions",
            Some(&json!({"workspaceId": wid, "id": "my-own-id", "title": "T"})),
        )
        .await;
    assert_eq!(status, 201);
    assert_eq!(
        (
            res["session"]["id"].as_str(),
            res["session"]["title"].as_str()
        ),
        (Some("my-own-id"), Some("T"))
    );
    let (status, res) = app
        .call(
            Method::POST,
            "/api/sessions",
            Some(&json!({"workspaceId": wid, "id": "my-own-id"})),
        )
        .await;
    assert_eq!(
        (status, res["error"].as_str()),
        (409, Some("conflict")),
        "{res}"
    );
}

#[tokio::test]
async fn post_sessions_rejects_bad_input() {
    let app = spawn_app().await;
    let (status, res) = app
        .call(Method::POST, "/api/sessions", Some(&json!({})))
        .await;
    assert_eq!(status, 400);
    assert_eq!(
        res["details"],
        json!([{"path": "workspaceId", "message": "workspaceId is required"}])
    );
    let (status, res) = app
        .call(
            Method::POST,
            "/api/sessions",
            Some(&json!({"workspaceId": 5})),
        )
        .await;
    assert_eq!(status, 400, "{res}");
    let (status, res) = app
        .call(
            Method::POST,
            "/api/sessions",
            Some(&json!({"workspaceId": "nope"})),
        )
        .await;
    assert_eq!(
        (status, res["message"].as_str()),
        (404, Some("Workspace not found"))
    );
}

#[tokio::test]
async fn get_sessions_lists_all_or_filters_by_workspace_and_status() {
    let app = spawn_app().await;
    let a = app.create_workspace("A").await;
    let b = app.create_workspace("B").await;
    let (aid, bid) = (a["id"].as_str().unwrap(), b["id"].as_str().unwrap());
    let s1 = app.create_session(aid).await;
    let s2 = app.create_session(bid).await;
    let (_, all) = app.call(Method::GET, "/api/sessions", None).await;
    assert_eq!(all["sessions"].as_array().unwrap().len(), 2);
    assert!(all.get("pagination").is_none());
    let (_, only_a) = app
        .call(
            Method::GET,
            &format!("/api/sessions?workspaceId={aid}"),
            None,
        )
        .await;
    assert_eq!(ids(&only_a["sessions"]), vec![s1["id"].as_str().unwrap()]);
    let id2 = s2["id"].as_str().unwrap();
    let (status, _) = app
        .call(
            Method::PUT,
            &format!("/api/sessions/{id2}"),
            Some(&json!({"status": "closed"})),
        )
        .await;
    assert_eq!(status, 200);
    let (_, closed) = app
        .call(Method::GET, "/api/sessions?status=closed", None)
        .await;
    assert_eq!(ids(&closed["sessions"]), vec![id2]);
    let (status, _) = app
        .call(Method::GET, "/api/sessions?status=weird", None)
        .await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn get_put_delete_one_session() {
    let app = spawn_app().await;
    let ws = app.create_workspace("W").await;
    let s = app.create_session(ws["id"].as_str().unwrap()).await;
    let id = s["id"].as_str().unwrap();
    let (status, got) = app
        .call(Method::GET, &format!("/api/sessions/{id}"), None)
        .await;
    assert_eq!((status, &got["session"]), (200, &s));
    let body = json!({"title": "Renamed", "tags": ["x", "y"], "autoApproveSeverity": "high"});
    let (status, res) = app
        .call(Method::PUT, &format!("/api/sessions/{id}"), Some(&body))
        .await;
    assert_eq!(status, 200, "{res}");
    assert_eq!(res["session"]["title"], "Renamed");
    assert_eq!(res["session"]["tags"], json!(["x", "y"]));
    assert_eq!(res["session"]["autoApproveSeverity"], "high");
    for (label, bad) in [
        ("empty", json!({})),
        ("bad status", json!({"status": "gone"})),
        ("bad tags", json!({"tags": "x"})),
    ] {
        let (status, res) = app
            .call(Method::PUT, &format!("/api/sessions/{id}"), Some(&bad))
            .await;
        assert_eq!(status, 400, "{label}: {res}");
    }
    let (status, res) = app
        .call(Method::DELETE, &format!("/api/sessions/{id}"), None)
        .await;
    assert_eq!((status, res), (200, json!({"success": true})));
    let (status, res) = app
        .call(Method::GET, &format!("/api/sessions/{id}"), None)
        .await;
    assert_eq!(
        (status, res),
        (
            404,
            json!({"error": "not_found", "message": "Session not found"})
        )
    );
}

#[tokio::test]
async fn unknown_session_ids_are_404_never_400() {
    let app = spawn_app().await;
    for (method, path) in [
        (Method::GET, "/api/sessions/nonexistent"),
        (Method::PUT, "/api/sessions/nonexistent"),
        (Method::DELETE, "/api/sessions/nonexistent"),
        (Method::GET, "/api/sessions/nonexistent/transcript"),
        (
            Method::GET,
            "/api/sessions/00000000-0000-4000-8000-000000000000",
        ),
    ] {
        let (status, res) = app
            .call(method.clone(), path, Some(&json!({"title": "x"})))
            .await;
        assert_eq!(status, 404, "{method} {path}");
        assert_eq!(res["error"], "not_found", "{method} {path}");
    }
}

#[tokio::test]
async fn the_sidebar_list_pages_newest_first_with_an_opaque_cursor() {
    let app = spawn_app().await;
    let ws = app.create_workspace("W").await;
    let wid = ws["id"].as_str().unwrap();
    for _ in 0..5 {
        app.create_session(wid).await;
    }
    let base = format!("/api/workspaces/{wid}/sessions");
    let (status, full) = app.call(Method::GET, &base, None).await;
    assert_eq!(status, 200);
    assert!(
        full.get("pagination").is_none(),
        "no pagination without limit or cursor"
    );
    let mut sorted: Vec<(String, String)> = full["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["updatedAt"].as_str().unwrap().to_owned(),
                s["id"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    sorted.sort_by(|a, b| b.cmp(a));
    let want: Vec<String> = sorted.into_iter().map(|(_, id)| id).collect();
    assert_eq!(ids(&full["sessions"]), want, "updatedAt DESC, id DESC");

    let mut seen = Vec::new();
    let mut url = format!("{base}?rootOnly=true&limit=2");
    loop {
        let (status, page) = app.call(Method::GET, &url, None).await;
        assert_eq!(status, 200, "{page}");
        assert_eq!(page["pagination"]["limit"], 2);
        seen.extend(ids(&page["sessions"]));
        match page["pagination"]["nextCursor"].as_str() {
            Some(c) => {
                assert_eq!(page["pagination"]["hasMore"], true);
                url = format!("{base}?limit=2&cursor={c}");
            }
            None => {
                assert_eq!(page["pagination"]["hasMore"], false);
                break;
            }
        }
    }
    assert_eq!(seen, want);
    for (label, q) in [
        ("limit 0", "limit=0"),
        ("limit 101", "limit=101"),
        ("limit text", "limit=x"),
        ("bad cursor", "cursor=bm90LWpzb24"),
        ("bad status", "status=x"),
    ] {
        let (status, res) = app.call(Method::GET, &format!("{base}?{q}"), None).await;
        assert_eq!(status, 400, "{label}: {res}");
    }
    let (_, res) = app
        .call(Method::GET, &format!("{base}?cursor=bm90LWpzb24"), None)
        .await;
    assert_eq!(res["message"], "Invalid cursor");
}

#[tokio::test]
async fn the_sidebar_list_filters_by_status() {
    let app = spawn_app().await;
    let ws = app.create_workspace("W").await;
    let wid = ws["id"].as_str().unwrap();
    let a = app.create_session(wid).await;
    let b = app.create_session(wid).await;
    let bid = b["id"].as_str().unwrap();
    app.call(
        Method::PUT,
        &format!("/api/sessions/{bid}"),
        Some(&json!({"status": "closed"})),
    )
    .await;
    let (_, active) = app
        .call(
            Method::GET,
            &format!("/api/workspaces/{wid}/sessions?status=active"),
            None,
        )
        .await;
    assert_eq!(ids(&active["sessions"]), vec![a["id"].as_str().unwrap()]);
}

#[tokio::test]
async fn an_empty_transcript_has_the_pagination_object() {
    let app = spawn_app().await;
    let ws = app.create_workspace("W").await;
    let s = app.create_session(ws["id"].as_str().unwrap()).await;
    let id = s["id"].as_str().unwrap();
    let (status, res) = app
        .call(
            Method::GET,
            &format!("/api/sessions/{id}/transcript?limit=10"),
            None,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        res,
        json!({"messages": [], "pagination": {"hasOlder": false, "oldestSequence": null, "newestSequence": null, "limit": 10}})
    );
    for q in ["limit=0", "limit=500", "before=x"] {
        let (status, _) = app
            .call(
                Method::GET,
                &format!("/api/sessions/{id}/transcript?{q}"),
                None,
            )
            .await;
        assert_eq!(status, 400, "{q}");
    }
}
