//! Workspace files, git and the folder picker: the cores behind `/api/workspaces/:id/files`,
//! `file-preview`, `file`, `git/*` and `/api/fs/*` (`PROTOCOL-AGENT.md` §13.1–13.8), and the
//! attachment files of sessions ([`attachments`], §12). Nothing here knows HTTP; `api::files`,
//! `api::git`, `api::fs` and `api::attachments` translate.
//!
//! Every path a client names goes through [`roots::confine`]: resolved (`..` folded, symlinks
//! followed) and then compared by whole components against the workspace's roots.
//! The blocking functions (`tree::list`, `search::search`, `preview::preview`, `edit::*`,
//! `browse::*`) touch the disk directly: call them from `spawn_blocking`.

pub mod attachments;
pub mod browse;
pub mod detect;
pub mod edit;
pub mod git;
pub mod preview;
pub mod roots;
pub mod search;
pub mod tree;

pub use roots::{Roots, Selected};

/// Why a file operation was refused. The HTTP layer picks the status and the message.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    /// The path resolves outside the allowed roots (403 "Path outside workspace").
    #[error("Path outside workspace")]
    Outside,
    /// Nothing exists at the path (404, worded by the route).
    #[error("File not found")]
    Missing,
    /// 404 with this message ("Workspace root not found").
    #[error("{0}")]
    NotFound(&'static str),
    /// 400 with this message ("Cannot edit a directory", "Cannot edit a binary file", …).
    #[error("{0}")]
    BadRequest(&'static str),
    /// 413 "File is too large to edit".
    #[error("File is too large to edit")]
    TooLarge,
    /// 409: the file is not at the revision the client read.
    #[error("File has been modified by another process")]
    Conflict(Box<edit::Conflict>),
    /// Anything else the disk said (500; logged, not sent).
    #[error("file system error: {0}")]
    Io(#[from] std::io::Error),
}
