//! An existing `~/.jean2` of the original server carries over (issue 13, item 6, the files):
//! its `.env`, `config.json`, `models.json`, `preconfigs/*.md` (and `.json`, and the id
//! aliases) and `prompts/` are read as the original wrote them; reading changes none of them,
//! and the first change jean2 makes is preceded by a copy of them in `backups/original/`.

use std::collections::BTreeMap;
use std::path::Path;

use jean2::config::{CliOverrides, Settings, read_env_file};
use reqwest::Method;
use serde_json::json;

use crate::helpers::*;

/// Files as the original's `jean2 init` and its settings screens write them.
fn original_data_dir(d: &Path) -> BTreeMap<&'static str, String> {
    let mut files = BTreeMap::new();
    files.insert(
        "config.json",
        json!({"databasePath": d.join("data/agent.db"), "toolsPath": d.join("tools"),
               "port": 8742, "host": "0.0.0.0", "initializedAt": "2026-11-01T10:00:00.000Z"})
        .to_string(),
    );
    files.insert(
        ".env",
        "# Jean2 Environment Variables\n# Add your API keys and configuration here\n\n# LLM API Keys\n# JEAN2_LLM_OPENAI_API_KEY=your-openai-key\n\n# Agent Configuration\nJEAN2_LLM_MAX_STEPS=500\nJEAN2_LLM_SUBAGENT_MAX_STEPS=500\nJEAN2_LLM_DEEPSEEK_API_KEY=sk-original\n".into(),
    );
    let models = json!({"providers": [
        {"id": "deepseek", "name": "DeepSeek", "models": [
            {"id": "deepseek-v4-flash", "name": "DeepSeek V4 Flash", "contextWindow": 1000000,
             "maxOutputTokens": 384000, "tier": "budget",
             "variants": {"high": {"providerOptions": {"thinking": {"type": "adaptive"}, "reasoningEffort": "high"}}}}]},
        {"id": "openai", "name": "OpenAI", "models": [
            {"id": "gpt-5.4", "name": "GPT-5.4", "contextWindow": 1050000, "maxOutputTokens": 128000,
             "tier": "standard", "capabilities": {"input": {"text": true, "image": true}}}]}],
        "defaultModel": "deepseek-v4-flash", "defaultProvider": "deepseek"});
    files.insert(
        "models.json",
        serde_json::to_string_pretty(&models).unwrap(),
    );
    files.insert(
        "preconfigs/general.md",
        "---\nid: general\nname: General\ndescription: >\n  General-purpose agent for researching complex questions and executing\n  multi-step tasks.\ntools:\n  - read-file\n  - glob\n  - grep\n  - ls\n  - webfetch\nsettings:\n  temperature: 0.3\nisDefault: true\nmode: primary\ncanSpawnSubagents: true\n---\n\nYou are a general-purpose AI assistant.\n".into(),
    );
    // As the original's settings screen saves one (gray-matter over js-yaml).
    files.insert(
        "preconfigs/reviewer.md",
        "---\nname: Reviewer\ndescription: Reviews pull requests\ntools:\n  - read-file\n  - grep\nmodel: deepseek-v4-flash\nprovider: deepseek\nvariant: high\nsettings:\n  temperature: 0.4\nisDefault: false\nmode: primary\ncanSpawnSubagents: false\nallowSelfAsSubagent: false\nskills: null\n---\nYou review code: be precise.\n".into(),
    );
    files.insert(
        "preconfigs/writer.json",
        serde_json::to_string_pretty(&json!({"id": "writer", "name": "Writer", "description": "",
            "systemPrompt": "Write well.", "tools": null, "model": null, "provider": null,
            "variant": null, "settings": null, "isDefault": false, "allowSelfAsSubagent": false}))
        .unwrap(),
    );
    files.insert(
        "preconfigs/preconfig_aliases.json",
        json!({"7c9e6679-7425-40de-944b-e07fc1f90ae7": "reviewer"}).to_string(),
    );
    files.insert(
        "prompts/code-review.md",
        "# Review code\n\nCheck for bugs and style.\n".into(),
    );
    files.insert("AGENTS.md", "# Jean2 Global Instructions\n".into());
    for (name, text) in &files {
        let p = d.join(name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
    files
}

/// Start jean2 the way the binary does: settings from `.env`, then the environment.
async fn start_on(dir: tempfile::TempDir) -> TestApp {
    let file = read_env_file(&dir.path().join(".env"))
        .unwrap()
        .unwrap_or_default();
    let env = BTreeMap::from([("JEAN2_PORT".to_owned(), "0".to_owned())]);
    let (settings, report) =
        Settings::from_sources(dir.path().to_owned(), &file, &env, &CliOverrides::default())
            .unwrap();
    assert!(
        report.warnings.iter().all(|w| !w.contains("DEEPSEEK")),
        "{:?}",
        report.warnings
    );
    spawn_on(dir, settings).await
}

#[tokio::test]
async fn an_original_data_dir_shows_the_same_models_preconfigs_and_prompts() {
    let dir = tempfile::tempdir().unwrap();
    let files = original_data_dir(dir.path());
    let app = start_on(dir).await;
    let d = app.data_dir.path().to_owned();

    let (_, models) = app.call(Method::GET, "/api/models", None).await;
    let ids: Vec<&str> = models["models"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        ["deepseek-v4-flash", "gpt-5.4"],
        "the file is the catalog"
    );
    assert_eq!(
        models["models"][0]["runtimeStatus"]["usable"], true,
        "key from .env, URL built in"
    );
    assert_eq!(models["defaultModel"], "deepseek-v4-flash");

    let (_, list) = app.call(Method::GET, "/api/preconfigs", None).await;
    let list = list["preconfigs"].as_array().unwrap();
    let by_id = |id: &str| {
        list.iter()
            .find(|p| p["id"] == id)
            .unwrap_or_else(|| panic!("{id} missing"))
    };
    assert_eq!(list[0]["id"], "general");
    assert_eq!(
        by_id("general")["description"],
        "General-purpose agent for researching complex questions and executing multi-step tasks.\n"
    );
    let reviewer = by_id("reviewer");
    assert_eq!(
        (
            reviewer["systemPrompt"].as_str(),
            reviewer["variant"].as_str(),
            reviewer["settings"]["temperature"].as_f64()
        ),
        (
            Some("You review code: be precise."),
            Some("high"),
            Some(0.4)
        )
    );
    assert_eq!(by_id("writer")["systemPrompt"], "Write well.");
    let (status, aliased) = app
        .call(
            Method::GET,
            "/api/preconfigs/7c9e6679-7425-40de-944b-e07fc1f90ae7",
            None,
        )
        .await;
    assert_eq!(
        (status, aliased["preconfig"]["id"].as_str()),
        (200, Some("reviewer"))
    );

    let (_, prompts) = app.call(Method::GET, "/api/prompts", None).await;
    assert_eq!(
        prompts["prompts"],
        json!([{"name": "code-review", "description": "Review code", "content": "Check for bugs and style."}])
    );
    let w = app.create_workspace("W").await;
    let (status, s) = app
        .call(
            Method::POST,
            "/api/sessions",
            Some(&json!({"workspaceId": w["id"], "preconfigId": "reviewer"})),
        )
        .await;
    assert_eq!(status, 201, "{s}");
    assert_eq!(
        (
            s["session"]["selectedModel"].as_str(),
            s["session"]["selectedVariant"].as_str()
        ),
        (Some("deepseek-v4-flash"), Some("high"))
    );

    for (name, text) in &files {
        assert_eq!(
            &std::fs::read_to_string(d.join(name)).unwrap(),
            text,
            "{name} unchanged by reading"
        );
    }
    assert!(
        !d.join("backups").exists(),
        "nothing to back up before a change"
    );

    let mut edit = reviewer.clone();
    edit["systemPrompt"] = json!("You review code kindly.");
    let (status, _) = app
        .call(Method::PUT, "/api/preconfigs/reviewer", Some(&edit))
        .await;
    assert_eq!(status, 200);
    for (name, text) in &files {
        let saved = std::fs::read_to_string(d.join("backups/original").join(name)).unwrap();
        assert_eq!(&saved, text, "{name} backed up before the first change");
    }
    let rewritten = std::fs::read_to_string(d.join("preconfigs/reviewer.md")).unwrap();
    assert!(
        rewritten.starts_with("---\nname: Reviewer\n")
            && rewritten.ends_with("---\n\nYou review code kindly.\n"),
        "{rewritten}"
    );
}

#[tokio::test]
async fn the_database_of_an_original_data_dir_is_copied_before_it_is_opened() {
    // A database file made by a first start (no `config.json`: nothing to back up yet).
    let app = spawn_app().await;
    let settings = app.settings.clone();
    let dir = app.stop().await;
    assert!(!dir.path().join("backups").exists());
    let db = settings.database_path.clone();
    std::fs::write(dir.path().join("config.json"), "{}").unwrap();
    let before = std::fs::read(&db).unwrap();
    let app = spawn_on(dir, settings).await;
    let copy = app.data_dir.path().join("backups/original-db/agent.db");
    assert_eq!(
        std::fs::read(copy).unwrap(),
        before,
        "the file as it was before this start"
    );
}
