//! Workspace files over real HTTP (`PROTOCOL-AGENT.md` §13.1–13.8): the tree and search, the
//! preview, the editor's read and save, git status and diff, and the folder picker; every route
//! that takes a path refuses `..` and a symlink that leads out of the workspace.

mod edit;
mod fs;
mod git;
mod tree;

use std::path::Path;
use std::process::Command;

use reqwest::Method;
use serde_json::{Value, json};
use tempfile::TempDir;

use crate::helpers::{TestApp, spawn_app, urlencode};

/// A server, a folder workspace on a fresh directory, and a directory beside it (outside).
pub struct Fixture {
    pub app: TestApp,
    pub ws: String,
    pub dir: TempDir,
}

impl Fixture {
    pub async fn new() -> Self {
        let app = spawn_app().await;
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("ws")).unwrap();
        std::fs::create_dir(dir.path().join("outside")).unwrap();
        std::fs::write(dir.path().join("outside/secret.txt"), "top secret\n").unwrap();
        let ws = folder_workspace(&app, &dir.path().join("ws"), &[]).await;
        Self { app, ws, dir }
    }

    /// The workspace's directory.
    pub fn root(&self) -> std::path::PathBuf {
        self.dir.path().join("ws")
    }

    /// Write a file under the workspace, making its directories.
    pub fn write(&self, rel: &str, content: &str) {
        let p = self.root().join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, content).unwrap();
    }

    /// `ws/<name>` → `../outside` (a directory) and `ws/<name>.txt` → `../outside/secret.txt`.
    pub fn links_out(&self, name: &str) {
        let out = self.dir.path().join("outside");
        std::os::unix::fs::symlink(&out, self.root().join(name)).unwrap();
        std::os::unix::fs::symlink(
            out.join("secret.txt"),
            self.root().join(format!("{name}.txt")),
        )
        .unwrap();
    }

    /// `GET /api/workspaces/<ws>/<route>?<query>` → (status, body).
    pub async fn get(&self, route: &str, query: &[(&str, &str)]) -> (u16, Value) {
        self.get_in(&self.ws, route, query).await
    }

    pub async fn get_in(&self, ws: &str, route: &str, query: &[(&str, &str)]) -> (u16, Value) {
        let q: Vec<String> = query
            .iter()
            .map(|(k, v)| format!("{k}={}", urlencode(v)))
            .collect();
        let path = format!("/api/workspaces/{ws}/{route}?{}", q.join("&"));
        self.app.call(Method::GET, &path, None).await
    }

    pub async fn put_file(&self, body: Value) -> (u16, Value) {
        let path = format!("/api/workspaces/{}/file", self.ws);
        self.app.call(Method::PUT, &path, Some(&body)).await
    }
}

/// Create a folder workspace at `dir` with `extra` additional paths; its id.
pub async fn folder_workspace(app: &TestApp, dir: &Path, extra: &[&Path]) -> String {
    let body = json!({"name": "proj", "path": dir, "isVirtual": false, "additionalPaths": extra});
    let (status, body) = app.call(Method::POST, "/api/workspaces", Some(&body)).await;
    assert_eq!(status, 201, "{body}");
    body["workspace"]["id"].as_str().unwrap().to_owned()
}

/// Run git in `dir` (with an identity, so commits work anywhere).
pub fn git(dir: &Path, args: &[&str]) {
    let out = Command::new("git")
        .args(["-c", "user.name=t", "-c", "user.email=t@example.com"])
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(out.status.success(), "git {args:?}: {out:?}");
}

/// The names in a `files` listing.
pub fn names(body: &Value) -> Vec<String> {
    body["files"]
        .as_array()
        .unwrap_or_else(|| panic!("no files: {body}"))
        .iter()
        .map(|e| e["name"].as_str().unwrap().to_owned())
        .collect()
}

/// Assert a 403 "Path outside workspace".
pub fn assert_outside(label: &str, (status, body): (u16, Value)) {
    assert_eq!(status, 403, "{label}: {body}");
    assert_eq!(body["error"], "forbidden", "{label}");
    assert_eq!(body["message"], "Path outside workspace", "{label}");
}

#[tokio::test]
async fn every_workspace_route_answers_404_for_an_unknown_workspace() {
    let f = Fixture::new().await;
    for route in ["files", "file-preview", "file", "git/status", "git/diff"] {
        let (status, body) = f.get_in("nope", route, &[("path", "a.txt")]).await;
        assert_eq!(status, 404, "{route}: {body}");
        assert_eq!(body["message"], "Workspace not found", "{route}");
    }
    let path = "/api/workspaces/nope/file";
    let body = json!({"path": "a", "content": "", "expectedRevision": "x"});
    let (status, body) = f.app.call(Method::PUT, path, Some(&body)).await;
    assert_eq!(
        (status, body["message"].as_str()),
        (404, Some("Workspace not found"))
    );
}
