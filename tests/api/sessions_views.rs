//! `GET /api/sessions/tags` and `GET /api/sessions/grouped` (the Overview view,
//! `PROTOCOL-AGENT.md` §11.6).

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::spawn_app;

#[tokio::test]
async fn tags_are_the_distinct_tags_of_a_workspaces_sessions_sorted() {
    let app = spawn_app().await;
    let ws = app.create_workspace("w").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    for tags in [json!(["zeta", "alpha"]), json!(["alpha", "mid"]), json!([])] {
        let sid = app.create_session(&ws).await["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let (status, _) = app
            .call(
                Method::PUT,
                &format!("/api/sessions/{sid}"),
                Some(&json!({"tags": tags})),
            )
            .await;
        assert_eq!(status, 200);
    }
    let (status, body) = app
        .call(
            Method::GET,
            &format!("/api/sessions/tags?workspaceId={ws}"),
            None,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(body, json!({"tags": ["alpha", "mid", "zeta"]}));
    let (status, body) = app.call(Method::GET, "/api/sessions/tags", None).await;
    assert_eq!(
        (status, body["message"].clone()),
        (400, json!("workspaceId query parameter is required"))
    );
}

#[tokio::test]
async fn grouped_lists_each_workspace_and_pages_when_asked() {
    let app = spawn_app().await;
    let a = app.create_workspace("a").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let b = app.create_workspace("b").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    for _ in 0..3 {
        app.create_session(&a).await;
    }
    let path = format!("/api/sessions/grouped?workspaceIds={a},{b}&rootOnly=true");
    let (status, body) = app.call(Method::GET, &path, None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["sessions"][&a].as_array().unwrap().len(), 3);
    assert_eq!(body["sessions"][&b], json!([]), "every id is a key");
    assert!(body.get("pagination").is_none());
    let times: Vec<&str> = body["sessions"][&a]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["updatedAt"].as_str().unwrap())
        .collect();
    assert!(
        times.windows(2).all(|w| w[0] >= w[1]),
        "newest first: {times:?}"
    );

    let (status, body) = app
        .call(Method::GET, &format!("{path}&limitPerWorkspace=2"), None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(body["sessions"][&a].as_array().unwrap().len(), 2);
    let page: &Value = &body["pagination"][&a];
    assert_eq!(
        (page["hasMore"].clone(), page["limit"].clone()),
        (json!(true), json!(2))
    );
    assert!(page["nextCursor"].is_string());
    assert_eq!(body["pagination"][&b]["hasMore"], false);

    for (query, want) in [
        ("", "workspaceIds query parameter is required"),
        ("?workspaceIds=,", "At least one workspaceId is required"),
        (
            "?workspaceIds=x&limitPerWorkspace=0",
            "limitPerWorkspace must be an integer between 1 and 100",
        ),
    ] {
        let (status, body) = app
            .call(Method::GET, &format!("/api/sessions/grouped{query}"), None)
            .await;
        assert_eq!(
            (status, body["message"].as_str().unwrap()),
            (400, want),
            "{query}"
        );
    }
}
