//! Settings → Credentials (`PROTOCOL-AGENT.md` §14.1): a key set from the client goes into
//! `.env` (0600, other lines kept) and works at once, never comes back; a failed write loses
//! nothing; only the owner changes configuration.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use reqwest::Method;
use serde_json::{Value, json};

use crate::chat::{find, recv_turn, send_chat, use_fake};
use crate::fake_llm::FakeLlm;
use crate::helpers::*;
use crate::oauth_support::spawn_oauth;
use crate::oauth_users::{get, post};

/// Makes a folder unwritable while it lives: mode 0500 and, for root (whom modes do not stop),
/// the immutable attribute.
pub struct ReadOnlyDir<'a>(pub &'a Path);

impl<'a> ReadOnlyDir<'a> {
    pub fn new(dir: &'a Path) -> Self {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o500)).unwrap();
        let _ = std::process::Command::new("chattr")
            .arg("+i")
            .arg(dir)
            .stderr(std::process::Stdio::null())
            .status();
        assert!(
            std::fs::write(dir.join(".probe"), "x").is_err(),
            "cannot make {} read-only here (chattr missing?)",
            dir.display()
        );
        ReadOnlyDir(dir)
    }
}

impl Drop for ReadOnlyDir<'_> {
    fn drop(&mut self) {
        let _ = std::process::Command::new("chattr")
            .arg("-i")
            .arg(self.0)
            .stderr(std::process::Stdio::null())
            .status();
        let _ = std::fs::set_permissions(self.0, std::fs::Permissions::from_mode(0o700));
    }
}

fn usable(models: &Value, provider: &str) -> Vec<bool> {
    models["models"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["providerId"] == provider)
        .map(|m| m["runtimeStatus"]["usable"].as_bool().unwrap())
        .collect()
}

#[tokio::test]
async fn a_key_set_from_the_client_is_saved_privately_and_works_without_a_restart() {
    let app = spawn_app().await;
    let env = app.data_dir.path().join(".env");
    std::fs::write(&env, "# my settings\nJEAN2_LLM_MAX_STEPS=12\n").unwrap();
    let (status, list) = app.call(Method::GET, "/api/config/providers", None).await;
    assert_eq!(status, 200);
    let names: Vec<&str> = list["providers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["provider"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "minimax",
            "openai",
            "openrouter",
            "zhipu",
            "zhipu-coding",
            "deepseek"
        ]
    );
    let (_, models) = app.call(Method::GET, "/api/models", None).await;
    assert!(usable(&models, "openai").iter().all(|u| !u));

    let key = "sk-proj-live-key-123";
    let (status, body) = app
        .call(
            Method::PUT,
            "/api/config/providers/openai",
            Some(&json!({"apiKey": format!("  {key} ")})),
        )
        .await;
    assert_eq!(
        (status, &body),
        (200, &json!({"provider": "openai", "configured": true}))
    );
    assert_eq!(
        std::fs::read_to_string(&env).unwrap(),
        format!("# my settings\nJEAN2_LLM_MAX_STEPS=12\nJEAN2_LLM_OPENAI_API_KEY={key}\n")
    );
    assert_eq!(
        std::fs::metadata(&env).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let (_, models) = app.call(Method::GET, "/api/models", None).await;
    assert!(!usable(&models, "openai").is_empty());
    assert!(usable(&models, "openai").iter().all(|u| *u), "{models}");
    let (_, list) = app.call(Method::GET, "/api/config/providers", None).await;
    assert_eq!(
        list["providers"][1],
        json!({"provider": "openai", "configured": true})
    );
    for path in ["/api/config/providers", "/api/models", "/api/config/models"] {
        let text = app.get(path).await.text().await.unwrap();
        assert!(!text.contains(key), "{path} never shows the key");
    }
    assert!(!app.log.contents().contains(key), "the key is never logged");

    let (status, body) = app
        .call(Method::DELETE, "/api/config/providers/openai", None)
        .await;
    assert_eq!(
        (status, body),
        (200, json!({"provider": "openai", "configured": false}))
    );
    assert_eq!(
        std::fs::read_to_string(&env).unwrap(),
        "# my settings\nJEAN2_LLM_MAX_STEPS=12\n"
    );
    let (_, models) = app.call(Method::GET, "/api/models", None).await;
    assert!(
        usable(&models, "openai").iter().all(|u| !u),
        "a removed key stops at once"
    );
}

#[tokio::test]
async fn the_next_chat_turn_uses_a_key_set_from_the_client() {
    let fake = FakeLlm::start().await;
    let app = spawn_app_with(|s| {
        use_fake(s, &fake);
        s.llm.api_keys.clear();
    })
    .await;
    let (mut ws, sid) = crate::chat::client_with_session(&app).await;
    send_chat(&mut ws, &sid, "hello").await;
    let refused = ws.recv_json().await;
    assert_eq!(refused["code"], "no_api_key", "{refused}");

    let (status, _) = app
        .call(
            Method::PUT,
            "/api/config/providers/openai",
            Some(&json!({"apiKey": "sk-new"})),
        )
        .await;
    assert_eq!(status, 200);
    send_chat(&mut ws, &sid, "hello again").await;
    let events = recv_turn(&mut ws).await;
    let done = find(&events, "message.updated");
    assert_eq!(done["message"]["status"], "completed", "{done}");
    assert_eq!(fake.requests().len(), 1);
}

#[tokio::test]
async fn bad_credentials_requests_are_refused_and_change_nothing() {
    let app = spawn_app().await;
    let env = app.data_dir.path().join(".env");
    std::fs::write(&env, "A=1\n").unwrap();
    for (method, path, body, want, label) in [
        (
            Method::PUT,
            "/api/config/providers/anthropic",
            json!({"apiKey": "k"}),
            404,
            "unknown provider",
        ),
        (
            Method::DELETE,
            "/api/config/providers/anthropic",
            Value::Null,
            404,
            "unknown provider (delete)",
        ),
        (
            Method::PUT,
            "/api/config/providers/openai",
            json!({"apiKey": ""}),
            400,
            "empty key",
        ),
        (
            Method::PUT,
            "/api/config/providers/openai",
            json!({"apiKey": null}),
            400,
            "null key",
        ),
        (
            Method::PUT,
            "/api/config/providers/openai",
            json!({}),
            400,
            "no key",
        ),
        (
            Method::PUT,
            "/api/config/providers/openai",
            json!({"apiKey": "sk-1\nJEAN2_AUTH_TOKEN=x"}),
            400,
            "newline",
        ),
        (
            Method::PUT,
            "/api/config/providers/openai",
            json!({"apiKey": "sk-1\u{1b}[0m"}),
            400,
            "escape",
        ),
    ] {
        let body = (!body.is_null()).then_some(&body);
        let (status, answer) = app.call(method, path, body).await;
        assert_eq!(status, want, "{label}: {answer}");
        let code = if want == 404 {
            "not_found"
        } else {
            "bad_request"
        };
        assert_eq!(answer["error"], code, "{label}");
    }
    let (_, answer) = app
        .call(
            Method::PUT,
            "/api/config/providers/anthropic",
            Some(&json!({"apiKey": "k"})),
        )
        .await;
    assert_eq!(answer["message"], "provider not found: anthropic");
    assert_eq!(std::fs::read_to_string(&env).unwrap(), "A=1\n");
}

#[tokio::test]
async fn a_failed_write_of_env_loses_nothing() {
    let app = spawn_app_with(|s| {
        s.llm
            .api_keys
            .insert("deepseek".into(), jean2::config::Secret::new("sk-old"));
    })
    .await;
    let env = app.data_dir.path().join(".env");
    let old = "# keep\nJEAN2_LLM_DEEPSEEK_API_KEY=sk-old\n";
    std::fs::write(&env, old).unwrap();
    let (status, body) = {
        let _ro = ReadOnlyDir::new(app.data_dir.path());
        app.call(
            Method::PUT,
            "/api/config/providers/openai",
            Some(&json!({"apiKey": "sk-new"})),
        )
        .await
    };
    assert_eq!(status, 500, "{body}");
    assert_eq!(body["error"], "persistence_error");
    assert!(!body.to_string().contains("sk-new"));
    assert_eq!(std::fs::read_to_string(&env).unwrap(), old);
    let (_, list) = app.call(Method::GET, "/api/config/providers", None).await;
    assert_eq!(
        list["providers"][1]["configured"], false,
        "not applied either"
    );
    assert_eq!(list["providers"][5]["configured"], true);
}

#[tokio::test]
async fn only_the_owner_changes_server_configuration() {
    let s = spawn_oauth().await;
    s.add_user("alice@example.com").await;
    let client = s.public_app(&[]).await;
    let alice = s.tokens_for(&client.client_id, "alice@example.com").await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let key = json!({"apiKey": "sk-user"});
    for (method, path, body) in [
        (Method::PUT, "/api/config/providers/openai", Some(&key)),
        (Method::DELETE, "/api/config/providers/openai", None),
        (
            Method::POST,
            "/api/config/models/providers",
            Some(&json!({"id": "x", "name": "X"})),
        ),
        (
            Method::PUT,
            "/api/config/models/defaults",
            Some(&json!({"defaultModel": "glm-5", "defaultProvider": "zhipu-coding"})),
        ),
    ] {
        let mut req = s
            .app
            .client
            .request(method.clone(), s.app.url(path))
            .bearer_auth(&alice);
        if let Some(b) = body {
            req = req.json(b);
        }
        let res = req.send().await.unwrap();
        assert_eq!(res.status(), 403, "{method} {path}");
    }
    let (status, list) = get(&s, &alice, "/api/config/providers").await;
    assert_eq!(
        (status, list["providers"][1]["configured"].clone()),
        (200, json!(false))
    );
    assert!(!s.app.data_dir.path().join(".env").exists());
    let (status, _) = post(
        &s,
        TOKEN,
        "/api/config/models/providers",
        json!({"id": "x", "name": "X"}),
    )
    .await;
    assert_eq!(status, 201, "the owner may");
}
