//! The web client served by jean2 itself (`PROTOCOL.md` §1): the app shell for navigations
//! (history fallback), cache headers, content types, no listing, no way out of the folder, and
//! the JSON API untouched beside it.

use std::path::Path;

use reqwest::header::{ACCEPT, CACHE_CONTROL, CONTENT_TYPE};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::helpers::*;

const SHELL: &str = "<!doctype html><title>Jean2</title><div id=root></div>";
const HTML: &str = "text/html,application/xhtml+xml,*/*;q=0.8";

/// A built client in `dir/client` and a secret next to it.
fn build_client(dir: &Path) -> std::path::PathBuf {
    let c = dir.join("client");
    std::fs::create_dir_all(c.join("assets")).unwrap();
    std::fs::write(c.join("index.html"), SHELL).unwrap();
    std::fs::write(c.join("sw.js"), "self.addEventListener('fetch', () => {});").unwrap();
    std::fs::write(c.join("manifest.webmanifest"), r#"{"name":"Jean2"}"#).unwrap();
    std::fs::write(c.join("assets/index-v3SfwVET.js"), "console.log(1)").unwrap();
    std::fs::write(c.join("assets/index-Y1lV1N4F.css"), "body{}").unwrap();
    std::fs::write(c.join("assets/geist-Dm3htQBi.woff2"), [0u8, 1, 2]).unwrap();
    std::fs::write(dir.join("secret.txt"), "TOP-SECRET").unwrap();
    c
}

async fn get_with(app: &TestApp, path: &str, accept: Option<&str>) -> reqwest::Response {
    let mut req = app.client.get(app.url(path));
    if let Some(a) = accept {
        req = req.header(ACCEPT, a);
    }
    req.send().await.unwrap()
}

fn header(res: &reqwest::Response, name: reqwest::header::HeaderName) -> String {
    res.headers()
        .get(name)
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default()
}

/// A request line sent as is (HTTP clients normalise `..` away before sending).
async fn raw_get(app: &TestApp, target: &str) -> (u16, String) {
    let mut s = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    let req = format!(
        "GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: */*\r\nConnection: close\r\n\r\n"
    );
    s.write_all(req.as_bytes()).await.unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).await.unwrap();
    let status = out
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (status, out)
}

#[tokio::test]
async fn the_client_is_served_beside_the_api_with_a_history_fallback() {
    let app = spawn_app_with(|s| s.client_dir = Some(build_client(s.data_dir.as_path()))).await;
    let res = get_with(&app, "/", Some(HTML)).await;
    assert_eq!(res.status(), 200);
    assert!(header(&res, CONTENT_TYPE).starts_with("text/html"));
    assert_eq!(header(&res, CACHE_CONTROL), "no-cache");
    assert_eq!(res.text().await.unwrap(), SHELL);
    let res = get_with(&app, "/", None).await;
    assert_eq!(header(&res, CONTENT_TYPE), "application/json");
    assert_eq!(
        res.json::<Value>().await.unwrap()["status"],
        "ok",
        "API clients keep the JSON"
    );

    let deep = "/server/5d1c/workspace/session/9f2e";
    let res = get_with(&app, deep, Some(HTML)).await;
    assert_eq!(
        (res.status().as_u16(), header(&res, CACHE_CONTROL)),
        (200, "no-cache".into())
    );
    assert_eq!(
        res.text().await.unwrap(),
        SHELL,
        "a reload of a deep link gets the shell"
    );
    let res = get_with(&app, deep, Some("application/json")).await;
    assert_eq!(res.status(), 404);
    assert_eq!(res.json::<Value>().await.unwrap()["error"], "Not Found");

    for (path, ctype, cache) in [
        (
            "/assets/index-v3SfwVET.js",
            "text/javascript",
            "public, max-age=31536000, immutable",
        ),
        (
            "/assets/index-Y1lV1N4F.css",
            "text/css",
            "public, max-age=31536000, immutable",
        ),
        (
            "/assets/geist-Dm3htQBi.woff2",
            "font/woff2",
            "public, max-age=31536000, immutable",
        ),
        ("/sw.js", "text/javascript", "no-cache"),
        (
            "/manifest.webmanifest",
            "application/manifest+json",
            "no-cache",
        ),
    ] {
        let res = get_with(&app, path, None).await;
        assert_eq!(res.status(), 200, "{path}");
        assert!(
            header(&res, CONTENT_TYPE).starts_with(ctype),
            "{path}: {}",
            header(&res, CONTENT_TYPE)
        );
        assert_eq!(header(&res, CACHE_CONTROL), cache, "{path}");
    }
    let res = get_with(&app, "/assets/missing-AbCdEf12.js", Some(HTML)).await;
    assert_eq!(
        res.status(),
        404,
        "a missing script is not answered with the page"
    );
    let res = get_with(&app, "/assets/", None).await;
    assert_eq!(res.status(), 404, "no directory listing");
    assert!(!res.text().await.unwrap().contains("index-v3SfwVET"));

    let res = get_with(&app, "/api/health", Some(HTML)).await;
    assert_eq!(res.json::<Value>().await.unwrap()["status"], "healthy");
    let res = get_with(&app, "/api/nope", Some(HTML)).await;
    assert_eq!(res.status(), 404);
    assert_eq!(res.json::<Value>().await.unwrap()["error"], "Not Found");
    let res = app
        .client
        .post(app.url("/index.html"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    let (_, info) = app.call(reqwest::Method::GET, "/api/info", None).await;
    assert_eq!(info["features"]["client"], true);
}

#[tokio::test]
async fn no_path_leaves_the_client_folder() {
    let app = spawn_app_with(|s| s.client_dir = Some(build_client(s.data_dir.as_path()))).await;
    let (status, text) = raw_get(&app, "/sw.js").await;
    assert_eq!(status, 200, "the raw request itself works: {text}");
    for target in [
        "/../secret.txt",
        "/assets/../../secret.txt",
        "/%2e%2e/secret.txt",
        "/%2E%2E%2Fsecret.txt",
        "/assets/..%2f..%2fsecret.txt",
        "/..%5csecret.txt",
        "/assets/%2e%2e/%2e%2e/secret.txt",
        "//secret.txt",
        "/%2fetc%2fpasswd",
    ] {
        let (status, text) = raw_get(&app, target).await;
        assert!(!text.contains("TOP-SECRET"), "{target}: {text}");
        assert!(!text.contains("root:"), "{target}");
        assert!(status == 404 || status == 400, "{target}: {status}");
    }
}

#[tokio::test]
async fn the_data_dir_client_is_found_and_the_page_needs_no_token() {
    let app = spawn_app_with_token().await;
    let (_, info) = app.call(reqwest::Method::GET, "/api/info", None).await;
    assert_eq!(info["features"]["client"], false, "no client yet");
    let res = get_with(&app, "/server/x", Some(HTML)).await;
    assert_eq!(res.status(), 404);
    build_client(app.data_dir.path());
    let (_, info) = app.call(reqwest::Method::GET, "/api/info", None).await;
    assert_eq!(info["features"]["client"], true, "<data dir>/client counts");
    let res = get_with(&app, "/server/x", Some(HTML)).await;
    assert_eq!(
        (res.status().as_u16(), res.text().await.unwrap()),
        (200, SHELL.to_owned())
    );
    let res = get_with(&app, "/assets/index-v3SfwVET.js", None).await;
    assert_eq!(res.status(), 200, "the page and its files are public");
    assert_eq!(
        app.get("/api/workspaces").await.status(),
        401,
        "the API is not"
    );
}

#[tokio::test]
async fn jean2_open_prints_the_client_address_where_there_is_no_browser() {
    let d = crate::daemon::harness::Daemon::new();
    let not_running = d.run(&["open"]);
    assert_eq!(not_running.code, Some(3), "{not_running:?}");
    assert!(
        not_running.stdout.contains("jean2 start"),
        "{not_running:?}"
    );
    d.ok(&["start", "-p", "0"]);
    let no_client = d.run(&["open"]);
    assert_ne!(no_client.code, Some(0));
    assert!(
        no_client.stdout.contains("serves no web client"),
        "{no_client:?}"
    );
    build_client(d.path("").as_path());
    let port = d.url().rsplit(':').next().unwrap().to_owned();
    let run = d.ok(&["open"]);
    assert_eq!(
        run.stdout.trim(),
        format!("Open http://localhost:{port}/ in your browser."),
        "no DISPLAY in the test's environment: {run:?}"
    );
}
