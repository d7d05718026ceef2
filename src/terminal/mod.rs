//! Terminals (`PROTOCOL-AGENT.md` §13.9): a shell on a PTY per terminal tab, started in the
//! workspace with an environment that carries none of jean2's secrets, with a bounded
//! scrollback replayed to each socket that attaches, and events per workspace for the tab list.
//! Nothing here knows HTTP; `api::terminal` and `ws::terminal` translate.
//!
//! [`Terminals`] owns them all. Every terminal, with every process of its session, ends when it
//! is closed ([`Terminals::close`]), when its workspace is deleted
//! ([`Terminals::close_workspace`]) or when the server's shutdown token is cancelled
//! ([`Terminals::close_all`] runs then). PTYs come from `pty-process` (async reads and writes on
//! Tokio, two small dependencies) rather than `portable-pty` (a blocking reader thread per
//! terminal and some twenty crates for Windows support this server does not have).

pub mod frames;
pub mod kill;
mod manager;
pub mod session;

pub use manager::{Subscription, TerminalEvent, Terminals};
pub use session::{Attachment, Info, Output, Terminal};

/// What terminals may cost.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Running terminals per workspace (upstream `JEAN2_TERMINAL_MAX_SESSIONS`, 10).
    pub per_workspace: usize,
    /// Terminals in all, running or exited (the oldest exited one with no socket attached
    /// makes room for a new one).
    pub total: usize,
    /// Scrollback kept per terminal for replay on reconnect (upstream keeps 5 MiB).
    pub scrollback_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            per_workspace: 10,
            total: 40,
            scrollback_bytes: 1024 * 1024,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TerminalError {
    #[error("Maximum terminal sessions reached for this workspace")]
    LimitReached,
    #[error("Failed to create terminal session: {0}")]
    Spawn(String),
}

impl TerminalError {
    pub(crate) fn spawn(e: impl std::fmt::Display) -> Self {
        TerminalError::Spawn(e.to_string())
    }
}
