//! Serving the built Jean2 web client on the server's own port and scheme (`PROTOCOL.md` §1),
//! so the client reaches `/api` and `/ws` on its own origin, with no CORS and no second server.
//!
//! The client is `JEAN2_CLIENT_DIR`, else `<data dir>/client/` when it holds an `index.html`.
//! Files are served by `tower-http`'s `ServeDir` (content types, `HEAD`, ranges; no directory
//! listing; a path whose decoded form leaves the folder is refused). A browser navigation
//! (`Accept: text/html` or `Sec-Fetch-Mode: navigate`) to a path that is no file gets
//! `index.html`, so reloading `/server/<id>/workspace/session/<sid>` works; anything else that
//! is not found gets the API's JSON 404. `index.html`, the service worker and the manifest are
//! `no-cache` (a new build is picked up at once); hashed files under `assets/` are immutable.
//! `GET /` stays the JSON status for API clients (see [`wants_page`]).

use std::path::{Path, PathBuf};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::Response;
use tower::ServiceExt;
use tower_http::services::{ServeDir, ServeFile};

use crate::app::AppState;
use crate::config::Settings;
use crate::error::endpoint_not_found;

/// The folder of the web client this server serves, if any.
pub fn client_root(settings: &Settings) -> Option<PathBuf> {
    let dir = match &settings.client_dir {
        Some(d) => d.clone(),
        None => settings.data_dir.join("client"),
    };
    dir.join("index.html").is_file().then_some(dir)
}

/// Whether a request is a browser asking for a page (not a script or `fetch` wanting JSON).
pub fn wants_page(method: &Method, headers: &HeaderMap) -> bool {
    let get = method == Method::GET || method == Method::HEAD;
    let navigate = headers
        .get("sec-fetch-mode")
        .is_some_and(|v| v.as_bytes() == b"navigate");
    let html = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("text/html"));
    get && (navigate || html)
}

/// `Cache-Control` for a served file (its path relative to the client folder).
pub fn cache_control(rel: &str) -> &'static str {
    let name = rel.rsplit('/').next().unwrap_or(rel);
    if matches!(
        name,
        "index.html" | "sw.js" | "registerSW.js" | "manifest.webmanifest"
    ) {
        return "no-cache";
    }
    let under_assets = rel.trim_start_matches('/').starts_with("assets/");
    if under_assets && has_content_hash(name) {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    }
}

/// `index-v3SfwVET.js`, `geist-latin-wght-normal-Dm3htQBi.woff2`: a build hash of 8 or more
/// characters before the extension.
fn has_content_hash(name: &str) -> bool {
    let stem = name.split('.').next().unwrap_or("");
    let hash = stem.rsplit(['-', '.']).next().unwrap_or("");
    stem.contains('-')
        && hash.len() >= 8
        && hash.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn with_headers(mut res: Response, rel: &str) -> Response {
    let h = res.headers_mut();
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(cache_control(rel)),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    res
}

/// `index.html` of the client at `root`.
pub async fn index(root: &Path, req: Request) -> Response {
    match ServeFile::new(root.join("index.html")).oneshot(req).await {
        Ok(res) => with_headers(res.map(Body::new), "index.html"),
        Err(e) => match e {},
    }
}

/// The router's fallback: a file of the client, `index.html` for a navigation, else JSON 404.
pub async fn fallback(State(app): State<AppState>, req: Request) -> Response {
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let Some(root) = client_root(&app.settings) else {
        return endpoint_not_found(&method, &path);
    };
    if method != Method::GET && method != Method::HEAD {
        return endpoint_not_found(&method, &path);
    }
    let page = wants_page(&method, req.headers());
    let (parts, body) = req.into_parts();
    let probe = Request::from_parts(parts.clone(), body);
    let served = match ServeDir::new(&root)
        .append_index_html_on_directories(false)
        .oneshot(probe)
        .await
    {
        Ok(res) => res.map(Body::new),
        Err(e) => match e {},
    };
    if served.status() != StatusCode::NOT_FOUND {
        return with_headers(served, &path);
    }
    // Only paths that look like pages fall back to the app shell; a missing `.js` stays a 404.
    let last = path.rsplit('/').next().unwrap_or("");
    let page_path = !last.contains('.') || last.ends_with(".html");
    if page && page_path {
        return index(&root, Request::from_parts(parts, Body::empty())).await;
    }
    endpoint_not_found(&method, &path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_hashed_assets_are_immutable() {
        for (rel, want) in [
            ("/index.html", "no-cache"),
            ("/sw.js", "no-cache"),
            ("/manifest.webmanifest", "no-cache"),
            (
                "/assets/index-v3SfwVET.js",
                "public, max-age=31536000, immutable",
            ),
            (
                "/assets/geist-latin-wght-normal-Dm3htQBi.woff2",
                "public, max-age=31536000, immutable",
            ),
            ("/assets/logo.png", "no-cache"),
            ("/favicon.ico", "no-cache"),
            ("/icon-192-AbCdEfGh.png", "no-cache"),
        ] {
            assert_eq!(cache_control(rel), want, "{rel}");
        }
    }

    #[test]
    fn a_page_is_a_get_that_accepts_html() {
        let mut h = HeaderMap::new();
        assert!(!wants_page(&Method::GET, &h));
        h.insert(
            header::ACCEPT,
            HeaderValue::from_static("text/html,application/xhtml+xml"),
        );
        assert!(wants_page(&Method::GET, &h));
        assert!(!wants_page(&Method::POST, &h));
        let mut h = HeaderMap::new();
        h.insert("sec-fetch-mode", HeaderValue::from_static("navigate"));
        assert!(wants_page(&Method::HEAD, &h));
    }
}
