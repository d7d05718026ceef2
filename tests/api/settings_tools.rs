//! Settings → Prompts, Tools and Environment (`PROTOCOL-AGENT.md` §14.3, §8.6): prompt files
//! edited from the client and read back after a restart; the built-in tools with their input
//! schemas; tool variables in `.env`, secrets masked, the server's own settings refused.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::*;

#[tokio::test]
async fn prompts_are_markdown_files_edited_from_the_client() {
    let app = spawn_app().await;
    let (status, body) = app.call(Method::GET, "/api/prompts", None).await;
    assert_eq!((status, body), (200, json!({"prompts": []})));
    let create = json!({"name": "code-review", "content": "# Review code\nFind the bugs."});
    let (status, body) = app
        .call(Method::POST, "/api/config/prompts", Some(&create))
        .await;
    assert_eq!(
        (status, body),
        (
            201,
            json!({"name": "code-review", "description": "Review code", "content": "Find the bugs."})
        )
    );
    let file = app.data_dir.path().join("prompts/code-review.md");
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        "# Review code\nFind the bugs."
    );
    let (status, body) = app
        .call(Method::POST, "/api/config/prompts", Some(&create))
        .await;
    assert_eq!(
        (status, body["message"].clone()),
        (409, json!("Prompt already exists: code-review"))
    );
    let (status, body) = app
        .call(
            Method::PUT,
            "/api/config/prompts/code-review",
            Some(&json!({"content": "Plain text prompt"})),
        )
        .await;
    assert_eq!(
        (status, body["description"].clone()),
        (200, json!("Plain text prompt"))
    );

    let settings = app.settings.clone();
    let app = spawn_on(app.stop().await, settings).await;
    let (_, list) = app.call(Method::GET, "/api/config/prompts", None).await;
    assert_eq!(list["prompts"][0]["content"], "Plain text prompt");
    let (status, one) = app
        .call(Method::GET, "/api/config/prompts/code-review", None)
        .await;
    assert_eq!(
        (status, one["name"].clone()),
        (200, json!("code-review")),
        "not wrapped"
    );

    for (method, path, body, want, label) in [
        (
            Method::POST,
            "/api/config/prompts",
            json!({"name": "Bad Name", "content": "x"}),
            json!("Invalid prompt name: Bad Name"),
            "name",
        ),
        (
            Method::POST,
            "/api/config/prompts",
            json!({"name": "ok", "content": "  "}),
            json!("Prompt content is required"),
            "empty",
        ),
        (
            Method::POST,
            "/api/config/prompts",
            json!({"name": "ok"}),
            json!("Validation failed"),
            "no content",
        ),
        (
            Method::PUT,
            "/api/config/prompts/nope",
            json!({"content": "x"}),
            json!("Prompt not found: nope"),
            "unknown",
        ),
    ] {
        let (status, answer) = app.call(method, path, Some(&body)).await;
        assert_eq!(answer["message"], want, "{label}: {answer}");
        assert_eq!(
            status,
            if label == "unknown" { 404 } else { 400 },
            "{label}"
        );
    }
    let (status, body) = app
        .call(Method::DELETE, "/api/config/prompts/code-review", None)
        .await;
    assert_eq!((status, body), (200, json!({"success": true})));
    assert_eq!(
        app.call(Method::DELETE, "/api/config/prompts/code-review", None)
            .await
            .0,
        404
    );
}

#[tokio::test]
async fn the_tools_panel_lists_the_built_in_tools_with_their_schemas() {
    let app = spawn_app().await;
    let (status, body) = app.call(Method::GET, "/api/tools", None).await;
    assert_eq!(status, 200);
    let tools = body["tools"].as_array().unwrap();
    let names: Vec<&str> = tools.iter().map(|t| t["name"].as_str().unwrap()).collect();
    for want in [
        "read-file",
        "write-file",
        "edit",
        "shell",
        "webfetch",
        "todowrite",
    ] {
        assert!(names.contains(&want), "{want} in {names:?}");
    }
    for t in tools {
        assert_eq!(t["inputSchema"]["type"], "object", "{}", t["name"]);
        assert!(t["description"].as_str().is_some_and(|d| !d.is_empty()));
    }
    let (status, one) = app.call(Method::GET, "/api/tools/grep", None).await;
    assert_eq!(
        (status, one["tool"]["definition"]["name"].clone()),
        (200, json!("grep"))
    );
    let (status, body) = app.call(Method::GET, "/api/tools/nope", None).await;
    assert_eq!(
        (status, body["message"].clone()),
        (404, json!("Tool not found"))
    );
    let (_, info) = app.call(Method::GET, "/api/info", None).await;
    assert_eq!(info["features"]["tools"], true);
}

fn var<'a>(list: &'a Value, key: &str) -> Option<&'a Value> {
    list["envVars"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["key"] == key)
}

#[tokio::test]
async fn tool_variables_live_in_env_with_secrets_masked() {
    let app = spawn_app().await;
    let env = app.data_dir.path().join(".env");
    std::fs::write(
        &env,
        "JEAN2_AUTH_TOKEN=owner-secret\nJEAN2_LLM_OPENAI_API_KEY=sk-x\nREGION=eu\n",
    )
    .unwrap();
    let (status, list) = app.call(Method::GET, "/api/tools/env", None).await;
    assert_eq!(status, 200);
    let keys: Vec<&str> = list["envVars"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["key"].as_str().unwrap())
        .collect();
    assert_eq!(
        keys,
        [
            "JEAN2_GMAIL_CLIENT_ID",
            "JEAN2_GMAIL_CLIENT_SECRET",
            "REGION"
        ]
    );
    assert_eq!(var(&list, "REGION").unwrap()["value"], "eu");
    assert_eq!(
        var(&list, "JEAN2_GMAIL_CLIENT_SECRET").unwrap()["sensitive"],
        true
    );

    let (status, body) = app
        .call(
            Method::PUT,
            "/api/tools/env/TAVILY_API_KEY",
            Some(&json!({"value": " tvly-123 "})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["envVar"],
        json!({"key": "TAVILY_API_KEY", "configured": true, "sensitive": true, "source": "custom"})
    );
    assert!(
        std::fs::read_to_string(&env)
            .unwrap()
            .ends_with("REGION=eu\nTAVILY_API_KEY=tvly-123\n")
    );
    let (_, list) = app.call(Method::GET, "/api/tools/env", None).await;
    let tavily = var(&list, "TAVILY_API_KEY").unwrap();
    assert!(
        tavily.get("value").is_none(),
        "a secret is never shown: {tavily}"
    );

    for (key, body, label) in [
        (
            "JEAN2_AUTH_TOKEN",
            json!({"value": "mine"}),
            "the server's own setting",
        ),
        ("BAD-NAME", json!({"value": "v"}), "not a variable name"),
        ("REGION", json!({"value": ""}), "empty value"),
        (
            "REGION",
            json!({"value": "a\nJEAN2_AUTH_TOKEN=x"}),
            "newline",
        ),
    ] {
        let (status, answer) = app
            .call(Method::PUT, &format!("/api/tools/env/{key}"), Some(&body))
            .await;
        assert_eq!(
            (status, answer["error"].clone()),
            (400, json!("bad_request")),
            "{label}: {answer}"
        );
    }
    assert!(
        std::fs::read_to_string(&env)
            .unwrap()
            .starts_with("JEAN2_AUTH_TOKEN=owner-secret\n")
    );

    let (status, body) = app
        .call(Method::DELETE, "/api/tools/env/TAVILY_API_KEY", None)
        .await;
    assert_eq!(
        (status, body["envVar"]["configured"].clone()),
        (200, json!(false))
    );
    let (_, list) = app.call(Method::GET, "/api/tools/env", None).await;
    assert!(var(&list, "TAVILY_API_KEY").is_none());
}
