//! Unit tests of `edit` and `multiedit`: replacements, failures that change nothing, asks.

use super::*;
use crate::tools::testenv::TestEnv;

#[tokio::test]
async fn an_edit_replaces_the_one_match_and_reports_a_diff() {
    let t = TestEnv::new();
    t.write("a.rs", "fn a() {\n    1\n}\n");
    let out = t
        .run(
            "edit",
            json!({"path": "a.rs", "oldString": "    1", "newString": "    2"}),
        )
        .await;
    assert!(out.success, "{out:?}");
    assert_eq!(t.read("a.rs"), "fn a() {\n    2\n}\n");
    assert_eq!(
        out.result.unwrap(),
        json!({"matchInfo": {"mode": "exact", "lineNumber": 2}})
    );
    let viz = out.visualization.unwrap();
    assert_eq!(viz["type"], "diff");
    assert_eq!(viz["path"], t.ws.join("a.rs").to_str().unwrap());
    assert_eq!(
        (viz["additions"].clone(), viz["deletions"].clone()),
        (json!(1), json!(1))
    );
    assert_eq!(
        viz["matchInfo"],
        json!({"strategy": "exact", "lineNumber": 2})
    );
}

#[tokio::test]
async fn an_edit_found_by_ignoring_line_endings_keeps_crlf() {
    let t = TestEnv::new();
    t.write("w.txt", "a\r\nb\r\nc\r\n");
    let out = t
        .run(
            "edit",
            json!({"path": "w.txt", "oldString": "a\nb", "newString": "x\ny"}),
        )
        .await;
    assert_eq!(out.result.unwrap()["matchInfo"]["mode"], "line_endings");
    assert_eq!(t.read("w.txt"), "x\r\ny\r\nc\r\n");
}

#[tokio::test]
async fn no_match_and_several_matches_fail_and_leave_the_file_alone() {
    let t = TestEnv::new();
    t.write("a.txt", "x\nx\n");
    let none = t
        .run(
            "edit",
            json!({"path": "a.txt", "oldString": "y", "newString": "z"}),
        )
        .await;
    assert_eq!(
        none.error.as_deref(),
        Some(
            "No match found. Passes: exact=0, line-ending=0, trailing-whitespace=0, indentation=0. Re-read the file before retrying."
        )
    );
    let two = t
        .run(
            "edit",
            json!({"path": "a.txt", "oldString": "x", "newString": "z"}),
        )
        .await;
    assert_eq!(
        two.error.as_deref(),
        Some("Found 2 matches. Passes: exact=2. Provide a more specific oldString.")
    );
    assert_eq!(t.read("a.txt"), "x\nx\n");
}

#[tokio::test]
async fn bad_edit_input_fails_with_the_reason() {
    let t = TestEnv::new();
    t.write("a.txt", "x");
    let cases = [
        (
            json!({"path": "a.txt", "oldString": "", "newString": "z"}),
            "oldString must be a non-empty string.".to_owned(),
        ),
        (
            json!({"path": "a.txt", "oldString": "x", "newString": "z", "strategy": "fuzzy"}),
            "Unknown strategy: fuzzy.".to_owned(),
        ),
        (
            json!({"path": "b.txt", "oldString": "x", "newString": "z"}),
            format!("File not found: {}", t.ws.join("b.txt").display()),
        ),
    ];
    for (input, error) in cases {
        assert_eq!(
            t.run("edit", input.clone()).await.error,
            Some(error),
            "{input}"
        );
    }
}

#[tokio::test]
async fn editing_outside_the_workspace_or_a_secret_asks_and_system_dirs_are_refused() {
    let t = TestEnv::new();
    let ask = t.ask(
        "edit",
        &json!({"path": t.outside.join("a.txt"), "oldString": "a", "newString": "b"}),
    );
    assert_eq!(
        ask.question,
        "Editing file \"a.txt\" (outside workspace) requires approval."
    );
    assert_eq!(ask.metadata["operation"], "edit");
    let secret = t.ask(
        "edit",
        &json!({"path": "config/secrets.yml", "oldString": "a", "newString": "b"}),
    );
    assert_eq!(secret.risk, crate::tools::Risk::Medium);
    let refusal = t.assess(
        "edit",
        &json!({"path": "/usr/lib/x", "oldString": "a", "newString": "b"}),
    );
    assert_eq!(
        refusal,
        Assessment::Refuse("Editing system directories is not allowed: /usr/lib/x".into())
    );
    assert_eq!(
        t.assess(
            "edit",
            &json!({"path": "a.rs", "oldString": "a", "newString": "b"})
        ),
        Assessment::Allow
    );
}

#[tokio::test]
async fn multiedit_applies_edits_in_order_and_writes_once() {
    let t = TestEnv::new();
    t.write("m.txt", "one two three\n");
    let edits = json!([
        {"oldString": "one", "newString": "1"},
        {"oldString": "1 two", "newString": "1 2"},
    ]);
    let out = t
        .run("multiedit", json!({"path": "m.txt", "edits": edits}))
        .await;
    assert!(out.success, "{out:?}");
    assert_eq!(t.read("m.txt"), "1 2 three\n");
    let results = out.result.unwrap()["results"].clone();
    assert_eq!(
        results[1],
        json!({"matchInfo": {"mode": "exact", "lineNumber": 1}})
    );
    let viz = out.visualization.unwrap();
    assert_eq!(
        (viz["type"].clone(), viz["items"].as_array().unwrap().len()),
        (json!("diffs"), 2)
    );
}

#[tokio::test]
async fn a_failing_edit_in_a_multiedit_changes_nothing_and_names_its_index() {
    let t = TestEnv::new();
    t.write("m.txt", "one\n");
    let edits =
        json!([{"oldString": "one", "newString": "1"}, {"oldString": "zzz", "newString": "2"}]);
    let out = t
        .run("multiedit", json!({"path": "m.txt", "edits": edits}))
        .await;
    assert!(
        out.error
            .unwrap()
            .starts_with("No match for edit 1. Passes: exact=0")
    );
    assert_eq!(t.read("m.txt"), "one\n");
    let empty = t
        .run("multiedit", json!({"path": "m.txt", "edits": []}))
        .await;
    assert_eq!(
        empty.error.as_deref(),
        Some("edits must be a non-empty array.")
    );
    let bad = json!([{"oldString": "one", "newString": "1"}, {"oldString": "", "newString": "2"}]);
    let bad = t
        .run("multiedit", json!({"path": "m.txt", "edits": bad}))
        .await;
    assert_eq!(
        bad.error.as_deref(),
        Some("edits[1].oldString must be a non-empty string.")
    );
}

#[tokio::test]
async fn more_than_ten_edits_ask_and_ten_do_not() {
    let t = TestEnv::new();
    let edits = |n: usize| {
        (0..n)
            .map(|i| json!({"oldString": format!("a{i}"), "newString": "b"}))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        t.assess("multiedit", &json!({"path": "m.txt", "edits": edits(10)})),
        Assessment::Allow
    );
    let ask = t.ask("multiedit", &json!({"path": "m.txt", "edits": edits(11)}));
    assert_eq!(
        ask.question,
        "Editing more than 10 edits at once requires approval."
    );
    assert_eq!(
        (ask.risk, ask.metadata["editCount"].clone()),
        (crate::tools::Risk::Medium, json!(11))
    );
    let outside = t.ask(
        "multiedit",
        &json!({"path": t.outside.join("m.txt"), "edits": edits(11)}),
    );
    assert!(
        outside
            .question
            .ends_with("requires approval. It makes 11 edits at once."),
        "{}",
        outside.question
    );
}
