//! Unit tests of `grep`: matches, ignore rules, filters, the cap, and its risk rules.

use super::*;
use crate::tools::testenv::TestEnv;

fn found(out: &ToolOutput) -> Vec<(String, u64, String)> {
    let matches = out.result.as_ref().unwrap_or_else(|| panic!("{out:?}"))["matches"]
        .as_array()
        .unwrap()
        .clone();
    let mut found: Vec<_> = matches
        .iter()
        .map(|m| {
            (
                m["file"].as_str().unwrap().to_owned(),
                m["line"].as_u64().unwrap(),
                m["content"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    found.sort();
    found
}

#[tokio::test]
async fn matching_lines_come_back_with_file_and_line_number() {
    let t = TestEnv::new();
    t.write("src/a.rs", "fn main() {}\n// TODO: x   \nfn helper() {}\n");
    t.write("b.txt", "nothing\n");
    let out = t
        .run("grep", json!({"pattern": "TODO|helper", "path": "."}))
        .await;
    assert_eq!(
        found(&out),
        [
            ("src/a.rs".into(), 2, "// TODO: x".into()),
            ("src/a.rs".into(), 3, "fn helper() {}".into())
        ]
    );
    assert_eq!(
        out.visualization.unwrap()["message"],
        "Grep: \"TODO|helper\" (2 matches)"
    );
}

#[tokio::test]
async fn gitignored_binary_and_build_files_are_skipped() {
    let t = TestEnv::new();
    t.write(".gitignore", "ignored/\n*.log\n");
    t.write("ignored/a.txt", "needle\n");
    t.write("x.log", "needle\n");
    t.write("target/b.txt", "needle\n");
    t.write("img.png", "needle\n");
    std::fs::write(t.ws.join("nul.txt"), b"needle\0").unwrap();
    t.write("keep.txt", "needle\n");
    t.write(".hidden.txt", "needle\n");
    let out = t
        .run("grep", json!({"pattern": "needle", "path": "."}))
        .await;
    let files: Vec<_> = found(&out).into_iter().map(|f| f.0).collect();
    assert_eq!(files, [".hidden.txt", "keep.txt"]);
}

#[tokio::test]
async fn include_and_ignore_filter_by_name_or_path() {
    let t = TestEnv::new();
    t.write("src/a.rs", "x\n");
    t.write("src/a_test.rs", "x\n");
    t.write("src/b.ts", "x\n");
    let out = t
        .run(
            "grep",
            json!({"pattern": "x", "path": ".", "include": "*.rs", "ignore": ["*_test.rs"]}),
        )
        .await;
    assert_eq!(found(&out), [("src/a.rs".into(), 1, "x".into())]);
}

#[tokio::test]
async fn one_file_can_be_searched() {
    let t = TestEnv::new();
    t.write("src/a.rs", "a\nb\na\n");
    let out = t
        .run("grep", json!({"pattern": "^a$", "path": "src/a.rs"}))
        .await;
    assert_eq!(
        found(&out),
        [
            ("a.rs".into(), 1, "a".into()),
            ("a.rs".into(), 3, "a".into())
        ]
    );
}

#[tokio::test]
async fn matches_stop_at_five_thousand() {
    let t = TestEnv::new();
    t.write("many.txt", &"hit\n".repeat(6000));
    let out = t.run("grep", json!({"pattern": "hit", "path": "."})).await;
    assert_eq!(
        out.result.unwrap()["matches"].as_array().unwrap().len(),
        5000
    );
    assert_eq!(
        out.visualization.unwrap()["message"],
        "Grep: \"hit\" (5000 matches, truncated to 5000)"
    );
}

#[tokio::test]
async fn an_invalid_regex_fails() {
    let t = TestEnv::new();
    let out = t.run("grep", json!({"pattern": "a(", "path": "."})).await;
    assert!(out.error.unwrap().starts_with("Invalid regex pattern:"));
}

#[tokio::test]
async fn grep_asks_outside_and_for_secrets_and_refuses_system_dirs() {
    let t = TestEnv::new();
    let ask = t.ask("grep", &json!({"pattern": "x", "path": t.outside}));
    assert_eq!(
        ask.question,
        "Searching in files outside the workspace requires approval."
    );
    let secrets = t.ask("grep", &json!({"pattern": "x", "path": "secrets"}));
    assert_eq!(
        secrets.question,
        "Searching in sensitive directories requires approval."
    );
    let sys = t.assess("grep", &json!({"pattern": "x", "path": "/etc"}));
    assert_eq!(
        sys,
        Assessment::Refuse("Searching in system directories is not allowed: /etc".into())
    );
    assert_eq!(
        t.assess("grep", &json!({"pattern": "x", "path": "src"})),
        Assessment::Allow
    );
}
