//! Unit tests of `glob`: patterns, order, skipped folders, links, asks and refusals.

use super::*;
use crate::tools::testenv::TestEnv;
use std::time::Duration;

fn set_mtime(path: &Path, secs: u64) {
    let file = std::fs::File::options().write(true).open(path).unwrap();
    file.set_modified(SystemTime::UNIX_EPOCH + Duration::from_secs(secs))
        .unwrap();
}

fn files(out: &ToolOutput) -> Vec<String> {
    let files = out.result.as_ref().unwrap_or_else(|| panic!("{out:?}"))["files"].clone();
    serde_json::from_value(files).unwrap()
}

#[tokio::test]
async fn a_recursive_pattern_finds_files_newest_first() {
    let t = TestEnv::new();
    set_mtime(&t.write("src/old.rs", ""), 1_000);
    set_mtime(&t.write("src/deep/new.rs", ""), 3_000);
    set_mtime(&t.write("top.rs", ""), 2_000);
    t.write("notes.md", "");
    t.write("target/debug/gen.rs", "");
    t.write("node_modules/x/y.rs", "");
    let out = t.run("glob", json!({"pattern": "**/*.rs"})).await;
    assert_eq!(files(&out), ["src/deep/new.rs", "top.rs", "src/old.rs"]);
    assert_eq!(
        out.visualization.unwrap()["message"],
        "Glob: \"**/*.rs\" (3 files)"
    );
}

#[tokio::test]
async fn a_star_stays_in_its_folder_and_braces_choose() {
    let t = TestEnv::new();
    t.write("a.ts", "");
    t.write("b.tsx", "");
    t.write("src/c.ts", "");
    t.write(".hidden.ts", "");
    let mut top = files(&t.run("glob", json!({"pattern": "*.{ts,tsx}"})).await);
    top.sort();
    assert_eq!(top, [".hidden.ts", "a.ts", "b.tsx"]);
    assert_eq!(
        files(&t.run("glob", json!({"pattern": "src/*.ts"})).await),
        ["src/c.ts"]
    );
}

#[tokio::test]
async fn ignore_patterns_and_a_search_folder_narrow_the_result() {
    let t = TestEnv::new();
    t.write("src/a.ts", "");
    t.write("src/a.test.ts", "");
    t.write("other/b.ts", "");
    let out = t
        .run(
            "glob",
            json!({"pattern": "**/*.ts", "path": "src", "ignore": ["*.test.ts"]}),
        )
        .await;
    assert_eq!(files(&out), ["a.ts"]);
}

#[tokio::test]
async fn a_pattern_without_wildcards_only_checks_existence() {
    let t = TestEnv::new();
    t.write("package.json", "{}");
    assert_eq!(
        files(&t.run("glob", json!({"pattern": "package.json"})).await),
        ["package.json"]
    );
    assert!(files(&t.run("glob", json!({"pattern": "missing.json"})).await).is_empty());
    std::fs::write(t.outside.join("x.txt"), "").unwrap();
    assert!(files(&t.run("glob", json!({"pattern": "../outside/x.txt"})).await).is_empty());
}

#[tokio::test]
async fn a_bad_pattern_or_folder_fails() {
    let t = TestEnv::new();
    let bad = t.run("glob", json!({"pattern": "a[b"})).await;
    assert!(bad.error.unwrap().starts_with("Invalid glob pattern"));
    let missing = t.run("glob", json!({"pattern": "*", "path": "nope"})).await;
    assert_eq!(
        missing.error,
        Some(format!(
            "Directory not found: {}",
            t.ws.join("nope").display()
        ))
    );
}

#[tokio::test]
async fn links_out_of_the_folder_are_not_followed() {
    let t = TestEnv::new();
    std::fs::write(t.outside.join("secret.rs"), "").unwrap();
    std::os::unix::fs::symlink(&t.outside, t.ws.join("out")).unwrap();
    assert!(files(&t.run("glob", json!({"pattern": "**/*.rs"})).await).is_empty());
}

#[tokio::test]
async fn globbing_outside_asks_and_system_dirs_are_refused() {
    let t = TestEnv::new();
    let ask = t.ask("glob", &json!({"pattern": "*", "path": t.outside}));
    assert_eq!(
        ask.question,
        "Globbing outside the workspace requires approval."
    );
    assert_eq!(ask.metadata["operation"], "glob");
    let sys = t.assess("glob", &json!({"pattern": "*", "path": "/proc"}));
    assert_eq!(
        sys,
        Assessment::Refuse("Globbing system directories is not allowed: /proc".into())
    );
    assert_eq!(
        t.assess("glob", &json!({"pattern": "*"})),
        Assessment::Allow
    );
    let own_tmp = t.env.session_tmp();
    assert_eq!(
        t.assess("glob", &json!({"pattern": "*", "path": own_tmp})),
        Assessment::Allow
    );
}
