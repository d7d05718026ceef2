//! `spawn_app()` and friends: a real server on port 0 with a temporary data dir, an HTTP client,
//! and a WebSocket client. No sleeps, no fixed ports.

use std::net::SocketAddr;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use jean2::config::Settings;
use serde_json::Value;
use tempfile::TempDir;
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

pub const TOKEN: &str = "s3cret-token";

pub struct TestApp {
    pub addr: SocketAddr,
    /// `http://127.0.0.1:PORT`
    pub base: String,
    pub client: reqwest::Client,
    pub data_dir: TempDir,
    pub settings: Settings,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<anyhow::Result<()>>>,
}

/// A server with auth off.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// A server with the shared token [`TOKEN`].
pub async fn spawn_app_with_token() -> TestApp {
    spawn_app_with(|s| s.auth_token = Some(jean2::config::Secret::new(TOKEN))).await
}

/// A server whose settings `customize` adjusts (data dir and port 0 are already set).
pub async fn spawn_app_with(customize: impl FnOnce(&mut Settings)) -> TestApp {
    let data_dir = tempfile::tempdir().expect("temp dir");
    let mut settings = Settings::for_data_dir(data_dir.path().to_owned());
    customize(&mut settings);
    spawn_on(data_dir, settings).await
}

/// Start a server with exactly these settings, keeping `data_dir` alive with it.
pub async fn spawn_on(data_dir: TempDir, settings: Settings) -> TestApp {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind port 0");
    let addr = listener.local_addr().expect("local addr");
    let (tx, rx) = oneshot::channel::<()>();
    let task = tokio::spawn(jean2::server::run(settings.clone(), listener, async {
        let _ = rx.await;
    }));
    let scheme = if settings.tls.is_some() {
        "https"
    } else {
        "http"
    };
    let app = TestApp {
        addr,
        base: format!("{scheme}://{addr}"),
        client: reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .expect("client"),
        data_dir,
        settings,
        shutdown: Some(tx),
        task: Some(task),
    };
    if scheme == "http" {
        app.wait_ready().await;
    }
    app
}

impl TestApp {
    /// Wait until `/api/health` answers (the store opens before the first accept).
    pub async fn wait_ready(&self) {
        for _ in 0..200 {
            let res = self.client.get(self.url("/api/health")).send().await;
            if res.is_ok_and(|r| r.status().is_success()) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("server at {} did not become ready", self.base);
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(self.url(path)).send().await.expect("GET")
    }

    pub async fn get_auth(&self, path: &str, token: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .expect("GET")
    }

    pub async fn post_json(&self, path: &str, body: &Value) -> reqwest::Response {
        self.client
            .post(self.url(path))
            .json(body)
            .send()
            .await
            .expect("POST")
    }

    /// Open `/ws` with an optional `?token=`. `Err` carries the HTTP status of a refused upgrade.
    pub async fn ws(&self, token: Option<&str>) -> Result<WsClient, u16> {
        let mut url = format!("ws://{}/ws", self.addr);
        if let Some(t) = token {
            url.push_str(&format!("?token={}", urlencode(t)));
        }
        match tokio_tungstenite::connect_async(url).await {
            Ok((stream, _)) => Ok(WsClient { stream }),
            Err(tokio_tungstenite::tungstenite::Error::Http(res)) => Err(res.status().as_u16()),
            Err(e) => panic!("ws connect: {e}"),
        }
    }

    /// Stop the server gracefully and wait for it.
    pub async fn stop(mut self) -> TempDir {
        self.shutdown_and_wait().await;
        let dir = tempfile::tempdir().expect("temp dir");
        std::mem::replace(&mut self.data_dir, dir)
    }

    async fn shutdown_and_wait(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            tokio::time::timeout(Duration::from_secs(15), task)
                .await
                .expect("server stops within 15 s")
                .expect("server task")
                .expect("server ran cleanly");
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

pub fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// A WebSocket client speaking JSON text frames.
pub struct WsClient {
    pub stream: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

impl WsClient {
    pub async fn send_json(&mut self, v: &Value) {
        self.stream
            .send(Message::Text(v.to_string().into()))
            .await
            .expect("ws send");
    }

    pub async fn send_text(&mut self, text: &str) {
        self.stream
            .send(Message::Text(text.to_owned().into()))
            .await
            .expect("ws send");
    }

    /// The next frame of any kind, within 5 s.
    pub async fn next_message(&mut self) -> Option<Message> {
        tokio::time::timeout(Duration::from_secs(5), self.stream.next())
            .await
            .expect("a ws frame within 5 s")
            .map(|r| r.expect("ws read"))
    }

    /// The next JSON text frame (skipping server pings), within 5 s.
    pub async fn recv_json(&mut self) -> Value {
        loop {
            match self.next_message().await {
                Some(Message::Text(t)) => {
                    let v: Value = serde_json::from_str(&t).expect("json frame");
                    if v["type"] != "ping" {
                        return v;
                    }
                }
                Some(Message::Close(f)) => panic!("unexpected close: {f:?}"),
                Some(_) => {}
                None => panic!("ws ended"),
            }
        }
    }

    /// Wait up to `within` for a frame; `None` if nothing came (used to assert silence).
    pub async fn try_recv_json(&mut self, within: Duration) -> Option<Value> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match tokio::time::timeout(left, self.stream.next()).await {
                Err(_) => return None,
                Ok(Some(Ok(Message::Text(t)))) => {
                    let v: Value = serde_json::from_str(&t).expect("json frame");
                    if v["type"] != "ping" {
                        return Some(v);
                    }
                }
                Ok(Some(Ok(Message::Close(f)))) => panic!("unexpected close: {f:?}"),
                Ok(Some(Ok(_))) => {}
                Ok(Some(Err(e))) => panic!("ws read: {e}"),
                Ok(None) => panic!("ws ended"),
            }
        }
    }

    /// Send `client.register` with a valid descriptor and return `client.registered`.
    pub async fn register(&mut self) -> Value {
        self.send_json(&serde_json::json!({
            "type": "client.register",
            "client": {"clientId": uuid::Uuid::new_v4().to_string(), "clientType": "web",
                       "displayName": "Jean2 Web", "interactionMode": "human", "capabilities": []}
        }))
        .await;
        let v = self.recv_json().await;
        assert_eq!(v["type"], "client.registered", "{v}");
        v
    }
}

// ---- REST and WebSocket helpers for the workspace/session tests (issue 3) ----

impl TestApp {
    /// Any method with an optional JSON body.
    pub async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
    ) -> reqwest::Response {
        let mut req = self.client.request(method, self.url(path));
        if let Some(b) = body {
            req = req.json(b);
        }
        req.send().await.expect("request")
    }

    /// `send` and parse: `(status, body)`.
    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
    ) -> (u16, Value) {
        let res = self.send(method, path, body).await;
        let status = res.status().as_u16();
        let text = res.text().await.expect("body");
        let json =
            serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON ({status}): {text}"));
        (status, json)
    }

    /// Create a workspace (virtual unless `path` is given) and return it.
    pub async fn create_workspace(&self, name: &str) -> Value {
        let (status, body) = self
            .call(
                reqwest::Method::POST,
                "/api/workspaces",
                Some(&serde_json::json!({"name": name, "isVirtual": true})),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        body["workspace"].clone()
    }

    /// Create a session over REST and return it.
    pub async fn create_session(&self, workspace_id: &str) -> Value {
        let (status, body) = self
            .call(
                reqwest::Method::POST,
                "/api/sessions",
                Some(&serde_json::json!({"workspaceId": workspace_id})),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        body["session"].clone()
    }
}

impl WsClient {
    /// Receive the next frame and check its `type`.
    pub async fn expect(&mut self, kind: &str) -> Value {
        let v = self.recv_json().await;
        assert_eq!(v["type"], kind, "expected {kind}, got {v}");
        v
    }

    /// Assert that nothing but pings arrives within 300 ms.
    pub async fn expect_silence(&mut self, label: &str) {
        if let Some(v) = self.try_recv_json(Duration::from_millis(300)).await {
            panic!("{label}: expected nothing, got {v}");
        }
    }
}
