//! Unit tests of `apply-patch`: the parser, chunk placement, applying, failures, asks.

use serde_json::json;

use super::compute::{ChunkError, update};
use super::parse::{Chunk, Kind, parse};
use crate::tools::ask::{Action, Assessment, GrantScope, Risk};
use crate::tools::testenv::TestEnv;

fn patch(body: &str) -> serde_json::Value {
    json!({"patch": format!("*** Begin Patch\n{body}\n*** End Patch\n")})
}

#[test]
fn a_patch_parses_into_its_operations() {
    let ops = parse("\n*** Begin Patch\n*** Update File: a.rs\n*** Move to: b.rs\n@@ fn main(\n keep\n-old\n+new\n*** End of File\n*** Add File: c.rs\n+line\n*** Delete File: d.rs\n*** End Patch\n\n").unwrap();
    assert_eq!(ops.len(), 3);
    assert_eq!(
        (ops[0].kind, ops[0].move_to.as_deref()),
        (Kind::Update, Some("b.rs"))
    );
    let chunk = &ops[0].chunks[0];
    assert_eq!(chunk.context.as_deref(), Some("fn main("));
    assert_eq!(
        (chunk.old_lines.clone(), chunk.new_lines.clone()),
        (
            vec!["keep".to_owned(), "old".into()],
            vec!["keep".to_owned(), "new".into()]
        )
    );
    assert!(chunk.end_of_file);
    assert_eq!(
        (ops[1].kind, ops[1].add_lines.clone()),
        (Kind::Add, vec!["line".to_owned()])
    );
    assert_eq!((ops[2].kind, ops[2].line), (Kind::Delete, 12));
}

#[test]
fn malformed_patches_name_the_problem_and_the_line() {
    let cases = [
        (
            "*** Update File: a\n@@\n-x",
            "Parse error: Patch must begin with *** Begin Patch.",
        ),
        (
            "*** Begin Patch\n*** Update File: a\n@@\n-x",
            "Parse error: Patch must end with *** End Patch.",
        ),
        (
            "*** Begin Patch\n*** Update File: a\n@@ -1,2 +1,2 @@\n*** End Patch",
            "Parse error at line 3: Unified diff hunk headers are not supported.",
        ),
        (
            "*** Begin Patch\n*** Update File: a\n x\n*** End Patch",
            "Parse error at line 3: An Update chunk must start with \"@@\" before body lines.",
        ),
        (
            "*** Begin Patch\n*** Add File: a\nx\n*** End Patch",
            "Parse error at line 3: An Add File operation may only contain \"+\" lines.",
        ),
        (
            "*** Begin Patch\n*** Add File: a\n*** Add File: a\n*** End Patch",
            "Parse error at line 3: Duplicate operation on path: a",
        ),
        (
            "*** Begin Patch\n*** Delete File: a\n*** Move to: b\n*** End Patch",
            "Parse error at line 3: *** Move to must immediately follow an Update File header.",
        ),
        (
            "*** Begin Patch\n*** Frobnicate: a\n*** End Patch",
            "Parse error at line 2: Unknown patch marker: *** Frobnicate: a",
        ),
        (
            "*** Begin Patch\n*** End Patch\nmore",
            "Parse error at line 3: Unexpected content after *** End Patch.",
        ),
    ];
    for (text, message) in cases {
        assert_eq!(parse(text).unwrap_err().to_string(), message, "{text}");
    }
}

fn chunk(context: Option<&str>, old: &[&str], new: &[&str], eof: bool) -> Chunk {
    let own = |l: &[&str]| l.iter().map(|s| s.to_string()).collect();
    Chunk {
        context: context.map(str::to_owned),
        old_lines: own(old),
        new_lines: own(new),
        end_of_file: eof,
    }
}

#[test]
fn chunks_apply_in_order_after_their_anchor() {
    let text = "fn a() {\n    x();\n}\nfn b() {\n    x();\n}\n";
    let (out, reps) = update(
        text,
        &[chunk(Some("fn b()"), &["    x();"], &["    y();"], false)],
    )
    .unwrap();
    assert_eq!(out, "fn a() {\n    x();\n}\nfn b() {\n    y();\n}\n");
    assert_eq!(reps[0].line, 5);
    let ambiguous = update(text, &[chunk(None, &["    x();"], &["    y();"], false)]);
    assert_eq!(ambiguous.unwrap_err(), ChunkError::Ambiguous(0));
}

#[test]
fn pure_insertions_need_an_anchor_or_the_end_of_the_file() {
    let text = "a\nb\n";
    assert_eq!(
        update(text, &[chunk(None, &[], &["c"], false)]).unwrap_err(),
        ChunkError::AmbiguousInsertion(0)
    );
    assert_eq!(
        update(text, &[chunk(Some("a"), &[], &["x"], false)])
            .unwrap()
            .0,
        "a\nx\nb\n"
    );
    assert_eq!(
        update("a\nb", &[chunk(None, &[], &["c"], true)]).unwrap().0,
        "a\nb\nc\n"
    );
}

#[test]
fn a_crlf_file_keeps_its_line_breaks() {
    let (out, reps) = update(
        "one\r\ntwo\r\nthree\r\n",
        &[chunk(None, &["two"], &["2", "2b"], false)],
    )
    .unwrap();
    assert_eq!(out, "one\r\n2\r\n2b\r\nthree\r\n");
    assert_eq!(reps[0].mode.as_str(), "exact");
    let (multi, reps) = update(
        "a\r\nb\r\nc\r\n",
        &[chunk(None, &["a", "b"], &["x"], false)],
    )
    .unwrap();
    assert_eq!(
        (multi.as_str(), reps[0].mode.as_str()),
        ("x\r\nc\r\n", "line_endings")
    );
}

#[tokio::test]
async fn a_patch_adds_updates_moves_and_deletes_files() {
    let t = TestEnv::new();
    t.write("src/a.rs", "fn a() {\n    1\n}\n");
    t.write("src/old.rs", "gone\n");
    t.write("src/mv.rs", "x\n");
    let body = "*** Update File: src/a.rs\n@@\n-    1\n+    2\n*** Add File: src/new.rs\n+hello\n*** Delete File: src/old.rs\n*** Update File: src/mv.rs\n*** Move to: src/moved.rs\n@@\n-x\n+y";
    let out = t.run("apply-patch", patch(body)).await;
    assert!(out.success, "{out:?}");
    assert_eq!(t.read("src/a.rs"), "fn a() {\n    2\n}\n");
    assert_eq!(t.read("src/new.rs"), "hello\n");
    assert_eq!(t.read("src/moved.rs"), "y\n");
    assert!(!t.ws.join("src/old.rs").exists() && !t.ws.join("src/mv.rs").exists());
    let r = out.result.unwrap();
    let p = |rel: &str| t.ws.join(rel).to_str().unwrap().to_owned();
    assert_eq!(r["added"], json!([p("src/new.rs")]));
    assert_eq!(r["modified"], json!([p("src/a.rs"), p("src/moved.rs")]));
    assert_eq!(r["deleted"], json!([p("src/old.rs")]));
    assert_eq!(
        r["moved"],
        json!([{"from": p("src/mv.rs"), "to": p("src/moved.rs")}])
    );
    assert_eq!(
        r["matchModes"][0],
        json!({"path": p("src/a.rs"), "chunkIndex": 0, "mode": "exact", "startLine": 2})
    );
    assert_eq!(
        (
            r["diffs"][0]["additions"].clone(),
            r["diffs"][0]["deletions"].clone()
        ),
        (json!(1), json!(1))
    );
    let viz = out.visualization.unwrap();
    assert_eq!(
        (viz["type"].clone(), viz["title"].clone()),
        (json!("file-list"), json!("Applied patch to 5 files"))
    );
    assert_eq!(viz["groups"][0]["label"], "Modified");
}

#[tokio::test]
async fn a_failing_chunk_leaves_every_file_as_it_was() {
    let t = TestEnv::new();
    t.write("a.txt", "a\n");
    t.write("b.txt", "b\n");
    let body = "*** Update File: a.txt\n@@\n-a\n+A\n*** Add File: c.txt\n+c\n*** Update File: b.txt\n@@\n-zzz\n+B";
    let out = t.run("apply-patch", patch(body)).await;
    assert_eq!(
        out.error.as_deref(),
        Some("No match for chunk 0 of b.txt. Re-read the file before retrying.")
    );
    assert_eq!(
        (t.read("a.txt"), t.read("b.txt")),
        ("a\n".into(), "b\n".into())
    );
    assert!(!t.ws.join("c.txt").exists());
}

#[tokio::test]
async fn existing_targets_missing_sources_and_empty_chunks_fail() {
    let t = TestEnv::new();
    t.write("here.txt", "x\n");
    let cases = [
        (
            "*** Add File: here.txt\n+y",
            "Cannot create file that already exists: here.txt".to_owned(),
        ),
        (
            "*** Delete File: nope.txt",
            "Cannot delete a file that does not exist: nope.txt".into(),
        ),
        (
            "*** Update File: nope.txt\n@@\n-x\n+y",
            "File not found: nope.txt".into(),
        ),
        (
            "*** Update File: here.txt\n*** Move to: ./here.txt\n@@\n-x\n+y",
            "Move destination resolves to the source path: here.txt".into(),
        ),
        (
            "*** Update File: here.txt",
            "Update File operation on \"here.txt\" contains no chunks.".into(),
        ),
        (
            "*** Update File: here.txt\n@@\n@@\n-x",
            "Update File operation on \"here.txt\" contains an empty chunk.".into(),
        ),
    ];
    for (body, error) in cases {
        assert_eq!(
            t.run("apply-patch", patch(body)).await.error,
            Some(error),
            "{body}"
        );
    }
    assert_eq!(t.read("here.txt"), "x\n");
}

#[tokio::test]
async fn deletes_and_moves_ask_for_the_session_at_most() {
    let t = TestEnv::new();
    let ask = t.ask("apply-patch", &patch("*** Delete File: old.rs"));
    assert_eq!(ask.risk, Risk::Medium);
    assert_eq!(
        (ask.action, ask.allowed_scopes.clone()),
        (Action::Delete, vec![GrantScope::Once, GrantScope::Session])
    );
    assert_eq!(
        ask.intents[0].targets[0].target,
        t.ws.join("old.rs").to_str().unwrap()
    );
    assert!(
        ask.question.contains("deletes or moves files"),
        "{}",
        ask.question
    );
    let moved = t.ask(
        "apply-patch",
        &patch("*** Update File: a.rs\n*** Move to: b.rs\n@@\n-x\n+y"),
    );
    assert_eq!(moved.intents[0].action, Action::Delete);
    assert_eq!(
        t.assess("apply-patch", &patch("*** Update File: a.rs\n@@\n-x\n+y")),
        Assessment::Allow
    );
}

#[tokio::test]
async fn paths_outside_or_holding_secrets_ask_and_system_dirs_are_refused() {
    let t = TestEnv::new();
    let outside = t.outside.join("x.rs");
    let ask = t.ask(
        "apply-patch",
        &patch(&format!("*** Add File: {}\n+x", outside.display())),
    );
    assert_eq!(ask.intents[0].action, Action::Write);
    assert_eq!(ask.paths, [outside.to_str().unwrap()]);
    assert_eq!(ask.metadata["isOutsideWorkspace"], true);
    let secret = t.ask("apply-patch", &patch("*** Add File: .env.local\n+K=v"));
    assert_eq!(secret.metadata["isSensitiveFile"], true);
    let sys = t.assess("apply-patch", &patch("*** Add File: /etc/x\n+x"));
    assert_eq!(
        sys,
        Assessment::Refuse("Cannot apply patch to system directories: /etc/x".into())
    );
    let c = TestEnv::confined();
    let refused = c
        .run(
            "apply-patch",
            patch(&format!("*** Add File: {}\n+x", outside.display())),
        )
        .await;
    assert!(
        refused
            .error
            .unwrap()
            .starts_with("Access outside the workspace is not allowed")
    );
    assert!(!outside.exists());
}
