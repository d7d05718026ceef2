//! Tests of the module's entry points: unknown tools, timeouts, interrupts, and a real result
//! through `finish`.

use std::time::Duration;

use serde_json::json;

use super::testenv::TestEnv;
use super::*;

#[tokio::test]
async fn an_unknown_tool_is_refused_and_fails() {
    let t = TestEnv::new();
    assert_eq!(
        t.assess("task", &json!({})),
        Assessment::Refuse("Unknown tool: task".into())
    );
    assert_eq!(
        t.run("task", json!({})).await.error.as_deref(),
        Some("Unknown tool: task")
    );
}

#[tokio::test]
async fn a_call_whose_time_is_up_fails_with_the_timeout_message() {
    let t = TestEnv::new();
    let started = Instant::now().checked_sub(Duration::from_secs(6)).unwrap();
    let out = run_from("todoread", json!({}), &t.env, started).await;
    assert_eq!(
        out.error.as_deref(),
        Some("Tool execution timed out after 5000 ms")
    );
}

#[tokio::test]
async fn a_cancelled_session_runs_nothing() {
    let t = TestEnv::new();
    t.env.cancel.cancel();
    let out = t
        .run("write-file", json!({"path": "a.txt", "content": "x"}))
        .await;
    assert_eq!(out.error.as_deref(), Some("Tool execution interrupted"));
    assert!(!t.ws.join("a.txt").exists());
}

#[tokio::test]
async fn a_large_tool_result_is_truncated_by_finish() {
    let t = TestEnv::new();
    t.write("big.txt", &"a needle in a line of text\n".repeat(3000));
    let out = t
        .run("grep", json!({"pattern": "needle", "path": "."}))
        .await;
    let PartOutcome::Completed { output } =
        finish(&out, &t.env.session_id, "grep", &t.env.tmp_dir, 9)
    else {
        panic!("expected completed");
    };
    assert_eq!(output["_persisted"], true);
    let file = output["_filePath"].as_str().unwrap();
    assert!(std::path::Path::new(file).starts_with(t.env.session_tmp()));
    assert_eq!(output["_visualization"]["type"], "none");
    // The model reads it back without being asked.
    assert_eq!(
        t.assess("read-file", &json!({"path": file})),
        Assessment::Allow
    );
    let read = t.run("read-file", json!({"path": file})).await;
    assert!(read.success, "{read:?}");
}

#[test]
fn every_tool_is_assessed_and_run_by_its_name() {
    let t = TestEnv::new();
    for def in definitions() {
        assert_ne!(
            t.assess(def.name, &json!({})),
            Assessment::Refuse(format!("Unknown tool: {}", def.name))
        );
    }
}
