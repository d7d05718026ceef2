//! `spawn_app()` and friends: a real server on port 0 with a temporary data dir, an HTTP client,
//! and a WebSocket client. No sleeps, no fixed ports. Each server runs on its own runtime and
//! keeps its own log, which a failing test prints (`Drop for TestApp`).

mod server;
#[path = "../../src/store/pg/testdb.rs"]
pub mod testdb;
mod ws;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use jean2::config::Settings;
use serde_json::Value;
use tempfile::TempDir;
use tokio::sync::oneshot;

pub use server::ServerLog;
pub use ws::{HUNG, WsClient};

pub const TOKEN: &str = "s3cret-token";

pub struct TestApp {
    pub addr: SocketAddr,
    /// `http://127.0.0.1:PORT` (or `https://…` with TLS)
    pub base: String,
    pub client: reqwest::Client,
    pub data_dir: TempDir,
    pub settings: Settings,
    /// What this server logged (`jean2` at debug), printed when the test fails.
    pub log: ServerLog,
    shutdown: Option<oneshot::Sender<()>>,
    stopped: Option<oneshot::Receiver<anyhow::Result<()>>>,
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
    settings.database_url = test_database().await;
    customize(&mut settings);
    spawn_on(data_dir, settings).await
}

/// On a PostgreSQL run (`JEAN2_TEST_BACKEND=postgres`), a new database for one server (or
/// several sharing it); `None` on SQLite, where each server has its data dir's file.
pub async fn test_database() -> Option<jean2::config::DatabaseUrl> {
    if !testdb::on_postgres() {
        return None;
    }
    let url = testdb::fresh_database().await;
    Some(jean2::config::DatabaseUrl::parse(&url).expect("test database URL"))
}

/// The environment that points the real binary at the database of `settings` (nothing on
/// SQLite, where the data dir says it).
pub fn database_env(settings: &Settings) -> Vec<(&'static str, String)> {
    match &settings.database_url {
        Some(url) => vec![("JEAN2_DATABASE_URL", url.expose().to_owned())],
        None => Vec::new(),
    }
}

/// A store on the database of `settings`, beside a server that may be running on it.
pub async fn store_of(settings: &Settings) -> jean2::store::Store {
    match &settings.database_url {
        Some(url) => jean2::store::Store::connect(url, 2).await.expect("store"),
        None => jean2::store::Store::open_unlocked(&settings.database_path)
            .await
            .expect("store"),
    }
}

/// Whether this run is on SQLite (for tests of what only SQLite does).
pub fn on_sqlite() -> bool {
    !testdb::on_postgres()
}

/// Start a server with exactly these settings, keeping `data_dir` alive with it, and wait
/// until it answers (plain or TLS).
pub async fn spawn_on(data_dir: TempDir, settings: Settings) -> TestApp {
    spawn_serving(data_dir, settings, None).await
}

/// [`spawn_on`], with `jean2 reload` (SIGHUP) played by `reloader`.
pub async fn spawn_serving(
    data_dir: TempDir,
    settings: Settings,
    reloader: Option<jean2::server::Reloader>,
) -> TestApp {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind port 0");
    let addr = listener.local_addr().expect("local addr");
    let (tx, rx) = oneshot::channel::<()>();
    let log = ServerLog::default();
    let shutdown = async {
        let _ = rx.await;
    };
    let stopped = server::start(&log, settings.clone(), listener, shutdown, reloader);
    let scheme = if settings.tls.is_some() {
        "https"
    } else {
        "http"
    };
    let mut app = TestApp {
        addr,
        base: format!("{scheme}://{addr}"),
        client: reqwest::Client::builder()
            .timeout(HUNG)
            .build()
            .expect("client"),
        data_dir,
        settings,
        log,
        shutdown: Some(tx),
        stopped: Some(stopped),
    };
    app.wait_ready().await;
    app
}

impl TestApp {
    /// Wait until `/api/health` answers (the store opens before the first accept). The probe
    /// keeps no connection open, so it holds none of the server's connection slots.
    async fn wait_ready(&mut self) {
        let probe = reqwest::Client::builder()
            .pool_max_idle_per_host(0)
            .danger_accept_invalid_certs(true)
            .timeout(HUNG)
            .build()
            .expect("probe client");
        let deadline = Instant::now() + HUNG;
        loop {
            let res = probe.get(self.url("/api/health")).send().await;
            if res.is_ok_and(|r| r.status().is_success()) {
                return;
            }
            if let Some(Ok(result)) = self.stopped.as_mut().map(|rx| rx.try_recv()) {
                panic!(
                    "server at {} stopped before it answered: {result:?}",
                    self.base
                );
            }
            assert!(
                Instant::now() < deadline,
                "server at {} did not become ready",
                self.base
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
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
        if let Some(stopped) = self.stopped.take() {
            let result = tokio::time::timeout(HUNG, stopped)
                .await
                .unwrap_or_else(|_| panic!("server did not stop within {HUNG:?}"))
                .expect("the server thread ended without a result (it panicked)");
            if let Err(e) = result {
                panic!("server stopped with an error: {e:#}");
            }
        }
    }
}

impl Drop for TestApp {
    /// Stop the server (without waiting), and print its log if the test is failing.
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.log.print(&self.base);
        }
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// Check every 10 ms until `check` holds, for a state the server reaches on its own (a slot
/// freed, a stream cut, a text saved); panic naming `what` after [`HUNG`]. Never a way to
/// wait for silence: for that, see [`WsClient::expect_nothing_before_barrier`].
pub async fn wait_until(what: &str, mut check: impl AsyncFnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + HUNG;
    while !check().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{what}: still not so after {HUNG:?}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

pub fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
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
