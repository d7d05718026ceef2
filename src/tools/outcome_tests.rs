//! Unit tests of the result → part state mapping and the 50,000-character truncation.

use super::*;

fn done(out: &ToolOutput) -> PartOutcome {
    let dir = tempfile::tempdir().unwrap();
    finish(out, "s1", "read-file", dir.path(), 1)
}

#[test]
fn a_failure_becomes_an_error_and_drops_result_and_visualization() {
    let out = ToolOutput {
        success: false,
        result: Some(json!({"stdout": "lost"})),
        error: Some("Command exited with code 2: boom".into()),
        visualization: Some(json!({"type": "none"})),
    };
    assert_eq!(
        done(&out),
        PartOutcome::Error {
            error: "Command exited with code 2: boom".into()
        }
    );
}

#[test]
fn a_failure_without_a_message_says_tool_execution_failed() {
    let out = ToolOutput {
        success: false,
        ..Default::default()
    };
    assert_eq!(
        done(&out),
        PartOutcome::Error {
            error: "Tool execution failed".into()
        }
    );
}

#[test]
fn a_success_carries_the_visualization_under_underscore_visualization() {
    let out = ToolOutput::ok(
        json!({"path": "/a", "bytes": 3}),
        json!({"type": "none", "message": "m"}),
    );
    assert_eq!(
        done(&out),
        PartOutcome::Completed {
            output: json!({"path": "/a", "bytes": 3, "_visualization": {"type": "none", "message": "m"}})
        }
    );
}

#[test]
fn a_string_result_that_parses_as_json_is_stored_parsed() {
    let out = ToolOutput {
        success: true,
        result: Some(json!("{\"a\":1}")),
        ..Default::default()
    };
    assert_eq!(
        done(&out),
        PartOutcome::Completed {
            output: json!({"a": 1})
        }
    );
    let plain = ToolOutput {
        success: true,
        result: Some(json!("hello")),
        ..Default::default()
    };
    assert_eq!(
        done(&plain),
        PartOutcome::Completed {
            output: json!("hello")
        }
    );
}

#[test]
fn a_result_object_with_an_error_key_is_a_failure() {
    let out = ToolOutput::ok(json!({"error": "nope"}), json!({"type": "none"}));
    assert_eq!(
        done(&out),
        PartOutcome::Error {
            error: "nope".into()
        }
    );
    let coded = ToolOutput {
        success: true,
        result: Some(json!({"error": {"code": 1}})),
        ..Default::default()
    };
    assert_eq!(
        done(&coded),
        PartOutcome::Error {
            error: "{\"code\":1}".into()
        }
    );
    let text = ToolOutput {
        success: true,
        result: Some(json!("{\"error\":\"x\"}")),
        ..Default::default()
    };
    assert_eq!(done(&text), PartOutcome::Error { error: "x".into() });
}

#[test]
fn a_result_of_exactly_the_limit_is_kept_whole() {
    // A JSON string of n characters serializes to n + 2.
    let text = "a".repeat(MAX_RESULT_CHARS - 2);
    let out = ToolOutput {
        success: true,
        result: Some(json!(text)),
        ..Default::default()
    };
    assert_eq!(
        done(&out),
        PartOutcome::Completed {
            output: json!(text)
        }
    );
}

#[test]
fn a_long_object_result_is_cut_and_persisted_whole() {
    let dir = tempfile::tempdir().unwrap();
    let content = "é".repeat(60_000);
    let out = ToolOutput::ok(json!({"content": content}), json!({"type": "none"}));
    let PartOutcome::Completed { output } = finish(&out, "s/../1", "read-file", dir.path(), 42)
    else {
        panic!("expected completed");
    };
    let path = dir.path().join("s____1/read-file-42.json");
    assert_eq!(output["_filePath"], path.to_str().unwrap());
    assert_eq!(output["_persisted"], true);
    let total = json!({"content": content}).to_string().chars().count();
    assert_eq!(output["_originalSize"], total);
    let shown = output["content"].as_str().unwrap();
    assert!(shown.starts_with("{\"content\":\"éé"));
    assert!(shown.ends_with(&format!(
        "[Result truncated: {total} chars total. Full result persisted to {}. Use read-file tool to read it.]",
        path.display()
    )));
    assert_eq!(
        shown.split("\n\n[Result").next().unwrap().chars().count(),
        10_000
    );
    assert_eq!(output["_visualization"]["type"], "none");
    let saved: Value = serde_json::from_str(&fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(saved, json!({"content": content}));
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        fs::metadata(&path).unwrap().permissions().mode() & 0o777,
        0o600
    );
}

#[test]
fn a_long_string_result_keeps_its_first_ten_thousand_characters_and_a_note() {
    let dir = tempfile::tempdir().unwrap();
    let text = "x".repeat(70_000);
    let out = ToolOutput {
        success: true,
        result: Some(json!(text)),
        ..Default::default()
    };
    let PartOutcome::Completed {
        output: Value::String(shown),
    } = finish(&out, "s", "shell", dir.path(), 7)
    else {
        panic!("expected a string");
    };
    assert!(shown.starts_with(&"x".repeat(10_000)));
    assert!(shown.contains("[Result truncated: 70000 chars total. Full result persisted to "));
}

#[test]
fn two_truncations_in_one_millisecond_keep_both_files() {
    let dir = tempfile::tempdir().unwrap();
    let out = ToolOutput {
        success: true,
        result: Some(json!({"a": "y".repeat(60_000)})),
        ..Default::default()
    };
    let first = finish(&out, "s", "grep", dir.path(), 5);
    let second = finish(&out, "s", "grep", dir.path(), 5);
    let path_of = |o: &PartOutcome| match o {
        PartOutcome::Completed { output } => output["_filePath"].as_str().unwrap().to_owned(),
        PartOutcome::Error { .. } => panic!("expected completed"),
    };
    assert_ne!(path_of(&first), path_of(&second));
    assert!(Path::new(&path_of(&second)).exists());
}

#[test]
fn a_huge_visualization_is_replaced_by_a_note() {
    let out = ToolOutput::ok(
        json!({"ok": true}),
        json!({"type": "code", "content": "z".repeat(300_000)}),
    );
    let PartOutcome::Completed { output } = done(&out) else {
        panic!("expected completed")
    };
    assert_eq!(output["_visualization"]["type"], "none");
}
