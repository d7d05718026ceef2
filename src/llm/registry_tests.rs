//! Unit tests of the model registry: usability, defaults, resolution, models.json.

use super::*;

fn keys(providers: &[&str]) -> LlmSettings {
    let mut llm = LlmSettings::default();
    for p in providers {
        llm.api_keys.insert((*p).into(), Secret::new("k"));
    }
    llm
}

#[test]
fn only_models_of_configured_providers_are_usable() {
    let body = Registry::builtin().models_response(&keys(&["deepseek"]));
    for m in body["models"].as_array().unwrap() {
        let want = m["providerId"] == "deepseek";
        assert_eq!(m["runtimeStatus"]["usable"], want, "{}", m["id"]);
        assert_eq!(
            m["runtimeStatus"]["providerConfigured"], want,
            "{}",
            m["id"]
        );
        for field in ["id", "name", "contextWindow", "tier", "providerName"] {
            assert!(m.get(field).is_some(), "{} lacks {field}", m["id"]);
        }
    }
}

#[test]
fn the_default_follows_the_configured_providers() {
    let reg = Registry::builtin();
    for (label, configured, want) in [
        (
            "default provider has a key",
            vec!["minimax", "openai"],
            ("MiniMax-M2", "minimax"),
        ),
        (
            "only another provider",
            vec!["deepseek"],
            ("deepseek-chat", "deepseek"),
        ),
        ("none configured", vec![], ("MiniMax-M2", "minimax")),
    ] {
        let (m, p) = reg.default_choice(&keys(&configured));
        assert_eq!((m.as_str(), p.as_str()), want, "{label}");
    }
}

#[test]
fn resolve_names_the_missing_key_and_honours_the_base_url_override() {
    let reg = Registry::builtin();
    let err = reg
        .resolve(&keys(&[]), Some("gpt-4o"), Some("openai"))
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "No API key configured for provider: openai. Set JEAN2_LLM_OPENAI_API_KEY"
    );
    let mut llm = keys(&["openai"]);
    let r = reg.resolve(&llm, Some("gpt-4o"), None).unwrap();
    assert_eq!(
        (r.provider_id.as_str(), r.base_url.as_str()),
        ("openai", "https://api.openai.com/v1")
    );
    llm.base_url = Some("http://127.0.0.1:9/v1".into());
    let r = reg.resolve(&llm, None, None).unwrap();
    assert_eq!(
        (r.model_id.as_str(), r.base_url.as_str()),
        ("gpt-4o-mini", "http://127.0.0.1:9/v1")
    );
    assert!(matches!(
        reg.resolve(&llm, None, Some("nope")),
        Err(ResolveError::UnknownProvider(_))
    ));
}

#[tokio::test]
async fn models_json_replaces_and_adds_providers_and_a_bad_file_is_ignored() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("models.json"),
        r#"{"providers":[{"id":"local","name":"Local","baseUrl":"http://localhost:11434/v1",
            "models":[{"id":"llama3","name":"Llama 3","contextWindow":8192,"tier":"budget"}]}],
            "defaultModel":"llama3","defaultProvider":"local"}"#,
    )
    .unwrap();
    let reg = Registry::load(dir.path()).await;
    assert_eq!(reg.providers.len(), 6);
    let (m, p) = reg.default_choice(&keys(&["local"]));
    assert_eq!((m.as_str(), p.as_str()), ("llama3", "local"));
    std::fs::write(dir.path().join("models.json"), "{oops").unwrap();
    assert_eq!(Registry::load(dir.path()).await, Registry::builtin());
}
