//! Git status and diffs (§13.3–13.4) on a real repository made with the `git` binary.

use serde_json::json;

use super::{Fixture, git};

/// A repository with a committed `src/app.ts` and `old.txt`, then: `src/app.ts` modified
/// (unstaged), `old.txt` deleted, `notes.txt` new and untracked.
async fn repo() -> Fixture {
    let f = Fixture::new().await;
    f.write("src/app.ts", "a();\nb();\nc();\n");
    f.write("old.txt", "bye\n");
    git(&f.root(), &["init", "-q"]);
    git(&f.root(), &["add", "-A"]);
    git(&f.root(), &["commit", "-qm", "init"]);
    f.write("src/app.ts", "a();\nB();\nc();\n");
    std::fs::remove_file(f.root().join("old.txt")).unwrap();
    f.write("notes.txt", "one\ntwo\n");
    f
}

#[tokio::test]
async fn status_lists_each_changed_file_sorted_with_line_counts() {
    let f = repo().await;
    let (status, body) = f.get("git/status", &[]).await;
    assert_eq!(status, 200, "{body}");
    let root = std::fs::canonicalize(f.root()).unwrap();
    assert_eq!(
        body["availability"],
        json!({"available": true, "root": root})
    );
    assert_eq!(body["root"], f.root().to_string_lossy().as_ref());
    assert_eq!(
        body["files"],
        json!([
            {"path": "notes.txt", "git": {"status": "untracked", "staged": false, "unstaged": false}},
            {"path": "old.txt", "git": {"status": "deleted", "staged": false, "unstaged": true,
                                        "additions": 0, "deletions": 1}},
            {"path": "src/app.ts", "git": {"status": "modified", "staged": false, "unstaged": true,
                                           "additions": 1, "deletions": 1}},
        ])
    );
}

#[tokio::test]
async fn a_folder_that_is_not_a_repository_says_so_and_only_then() {
    let f = Fixture::new().await;
    let (status, body) = f.get("git/status", &[]).await;
    assert_eq!(status, 200);
    assert_eq!(
        body["availability"],
        json!({"available": false, "reason": "not_a_git_repo"})
    );
    assert_eq!(body["files"], json!([]));
    let (_, diff) = f.get("git/diff", &[("path", "a.txt")]).await;
    assert_eq!(
        (diff["diffAvailable"].as_bool(), diff["reason"].as_str()),
        (Some(false), Some("not_a_git_repo"))
    );
    // An empty repository is a repository.
    git(&f.root(), &["init", "-q"]);
    let (_, body) = f.get("git/status", &[]).await;
    assert_eq!(body["availability"]["available"], true, "{body}");
}

#[tokio::test]
async fn a_file_diff_has_numbered_hunks_and_an_untracked_file_is_all_added() {
    let f = repo().await;
    let (status, diff) = f.get("git/diff", &[("path", "src/app.ts")]).await;
    assert_eq!(status, 200, "{diff}");
    assert_eq!(
        diff,
        json!({"path": "src/app.ts", "diffAvailable": true,
        "status": {"status": "modified", "staged": false, "unstaged": true, "additions": 1, "deletions": 1},
        "hunks": [{"oldStart": 1, "oldLines": 3, "newStart": 1, "newLines": 3, "changes": [
            {"type": "context", "content": "a();", "lineNumber": 1, "newLineNumber": 1},
            {"type": "removed", "content": "b();", "lineNumber": 2},
            {"type": "added", "content": "B();", "newLineNumber": 2},
            {"type": "context", "content": "c();", "lineNumber": 3, "newLineNumber": 3}]}],
        "additions": 1, "deletions": 1, "language": "typescript"})
    );
    let (_, new) = f.get("git/diff", &[("path", "notes.txt")]).await;
    assert_eq!(
        new["hunks"],
        json!([{"oldStart": 0, "oldLines": 0, "newStart": 1, "newLines": 2,
        "changes": [{"type": "added", "content": "one", "newLineNumber": 1},
                    {"type": "added", "content": "two", "newLineNumber": 2}]}])
    );
    let (_, gone) = f.get("git/diff", &[("path", "old.txt")]).await;
    assert_eq!(
        (gone["diffAvailable"].as_bool(), gone["deletions"].as_u64()),
        (Some(true), Some(1)),
        "{gone}"
    );
    f.write("same.txt", "");
    let (_, same) = f.get("git/diff", &[("path", "src")]).await;
    assert_eq!(
        same["files"].as_array().unwrap().len(),
        1,
        "a directory diffs its files: {same}"
    );
}

#[tokio::test]
async fn the_whole_diff_lists_every_changed_file_with_summed_counts() {
    let f = repo().await;
    let (status, all) = f.get("git/diff", &[("path", ".")]).await;
    assert_eq!(status, 200, "{all}");
    assert_eq!(all["diffAvailable"], true);
    let paths: Vec<&str> = all["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["path"].as_str().unwrap())
        .collect();
    assert_eq!(paths, ["notes.txt", "old.txt", "src/app.ts"]);
    assert_eq!(
        (all["additions"].as_u64(), all["deletions"].as_u64()),
        (Some(3), Some(2))
    );
}

#[tokio::test]
async fn a_diff_outside_the_workspace_or_unchanged_or_without_path_says_why() {
    let f = repo().await;
    f.links_out("escape");
    let cases = [
        ("../outside/secret.txt", "path_outside_workspace"),
        ("escape.txt", "path_outside_workspace"),
        ("escape/secret.txt", "path_outside_workspace"),
        ("src/../../outside/secret.txt", "path_outside_workspace"),
    ];
    for (path, reason) in cases {
        let (status, d) = f.get("git/diff", &[("path", path)]).await;
        assert_eq!(status, 200, "{path}");
        assert_eq!(
            d,
            json!({"path": path, "diffAvailable": false, "reason": reason,
                             "hunks": [], "additions": 0, "deletions": 0}),
            "{path}"
        );
    }
    git(&f.root(), &["add", "-A"]);
    git(&f.root(), &["commit", "-qm", "all"]);
    let (_, d) = f.get("git/diff", &[("path", "src/app.ts")]).await;
    assert_eq!(d["reason"], "not_changed");
    let (status, d) = f.get("git/diff", &[]).await;
    assert_eq!(
        (status, d["message"].as_str()),
        (400, Some("Path query parameter is required"))
    );
}

#[tokio::test]
async fn programs_named_by_the_repositorys_config_are_never_run() {
    let f = repo().await;
    let marker = f.dir.path().join("pwned");
    let touch = format!("touch {}; cat", marker.display());
    std::fs::write(
        f.root().join(".git/info/attributes"),
        "* filter=evil diff=evil\n",
    )
    .unwrap();
    for (key, value) in [
        ("filter.evil.clean", touch.as_str()),
        ("filter.evil.process", touch.as_str()),
        ("diff.evil.textconv", touch.as_str()),
        ("diff.external", touch.as_str()),
        ("core.fsmonitor", touch.as_str()),
        ("core.pager", touch.as_str()),
    ] {
        git(&f.root(), &["config", key, value]);
    }
    let (_, st) = f.get("git/status", &[]).await;
    assert_eq!(st["availability"]["available"], true, "{st}");
    let (_, d) = f.get("git/diff", &[("path", "src/app.ts")]).await;
    assert_eq!(d["diffAvailable"], true, "{d}");
    let (_, tree) = f.get("files", &[]).await;
    assert_eq!(tree["git"]["available"], true);
    assert!(
        !marker.exists(),
        "a program from the repository's config ran"
    );
}
