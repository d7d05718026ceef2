//! Settings → Preconfigs (`PROTOCOL-AGENT.md` §14.4, §16.4) driven with the bodies the client
//! sends: create, edit, duplicate and delete, stored as `<id>.md` and still there after a
//! restart; the default cannot be deleted; a file with malformed front matter is a clear 400.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::*;

/// What the client's editor sends on save.
fn form(name: &str, prompt: &str) -> Value {
    json!({"name": name, "description": "Reviews code", "systemPrompt": prompt, "mode": "primary",
           "model": null, "provider": null, "variant": null, "tools": ["read-file", "grep"],
           "settings": {"temperature": 0.4}, "canSpawnSubagents": false,
           "allowSelfAsSubagent": false, "skills": null, "isDefault": false, "format": "md"})
}

#[tokio::test]
async fn preconfig_changes_from_the_client_are_files_that_survive_a_restart() {
    let app = spawn_app().await;
    let (status, body) = app
        .call(
            Method::POST,
            "/api/preconfigs",
            Some(&form("Code Reviewer", "Review: be strict.")),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let p = &body["preconfig"];
    assert_eq!(
        (p["id"].as_str(), p["isDefault"].as_bool()),
        (Some("code-reviewer"), Some(false))
    );
    let file = app.data_dir.path().join("preconfigs/code-reviewer.md");
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.starts_with("---\nname: Code Reviewer\n"), "{text}");
    assert!(text.ends_with("---\n\nReview: be strict.\n"), "{text}");

    let (status, body) = app
        .call(
            Method::PUT,
            "/api/preconfigs/code-reviewer",
            Some(&form("Code Reviewer", "Be kind.")),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["preconfig"]["systemPrompt"], "Be kind.");
    let (status, dup) = app
        .call(
            Method::POST,
            "/api/preconfigs",
            Some(&form("Code Reviewer Copy", "Be kind.")),
        )
        .await;
    assert_eq!(
        (status, dup["preconfig"]["id"].as_str()),
        (201, Some("code-reviewer-copy"))
    );

    let settings = app.settings.clone();
    let dir = app.stop().await;
    let app = spawn_on(dir, settings).await;
    let (_, list) = app.call(Method::GET, "/api/preconfigs", None).await;
    let names: Vec<&str> = list["preconfigs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "General",
            "Code",
            "Code Planning",
            "Code Reviewer",
            "Code Reviewer Copy",
            "Explore"
        ]
    );
    let (status, one) = app
        .call(Method::GET, "/api/preconfigs/code-reviewer", None)
        .await;
    assert_eq!(
        (status, one["preconfig"]["systemPrompt"].as_str()),
        (200, Some("Be kind."))
    );
    assert_eq!(one["preconfig"]["settings"], json!({"temperature": 0.4}));

    let (status, body) = app
        .call(Method::DELETE, "/api/preconfigs/code-reviewer", None)
        .await;
    assert_eq!((status, body), (200, json!({"success": true})));
    assert!(
        !app.data_dir
            .path()
            .join("preconfigs/code-reviewer.md")
            .exists()
    );
    let (status, body) = app
        .call(Method::GET, "/api/preconfigs/code-reviewer", None)
        .await;
    assert_eq!(
        (status, body),
        (
            404,
            json!({"error": "not_found", "message": "Preconfig not found"})
        )
    );
}

#[tokio::test]
async fn bad_preconfig_requests_get_clear_answers() {
    let app = spawn_app().await;
    let (status, body) = app
        .call(Method::DELETE, "/api/preconfigs/general", None)
        .await;
    assert_eq!(
        (status, body),
        (
            403,
            json!({"error": "forbidden", "message": "Cannot delete default preconfig: general"})
        )
    );
    let (status, body) = app
        .call(
            Method::PUT,
            "/api/preconfigs/code",
            Some(&json!({"description": "no name"})),
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(
        body,
        json!({"error": "bad_request", "message": "Invalid preconfig data",
               "details": ["name must be a non-empty string"]})
    );
    let (status, body) = app
        .call(
            Method::PUT,
            "/api/preconfigs/code",
            Some(&json!({"name": "Code", "isDefault": true})),
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(
        body["details"],
        json!(["Cannot set as default: \"General\" is already the default. Unset it first."])
    );
    let (status, body) = app
        .call(Method::PUT, "/api/preconfigs/nope", Some(&form("N", "")))
        .await;
    assert_eq!(
        (status, body["message"].clone()),
        (404, json!("Preconfig not found: nope"))
    );

    std::fs::write(
        app.data_dir.path().join("preconfigs/broken.md"),
        "---\nname: Broken\ntools: [read-file\n---\nHello",
    )
    .unwrap();
    let (status, list) = app.call(Method::GET, "/api/preconfigs", None).await;
    assert_eq!(status, 200);
    assert!(!list.to_string().contains("Broken"));
    let (status, body) = app.call(Method::GET, "/api/preconfigs/broken", None).await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("malformed front matter"),
        "{body}"
    );
    let (status, _) = app
        .call(
            Method::PUT,
            "/api/preconfigs/broken",
            Some(&form("Broken", "x")),
        )
        .await;
    assert_eq!(status, 400, "a broken file is not overwritten");
    assert_eq!(
        app.call(Method::DELETE, "/api/preconfigs/broken", None)
            .await
            .0,
        200
    );
}
