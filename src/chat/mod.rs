//! The agent side of a session: which preconfig (system prompt, tools, model) a session runs
//! with ([`preconfigs`]), and the chat turn: pre-checks and context ([`plan`]), admission and
//! the per-session queue ([`runs`], [`worker`]), the turn itself in protocol order ([`turn`]),
//! its provider stream ([`stream`]), the streamed parts and their throttled persistence
//! ([`reply`]), attachments as parts and model input ([`attachments`]), titles ([`title`]),
//! compaction ([`compaction`], its rules in [`summary`]), the hold a session operation takes on
//! a session ([`claim`]) and crash recovery at start ([`recover`]).
//!
//! [`Chat`] is the context all of it runs in: the store, the hub, the LLM client and settings,
//! the running turns, and a task tracker so shutdown can stop every turn, worker and title task
//! and wait for them before the store closes. It knows nothing of HTTP or of `AppState`.

pub mod act;
pub mod attachments;
pub mod calls;
pub mod claim;
pub mod compaction;
pub mod context;
pub mod history;
pub mod plan;
pub mod preconfigs;
pub mod recover;
pub mod reply;
pub mod runs;
pub mod steps;
pub mod stream;
pub mod summary;
pub mod title;
pub mod todos;
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
use crate::llm::LlmClient;
use crate::permissions::Permissions;
use crate::store::Store;
use crate::tools::{TodoStore, ToolEnv, WebClient, WorkspaceRoots};

pub use plan::Refusal;
pub use runs::Runs;

/// What an interrupt stopped.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Interrupted {
    pub was_running: bool,
    /// The `callId`s of the tool calls it cut short.
    pub interrupted_tools: Vec<String>,
    /// The request ids of the asks it withdrew.
    pub rejected_asks: Vec<String>,
}

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
    /// The `webfetch` tool's vetted HTTP client.
    pub web: WebClient,
    /// Names set in `.env`: kept out of the `shell` tool's environment.
    pub env_file_keys: Vec<String>,
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
    permissions: Permissions,
    web: WebClient,
    todos: Arc<dyn TodoStore>,
    env_file_keys: Vec<String>,
}

impl Chat {
    pub fn new(deps: ChatDeps) -> Chat {
        let llm = LlmClient::from_settings(&deps.llm);
        let permissions = Permissions::new(deps.hub.clone(), deps.store.clone());
        let todos: Arc<dyn TodoStore> = Arc::new(todos::StoreTodos(deps.store.clone()));
        Chat {
            inner: Arc::new(Inner {
                permissions,
                web: deps.web,
                todos,
                env_file_keys: deps.env_file_keys,
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

    /// Asks, grants and severities.
    pub fn permissions(&self) -> &Permissions {
        &self.inner.permissions
    }

    /// What a tool call of `session` in `workspace` runs with; `cancel` stops it.
    pub(crate) fn tool_env(
        &self,
        session: &crate::store::Session,
        roots: WorkspaceRoots,
        cancel: CancellationToken,
    ) -> ToolEnv {
        // The server owner's workspaces are the owner's machine; a user's or an app's are a
        // confined virtual folder: no shell, no path outside it.
        let owners = session.owner_id.is_none();
        ToolEnv {
            session_id: session.id.clone(),
            roots,
            confined: !owners,
            allow_shell: owners,
            env_file_keys: self.inner.env_file_keys.clone(),
            web: self.inner.web.clone(),
            todos: Arc::clone(&self.inner.todos),
            tmp_dir: crate::tools::default_tmp_dir(),
            upload_dir: None,
            cancel,
        }
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

    /// Stop the session's running turn at once: what it had open (`PROTOCOL-AGENT.md` §8.4).
    /// The turn itself ends its tool parts and its message; the caller reports the result.
    pub fn interrupt(&self, session_id: &str) -> Interrupted {
        // Listed before the cancel: the asks end (with `ask.timeout`) as the turn stops.
        let rejected_asks = self.inner.permissions.pending_ids(session_id);
        match self.inner.runs.interrupt(session_id) {
            Some(tools) => Interrupted {
                was_running: true,
                interrupted_tools: tools,
                rejected_asks,
            },
            None => Interrupted::default(),
        }
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
