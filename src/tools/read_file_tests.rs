//! Unit tests of `read-file`: pages, limits, folders, binary files, asks and refusals.

use super::*;
use crate::tools::Risk;
use crate::tools::testenv::TestEnv;

#[tokio::test]
async fn a_file_comes_back_as_numbered_lines_with_its_revision() {
    let t = TestEnv::new();
    t.write("a.txt", "one\ntwo\r\nthree");
    let out = t.run("read-file", json!({"path": "a.txt"})).await;
    let r = out.result.unwrap();
    assert_eq!(
        r["content"],
        "1: one\n2: two\n3: three\n\n(End of file - total 3 lines)"
    );
    let digest = Sha256::digest(b"one\ntwo\r\nthree");
    assert_eq!(r["revision"], format!("sha256:{}", hex(&digest)));
    assert_eq!(
        (r["totalLines"].clone(), r["linesReturned"].clone()),
        (json!(3), json!(3))
    );
    assert_eq!(
        (r["offset"].clone(), r["truncated"].clone()),
        (json!(1), json!(false))
    );
    let viz = out.visualization.unwrap();
    assert_eq!(
        viz["message"],
        format!("Read: {}", t.ws.join("a.txt").display())
    );
}

#[tokio::test]
async fn offset_and_limit_page_through_the_file() {
    let t = TestEnv::new();
    let text: String = (1..=10).map(|n| format!("l{n}\n")).collect();
    t.write("a.txt", &text);
    let r = t
        .run(
            "read-file",
            json!({"path": "a.txt", "offset": 3, "limit": 2}),
        )
        .await
        .result
        .unwrap();
    assert_eq!(
        r["content"],
        "3: l3\n4: l4\n\n(Showing lines 3-4 of 11. Use offset=5 to continue.)"
    );
    assert_eq!(r["truncated"], true);
    let bad = t
        .run("read-file", json!({"path": "a.txt", "offset": 0}))
        .await;
    assert_eq!(
        bad.error.as_deref(),
        Some("offset must be greater than or equal to 1")
    );
}

#[tokio::test]
async fn long_lines_are_cut_and_the_output_stops_at_50_kib() {
    let t = TestEnv::new();
    t.write("long.txt", &format!("{}\nshort\n", "é".repeat(5000)));
    let r = t
        .run("read-file", json!({"path": "long.txt"}))
        .await
        .result
        .unwrap();
    let first = r["content"]
        .as_str()
        .unwrap()
        .lines()
        .next()
        .unwrap()
        .to_owned();
    assert_eq!(
        first,
        format!("1: {}... (line truncated to 2000 chars)", "é".repeat(2000))
    );
    let many: String = (0..3000)
        .map(|_| format!("{}\n", "x".repeat(100)))
        .collect();
    t.write("many.txt", &many);
    let r = t
        .run("read-file", json!({"path": "many.txt"}))
        .await
        .result
        .unwrap();
    assert!(r["content"].as_str().unwrap().len() < 51 * 1024);
    assert_eq!(r["truncated"], true);
    assert!(r["linesReturned"].as_u64().unwrap() < 3000);
}

#[tokio::test]
async fn a_folder_lists_its_entries_with_folders_marked() {
    let t = TestEnv::new();
    t.write("b.txt", "");
    t.write("A/x.txt", "");
    t.write("c.txt", "");
    let r = t
        .run("read-file", json!({"path": "."}))
        .await
        .result
        .unwrap();
    assert_eq!(r["content"], "A/\nb.txt\nc.txt\n\n(3 entries)");
    let page = t
        .run("read-file", json!({"path": ".", "limit": 1, "offset": 2}))
        .await
        .result
        .unwrap();
    assert_eq!(
        page["content"],
        "b.txt\n\n(Showing 1 of 3 entries. Use 'offset' parameter to read beyond entry 3)"
    );
}

#[tokio::test]
async fn binary_and_missing_files_fail() {
    let t = TestEnv::new();
    let bin = t.write("x.bin", "abc");
    let out = t.run("read-file", json!({"path": "x.bin"})).await;
    assert_eq!(
        out.error,
        Some(format!("Cannot read binary file: {}", bin.display()))
    );
    std::fs::write(t.ws.join("nul.txt"), b"a\0b").unwrap();
    assert!(
        t.run("read-file", json!({"path": "nul.txt"}))
            .await
            .error
            .unwrap()
            .starts_with("Cannot read binary")
    );
    let missing = t.run("read-file", json!({"path": "nope.txt"})).await;
    assert_eq!(
        missing.error,
        Some(format!(
            "File not found: {}",
            t.ws.join("nope.txt").display()
        ))
    );
}

#[tokio::test]
async fn reading_a_sensitive_file_in_the_workspace_asks_at_medium() {
    let t = TestEnv::new();
    t.write(".env", "K=v");
    let ask = t.ask("read-file", &json!({"path": ".env"}));
    assert_eq!(
        ask.question,
        "Reading file \".env\" (sensitive file) requires approval. This file may contain credentials or secrets."
    );
    assert_eq!(ask.risk, Risk::Medium);
    assert_eq!(ask.duration, crate::tools::GrantScope::Session);
    assert_eq!(ask.patterns[2], "sensitive-file");
    assert_eq!(ask.metadata["isSensitiveFile"], true);
}

#[tokio::test]
async fn reading_outside_the_workspace_asks_once_for_both_reasons() {
    let t = TestEnv::new();
    let path = t.outside.join("id_rsa");
    let ask = t.ask("read-file", &json!({"path": path}));
    assert!(
        ask.question.contains("(outside workspace, sensitive file)"),
        "{}",
        ask.question
    );
    let p = path.to_str().unwrap();
    assert_eq!(
        ask.patterns,
        [
            format!("file:{p}"),
            "file:id_rsa".into(),
            "outside-workspace".into(),
            "sensitive-file".into()
        ]
    );
    assert_eq!(ask.paths, [p]);
    let json = ask.to_json();
    assert_eq!(json["metadata"]["operation"], "read");
    assert_eq!(json["metadata"]["fileName"], "id_rsa");
    assert_eq!(json["intents"][0]["action"], "read");
}

#[tokio::test]
async fn the_sessions_truncation_files_and_uploads_are_read_without_asking() {
    let t = TestEnv::new();
    let own = t.env.session_tmp().join("grep-1.json");
    assert_eq!(
        t.assess("read-file", &json!({"path": own})),
        Assessment::Allow
    );
    let upload = t.env.upload_dir.clone().unwrap().join("a.png");
    assert_eq!(
        t.assess("read-file", &json!({"path": upload})),
        Assessment::Allow
    );
    let other_session = t.env.tmp_dir.join("ses_other/grep-1.json");
    assert!(matches!(
        t.assess("read-file", &json!({"path": other_session})),
        Assessment::Ask(_)
    ));
}

#[tokio::test]
async fn reading_a_system_directory_is_refused() {
    let t = TestEnv::new();
    let refusal = "Reading from system directories is not allowed: /etc/passwd";
    assert_eq!(
        t.assess("read-file", &json!({"path": "/etc/passwd"})),
        Assessment::Refuse(refusal.into())
    );
    assert_eq!(
        t.run("read-file", json!({"path": "/etc/passwd"}))
            .await
            .error
            .as_deref(),
        Some(refusal)
    );
}

#[tokio::test]
async fn a_confined_caller_reads_inside_but_is_refused_outside() {
    let t = TestEnv::confined();
    t.write("a.txt", "x");
    assert_eq!(
        t.assess("read-file", &json!({"path": "a.txt"})),
        Assessment::Allow
    );
    std::fs::write(t.outside.join("b.txt"), "secret").unwrap();
    std::os::unix::fs::symlink(&t.outside, t.ws.join("link")).unwrap();
    for path in [
        json!(t.outside.join("b.txt")),
        json!("../outside/b.txt"),
        json!("link/b.txt"),
    ] {
        let input = json!({"path": path});
        assert!(
            matches!(t.assess("read-file", &input), Assessment::Refuse(_)),
            "{path}"
        );
        assert!(
            t.run("read-file", input)
                .await
                .error
                .unwrap()
                .starts_with("Access outside the workspace")
        );
    }
}

#[tokio::test]
async fn invalid_input_is_allowed_then_fails_with_the_reason() {
    let t = TestEnv::new();
    assert_eq!(t.assess("read-file", &json!({})), Assessment::Allow);
    let out = t.run("read-file", json!({})).await;
    assert_eq!(
        out.error.as_deref(),
        Some("Invalid input for read-file: missing field `path`")
    );
}
