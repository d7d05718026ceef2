//! `AppState`: everything a handler needs, built once from validated settings, cheap to clone:
//! one `Arc` (axum clones the state for every request; a struct of a dozen `Arc`s and a
//! cancellation token cost more than the rest of a small request's routing).

use std::sync::Arc;
use std::time::Instant;

use tokio_util::sync::CancellationToken;

use crate::auth::Auth;
use crate::chat::{Chat, ChatDeps};
use crate::config::Settings;
use crate::events::Hub;
use crate::sessions::Sessions;
use crate::store::Store;
use crate::terminal::{Limits, Terminals};
use crate::tools::{NetPolicy, WebClient};

#[derive(Clone)]
pub struct AppState(Arc<App>);

impl std::ops::Deref for AppState {
    type Target = App;

    fn deref(&self) -> &App {
        &self.0
    }
}

/// What [`AppState`] shares.
pub struct App {
    /// Validated settings of this process (as they were at start; `reload` swaps only the token
    /// and the certificate).
    pub settings: Arc<Settings>,
    /// The database.
    pub store: Store,
    /// Open WebSocket connections and who hears which event.
    pub hub: Hub,
    /// Credentials → principals: the shared token, OAuth when on, the failed-attempt limiter
    /// (also the auth layer's state).
    pub auth: Auth,
    /// Cancelled when the server shuts down; reaches every WebSocket task and chat turn.
    pub shutdown: CancellationToken,
    /// When this process started serving.
    pub started: Instant,
    /// Chat turns: the LLM client, running turns and their queues, the task tracker.
    pub chat: Chat,
    /// The session and workspace lifecycle that REST and WebSocket share.
    pub sessions: Sessions,
    /// The terminals' PTYs (memory only); all closed when `shutdown` is cancelled.
    pub terminals: Terminals,
}

impl AppState {
    /// Build the state of a server. `auth` comes ready (OAuth included when on).
    pub fn new(
        settings: Settings,
        store: Store,
        auth: Auth,
        shutdown: CancellationToken,
    ) -> anyhow::Result<Self> {
        let hub = Hub::new();
        auth.attach_hub(&hub);
        let web = WebClient::new(NetPolicy::default())
            .map_err(|e| anyhow::anyhow!("cannot set up the webfetch HTTP client: {e}"))?;
        let chat = Chat::new(ChatDeps {
            store: store.clone(),
            hub: hub.clone(),
            data_dir: settings.data_dir.clone(),
            llm: settings.llm.clone(),
            shutdown: shutdown.clone(),
            web,
            env_file_keys: settings.env_file_keys.clone(),
        });
        let terminals = Terminals::new(
            Limits::default(),
            settings.terminal_shell.clone(),
            settings.env_file_keys.clone(),
            shutdown.clone(),
        );
        let sessions = Sessions::new(chat.clone(), terminals.clone());
        Ok(Self(Arc::new(App {
            settings: Arc::new(settings),
            store,
            hub,
            auth,
            shutdown,
            started: Instant::now(),
            chat,
            sessions,
            terminals,
        })))
    }
}

impl App {
    /// Whether clients must authenticate (`features.authentication` in `/api/info`).
    pub fn auth_enabled(&self) -> bool {
        self.auth.enabled()
    }
}
