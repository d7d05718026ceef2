//! Unit tests of the catalog: usability, defaults, resolution with variants, models.json as
//! the original writes it, and editing.

use serde_json::json;

use super::edit::{CatalogError, ModelPatch};
use super::*;

fn keys(providers: &[&str]) -> LlmSettings {
    let mut llm = LlmSettings::default();
    for p in providers {
        llm.api_keys.insert(key_slot(p), Secret::new("k"));
    }
    llm
}

#[test]
fn the_builtin_catalog_is_valid_and_current() {
    let reg = Registry::builtin();
    assert_eq!(reg.problems(), Vec::<String>::new());
    let ids: Vec<&str> = reg.providers.iter().map(|p| p.id.as_str()).collect();
    for want in [
        "deepseek",
        "minimax",
        "zhipu-coding",
        "codex",
        "openai",
        "openrouter",
        "zhipu",
    ] {
        assert!(ids.contains(&want), "{want} missing from {ids:?}");
    }
    assert_eq!(
        (reg.default_model.as_str(), reg.default_provider.as_str()),
        ("MiniMax-M3", "minimax")
    );
    let (_, m3) = reg.find_model("MiniMax-M3", None).unwrap();
    assert_eq!(m3.capabilities.as_ref().unwrap()["input"]["image"], true);
    assert!(m3.variants.as_ref().unwrap().get("Adaptive").is_some());
}

#[test]
fn only_models_of_supported_providers_with_a_key_are_usable() {
    let reg = Registry::builtin();
    let body = reg.models_response(&keys(&["deepseek", "zhipu-coding", "codex"]));
    for m in body["models"].as_array().unwrap() {
        let p = m["providerId"].as_str().unwrap();
        let usable = p == "deepseek" || p == "zhipu-coding";
        assert_eq!(m["runtimeStatus"]["usable"], usable, "{p} {}", m["id"]);
        assert_eq!(
            m["runtimeStatus"]["providerSupported"],
            p != "codex",
            "codex needs a ChatGPT sign-in this server does not do"
        );
        for field in ["id", "name", "contextWindow", "tier", "providerName"] {
            assert!(m.get(field).is_some(), "{} lacks {field}", m["id"]);
        }
    }
}

#[test]
fn the_default_follows_the_usable_providers() {
    let reg = Registry::builtin();
    for (label, configured, want) in [
        (
            "default provider has a key",
            vec!["minimax", "openai"],
            ("MiniMax-M3", "minimax"),
        ),
        (
            "only another provider",
            vec!["openai"],
            ("gpt-5.6-sol", "openai"),
        ),
        (
            "only codex, which is unsupported",
            vec!["codex"],
            ("MiniMax-M3", "minimax"),
        ),
        ("none configured", vec![], ("MiniMax-M3", "minimax")),
    ] {
        let (m, p) = reg.default_choice(&keys(&configured));
        assert_eq!((m.as_str(), p.as_str()), want, "{label}");
    }
}

#[test]
fn resolve_names_the_missing_key_and_honours_the_base_url_override() {
    let reg = Registry::builtin();
    let err = reg
        .resolve(&keys(&[]), Some("glm-5"), Some("zhipu-coding"))
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "No API key configured for provider: zhipu-coding. Set JEAN2_LLM_ZHIPU_CODING_API_KEY"
    );
    let mut llm = keys(&["openai"]);
    let r = reg.resolve(&llm, Some("gpt-5.4"), None).unwrap();
    assert_eq!(
        (r.provider_id.as_str(), r.base_url.as_str()),
        ("openai", "https://api.openai.com/v1")
    );
    assert_eq!(r.context_window, Some(1_050_000));
    llm.base_url = Some("http://127.0.0.1:9/v1".into());
    let r = reg.resolve(&llm, None, Some("openai")).unwrap();
    assert_eq!(r.base_url, "http://127.0.0.1:9/v1");
    assert!(matches!(
        reg.resolve(&llm, None, Some("nope")),
        Err(ResolveError::UnknownProvider(_))
    ));
    let err = reg
        .resolve(&keys(&["codex"]), Some("gpt-5.5"), Some("codex"))
        .unwrap_err();
    assert!(err.to_string().contains("no API endpoint"), "{err}");
}

#[test]
fn a_selected_variant_becomes_request_options() {
    let reg = Registry::builtin();
    let llm = keys(&["deepseek", "openai"]);
    let r = reg
        .resolve_variant(&llm, Some("deepseek-v4-pro"), Some("deepseek"), Some("max"))
        .unwrap();
    assert_eq!(
        Value::Object(r.options),
        json!({"thinking": {"type": "adaptive"}, "reasoning_effort": "max"})
    );
    let r = reg
        .resolve_variant(&llm, Some("gpt-5.4"), Some("openai"), Some("high"))
        .unwrap();
    assert_eq!(
        Value::Object(r.options),
        json!({"reasoning_effort": "high"}),
        "Responses-only options are left out"
    );
    let r = reg
        .resolve_variant(&llm, Some("gpt-5.4"), Some("openai"), None)
        .unwrap();
    assert!(r.options.is_empty());
}

#[test]
fn a_title_uses_a_usable_model() {
    let reg = Registry::builtin();
    let llm = keys(&["openai"]);
    let r = reg
        .usable_model(&llm, Some(("MiniMax-M3", "minimax")))
        .unwrap();
    assert_eq!(r.provider_id, "openai", "the preferred one has no key");
    let r = reg.usable_model(&llm, Some(("gpt-5.4", "openai"))).unwrap();
    assert_eq!(r.model_id, "gpt-5.4");
    assert!(reg.usable_model(&keys(&[]), None).is_none());
}

#[tokio::test]
async fn models_json_is_the_whole_catalog_and_a_bad_file_is_ignored() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("models.json"),
        r#"{"providers":[{"id":"local","name":"Local","baseUrl":"http://localhost:11434/v1",
            "models":[{"id":"llama3","name":"Llama 3","contextWindow":8192,"tier":"budget"}]},
            {"id":"deepseek","name":"DeepSeek","models":[{"id":"deepseek-v4-flash","name":"V4 Flash",
             "contextWindow":1000000,"tier":"budget","futureField":1}]}],
            "defaultModel":"llama3","defaultProvider":"local"}"#,
    )
    .unwrap();
    let reg = Registry::load(dir.path()).await;
    assert_eq!(reg.providers.len(), 2);
    let (m, p) = reg.default_choice(&keys(&["local"]));
    assert_eq!((m.as_str(), p.as_str()), ("llama3", "local"));
    let body = reg.models_response(&keys(&["deepseek"]));
    assert_eq!(
        body["models"][1]["runtimeStatus"]["usable"], true,
        "built-in URL implied"
    );
    assert_eq!(
        body["models"][1]["futureField"], 1,
        "unknown fields survive"
    );
    std::fs::write(dir.path().join("models.json"), "{oops").unwrap();
    assert_eq!(Registry::load(dir.path()).await, Registry::builtin());
}

#[test]
fn edits_follow_the_original_rules() {
    let mut reg = Registry::builtin();
    assert_eq!(
        reg.add_provider("openai", "Again", None),
        Err(CatalogError::Conflict(
            "Provider with id \"openai\" already exists".into()
        ))
    );
    reg.add_provider("local", "Local", Some("http://127.0.0.1:8080/v1".into()))
        .unwrap();
    let model: Model = serde_json::from_value(
        json!({"id": "qwen", "name": "Qwen", "contextWindow": 32768, "tier": "budget"}),
    )
    .unwrap();
    reg.add_model("local", model.clone()).unwrap();
    assert!(matches!(
        reg.add_model("local", model),
        Err(CatalogError::Conflict(_))
    ));
    reg.update_model(
        "local",
        "qwen",
        ModelPatch {
            name: Some("Qwen 3".into()),
            ..ModelPatch::default()
        },
    )
    .unwrap();
    assert_eq!(reg.find_model("qwen", None).unwrap().1.name, "Qwen 3");
    assert_eq!(
        reg.remove_model("minimax", "MiniMax-M3")
            .unwrap_err()
            .to_string(),
        "Cannot delete model \"MiniMax-M3\" because it is set as the default model"
    );
    assert!(matches!(
        reg.remove_provider("minimax"),
        Err(CatalogError::Invalid(..))
    ));
    assert_eq!(
        reg.remove_provider("nope").unwrap_err().to_string(),
        "Provider not found: nope"
    );
    reg.set_defaults("qwen", "local").unwrap();
    reg.remove_provider("minimax").unwrap();
    assert!(reg.set_defaults("MiniMax-M3", "minimax").is_err());
    assert_eq!(reg.check(), Ok(()));
    let report = reg.sync_with(Registry::builtin(), false);
    assert_eq!(report.added_providers, vec!["minimax"]);
    assert_eq!(reg.default_model, "qwen", "merge keeps the defaults");
}

#[test]
fn a_malformed_document_is_refused_with_every_problem() {
    let mut reg = Registry::builtin();
    reg.providers[0].models[0].tier = "cheap".into();
    reg.providers[0].base_url = Some("ftp://x".into());
    reg.default_model = "nope".into();
    let CatalogError::Invalid(msg, problems) = reg.check().unwrap_err() else {
        panic!("not invalid")
    };
    assert_eq!(msg, "Invalid models configuration");
    assert_eq!(problems.len(), 3, "{problems:?}");
}
