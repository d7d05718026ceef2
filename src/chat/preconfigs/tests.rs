//! Unit tests of the preconfigs folder: built-ins installed once, both file formats, the
//! original's files read as written, and the checks of create/replace/delete.

use serde_json::json;

use super::edit::{self, EditError};
use super::files::{self, Source};
use super::*;
use crate::llm::registry::Registry;

fn ids(list: &[Preconfig]) -> Vec<&str> {
    list.iter().map(|p| p.id.as_str()).collect()
}

fn obj(v: serde_json::Value) -> Map<String, Value> {
    v.as_object().unwrap().clone()
}

/// A preconfig as the original's `jean2 init` writes it (a folded description, block lists).
const ORIGINAL_GENERAL: &str = "---\nid: general\nname: General\ndescription: >\n  General agent for\n  many tasks.\ntools:\n  - read-file\n  - glob\nsettings:\n  temperature: 0.3\nisDefault: true\nmode: primary\ncanSpawnSubagents: true\n---\n\nYou are helpful.\n\nBe brief.\n";

#[tokio::test]
async fn the_builtins_are_installed_once_and_a_deleted_one_stays_deleted() {
    let dir = tempfile::tempdir().unwrap();
    let all = load(dir.path()).await;
    assert_eq!(ids(&all), ["general", "code", "code-planning", "explore"]);
    assert!(all[0].is_default && all[0].tools.len() == 5);
    assert_eq!(all[1].tools.len(), 12);
    assert_eq!(all[3].mode, "subagent");
    let folder = dir_of(dir.path());
    assert!(folder.join("code.md").is_file());
    edit::delete(dir.path(), "code").unwrap();
    assert_eq!(
        ids(&load(dir.path()).await),
        ["general", "code-planning", "explore"]
    );
    assert_eq!(
        edit::delete(dir.path(), "general"),
        Err(EditError::Forbidden(
            "Cannot delete default preconfig: general".into()
        ))
    );
}

#[tokio::test]
async fn the_original_files_are_read_as_written_and_md_wins_over_json() {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir_of(dir.path());
    std::fs::create_dir_all(&folder).unwrap();
    std::fs::write(folder.join("general.md"), ORIGINAL_GENERAL).unwrap();
    std::fs::write(
        folder.join("general.json"),
        r#"{"id":"general","name":"Old"}"#,
    )
    .unwrap();
    std::fs::write(
        folder.join("writer.json"),
        r#"{"name":"Writer","systemPrompt":"Write."}"#,
    )
    .unwrap();
    std::fs::write(
        folder.join("team.json"),
        r#"[{"id":"a","name":"A"},{"id":"b","name":"B"}]"#,
    )
    .unwrap();
    std::fs::write(folder.join("broken.md"), "---\nname: [unclosed\n---\nx").unwrap();
    std::fs::write(
        folder.join("preconfig_aliases.json"),
        r#"{"0b6c1f3e-uuid":"writer"}"#,
    )
    .unwrap();
    let loaded = files::load_all(dir.path());
    let g = &loaded.preconfigs[0];
    assert_eq!(g.id, "general");
    assert_eq!(g.description, "General agent for many tasks.\n");
    assert_eq!(g.system_prompt, "You are helpful.\n\nBe brief.");
    assert_eq!(
        (g.tools.len(), g.can_spawn_subagents.clone()),
        (2, Subagents::All(true))
    );
    assert_eq!(
        loaded.sources["general"],
        Source::Markdown(folder.join("general.md"))
    );
    assert_eq!(
        loaded.sources["writer"],
        Source::Json(folder.join("writer.json"))
    );
    assert_eq!(
        loaded.sources["a"],
        Source::SharedJson(folder.join("team.json"))
    );
    assert!(
        loaded
            .broken
            .iter()
            .any(|(id, why)| id == "broken" && why.contains("front matter"))
    );
    assert!(
        ids(&loaded.preconfigs).contains(&"code"),
        "missing built-ins are added"
    );
    assert_eq!(
        find(dir.path(), "0b6c1f3e-uuid").await.map(|p| p.name),
        Some("Writer".into()),
        "the original's id aliases are followed"
    );
    assert_eq!(
        std::fs::read_to_string(folder.join("general.md")).unwrap(),
        ORIGINAL_GENERAL
    );
}

#[test]
fn markdown_round_trips_awkward_text() {
    let mut p = builtin::builtin().remove(1);
    p.name = "Code: \"strict\" # review".into();
    p.description = "line one\nline two: yes".into();
    p.system_prompt = "---\nStarts with a rule.\n\n---".into();
    p.can_spawn_subagents = Subagents::Only(vec!["explore".into()]);
    p.skills = Some(vec!["git".into()]);
    let text = files::to_markdown(&p).unwrap();
    assert!(text.starts_with("---\nname: "), "{text}");
    assert_eq!(files::parse_markdown(&text, "code").unwrap(), p);
}

#[tokio::test]
async fn create_names_replace_checks_and_delete_refuses_shared_files() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let cat = Registry::builtin();
    let body = obj(
        json!({"name": "Code", "isDefault": true, "tools": null, "settings": null,
                         "canSpawnSubagents": ["explore"], "format": "md"}),
    );
    let p = edit::create(d, &body, &cat).unwrap();
    assert_eq!((p.id.as_str(), p.is_default), ("code-2", false));
    assert!(dir_of(d).join("code-2.md").is_file());
    let p = edit::create(d, &obj(json!({"name": "!!!"})), &cat).unwrap();
    assert_eq!(p.id, "agent");
    assert!(
        dir_of(d).join("agent.json").is_file(),
        "without format: json"
    );
    for (body, want, label) in [
        (
            json!({"name": "X", "model": "no-such-model"}),
            "model \"no-such-model\" does not exist in current models configuration",
            "model",
        ),
        (
            json!({"name": "X", "mode": "boss"}),
            "mode must be one of: primary, subagent, both",
            "mode",
        ),
        (
            json!({"name": "X", "tools": "all"}),
            "tools must be an array or null",
            "tools",
        ),
    ] {
        let Err(EditError::Invalid(msg, details)) = edit::create(d, &obj(body), &cat) else {
            panic!("{label}: accepted")
        };
        assert_eq!(
            (msg.as_str(), details),
            ("Invalid preconfig data", vec![want.to_owned()]),
            "{label}"
        );
    }
    let err = edit::create(d, &obj(json!({"id": "../escape", "name": "E"})), &cat).unwrap_err();
    assert!(matches!(err, EditError::Invalid(..)), "{err:?}");
    let err = edit::create(d, &obj(json!({"id": "code", "name": "C"})), &cat).unwrap_err();
    assert_eq!(
        err,
        EditError::Conflict("Preconfig already exists: code".into())
    );
    let err = edit::create(
        d,
        &obj(json!({"name": "S", "canSpawnSubagents": ["code"]})),
        &cat,
    )
    .unwrap_err();
    assert_eq!(err.to_string(), "code");

    let err =
        edit::replace(d, "code-2", &obj(json!({"description": "no name"})), &cat).unwrap_err();
    assert_eq!(
        err,
        EditError::Invalid(
            "Invalid preconfig data".into(),
            vec!["name must be a non-empty string".into()]
        )
    );
    let err = edit::replace(
        d,
        "code-2",
        &obj(json!({"name": "C2", "isDefault": true})),
        &cat,
    )
    .unwrap_err();
    assert!(err.to_string().contains("Invalid preconfig data"));
    let p = edit::replace(
        d,
        "code-2",
        &obj(json!({"name": "C2", "model": "glm-5"})),
        &cat,
    )
    .unwrap();
    assert_eq!(
        (p.name.as_str(), p.tools.len(), p.model.as_deref()),
        ("C2", 0, Some("glm-5"))
    );
    assert_eq!(
        find(d, "code-2").await.unwrap(),
        p,
        "replaced in place, fields left out cleared"
    );
    assert_eq!(
        edit::replace(d, "nope", &obj(json!({"name": "N"})), &cat),
        Err(EditError::NotFound("Preconfig not found: nope".into()))
    );

    std::fs::write(
        dir_of(d).join("team.json"),
        r#"[{"id":"a","name":"A"},{"id":"b","name":"B"}]"#,
    )
    .unwrap();
    assert!(matches!(edit::delete(d, "a"), Err(EditError::Conflict(_))));
    let p = edit::replace(d, "a", &obj(json!({"name": "A2"})), &cat).unwrap();
    assert_eq!(
        find(d, "a").await.unwrap(),
        p,
        "written to a.md, which wins"
    );
    edit::delete(d, "code-2").unwrap();
    assert!(find(d, "code-2").await.is_none());
}

#[tokio::test]
async fn a_session_takes_its_model_from_the_preconfig() {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir_of(dir.path());
    std::fs::create_dir_all(&folder).unwrap();
    std::fs::write(
        folder.join("mine.md"),
        "---\nname: Mine\nmodel: m\nvariant: high\n---\nHi",
    )
    .unwrap();
    let mut s = NewSession::new("w");
    s.preconfig_id = Some("mine".into());
    apply(dir.path(), &mut s).await;
    assert_eq!(
        (s.selected_model.as_deref(), s.selected_variant.as_deref()),
        (Some("m"), Some("high"))
    );
}
