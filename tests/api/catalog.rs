//! Models, preconfigs and the tier-B empty answers.

use reqwest::Method;
use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn models_are_usable_only_for_providers_with_a_key() {
    let app = spawn_app_with(|s| {
        s.llm
            .api_keys
            .insert("deepseek".into(), jean2::config::Secret::new("sk-test"));
    })
    .await;
    let (status, body) = app.call(Method::GET, "/api/models", None).await;
    assert_eq!(status, 200);
    let models = body["models"].as_array().unwrap();
    let providers: std::collections::BTreeSet<&str> = models
        .iter()
        .map(|m| m["providerId"].as_str().unwrap())
        .collect();
    assert_eq!(
        providers.into_iter().collect::<Vec<_>>(),
        vec![
            "codex",
            "deepseek",
            "minimax",
            "openai",
            "openrouter",
            "zhipu",
            "zhipu-coding"
        ]
    );
    for m in models {
        let usable = m["providerId"] == "deepseek";
        let supported = m["providerId"] != "codex";
        assert_eq!(
            m["runtimeStatus"],
            json!({"providerSupported": supported, "providerConfigured": usable, "usable": usable}),
            "{}",
            m["id"]
        );
    }
    assert_eq!(
        (
            body["defaultModel"].as_str(),
            body["defaultProvider"].as_str()
        ),
        (Some("deepseek-v4-pro"), Some("deepseek"))
    );
    assert!(
        !body.to_string().contains("sk-test"),
        "the key never leaves the server"
    );
}

#[tokio::test]
async fn models_json_in_the_data_dir_is_the_catalog() {
    let app = spawn_app_with(|s| {
        s.llm
            .api_keys
            .insert("local".into(), jean2::config::Secret::new("k"));
    })
    .await;
    std::fs::write(
        app.data_dir.path().join("models.json"),
        r#"{"providers":[{"id":"local","name":"Local","baseUrl":"http://127.0.0.1:11434/v1",
           "models":[{"id":"llama3","name":"Llama 3","contextWindow":8192,"tier":"budget"}]}]}"#,
    )
    .unwrap();
    let (_, body) = app.call(Method::GET, "/api/models", None).await;
    let local: Vec<_> = body["models"].as_array().unwrap().iter().collect();
    assert_eq!(
        local.len(),
        1,
        "the file replaces the built-in catalog: {body}"
    );
    assert_eq!(local[0]["runtimeStatus"]["usable"], true);
    assert_eq!(
        body["defaultModel"], "llama3",
        "the first usable model when the default's provider has no key"
    );
}

#[tokio::test]
async fn preconfigs_include_the_builtins_and_user_files() {
    let app = spawn_app().await;
    let dir = app.data_dir.path().join("preconfigs");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("mine.json"),
        r#"{"id":"writer","name":"Writer","systemPrompt":"Write."}"#,
    )
    .unwrap();
    std::fs::write(dir.join("broken.json"), "{").unwrap();
    let (status, body) = app.call(Method::GET, "/api/preconfigs", None).await;
    assert_eq!(status, 200);
    let list = body["preconfigs"].as_array().unwrap();
    let ids: Vec<&str> = list.iter().map(|p| p["id"].as_str().unwrap()).collect();
    assert_eq!(
        ids,
        vec!["general", "code", "code-planning", "explore", "writer"]
    );
    let general = &list[0];
    for field in [
        "name",
        "description",
        "systemPrompt",
        "tools",
        "model",
        "provider",
        "variant",
        "settings",
        "isDefault",
        "mode",
        "canSpawnSubagents",
    ] {
        assert!(general.get(field).is_some(), "general lacks {field}");
    }
    assert_eq!(
        (general["isDefault"].as_bool(), general["mode"].as_str()),
        (Some(true), Some("primary"))
    );
}

#[tokio::test]
async fn tier_b_endpoints_answer_their_empty_shapes() {
    let app = spawn_app_with_token().await;
    let ws: serde_json::Value = app
        .get_auth("/api/workspaces", TOKEN)
        .await
        .json()
        .await
        .unwrap();
    let w = ws["workspaces"][0]["id"].as_str().unwrap().to_owned();
    let cases = [
        ("/api/prompts".to_owned(), json!({"prompts": []})),
        ("/api/providers".to_owned(), json!({"providers": []})),
        ("/api/agents".to_owned(), json!({"agents": []})),
        (
            format!("/api/sessions/tags?workspaceId={w}"),
            json!({"tags": []}),
        ),
        (
            format!("/api/workspaces/{w}/scheduled-jobs"),
            json!({"jobs": []}),
        ),
        (
            format!("/api/workspaces/{w}/pinned-messages"),
            json!({"pinnedMessages": []}),
        ),
        ("/api/fs/drives".to_owned(), json!({"drives": ["/"]})),
        ("/api/response-formats".to_owned(), json!({"formats": []})),
        // The file tree and git status are real now: tests/api/files.
    ];
    for (path, want) in cases {
        let res = app.get_auth(&path, TOKEN).await;
        assert_eq!(res.status(), 200, "{path}");
        assert_eq!(res.headers()["content-type"], "application/json", "{path}");
        assert_eq!(
            res.json::<serde_json::Value>().await.unwrap(),
            want,
            "{path}"
        );
        assert_eq!(app.get(&path).await.status(), 401, "{path} needs the token");
    }
    let res = app.get_auth("/api/sessions/tags", TOKEN).await;
    assert_eq!(res.status(), 400, "tags without workspaceId");
}
