//! Attachments (`PROTOCOL-AGENT.md` §12, §16 item 8): the multipart upload and its errors in
//! upstream's order, the public content route guarded by its key, what the bytes are served
//! as, the files going with their session, ids that are never paths, and per-user sight.
//! [`chat`] follows attachments into messages, the queue and the provider.

mod chat;
mod safety;

use std::path::{Path, PathBuf};

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{TOKEN, TestApp, spawn_app, spawn_app_with_token};

/// A 1×1 PNG's first bytes (enough for any sniffer).
pub const PNG: &[u8] =
    b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89";

const BOUNDARY: &str = "jean2-test-boundary-7d1f";

/// A multipart body with one part named `field` (a file part when `filename` is given).
pub fn form(field: &str, filename: Option<&str>, mime: Option<&str>, bytes: &[u8]) -> Vec<u8> {
    let mut head = format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{field}\"");
    if let Some(f) = filename {
        head.push_str(&format!("; filename=\"{f}\""));
    }
    head.push_str("\r\n");
    if let Some(m) = mime {
        head.push_str(&format!("Content-Type: {m}\r\n"));
    }
    head.push_str("\r\n");
    let mut body = head.into_bytes();
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
    body
}

/// `POST /api/sessions/:sid/attachments` with `body` as a multipart form (and a token).
pub async fn post_form(
    app: &TestApp,
    token: Option<&str>,
    sid: &str,
    body: Vec<u8>,
) -> (u16, Value) {
    let mut req = app
        .client
        .post(app.url(&format!("/api/sessions/{sid}/attachments")))
        .header(
            "content-type",
            format!("multipart/form-data; boundary={BOUNDARY}"),
        )
        .body(body);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let res = req.send().await.expect("upload");
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

/// Upload one file to `sid` on a server with auth off.
pub async fn upload(
    app: &TestApp,
    sid: &str,
    name: &str,
    mime: &str,
    bytes: &[u8],
) -> (u16, Value) {
    post_form(app, None, sid, form("file", Some(name), Some(mime), bytes)).await
}

/// Upload and expect 201; the reply.
pub async fn uploaded(app: &TestApp, sid: &str, name: &str, mime: &str, bytes: &[u8]) -> Value {
    let (status, body) = upload(app, sid, name, mime, bytes).await;
    assert_eq!(status, 201, "{name}: {body}");
    body
}

/// A new session in a new virtual workspace (over REST); its id.
pub async fn new_session(app: &TestApp) -> String {
    let w = app.create_workspace("attachments").await;
    app.create_session(w["id"].as_str().unwrap()).await["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Every file under `<data dir>/attachments`.
pub fn files_on_disk(app: &TestApp) -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for e in entries {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(&p, out);
            } else {
                out.push(p);
            }
        }
    }
    let mut out = Vec::new();
    walk(&app.data_dir.path().join("attachments"), &mut out);
    out
}

pub async fn get_raw(app: &TestApp, path: &str) -> reqwest::Response {
    app.client.get(app.url(path)).send().await.expect("GET")
}

/// A server with the shared token, a session in it, and a PNG uploaded there (with the
/// token): `(app, session, upload reply)`. Without the token the upload is refused.
async fn uploaded_with_token() -> (TestApp, String, Value) {
    let app = spawn_app_with_token().await;
    let post = async |path: &str, body: Value| -> Value {
        let res = app
            .client
            .post(app.url(path))
            .bearer_auth(TOKEN)
            .json(&body);
        res.send().await.unwrap().json().await.unwrap()
    };
    let w = post("/api/workspaces", json!({"name": "w", "isVirtual": true})).await;
    let s = post(
        "/api/sessions",
        json!({"workspaceId": w["workspace"]["id"]}),
    )
    .await;
    let sid = s["session"]["id"].as_str().unwrap().to_owned();
    let png = || form("file", Some("shot.png"), Some("image/png"), PNG);
    let (status, _) = post_form(&app, None, &sid, png()).await;
    assert_eq!(status, 401, "the upload needs the token");
    let (status, a) = post_form(&app, Some(TOKEN), &sid, png()).await;
    assert_eq!(status, 201, "{a}");
    (app, sid, a)
}

/// The `key` of an upload reply's url.
pub fn key_of(a: &Value) -> String {
    let url = a["url"].as_str().unwrap();
    url.split_once("?key=").unwrap().1.to_owned()
}

#[tokio::test]
async fn an_upload_is_answered_as_upstream_and_its_url_serves_it_without_a_token() {
    let (app, sid, a) = uploaded_with_token().await;
    let id = a["id"].as_str().unwrap();
    assert!(id.starts_with("att_"), "{a}");
    assert_eq!(
        (&a["kind"], &a["filename"], &a["mimeType"], &a["size"]),
        (
            &json!("image"),
            &json!("shot.png"),
            &json!("image/png"),
            &json!(PNG.len())
        )
    );
    let key = key_of(&a);
    assert!(
        key.len() == 32 && key.bytes().all(|b| b.is_ascii_hexdigit()),
        "{key}"
    );
    let url = format!("/api/sessions/{sid}/attachments/{id}/content?key={key}");
    assert_eq!(a["url"], url.as_str(), "root-relative");

    let res = get_raw(&app, &url).await;
    assert_eq!(res.status(), 200);
    let h = res.headers().clone();
    assert_eq!(h["content-type"], "image/png");
    assert_eq!(h["content-length"], PNG.len().to_string().as_str());
    assert_eq!(h["cache-control"], "private, max-age=86400");
    assert_eq!(h["x-content-type-options"], "nosniff");
    let disposition = "inline; filename=\"shot.png\"; filename*=UTF-8''shot.png";
    assert_eq!(h["content-disposition"], disposition);
    let csp = h["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("sandbox"), "{csp}");
    assert_eq!(res.bytes().await.unwrap().as_ref(), PNG);
}

#[tokio::test]
async fn the_content_route_wants_the_right_key_for_the_right_session() {
    let (app, sid, a) = uploaded_with_token().await;
    let (id, key) = (a["id"].as_str().unwrap(), key_of(&a));
    let path = format!("/api/sessions/{sid}/attachments/{id}/content");
    let res = get_raw(&app, &path).await;
    assert_eq!(res.status(), 401);
    let body: Value = res.json().await.unwrap();
    let missing = json!({"error": "unauthorized", "message": "Missing access key"});
    assert_eq!(body, missing);
    let wrong: String = key.chars().rev().collect();
    for (label, query) in [
        ("wrong key", wrong.as_str()),
        ("short key", &key[..31]),
        ("token", TOKEN),
    ] {
        let res = get_raw(&app, &format!("{path}?key={query}")).await;
        assert_eq!(res.status(), 404, "{label}");
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["message"], "Attachment not found", "{label}");
    }
    let elsewhere = format!("/api/sessions/other/attachments/{id}/content?key={key}");
    let res = get_raw(&app, &elsewhere).await;
    assert_eq!(res.status(), 403);
    assert_eq!(
        res.json::<Value>().await.unwrap()["message"],
        "Session mismatch"
    );

    // The list (token required): urls without their key.
    let list_path = format!("/api/sessions/{sid}/attachments");
    assert_eq!(app.get(&list_path).await.status(), 401);
    let list: Value = app.get_auth(&list_path, TOKEN).await.json().await.unwrap();
    assert_eq!(list["attachments"][0]["id"], id);
    assert_eq!(list["attachments"][0]["url"], path.as_str());
}

#[tokio::test]
async fn text_is_served_as_plain_utf8_and_markup_never_as_html() {
    let app = spawn_app().await;
    let sid = new_session(&app).await;
    let cases = [
        (
            "notes.txt",
            "text/plain",
            "text/plain;charset=utf-8",
            "grüße\n".as_bytes(),
            "text/plain;charset=utf-8",
            "inline",
        ),
        (
            "page.html",
            "text/html",
            "text/html;charset=utf-8",
            b"<html><script>alert(1)</script></html>".as_slice(),
            "text/plain;charset=utf-8",
            "inline",
        ),
        (
            "pic.svg",
            "application/octet-stream",
            "application/octet-stream",
            b"<svg xmlns=\"http://www.w3.org/2000/svg\"><script/></svg>".as_slice(),
            "text/plain;charset=utf-8",
            "inline",
        ),
        (
            "doc.pdf",
            "application/pdf",
            "application/pdf",
            b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n".as_slice(),
            "application/pdf",
            "attachment",
        ),
        (
            "blob.bin",
            "text/plain; charset=latin1",
            "text/plain; charset=latin1",
            b"\x00\x01\x02".as_slice(),
            "application/octet-stream",
            "attachment",
        ),
    ];
    // The recorded type is the client's (a text type names its charset, as the original's);
    // the served one is what the bytes are.
    for (name, claimed, recorded, bytes, served, disposition) in cases {
        let a = uploaded(&app, &sid, name, claimed, bytes).await;
        assert_eq!(a["kind"], "file", "{name}");
        assert_eq!(a["mimeType"], recorded, "{name}");
        let res = get_raw(&app, a["url"].as_str().unwrap()).await;
        assert_eq!(res.status(), 200, "{name}");
        assert_eq!(res.headers()["content-type"], served, "{name}");
        let d = res.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(d.starts_with(disposition), "{name}: {d}");
        assert_eq!(res.bytes().await.unwrap().as_ref(), bytes, "{name}");
    }
}

#[tokio::test]
async fn upload_errors_come_in_upstreams_order() {
    let app = spawn_app().await;
    let sid = new_session(&app).await;
    let no_file = "No file provided. Use multipart/form-data with field name \"file\".";
    let cases: Vec<(&str, &str, Vec<u8>, u16, &str)> = vec![
        (
            "unknown session first",
            "nope",
            b"not even multipart".to_vec(),
            404,
            "Session not found",
        ),
        (
            "no file field",
            &sid,
            form("other", Some("a.txt"), Some("text/plain"), b"x"),
            400,
            no_file,
        ),
        (
            "a field that is not a file",
            &sid,
            form("file", None, None, b"x"),
            400,
            no_file,
        ),
        (
            "svg is not an allowed image",
            &sid,
            form("file", Some("a.svg"), Some("image/svg+xml"), b"<svg/>"),
            400,
            "Image type \"image/svg+xml\" is not supported. Allowed: png, jpeg, webp, gif.",
        ),
        (
            "empty",
            &sid,
            form("file", Some("e.txt"), Some("text/plain"), b""),
            400,
            "File is empty.",
        ),
        (
            "an image that is not one",
            &sid,
            form("file", Some("a.png"), Some("image/png"), b"hello"),
            400,
            "The file is not a png, jpeg, webp or gif image (its content does not match \"image/png\").",
        ),
    ];
    for (label, session, body, status, message) in cases {
        let (got, body) = post_form(&app, None, session, body).await;
        assert_eq!(got, status, "{label}: {body}");
        assert_eq!(body["message"], message, "{label}");
    }
    // Not a multipart body at all: 400 (upstream: 500).
    let (status, body) = app
        .call(
            Method::POST,
            &format!("/api/sessions/{sid}/attachments"),
            Some(&json!({"file": "x"})),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["message"], no_file);
    assert!(
        files_on_disk(&app).is_empty(),
        "nothing refused is kept: {:?}",
        files_on_disk(&app)
    );
}
