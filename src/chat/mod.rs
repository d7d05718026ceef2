//! The agent side of a session: which preconfig (system prompt, tools, model) a session runs
//! with ([`preconfigs`]), and the chat turn: pre-checks and context ([`plan`]), admission and
//! the per-session queue ([`runs`], [`worker`]), the turn itself in protocol order ([`turn`]),
//! its provider stream ([`stream`]), the streamed parts and their throttled persistence
//! ([`reply`]), titles ([`title`]) and crash recovery at start ([`recover`]).
//!
//! [`Chat`] is the context all of it runs in: the store, the hub, the LLM client and settings,
//! the running turns, and a task tracker so shutdown can stop every turn, worker and title task
//! and wait for them before the store closes. It knows nothing of HTTP or of `AppState`.

pub mod act;
pub mod calls;
pub mod context;
pub mod history;
pub mod plan;
pub mod preconfigs;
pub mod recover;
pub mod reply;
pub mod runs;
pub mod steps;
pub mod stream;
pub mod title;
pub mod turn;
pub mod worker;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::config::LlmSettings;
use crate::events::Hub;
use crate::events::event::QueuedItem;
use crate::llm::LlmClient;
use crate::store::Store;

pub use plan::Refusal;
pub use runs::Runs;

/// What a chat context is built from.
pub struct ChatDeps {
    pub store: Store,
    pub hub: Hub,
    /// `<data dir>`: preconfigs and `models.json` live there.
    pub data_dir: PathBuf,
    /// Provider keys, base URL and sampling settings (replaceable while running).
    pub llm: LlmSettings,
    /// Cancelled when the server shuts down: every turn ends with "the server shut down".
    pub shutdown: CancellationToken,
}

/// The chat context. Cheap to clone.
#[derive(Clone)]
pub struct Chat {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    hub: Hub,
    data_dir: PathBuf,
    llm_settings: ArcSwap<LlmSettings>,
    llm: LlmClient,
    runs: Runs,
    tasks: TaskTracker,
    shutdown: CancellationToken,
}

impl Chat {
    pub fn new(deps: ChatDeps) -> Chat {
        let llm = LlmClient::from_settings(&deps.llm);
        Chat {
            inner: Arc::new(Inner {
                store: deps.store,
                hub: deps.hub,
                data_dir: deps.data_dir,
                llm_settings: ArcSwap::from_pointee(deps.llm),
                llm,
                runs: Runs::new(deps.shutdown.clone()),
                tasks: TaskTracker::new(),
                shutdown: deps.shutdown,
            }),
        }
    }

    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    pub fn hub(&self) -> &Hub {
        &self.inner.hub
    }

    pub fn data_dir(&self) -> &Path {
        &self.inner.data_dir
    }

    /// The provider settings now in force (keys may change while the server runs).
    pub fn llm_settings(&self) -> Arc<LlmSettings> {
        self.inner.llm_settings.load_full()
    }

    /// Replace the provider settings (new keys apply to the next turn).
    pub fn set_llm_settings(&self, settings: LlmSettings) {
        self.inner.llm_settings.store(Arc::new(settings));
    }

    pub(crate) fn llm(&self) -> &LlmClient {
        &self.inner.llm
    }

    pub(crate) fn runs(&self) -> &Runs {
        &self.inner.runs
    }

    pub(crate) fn shutdown_token(&self) -> &CancellationToken {
        &self.inner.shutdown
    }

    /// Spawn a task that shutdown waits for.
    pub(crate) fn spawn<F>(&self, task: F) -> tokio::task::JoinHandle<F::Output>
    where
        F: std::future::Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.inner.tasks.spawn(task)
    }

    /// Whether a turn runs (or is queued to run) for the session.
    pub fn is_running(&self, session_id: &str) -> bool {
        self.inner.runs.is_running(session_id)
    }

    /// The messages queued behind the session's running turn, oldest first.
    pub fn queued(&self, session_id: &str) -> Vec<QueuedItem> {
        self.inner.runs.queued(session_id)
    }

    /// Stop the session's running turn at once. Returns whether one was running.
    pub fn interrupt(&self, session_id: &str) -> bool {
        self.inner.runs.interrupt(session_id)
    }

    /// The session a queued message waits in, if it is still queued.
    pub fn queued_in(&self, queue_id: &str) -> Option<String> {
        self.inner.runs.session_of(queue_id)
    }

    /// Take a queued message out of its queue; returns its session if it was queued.
    pub fn unqueue(&self, queue_id: &str) -> Option<String> {
        self.inner.runs.remove(queue_id).map(|q| q.item.session_id)
    }

    /// Stop everything: cancel the turns (each records "the server shut down"), stop starting
    /// new ones, and wait up to `grace` for every task to finish its writes.
    pub async fn shut_down(&self, grace: Duration) {
        self.inner.shutdown.cancel();
        self.inner.tasks.close();
        if tokio::time::timeout(grace, self.inner.tasks.wait())
            .await
            .is_err()
        {
            tracing::warn!(
                tasks = self.inner.tasks.len(),
                "chat tasks still running after the shutdown grace period"
            );
        }
    }
}
