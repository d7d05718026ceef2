//! Revocation from the command line takes effect at once (issue 12, item 7), with the real
//! binary: a `jean2 server` with OAuth on and its usual 10 s cache, and `jean2 users disable`,
//! `jean2 keys revoke`, `jean2 apps revoke` run next to it. The request sent right after each
//! command returns is refused (the cache had just said yes), and the WebSocket opened with the
//! credential is closed with 1008.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use jean2::store::Store;

use crate::helpers::{WsClient, urlencode};
use crate::oauth_support::PASSWORD;
use crate::revocation::{expect_close, mint_token};

/// `jean2 server` on a temporary data dir, killed when dropped (its log printed on failure).
struct Server {
    child: Child,
    dir: tempfile::TempDir,
    url: String,
}

impl Server {
    fn start() -> Server {
        let dir = tempfile::tempdir().unwrap();
        let log = std::fs::File::create(dir.path().join("server.log")).unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_jean2"))
            .args(["server", "-p", "0"])
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", dir.path())
            .env("JEAN2_DATA_DIR", dir.path())
            .env("JEAN2_OAUTH_ENABLED", "true")
            .stdout(Stdio::from(log.try_clone().unwrap()))
            .stderr(Stdio::from(log))
            .spawn()
            .expect("start jean2 server");
        let mut server = Server {
            child,
            dir,
            url: String::new(),
        };
        server.url = server.wait_for_url();
        server
    }

    /// The URL the server wrote into its pidfile once it listens.
    fn wait_for_url(&mut self) -> String {
        let deadline = Instant::now() + crate::helpers::HUNG;
        loop {
            let record = std::fs::read_to_string(self.dir.path().join("server.pid"))
                .ok()
                .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok());
            if let Some(url) = record.as_ref().and_then(|r| r["url"].as_str()) {
                return url.to_owned();
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("jean2 server exited ({status}):\n{}", self.log());
            }
            assert!(
                Instant::now() < deadline,
                "no url in server.pid:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
    }

    fn database(&self) -> PathBuf {
        jean2::config::Settings::for_data_dir(self.dir.path().to_owned()).database_path
    }

    /// Run an admin command against the same data dir; it must succeed.
    fn admin(&self, args: &[&str]) -> Output {
        let out = Command::new(env!("CARGO_BIN_EXE_jean2"))
            .args(args)
            .env_clear()
            .env("HOME", self.dir.path())
            .env("JEAN2_DATA_DIR", self.dir.path())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "jean2 {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    async fn ws(&self, token: &str) -> WsClient {
        let url = format!(
            "{}/ws?token={}",
            self.url.replacen("http", "ws", 1),
            urlencode(token)
        );
        let (stream, _) = tokio_tungstenite::connect_async(url).await.expect("ws");
        WsClient { stream }
    }

    async fn status(&self, token: &str) -> u16 {
        reqwest::Client::new()
            .get(format!("{}/api/auth/verify", self.url))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!("\n===== server.log =====\n{}", self.log());
        }
    }
}

async fn open_store(db: &Path) -> Store {
    Store::open_unlocked(db).await.expect("store")
}

#[tokio::test]
async fn the_request_after_a_revoking_command_returns_is_refused() {
    let server = Server::start();
    let store = open_store(&server.database()).await;
    let alice = jean2::admin::add_user(&store, "alice@example.com", PASSWORD)
        .await
        .unwrap()
        .id;
    let bob = jean2::admin::add_user(&store, "bob@example.com", PASSWORD)
        .await
        .unwrap()
        .id;
    let spec = |name: &str| jean2::admin::AppSpec {
        name: name.into(),
        redirect_uris: vec!["https://app.example/cb".into()],
        confidential: false,
        scopes: vec![],
    };
    let app_a = jean2::admin::create_app(&store, &spec("A")).await.unwrap();
    let app_b = jean2::admin::create_app(&store, &spec("B")).await.unwrap();
    let alice_token = mint_token(&store, &server.url, &alice, &app_a.client_id, 600).await;
    let bob_token = mint_token(&store, &server.url, &bob, &app_b.client_id, 600).await;
    let key_id = store.list_api_keys(&app_a.client_id).await.unwrap()[0]
        .id
        .clone();

    // Each credential works, and the server has cached that it does.
    for t in [&alice_token, &bob_token, &app_a.api_key] {
        assert_eq!(server.status(t).await, 200);
    }
    let mut ws_alice = server.ws(&alice_token).await;
    let mut ws_key = server.ws(&app_a.api_key).await;
    let mut ws_bob = server.ws(&bob_token).await;
    for ws in [&mut ws_alice, &mut ws_key, &mut ws_bob] {
        ws.register().await;
    }

    server.admin(&["users", "disable", "alice@example.com"]);
    assert_eq!(server.status(&alice_token).await, 401, "disabled user");
    expect_close(&mut ws_alice, 1008, "disabled user's socket").await;
    assert_eq!(server.status(&app_a.api_key).await, 200, "not this one");

    server.admin(&["keys", "revoke", &key_id]);
    assert_eq!(server.status(&app_a.api_key).await, 401, "revoked key");
    expect_close(&mut ws_key, 1008, "revoked key's socket").await;
    assert_eq!(server.status(&bob_token).await, 200, "not this one");

    server.admin(&["apps", "revoke", &app_b.client_id]);
    assert_eq!(server.status(&bob_token).await, 401, "revoked app");
    expect_close(&mut ws_bob, 1008, "revoked app's socket").await;
}
