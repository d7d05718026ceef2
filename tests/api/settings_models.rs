//! Settings → Models (`PROTOCOL-AGENT.md` §14.2): the catalog grouped with statuses, and its
//! editing in `models.json` in the original's format; a broken file is reported, never
//! overwritten.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::*;

#[tokio::test]
async fn the_models_panel_edits_models_json_in_the_original_format() {
    let app = spawn_app().await;
    let file = app.data_dir.path().join("models.json");
    let (status, cfg) = app.call(Method::GET, "/api/config/models", None).await;
    assert_eq!(status, 200);
    assert_eq!(cfg["providers"][0]["id"], "deepseek");
    assert!(cfg["providers"][0]["models"][0]["runtimeStatus"].is_object());
    assert!(!file.exists(), "reading writes nothing");

    let (status, doc) = app
        .call(
            Method::POST,
            "/api/config/models/providers",
            Some(&json!({"id": "local", "name": "Local", "baseUrl": "http://127.0.0.1:11434/v1"})),
        )
        .await;
    assert_eq!(status, 201, "{doc}");
    assert!(
        doc["providers"][0]["models"][0]
            .get("runtimeStatus")
            .is_none()
    );
    let saved: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(saved, doc);
    assert!(
        saved["providers"][0].get("baseUrl").is_none(),
        "built-in providers need none"
    );

    let model = json!({"id": "org/model:7b", "name": "M", "contextWindow": 8192, "tier": "budget"});
    let path = "/api/config/models/providers/local/models";
    assert_eq!(app.call(Method::POST, path, Some(&model)).await.0, 201);
    let (status, err) = app.call(Method::POST, path, Some(&model)).await;
    assert_eq!((status, err["error"].clone()), (409, json!("conflict")));
    let one = "/api/config/models/providers/local/models/org%2Fmodel%3A7b";
    let (status, doc) = app
        .call(Method::PUT, one, Some(&json!({"name": "Renamed", "capabilities": {"input": {"text": true, "image": true}}})))
        .await;
    assert_eq!(status, 200, "{doc}");
    assert_eq!(
        doc["providers"].as_array().unwrap().last().unwrap()["models"][0]["name"],
        "Renamed"
    );
    let (status, err) = app
        .call(
            Method::POST,
            path,
            Some(&json!({"id": "bad", "name": "B", "contextWindow": 1, "tier": "cheap"})),
        )
        .await;
    assert_eq!(
        (status, err["message"].clone()),
        (400, json!("Invalid models configuration")),
        "{err}"
    );

    let defaults = json!({"defaultModel": "org/model:7b", "defaultProvider": "local"});
    assert_eq!(
        app.call(Method::PUT, "/api/config/models/defaults", Some(&defaults))
            .await
            .0,
        200
    );
    let (status, err) = app.call(Method::DELETE, one, None).await;
    assert_eq!(status, 400, "the default model stays: {err}");
    let (status, err) = app
        .call(Method::DELETE, "/api/config/models/providers/nope", None)
        .await;
    assert_eq!(
        (status, err["message"].clone()),
        (404, json!("Provider not found: nope"))
    );
    let (status, _) = app
        .call(Method::DELETE, "/api/config/models/providers/minimax", None)
        .await;
    assert_eq!(status, 200);
    let (status, report) = app
        .call(
            Method::POST,
            "/api/config/models/sync",
            Some(&json!({"mode": "merge"})),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(report["addedProviders"], json!(["minimax"]));
    let (_, models) = app.call(Method::GET, "/api/models", None).await;
    assert_eq!(
        models["defaultModel"], "org/model:7b",
        "with no usable model the stated default stays"
    );
}

#[tokio::test]
async fn a_broken_models_json_is_reported_and_never_overwritten() {
    let app = spawn_app().await;
    let file = app.data_dir.path().join("models.json");
    std::fs::write(&file, "{ not json").unwrap();
    let (status, err) = app.call(Method::GET, "/api/config/models", None).await;
    assert_eq!(status, 400, "{err}");
    assert!(
        err["message"]
            .as_str()
            .unwrap()
            .starts_with("Invalid JSON in models.json")
    );
    let (status, _) = app
        .call(
            Method::POST,
            "/api/config/models/providers",
            Some(&json!({"id": "x", "name": "X"})),
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "{ not json");
    let (status, models) = app.call(Method::GET, "/api/models", None).await;
    assert_eq!(status, 200, "chat still has the built-in catalog");
    assert!(!models["models"].as_array().unwrap().is_empty());
}
