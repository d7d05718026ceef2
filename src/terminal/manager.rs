//! [`Terminals`]: every terminal of this server by id, the limits, the per-workspace events
//! (`created`, `exited`, `status_changed`, `destroyed`), and the closing paths.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;

use serde::Serialize;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

use super::session::{Change, Info, Notify, Spawn, Terminal};
use super::{Limits, TerminalError, kill};

/// An event of `/ws/terminal/events`.
#[derive(Debug, Clone, Serialize)]
#[serde(
    tag = "type",
    rename_all = "snake_case",
    rename_all_fields = "camelCase"
)]
pub enum TerminalEvent {
    Snapshot {
        sessions: Vec<Info>,
    },
    Created {
        session: Info,
    },
    Destroyed {
        session_id: String,
    },
    Exited {
        session_id: String,
        exit_code: i32,
    },
    StatusChanged {
        session_id: String,
        status: &'static str,
    },
}

/// Events of every workspace, as (workspace id, JSON text); a socket keeps its own.
pub type Subscription = broadcast::Receiver<(Arc<str>, Arc<str>)>;

/// The terminals of this server. Cheap to clone.
#[derive(Clone)]
pub struct Terminals(Arc<Inner>);

struct Inner {
    limits: Limits,
    /// `JEAN2_TERMINAL_SHELL`, if set.
    shell: Option<String>,
    env_file_keys: Vec<String>,
    sessions: Mutex<HashMap<String, Arc<Terminal>>>,
    events: broadcast::Sender<(Arc<str>, Arc<str>)>,
    shutdown: CancellationToken,
    watching: AtomicBool,
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, HashMap<String, Arc<Terminal>>> {
        self.sessions.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn publish(&self, workspace_id: &str, event: &TerminalEvent) {
        if let Ok(json) = serde_json::to_string(event) {
            let _ = self.events.send((workspace_id.into(), json.into()));
        }
    }
}

impl Terminals {
    /// `env_file_keys` are the names set in `.env` (kept from the shells, see [`crate::proc`]);
    /// `shutdown` closes every terminal when cancelled.
    /// Terminals within `limits`, whose shells start with `shell` (`None`: `$SHELL`, else bash)
    /// and an environment without the names in `env_file_keys`.
    pub fn new(
        limits: Limits,
        shell: Option<String>,
        env_file_keys: Vec<String>,
        shutdown: CancellationToken,
    ) -> Self {
        Self(Arc::new(Inner {
            limits,
            shell,
            env_file_keys,
            sessions: Mutex::new(HashMap::new()),
            events: broadcast::channel(256).0,
            shutdown,
            watching: AtomicBool::new(false),
        }))
    }

    /// Start a shell for `workspace_id` in `cwd` (already checked to be inside the workspace).
    /// `shell` is honoured when it is listed in `/etc/shells`. Needs a Tokio runtime.
    pub fn create(
        &self,
        workspace_id: &str,
        cwd: &Path,
        shell: Option<&str>,
    ) -> Result<Arc<Terminal>, TerminalError> {
        self.watch_shutdown();
        let mut sessions = self.0.lock();
        let running = sessions
            .values()
            .filter(|t| t.workspace_id == workspace_id && t.running())
            .count();
        if running >= self.0.limits.per_workspace {
            return Err(TerminalError::LimitReached);
        }
        if sessions.len() >= self.0.limits.total {
            self.evict_one_exited(&mut sessions);
        }
        if sessions.len() >= self.0.limits.total {
            return Err(TerminalError::LimitReached);
        }
        let spawn = Spawn {
            id: uuid::Uuid::new_v4().to_string(),
            workspace_id: workspace_id.to_owned(),
            cwd,
            shell: pick_shell(shell, self.0.shell.as_deref()),
            env: crate::proc::child_env(&self.0.env_file_keys),
            scrollback_limit: self.0.limits.scrollback_bytes,
        };
        let term = Terminal::spawn(spawn, self.notifier())?;
        sessions.insert(term.id.clone(), Arc::clone(&term));
        // Published under the lock, so a subscriber's snapshot and its events never overlap.
        self.0.publish(
            workspace_id,
            &TerminalEvent::Created {
                session: term.info(),
            },
        );
        Ok(term)
    }

    /// Make room: forget the oldest exited terminal no socket is attached to.
    fn evict_one_exited(&self, sessions: &mut HashMap<String, Arc<Terminal>>) {
        let oldest = sessions
            .values()
            .map(|t| t.info())
            .filter(|i| i.exit_code.is_some() && i.active_client_count == 0)
            .min_by_key(|i| i.last_activity_at);
        if let Some(term) = oldest.and_then(|i| sessions.remove(&i.id)) {
            self.0.publish(
                &term.workspace_id,
                &TerminalEvent::Destroyed {
                    session_id: term.id.clone(),
                },
            );
            tokio::spawn(end(term));
        }
    }

    fn notifier(&self) -> Notify {
        let inner: Weak<Inner> = Arc::downgrade(&self.0);
        Arc::new(move |term: &Terminal, change: Change| {
            let Some(inner) = inner.upgrade() else { return };
            let event = match change {
                Change::AltScreen => TerminalEvent::StatusChanged {
                    session_id: term.id.clone(),
                    status: term.info().status,
                },
                Change::Exited(code) => TerminalEvent::Exited {
                    session_id: term.id.clone(),
                    exit_code: code,
                },
            };
            let _guard = inner.lock();
            inner.publish(&term.workspace_id, &event);
        })
    }

    /// Close every terminal when the server's shutdown token is cancelled (started once, from
    /// the first `create`, so that building an `AppState` needs no runtime).
    fn watch_shutdown(&self) {
        if self.0.watching.swap(true, Ordering::SeqCst) {
            return;
        }
        let this = self.clone();
        tokio::spawn(async move {
            this.0.shutdown.cancelled().await;
            this.close_all().await;
        });
    }

    pub fn get(&self, id: &str) -> Option<Arc<Terminal>> {
        self.0.lock().get(id).cloned()
    }

    /// The terminals of a workspace, oldest first.
    pub fn list(&self, workspace_id: &str) -> Vec<Info> {
        list_of(&self.0.lock(), workspace_id)
    }

    /// The `snapshot` of a workspace and a subscription to what happens after it, taken
    /// together.
    pub fn subscribe(&self, workspace_id: &str) -> (TerminalEvent, Subscription) {
        let sessions = self.0.lock();
        let snapshot = TerminalEvent::Snapshot {
            sessions: list_of(&sessions, workspace_id),
        };
        (snapshot, self.0.events.subscribe())
    }

    /// Close terminal `id`: `destroyed` to the workspace, `Closed` to attached sockets, every
    /// process of its session ended and the shell reaped. `false` if there was no such terminal.
    pub async fn close(&self, id: &str) -> bool {
        let Some(term) = self.0.lock().remove(id) else {
            return false;
        };
        self.0.publish(
            &term.workspace_id,
            &TerminalEvent::Destroyed {
                session_id: term.id.clone(),
            },
        );
        end(term).await;
        true
    }

    /// Close every terminal of a workspace (call it when the workspace is deleted).
    pub async fn close_workspace(&self, workspace_id: &str) {
        let ids: Vec<String> = self
            .0
            .lock()
            .values()
            .filter(|t| t.workspace_id == workspace_id)
            .map(|t| t.id.clone())
            .collect();
        futures_util::future::join_all(ids.iter().map(|id| self.close(id))).await;
    }

    /// Close every terminal (server shutdown).
    pub async fn close_all(&self) {
        let ids: Vec<String> = self.0.lock().keys().cloned().collect();
        futures_util::future::join_all(ids.iter().map(|id| self.close(id))).await;
    }
}

fn list_of(sessions: &HashMap<String, Arc<Terminal>>, workspace_id: &str) -> Vec<Info> {
    let mut list: Vec<Info> = sessions
        .values()
        .filter(|t| t.workspace_id == workspace_id)
        .map(|t| t.info())
        .collect();
    list.sort_by(|a, b| a.created_at.cmp(&b.created_at).then(a.id.cmp(&b.id)));
    list
}

/// Tell the sockets, end the processes, wait (bounded) for the shell to be reaped.
async fn end(term: Arc<Terminal>) {
    term.mark_closed();
    let (pid, reaped) = (term.pid, term.reaped_now());
    let ended = tokio::task::spawn_blocking(move || kill::end_session(pid, reaped)).await;
    if !matches!(ended, Ok(true)) {
        tracing::warn!(terminal.id = %term.id, pid, "terminal processes did not all end");
    }
    let _ = tokio::time::timeout(Duration::from_secs(3), term.reaped()).await;
}

/// The shell to start: the requested one if `/etc/shells` lists it, else the configured one
/// (`JEAN2_TERMINAL_SHELL`), else `$SHELL`, else `/bin/bash`, else `/bin/sh`.
fn pick_shell(requested: Option<&str>, configured: Option<&str>) -> String {
    let listed = std::fs::read_to_string("/etc/shells").unwrap_or_default();
    let is_listed = |s: &str| listed.lines().any(|l| l.trim() == s);
    if let Some(s) = requested.filter(|s| is_listed(s) && Path::new(s).is_file()) {
        return s.to_owned();
    }
    let env_shell = std::env::var_os("SHELL").map(PathBuf::from);
    [
        configured.map(PathBuf::from),
        env_shell,
        Some("/bin/bash".into()),
    ]
    .into_iter()
    .flatten()
    .find(|p| p.is_absolute() && p.is_file())
    .map(|p| p.to_string_lossy().into_owned())
    .unwrap_or_else(|| "/bin/sh".to_owned())
}
