//! The session and workspace lifecycle, the one core that REST (`api/`) and the WebSocket
//! (`ws/`) both call: create, read, update, close, reopen, delete and rename sessions; list
//! (with upstream's default virtual workspace), create, update and delete workspaces; resume a
//! session on a connection; and the session operations (revert, fork, edit and re-run,
//! regenerate the title, compact: [`operations`]). Each operation returns a domain result and publishes its events
//! through the hub with the workspace owner named ([`crate::events::Audience::Viewers`]), so a
//! broadcast reaches only those who may see it. Failures are one [`Error`] type that the HTTP and
//! WebSocket layers each translate once.

mod lifecycle;
mod operations;
mod workspaces;

use std::path::PathBuf;
use std::sync::Arc;

use crate::chat::Chat;
use crate::events::Hub;
use crate::store::{Entity, Store, StoreError};
use crate::terminal::Terminals;

pub use lifecycle::{NewSessionInput, Resumption};
pub use operations::Refused;
pub use workspaces::{CreateWorkspace, UpdateWorkspace, expand_home};

/// Why an operation failed, in domain terms.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// `"{what} not found"`: the id is unknown or not visible to the caller.
    #[error("{0} not found")]
    NotFound(Entity),
    /// The request is well-formed but not acceptable (the message says why).
    #[error("{0}")]
    Invalid(String),
    /// The caller may not do this.
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    Conflict(String),
    /// The database failed (logged by whoever reports it).
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for Error {
    fn from(e: StoreError) -> Error {
        match e {
            StoreError::NotFound(what) => Error::NotFound(what),
            StoreError::Conflict(m) => Error::Conflict(m),
            other => Error::Store(other),
        }
    }
}

/// The lifecycle core. Cheap to clone.
#[derive(Clone)]
pub struct Sessions {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    hub: Hub,
    chat: Chat,
    terminals: Terminals,
    data_dir: PathBuf,
    /// Serializes creation of the default workspace, so two first loads make only one.
    default_workspace: tokio::sync::Mutex<()>,
}

impl Sessions {
    pub fn new(chat: Chat, terminals: Terminals) -> Sessions {
        Sessions {
            inner: Arc::new(Inner {
                store: chat.store().clone(),
                hub: chat.hub().clone(),
                data_dir: chat.data_dir().to_owned(),
                chat,
                terminals,
                default_workspace: tokio::sync::Mutex::new(()),
            }),
        }
    }

    fn store(&self) -> &Store {
        &self.inner.store
    }

    fn hub(&self) -> &Hub {
        &self.inner.hub
    }

    fn chat(&self) -> &Chat {
        &self.inner.chat
    }
}
