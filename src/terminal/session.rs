//! One terminal: a shell on a PTY, its bounded scrollback, and the sockets attached to it.
//! Three tasks serve it: the reader (PTY → scrollback and attached sockets), the writer
//! (keystrokes and resizes → PTY) and the waiter (reaps the shell, reports its exit code after
//! the output it printed last).

use std::collections::VecDeque;
use std::ffi::OsString;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use bytes::Bytes;
use serde::Serialize;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::{broadcast, mpsc, oneshot, watch};
use tokio_util::sync::CancellationToken;

use super::TerminalError;

/// What attached sockets receive.
#[derive(Debug, Clone)]
pub enum Output {
    Data(Bytes),
    Exit(i32),
    /// The terminal was closed (DELETE, CLOSE frame, workspace deleted, shutdown).
    Closed(i32),
}

enum Command {
    Input(Bytes),
    Resize(u16, u16),
}

/// `TerminalSessionInfo` on the wire.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Info {
    pub id: String,
    pub pid: u32,
    pub shell: String,
    pub cwd: String,
    pub cols: u16,
    pub rows: u16,
    pub title: &'static str,
    pub status: &'static str,
    pub exit_code: Option<i32>,
    pub created_at: i64,
    pub last_activity_at: i64,
    pub active_client_count: usize,
    pub in_alternate_screen: bool,
}

struct State {
    cols: u16,
    rows: u16,
    exit_code: Option<i32>,
    last_activity_at: i64,
    alt_screen: bool,
    scrollback: VecDeque<Bytes>,
    scrollback_bytes: usize,
    clients: usize,
    closed: bool,
}

/// One running (or exited) terminal. Shared by the manager and the attached sockets.
pub struct Terminal {
    pub id: String,
    pub workspace_id: String,
    pub cwd: String,
    pub shell: String,
    pub pid: u32,
    pub created_at: i64,
    scrollback_limit: usize,
    state: Mutex<State>,
    output: broadcast::Sender<Output>,
    commands: mpsc::Sender<Command>,
    /// `Some(code)` once the shell has been reaped.
    reaped: watch::Receiver<Option<i32>>,
    /// Cancelled on close: the reader and writer let go of the PTY even if a process that left
    /// the session still holds its other end.
    stop: CancellationToken,
}

/// What spawning needs.
pub struct Spawn<'a> {
    pub id: String,
    pub workspace_id: String,
    pub cwd: &'a Path,
    pub shell: String,
    pub env: Vec<(OsString, OsString)>,
    pub scrollback_limit: usize,
}

/// Called when the alternate screen is entered or left, and when the shell exits.
pub type Notify = Arc<dyn Fn(&Terminal, Change) + Send + Sync>;

#[derive(Debug, Clone, Copy)]
pub enum Change {
    AltScreen,
    Exited(i32),
}

/// What a socket gets when it attaches: the scrollback so far, then everything after it.
pub struct Attachment {
    pub replay: Vec<Bytes>,
    pub exit_code: Option<i32>,
    pub output: broadcast::Receiver<Output>,
    pub guard: ClientGuard,
}

/// Counts an attached socket while it lives.
pub struct ClientGuard(Arc<Terminal>);

impl Drop for ClientGuard {
    fn drop(&mut self) {
        let mut st = self.0.lock();
        st.clients = st.clients.saturating_sub(1);
    }
}

impl Terminal {
    /// Start `spawn.shell` on a new 80×24 PTY in `spawn.cwd` (needs a Tokio runtime).
    pub fn spawn(spawn: Spawn<'_>, notify: Notify) -> Result<Arc<Self>, TerminalError> {
        let (pty, pts) = pty_process::open().map_err(TerminalError::spawn)?;
        pty.resize(pty_process::Size::new(24, 80))
            .map_err(TerminalError::spawn)?;
        let mut child = pty_process::Command::new(&spawn.shell)
            .env_clear()
            .envs(spawn.env)
            .env("TERM", "xterm-256color")
            .current_dir(spawn.cwd)
            .spawn(pts)
            .map_err(TerminalError::spawn)?;
        let pid = child.id().ok_or_else(|| TerminalError::spawn("no pid"))?;
        let (read, mut write) = pty.into_split();
        let (out_tx, _) = broadcast::channel(256);
        let (cmd_tx, mut cmd_rx) = mpsc::channel::<Command>(256);
        let (reaped_tx, reaped_rx) = watch::channel(None);
        let now = crate::time::now_ms();
        let term = Arc::new(Self {
            id: spawn.id,
            workspace_id: spawn.workspace_id,
            cwd: spawn.cwd.to_string_lossy().into_owned(),
            shell: spawn.shell,
            pid,
            created_at: now,
            scrollback_limit: spawn.scrollback_limit,
            state: Mutex::new(State {
                cols: 80,
                rows: 24,
                exit_code: None,
                last_activity_at: now,
                alt_screen: false,
                scrollback: VecDeque::new(),
                scrollback_bytes: 0,
                clients: 0,
                closed: false,
            }),
            output: out_tx,
            commands: cmd_tx,
            reaped: reaped_rx,
            stop: CancellationToken::new(),
        });
        let (eof_tx, eof_rx) = oneshot::channel();
        tokio::spawn(read_loop(Arc::clone(&term), read, eof_tx, notify.clone()));
        let stop = term.stop.clone();
        tokio::spawn(async move {
            while let Some(Some(cmd)) = stop.run_until_cancelled(cmd_rx.recv()).await {
                let done = match cmd {
                    Command::Input(bytes) => write.write_all(&bytes).await.is_ok(),
                    Command::Resize(cols, rows) => {
                        write.resize(pty_process::Size::new(rows, cols)).is_ok()
                    }
                };
                if !done {
                    break;
                }
            }
        });
        let waiter = Arc::clone(&term);
        tokio::spawn(async move {
            let code = match child.wait().await {
                Ok(status) => status.code().unwrap_or_else(|| {
                    128 + std::os::unix::process::ExitStatusExt::signal(&status).unwrap_or(0)
                }),
                Err(_) => -1,
            };
            // The last output first: wait (briefly) for the reader to drain the PTY.
            let _ = tokio::time::timeout(Duration::from_millis(500), eof_rx).await;
            waiter.exited(code, &notify);
            let _ = reaped_tx.send(Some(code));
        });
        Ok(term)
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn exited(&self, code: i32, notify: &Notify) {
        let closed = {
            let mut st = self.lock();
            st.exit_code = Some(code);
            // Sent under the lock so an attaching socket sees the exit either here or in state.
            let _ = self.output.send(Output::Exit(code));
            st.closed
        };
        if !closed {
            notify(self, Change::Exited(code));
        }
    }

    /// Output from the PTY: into the scrollback (oldest chunks dropped past the limit) and to
    /// every attached socket. Returns whether the alternate screen was entered or left.
    fn push_output(&self, chunk: Bytes) -> bool {
        let mut st = self.lock();
        st.last_activity_at = crate::time::now_ms();
        let before = st.alt_screen;
        for (seq, on) in [
            (&b"\x1b[?1049h"[..], true),
            (b"\x1b[?47h", true),
            (b"\x1b[?1049l", false),
            (b"\x1b[?47l", false),
        ] {
            if chunk.windows(seq.len()).any(|w| w == seq) {
                st.alt_screen = on;
            }
        }
        st.scrollback_bytes += chunk.len();
        st.scrollback.push_back(chunk.clone());
        while st.scrollback_bytes > self.scrollback_limit && st.scrollback.len() > 1 {
            if let Some(old) = st.scrollback.pop_front() {
                st.scrollback_bytes -= old.len();
            }
        }
        let _ = self.output.send(Output::Data(chunk));
        before != st.alt_screen
    }

    /// Attach a socket: the scrollback and a subscription taken together, so nothing is
    /// missed or repeated.
    pub fn attach(self: &Arc<Self>) -> Attachment {
        let mut st = self.lock();
        st.clients += 1;
        Attachment {
            replay: st.scrollback.iter().cloned().collect(),
            exit_code: st.exit_code,
            output: self.output.subscribe(),
            guard: ClientGuard(Arc::clone(self)),
        }
    }

    /// Send keystrokes to the shell.
    pub async fn write(&self, bytes: Bytes) {
        let _ = self.commands.send(Command::Input(bytes)).await;
    }

    pub async fn resize(&self, cols: u16, rows: u16) {
        {
            let mut st = self.lock();
            st.cols = cols;
            st.rows = rows;
        }
        let _ = self.commands.send(Command::Resize(cols, rows)).await;
    }

    /// Whether the shell is still running.
    pub fn running(&self) -> bool {
        self.lock().exit_code.is_none()
    }

    pub fn info(&self) -> Info {
        let st = self.lock();
        Info {
            id: self.id.clone(),
            pid: self.pid,
            shell: self.shell.clone(),
            cwd: self.cwd.clone(),
            cols: st.cols,
            rows: st.rows,
            title: "main",
            status: if st.exit_code.is_some() {
                "exited"
            } else {
                "running"
            },
            exit_code: st.exit_code,
            created_at: self.created_at,
            last_activity_at: st.last_activity_at,
            active_client_count: st.clients,
            in_alternate_screen: st.alt_screen,
        }
    }

    /// Mark closed and tell the attached sockets; the processes are ended by the caller.
    pub fn mark_closed(&self) {
        let mut st = self.lock();
        st.closed = true;
        let code = st.exit_code.unwrap_or(0);
        let _ = self.output.send(Output::Closed(code));
        self.stop.cancel();
    }

    /// Whether the shell has exited and been reaped already.
    pub fn reaped_now(&self) -> bool {
        self.reaped.borrow().is_some()
    }

    /// Wait until the shell has been reaped (after its processes were ended).
    pub async fn reaped(&self) {
        let mut rx = self.reaped.clone();
        let _ = rx.wait_for(Option::is_some).await;
    }
}

async fn read_loop(
    term: Arc<Terminal>,
    mut read: pty_process::OwnedReadPty,
    eof: oneshot::Sender<()>,
    notify: Notify,
) {
    let mut buf = vec![0u8; 16 * 1024];
    let stop = term.stop.clone();
    // EIO (every process closed the terminal), EOF or a close ends it.
    while let Some(Ok(n)) = stop.run_until_cancelled(read.read(&mut buf)).await {
        if n == 0 {
            break;
        }
        if term.push_output(Bytes::copy_from_slice(&buf[..n])) {
            notify(&term, Change::AltScreen);
        }
    }
    let _ = eof.send(());
}
