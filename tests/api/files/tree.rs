//! The file tree and the search by name (§13.2).

use serde_json::json;

use super::{Fixture, assert_outside, folder_workspace, git, names};

#[tokio::test]
async fn the_tree_lists_directories_first_with_bare_names_and_hides_the_built_in_ignores() {
    let f = Fixture::new().await;
    f.write("src/main.rs", "fn main() {}\n");
    f.write("README.md", "# hi\n");
    f.write(".env", "A=1\n");
    f.write("node_modules/x/index.js", "");
    f.write("Makefile", "all:\n");
    let (status, body) = f.get("files", &[("showHidden", "true")]).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(names(&body), ["src", ".env", "Makefile", "README.md"]);
    assert_eq!(
        body["files"][0],
        json!({"name": "src", "type": "directory", "path": "src"})
    );
    assert_eq!(body["files"][3]["extension"], ".md");
    assert_eq!(
        body["files"][2]["extension"], "",
        "a file without extension has \"\""
    );
    assert_eq!(body["mode"], "browse");
    assert_eq!(body["currentPath"], "");
    assert_eq!(body["isMain"], true);
    assert_eq!(body["root"], f.root().to_string_lossy().as_ref());
    assert_eq!(
        body["git"],
        json!({"available": false, "reason": "not_a_git_repo"})
    );

    let (_, hidden_off) = f.get("files", &[("showHidden", "false")]).await;
    assert_eq!(names(&hidden_off), ["src", "Makefile", "README.md"]);
    let (status, sub) = f.get("files", &[("path", "src")]).await;
    assert_eq!(status, 200, "{sub}");
    assert_eq!(
        (names(&sub), &sub["currentPath"]),
        (vec!["main.rs".to_owned()], &json!("src"))
    );
}

#[tokio::test]
async fn the_tree_carries_git_status_on_files_and_aggregated_on_directories() {
    let f = Fixture::new().await;
    f.write("src/a.rs", "a\nb\n");
    f.write("src/b.rs", "x\n");
    f.write("top.txt", "t\n");
    git(&f.root(), &["init", "-q"]);
    git(&f.root(), &["add", "-A"]);
    git(&f.root(), &["commit", "-qm", "init"]);
    f.write("src/a.rs", "a\nB\nc\n");
    f.write("src/new.rs", "n\n");
    let (status, body) = f.get("files", &[]).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["git"]["available"], true, "{body}");
    let src = &body["files"][0];
    assert_eq!(src["name"], "src");
    assert_eq!(
        src["git"]["status"], "untracked",
        "untracked outranks modified: {src}"
    );
    assert_eq!(
        (
            src["git"]["additions"].as_u64(),
            src["git"]["deletions"].as_u64()
        ),
        (Some(2), Some(1))
    );
    assert!(
        body["files"][1].get("git").is_none(),
        "an unchanged file has no git: {body}"
    );
    let (_, sub) = f.get("files", &[("path", "src")]).await;
    let a = sub["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == "a.rs")
        .unwrap();
    assert_eq!(
        a["git"],
        json!({"status": "modified", "staged": false, "unstaged": true,
                                "additions": 2, "deletions": 1})
    );
}

#[tokio::test]
async fn a_tree_path_that_leaves_the_workspace_is_refused_by_dot_dot_and_by_symlink() {
    let f = Fixture::new().await;
    f.links_out("escape");
    f.write("ok/inner.txt", "i");
    std::os::unix::fs::symlink(f.root().join("ok"), f.root().join("inside_link")).unwrap();
    assert_outside("..", f.get("files", &[("path", "..")]).await);
    assert_outside(
        "../outside",
        f.get("files", &[("path", "../outside")]).await,
    );
    assert_outside("symlink", f.get("files", &[("path", "escape")]).await);
    let (status, body) = f.get("files", &[("path", "missing")]).await;
    assert_eq!(
        (status, body["message"].as_str()),
        (404, Some("Path not found"))
    );
    // A link that leaves is not listed; one that stays is listed as what it points to.
    let (_, root) = f.get("files", &[]).await;
    assert_eq!(names(&root), ["inside_link", "ok"], "{root}");
    assert_eq!(root["files"][0]["type"], "directory");
}

#[tokio::test]
async fn an_additional_path_is_a_root_of_its_own_and_an_unknown_root_means_the_main_one() {
    let app = crate::helpers::spawn_app().await;
    let dir = tempfile::tempdir().unwrap();
    let (main, extra) = (dir.path().join("main"), dir.path().join("extra"));
    std::fs::create_dir_all(main.join("m")).unwrap();
    std::fs::create_dir_all(extra.join("e")).unwrap();
    let ws = folder_workspace(&app, &main, &[&extra]).await;
    let f = super::Fixture { app, ws, dir };
    let extra_s = extra.to_string_lossy().into_owned();
    let (_, body) = f.get("files", &[("root", &extra_s)]).await;
    assert_eq!(
        (names(&body), &body["isMain"]),
        (vec!["e".to_owned()], &json!(false))
    );
    let (_, body) = f.get("files", &[("root", "/somewhere/else")]).await;
    assert_eq!(
        (names(&body), &body["isMain"]),
        (vec!["m".to_owned()], &json!(true))
    );
}

#[tokio::test]
async fn search_matches_names_ignoring_case_honours_gitignore_and_the_limit() {
    let f = Fixture::new().await;
    f.write(".gitignore", "generated/\n");
    f.write("src/UserConfig.ts", "");
    f.write("src/deep/config.json", "");
    f.write("generated/config.ts", "");
    f.write("node_modules/config/index.js", "");
    f.write(".config/hidden", "");
    f.write("config", "");
    let (status, body) = f
        .get("files", &[("search", "CONFIG"), ("showHidden", "false")])
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["mode"], "search");
    assert_eq!(body["currentPath"], "");
    let paths: Vec<&str> = body["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["path"].as_str().unwrap())
        .collect();
    assert_eq!(
        paths,
        ["config", "src/UserConfig.ts", "src/deep/config.json"]
    );
    assert_eq!(
        body["files"][1],
        json!({"name": "UserConfig.ts", "type": "file",
                                        "path": "src/UserConfig.ts", "extension": ".ts"})
    );
    let (_, hidden) = f.get("files", &[("search", "config")]).await;
    assert_eq!(
        names(&hidden).len(),
        4,
        "showHidden defaults to true: {hidden}"
    );
    let (_, one) = f
        .get("files", &[("search", "config"), ("limit", "1")])
        .await;
    assert_eq!(names(&one).len(), 1);
    let (_, short) = f.get("files", &[("search", "c")]).await;
    assert_eq!(names(&short).len(), 0, "one character finds nothing");
}

#[tokio::test]
async fn search_does_not_follow_a_symlink_out_of_the_workspace() {
    let f = Fixture::new().await;
    f.links_out("escape");
    let (status, body) = f.get("files", &[("search", "secret")]).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        names(&body).len(),
        0,
        "what lies behind a link is never walked: {body}"
    );
    let (_, links) = f.get("files", &[("search", "escape")]).await;
    assert_eq!(
        names(&links),
        ["escape", "escape.txt"],
        "the links themselves match by name"
    );
}
