//! `AppState`: everything a handler needs, built once from validated settings, cheap to clone.

use std::sync::Arc;
use std::time::Instant;

use tokio_util::sync::CancellationToken;

use crate::auth::Auth;
use crate::chat::Runs;
use crate::config::Settings;
use crate::events::Hub;
use crate::llm::LlmClient;
use crate::store::Store;
use crate::terminal::{Limits, Terminals};

#[derive(Clone)]
pub struct AppState {
    /// Validated settings of this process (as they were at start; `reload` swaps only the token
    /// and the certificate).
    pub settings: Arc<Settings>,
    /// The database.
    pub store: Store,
    /// Open WebSocket connections and who hears which event.
    pub hub: Hub,
    /// The shared-token check and failed-attempt limiter (also the auth layer's state).
    pub auth: Auth,
    /// Cancelled when the server shuts down; reaches every WebSocket task.
    pub shutdown: CancellationToken,
    /// When this process started serving.
    pub started: Instant,
    /// The HTTP client for LLM providers (connection pool, timeouts, retry policy).
    pub llm: LlmClient,
    /// Chat turns running now, per session, with the messages queued behind them (memory only).
    pub runs: Runs,
    /// The terminals' PTYs (memory only); all closed when `shutdown` is cancelled.
    pub terminals: Terminals,
}

impl AppState {
    pub fn new(settings: Settings, store: Store, shutdown: CancellationToken) -> Self {
        let auth = Auth::new(&settings);
        let llm = LlmClient::from_settings(&settings.llm);
        let terminals = Terminals::new(
            Limits::default(),
            settings.env_file_keys.clone(),
            shutdown.clone(),
        );
        Self {
            settings: Arc::new(settings),
            store,
            hub: Hub::new(),
            auth,
            shutdown,
            started: Instant::now(),
            llm,
            runs: Runs::new(),
            terminals,
        }
    }

    /// Whether clients must authenticate (`features.authentication` in `/api/info`).
    pub fn auth_enabled(&self) -> bool {
        self.auth.enabled()
    }
}
