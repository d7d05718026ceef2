//! The store: every read and write of persistent state, and the only place SQL lives. Today it
//! is SQLite through rusqlite (bundled, memory statistics off, WAL, foreign keys, busy timeout,
//! `synchronous=NORMAL`): one writer connection and a few readers, queries run on blocking
//! threads with cached prepared statements ([`pool`]), migrations embedded in the binary and
//! run at open ([`migrate`]). Errors leave here in domain terms ([`StoreError`]); no driver type
//! is part of the API. One file per aggregate: [`workspaces`], [`sessions`], [`messages`], …
//!
//! **A second backend** (PostgreSQL, for scale-out) will sit behind the same `Store`: the
//! methods keep their signatures and `Store` becomes an enum-dispatching handle over a
//! `Sqlite` and a `Postgres` backend (each a module tree with the same queries), chosen at
//! open from the database URL. The page-cache generations ([`pages`]) then move into a
//! PostgreSQL table bumped in the same transaction as the write.
//!
//! A server holds an exclusive lock file next to the database (`<db>.lock`) for as long as its
//! store is open, so a second server on the same file refuses to start instead of sharing it
//! (each server keeps connection, "running" and page-cache state in memory; two would disagree).

pub mod apps;
mod asks;
pub mod attachments;
pub mod compaction;
mod error;
mod files;
pub mod fork;
pub mod grants;
pub mod kinds;
pub mod messages;
mod migrate;
mod oauth_keys;
pub mod oauth_tokens;
mod pages;
pub mod parts;
pub mod pins;
mod pool;
pub mod queue;
mod rows;
pub mod session_ops;
mod session_writes;
pub mod sessions;
mod sessions_json;
mod sessions_list;
mod todos;
mod upstream;
pub mod users;
pub mod workspaces;
mod workspaces_json;

use std::fs::File;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use rusqlite::Connection;

pub use error::{BackendError, Entity, StoreError};
pub use kinds::{MessageStatus, Role, SessionStatus};
pub use messages::{Message, MessageWithParts, Part, TranscriptPage};
pub use pages::{PageKey, Topic};
pub use sessions::Session;
pub use sessions_json::SessionPageJson;
pub use workspaces::Workspace;
pub use workspaces_json::WorkspacesJson;

pub(crate) use error::Fail;
use pool::{Side, Slot, Slots};

/// Which rows a caller may see. Handlers derive it from the `Principal` in one place
/// (`api::scope_of`); the owner (shared token, or auth off) sees [`Scope::All`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// Every workspace and session.
    All,
    /// Only workspaces whose `owner_id` is this user id, and their sessions.
    Owner(String),
}

impl Scope {
    /// The `owner_id` filter: `None` matches every row.
    pub(crate) fn owner(&self) -> Option<&str> {
        match self {
            Scope::All => None,
            Scope::Owner(id) => Some(id),
        }
    }
}

/// `NotFound(entity)` when a write touched no row: the id is unknown, or not visible in the
/// caller's scope.
pub(crate) fn touched(rows: usize, entity: Entity) -> Result<(), Fail> {
    if rows == 0 {
        Err(Fail::Store(StoreError::NotFound(entity)))
    } else {
        Ok(())
    }
}

/// The database handle; cheap to clone.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").finish_non_exhaustive()
    }
}

pub(crate) struct Inner {
    readers: Slot,
    writer: Slot,
    pages: pages::Pages,
    /// The held lock file; taken out (and so released) by [`Store::close`].
    lock: Mutex<Option<File>>,
}

impl Slots for Inner {
    fn slot(&self, side: Side) -> &Slot {
        match side {
            Side::Read => &self.readers,
            Side::Write => &self.writer,
        }
    }
}

impl Store {
    /// Open (creating if needed) the database at `path`, take its lock file and run the
    /// migrations. Fails with [`StoreError::Locked`] while another server holds the lock.
    pub async fn open(path: &Path) -> Result<Store, StoreError> {
        Self::open_with(path, true).await
    }

    /// Open without taking the server's lock file: for the admin commands (`jean2 users|apps|
    /// keys`), which make short transactional changes next to a running server (SQLite's WAL
    /// and busy timeout serialise the writers), and for tests that inspect a live server's
    /// database. Never serve from a store opened this way.
    pub async fn open_unlocked(path: &Path) -> Result<Store, StoreError> {
        Self::open_with(path, false).await
    }

    async fn open_with(path: &Path, lock: bool) -> Result<Store, StoreError> {
        let path = path.to_owned();
        tokio::task::spawn_blocking(move || open_blocking(&path, lock))
            .await
            .map_err(|e| StoreError::Db(BackendError::msg(format!("opening failed: {e}"))))?
    }

    /// Run `f` on a read connection (on a blocking thread).
    pub(crate) async fn read<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, Fail> + Send + 'static,
    {
        pool::run(&self.inner, Side::Read, move |c, _| f(c)).await
    }

    /// Run `f` on the writer connection (on a blocking thread). `f` bumps the page generation
    /// of every workspace whose sessions it changed, after its commit.
    pub(crate) async fn write<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection, &pages::Pages) -> Result<T, Fail> + Send + 'static,
    {
        pool::run(&self.inner, Side::Write, move |c, inner| f(c, &inner.pages)).await
    }

    /// Run one write statement with owned parameters; the number of rows it changed.
    pub(crate) async fn exec<P>(&self, sql: &'static str, params: P) -> Result<usize, StoreError>
    where
        P: rusqlite::Params + Send + 'static,
    {
        self.write(move |c, _| Ok(c.prepare_cached(sql)?.execute(params)?))
            .await
    }

    /// The generation of the topic of `key`: take it *before* reading a page to cache, and
    /// pass it to [`Store::keep_page`] (see `pages.rs`).
    pub fn page_generation(&self, key: &PageKey) -> u64 {
        self.inner.pages.generation(&key.topic)
    }

    /// A page kept by [`Store::keep_page`], if no write has changed its topic since.
    pub fn cached_page(&self, key: &PageKey) -> Option<Bytes> {
        self.inner.pages.get(key)
    }

    /// Keep a page (the response bytes) read under `generation`; ignored if a write has
    /// changed its topic since.
    pub fn keep_page(&self, key: PageKey, generation: u64, body: Bytes) {
        self.inner.pages.put(key, generation, body);
    }

    /// Wait for running queries, close every connection (checkpointing the WAL), then release
    /// the lock file. Later calls fail with [`StoreError::Closed`].
    pub async fn close(&self) {
        self.inner.readers.close().await;
        self.inner.writer.close().await;
        let mut lock = self.inner.lock.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(file) = lock.take() {
            let _ = file.unlock();
        }
    }
}

fn open_blocking(path: &Path, lock: bool) -> Result<Store, StoreError> {
    let open_err = |source: BackendError| StoreError::Open {
        path: path.display().to_string(),
        source,
    };
    if let Some(dir) = path.parent() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(|e| open_err(BackendError::new(e)))?;
    }
    files::make_private(path).map_err(|e| open_err(BackendError::new(e)))?;
    let lock = if lock { Some(take_lock(path)?) } else { None };
    let sql_err = |e: rusqlite::Error| open_err(BackendError::new(e));
    let mut writer = pool::connect(path, true).map_err(sql_err)?;
    migrate::run(&mut writer)?;
    // The WAL and SHM files exist now: they get the database's private mode too.
    files::make_private(path).map_err(|e| open_err(BackendError::new(e)))?;
    let readers = (0..pool::reader_count())
        .map(|_| pool::connect(path, false))
        .collect::<Result<Vec<_>, _>>()
        .map_err(sql_err)?;
    Ok(Store {
        inner: Arc::new(Inner {
            readers: Slot::new(readers),
            writer: Slot::new(vec![writer]),
            pages: pages::Pages::default(),
            lock: Mutex::new(lock),
        }),
    })
}

/// `<db>.lock`, locked exclusively (an OS lock: released when the process dies, even by kill -9).
fn take_lock(db: &Path) -> Result<File, StoreError> {
    let mut name = db.as_os_str().to_owned();
    name.push(".lock");
    let lock_path = PathBuf::from(name);
    let open_err = |e: std::io::Error| StoreError::Open {
        path: lock_path.display().to_string(),
        source: BackendError::new(e),
    };
    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(open_err)?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => Err(StoreError::Locked {
            db: db.display().to_string(),
            lock: lock_path.display().to_string(),
        }),
        Err(std::fs::TryLockError::Error(e)) => Err(open_err(e)),
    }
}

#[cfg(test)]
pub(crate) mod testing {
    //! An open store on a temporary file, for the store's unit tests.
    use super::Store;

    pub async fn store() -> (Store, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("t.db")).await.unwrap();
        (store, dir)
    }

    /// A new session in a new workspace of the owner; its id.
    pub async fn session(store: &Store) -> String {
        let ws = super::workspaces::NewWorkspace {
            id: uuid::Uuid::new_v4().to_string(),
            name: "w".into(),
            path: "/tmp/w".into(),
            is_virtual: true,
            additional_paths: Vec::new(),
            settings: serde_json::Map::new(),
        };
        let now = crate::time::now_iso();
        let ws = store
            .create_workspace(&super::Scope::All, ws, &now)
            .await
            .unwrap();
        let new = super::sessions::NewSession::new(&ws.id);
        store
            .create_session(&super::Scope::All, new, &now)
            .await
            .unwrap()
            .id
    }
}

#[cfg(test)]
#[path = "mod_tests.rs"]
mod tests;
