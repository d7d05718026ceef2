//! Public metadata routes and the JSON 404.

use crate::helpers::*;

#[tokio::test]
async fn info_reports_authentication_and_runtime() {
    for (label, app, auth) in [
        ("auth off", spawn_app().await, false),
        ("auth on", spawn_app_with_token().await, true),
    ] {
        let res = app.get("/api/info").await;
        assert_eq!(res.status(), 200, "{label}");
        assert_eq!(res.headers()["content-type"], "application/json", "{label}");
        let body: serde_json::Value = res.json().await.unwrap();
        assert_eq!(body["features"]["authentication"], auth, "{label}");
        assert_eq!(body["runtime"], "rust", "{label}");
        assert_eq!(body["version"], env!("CARGO_PKG_VERSION"), "{label}");
    }
}

#[tokio::test]
async fn root_and_health_have_the_upstream_bodies() {
    let app = spawn_app_with_token().await;
    let root: serde_json::Value = app.get("/").await.json().await.unwrap();
    assert_eq!(root["status"], "ok");
    assert_eq!(root["message"], "AI Agent Server is running");
    let health: serde_json::Value = app.get("/api/health").await.json().await.unwrap();
    assert_eq!(health["status"], "healthy");
    assert!(health["timestamp"].as_str().unwrap().ends_with('Z'));
}

#[tokio::test]
async fn unknown_route_is_json_404_with_path_and_method() {
    let app = spawn_app().await;
    let res = app.get("/nope/x").await;
    assert_eq!(res.status(), 404);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(
        body,
        serde_json::json!({"error":"Not Found","message":"The requested endpoint does not exist","path":"/nope/x","method":"GET"})
    );
    let with_token = spawn_app_with_token().await;
    let res = with_token.get_auth("/api/nope", TOKEN).await;
    assert_eq!(res.status(), 404, "known token, unknown /api path");
}
