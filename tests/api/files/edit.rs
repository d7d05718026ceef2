//! The preview (§13.5) and the editor's read and save (§13.6–13.7).

use serde_json::json;
use sha2::{Digest, Sha256};

use super::{Fixture, assert_outside};

fn sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[tokio::test]
async fn a_preview_shows_code_markdown_and_text_and_says_why_it_cannot_show_the_rest() {
    let f = Fixture::new().await;
    f.write("src/app.ts", "const a = 1;\n");
    f.write("notes.md", "# n\n");
    f.write("plain.txt", "héllo\n");
    std::fs::write(f.root().join("blob.dat2"), [0u8, 1, 2, 3]).unwrap();
    std::fs::write(f.root().join("big.txt"), vec![b'a'; 1_048_577]).unwrap();
    let (status, code) = f.get("file-preview", &[("path", "src/app.ts")]).await;
    assert_eq!(status, 200, "{code}");
    assert_eq!(
        code,
        json!({"path": "src/app.ts", "name": "app.ts", "extension": ".ts",
        "size": 13, "kind": "code", "readOnly": true, "language": "typescript",
        "mimeType": "text/typescript", "content": "const a = 1;\n"})
    );
    let (_, md) = f.get("file-preview", &[("path", "notes.md")]).await;
    assert_eq!(
        (md["kind"].as_str(), md["language"].as_str()),
        (Some("markdown"), Some("markdown"))
    );
    let (_, text) = f.get("file-preview", &[("path", "plain.txt")]).await;
    assert_eq!(
        (text["kind"].as_str(), text["content"].as_str()),
        (Some("text"), Some("héllo\n"))
    );
    let (_, bin) = f.get("file-preview", &[("path", "blob.dat2")]).await;
    assert_eq!(bin["kind"], "binary", "{bin}");
    assert!(bin.get("content").is_none());
    let (_, big) = f.get("file-preview", &[("path", "big.txt")]).await;
    assert_eq!(
        (big["kind"].as_str(), big["maxBytes"].as_u64()),
        (Some("too_large"), Some(1_048_576))
    );
    let (status, dir) = f.get("file-preview", &[("path", "src")]).await;
    assert_eq!(
        (status, dir["message"].as_str()),
        (400, Some("Cannot preview a directory"))
    );
    let (status, none) = f.get("file-preview", &[("path", "nope.txt")]).await;
    assert_eq!(
        (status, none["message"].as_str()),
        (404, Some("File not found"))
    );
    let (status, _) = f.get("file-preview", &[]).await;
    assert_eq!(status, 400, "path is required");
}

#[tokio::test]
async fn preview_and_editor_refuse_dot_dot_absolute_paths_and_symlinks_out() {
    let f = Fixture::new().await;
    f.links_out("escape");
    let secret = f.dir.path().join("outside/secret.txt");
    let secret = secret.to_string_lossy();
    for route in ["file-preview", "file"] {
        assert_outside(
            route,
            f.get(route, &[("path", "../outside/secret.txt")]).await,
        );
        assert_outside(route, f.get(route, &[("path", &secret)]).await);
        assert_outside(route, f.get(route, &[("path", "escape.txt")]).await);
        assert_outside(route, f.get(route, &[("path", "escape/secret.txt")]).await);
    }
    for path in ["../outside/secret.txt", "escape.txt", "escape/secret.txt"] {
        let body =
            json!({"path": path, "content": "pwned", "expectedRevision": sha256(b"top secret\n")});
        assert_outside(path, f.put_file(body).await);
    }
    assert_eq!(
        std::fs::read_to_string(f.dir.path().join("outside/secret.txt")).unwrap(),
        "top secret\n",
        "nothing outside was written"
    );
}

#[tokio::test]
async fn the_editor_reads_a_file_with_its_revision_and_saves_it_atomically() {
    let f = Fixture::new().await;
    f.write("src/lib.rs", "pub fn a() {}\n");
    let (status, file) = f.get("file", &[("path", "src/lib.rs")]).await;
    assert_eq!(status, 200, "{file}");
    let rev = sha256(b"pub fn a() {}\n");
    assert_eq!(
        file,
        json!({"path": "src/lib.rs", "name": "lib.rs", "extension": ".rs",
        "size": 14, "content": "pub fn a() {}\n", "revision": rev, "readOnly": false,
        "language": "rust", "encoding": "utf-8"})
    );
    let (status, saved) = f
        .put_file(
            json!({"path": "src/lib.rs", "content": "pub fn b() {}\n", "expectedRevision": rev}),
        )
        .await;
    assert_eq!(status, 200, "{saved}");
    assert_eq!(saved["path"], "src/lib.rs");
    assert_eq!(saved["revision"], sha256(b"pub fn b() {}\n"));
    assert_eq!(saved["size"], 14);
    assert!(
        saved["modifiedAt"].as_str().unwrap().ends_with('Z'),
        "{saved}"
    );
    assert_eq!(
        std::fs::read_to_string(f.root().join("src/lib.rs")).unwrap(),
        "pub fn b() {}\n"
    );
    let left: Vec<_> = std::fs::read_dir(f.root().join("src")).unwrap().collect();
    assert_eq!(left.len(), 1, "no temporary file is left behind");
}

#[tokio::test]
async fn a_save_over_a_file_changed_since_it_was_read_is_409_with_what_is_there_now() {
    let f = Fixture::new().await;
    f.write("a.txt", "one\n");
    let (_, file) = f.get("file", &[("path", "a.txt")]).await;
    let read_rev = file["revision"].as_str().unwrap().to_owned();
    f.write("a.txt", "changed on disk\n");
    let mine =
        json!({"path": "a.txt", "content": "mine\n", "expectedRevision": read_rev, "force": true});
    let (status, body) = f.put_file(mine).await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["error"], "conflict");
    assert_eq!(body["message"], "File has been modified by another process");
    assert_eq!(
        body["details"],
        json!({"path": "a.txt", "expectedRevision": read_rev,
        "actualRevision": sha256(b"changed on disk\n"), "currentContent": "changed on disk\n"})
    );
    assert_eq!(
        std::fs::read_to_string(f.root().join("a.txt")).unwrap(),
        "changed on disk\n"
    );
    // Overwriting on purpose: send the actual revision back.
    let again = json!({"path": "a.txt", "content": "mine\n",
                       "expectedRevision": body["details"]["actualRevision"]});
    let (status, _) = f.put_file(again).await;
    assert_eq!(status, 200);
    assert_eq!(
        std::fs::read_to_string(f.root().join("a.txt")).unwrap(),
        "mine\n"
    );
}

#[tokio::test]
async fn the_editor_refuses_directories_binaries_big_files_new_files_and_bad_bodies() {
    let f = Fixture::new().await;
    f.write("dir/x", "x");
    std::fs::write(f.root().join("img.png"), "not really").unwrap();
    std::fs::write(f.root().join("big.txt"), vec![b'a'; 1_048_577]).unwrap();
    let cases = [
        ("dir", 400, "Cannot edit a directory"),
        ("img.png", 400, "Cannot edit a binary file"),
        ("big.txt", 413, "File is too large to edit"),
        ("new.txt", 404, "File not found"),
    ];
    for (path, code, message) in cases {
        let (status, body) = f.get("file", &[("path", path)]).await;
        assert_eq!(
            (status, body["message"].as_str()),
            (code, Some(message)),
            "{path}"
        );
    }
    let (status, body) = f
        .get("file", &[("path", "dir/x"), ("root", "/elsewhere")])
        .await;
    assert_eq!(
        (status, body["message"].as_str()),
        (400, Some("Invalid workspace root"))
    );
    let body = json!({"path": "new.txt", "content": "x", "expectedRevision": "abc"});
    let (status, _) = f.put_file(body).await;
    assert_eq!(status, 404, "a save never creates a file");
    assert!(!f.root().join("new.txt").exists());
    let (status, body) = f.put_file(json!({"path": "dir/x", "content": "y"})).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["message"], "Validation failed");
    assert_eq!(body["details"][0]["path"], "expectedRevision");
}
