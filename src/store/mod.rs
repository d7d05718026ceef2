//! The store: sqlx over SQLite (WAL, foreign keys, busy timeout, migrations embedded in the
//! binary and run at open). This module tree is the only place SQL lives; database errors are
//! mapped to [`StoreError`] here, once. One file per aggregate: [`workspaces`], [`sessions`],
//! [`messages`] (messages and their parts).
//!
//! A server holds an exclusive lock file next to the database (`<db>.lock`) for as long as its
//! store is open, so a second server on the same file refuses to start instead of sharing it
//! (each server keeps connection and "running" state in memory; two would disagree).

pub mod apps;
mod files;
pub mod messages;
pub mod oauth_tokens;
pub mod ownership;
pub mod parts;
pub mod sessions;
mod sessions_list;
pub mod users;
pub mod workspaces;

use std::fs::File;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

pub use messages::{Message, MessageWithParts, Part, TranscriptPage};
pub use sessions::Session;
pub use workspaces::Workspace;

/// What can go wrong in the store, in domain terms.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("cannot open the database {path}: {source}")]
    Open {
        path: String,
        #[source]
        source: sqlx::Error,
    },
    #[error(
        "the database {db} is in use by another jean2 server (lock file {lock} is held); \
         stop that server first (`jean2 stop`), or give this one its own database with \
         JEAN2_DATABASE_PATH or JEAN2_DATA_DIR"
    )]
    Locked { db: String, lock: String },
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("stored JSON in {column} is invalid: {source}")]
    BadJson {
        column: &'static str,
        #[source]
        source: serde_json::Error,
    },
    #[error("database error: {0}")]
    Db(sqlx::Error),
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        match &e {
            sqlx::Error::RowNotFound => StoreError::NotFound,
            sqlx::Error::Database(db) if db.is_unique_violation() => {
                StoreError::Conflict(db.message().to_owned())
            }
            _ => StoreError::Db(e),
        }
    }
}

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

/// `NotFound` when a write touched no row: the id is unknown, or not visible in the caller's scope.
pub(crate) fn touched(done: &sqlx::sqlite::SqliteQueryResult) -> Result<(), StoreError> {
    if done.rows_affected() == 0 {
        Err(StoreError::NotFound)
    } else {
        Ok(())
    }
}

/// The database handle; cheap to clone.
#[derive(Clone, Debug)]
pub struct Store {
    pool: SqlitePool,
    /// The held lock file; taken out (and so released) by [`Store::close`].
    lock: Arc<Mutex<Option<File>>>,
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
        let open_err = |source| StoreError::Open {
            path: path.display().to_string(),
            source,
        };
        if let Some(dir) = path.parent() {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)
                .map_err(|e| open_err(sqlx::Error::Io(e)))?;
        }
        files::make_private(path).map_err(|e| open_err(sqlx::Error::Io(e)))?;
        let lock = if lock { Some(take_lock(path)?) } else { None };
        let options = SqliteConnectOptions::from_str("sqlite:")
            .map_err(open_err)?
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(5));
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .min_connections(1)
            .connect_with(options)
            .await
            .map_err(open_err)?;
        sqlx::migrate!("./migrations").run(&pool).await?;
        // The WAL and SHM files exist now; an older wider one is tightened too.
        files::make_private(path).map_err(|e| open_err(sqlx::Error::Io(e)))?;
        Ok(Store {
            pool,
            lock: Arc::new(Mutex::new(lock)),
        })
    }

    /// The pool, for the store's own submodules.
    pub(crate) fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// Close the pool (checkpointing the WAL), then release the lock file.
    pub async fn close(&self) {
        self.pool.close().await;
        let mut lock = self.lock.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(file) = lock.take() {
            let _ = file.unlock();
        }
    }
}

/// `<db>.lock`, locked exclusively (an OS lock: released when the process dies, even by kill -9).
fn take_lock(db: &Path) -> Result<File, StoreError> {
    let mut name = db.as_os_str().to_owned();
    name.push(".lock");
    let lock_path = PathBuf::from(name);
    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(|e| StoreError::Open {
            path: lock_path.display().to_string(),
            source: sqlx::Error::Io(e),
        })?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => Err(StoreError::Locked {
            db: db.display().to_string(),
            lock: lock_path.display().to_string(),
        }),
        Err(std::fs::TryLockError::Error(e)) => Err(StoreError::Open {
            path: lock_path.display().to_string(),
            source: sqlx::Error::Io(e),
        }),
    }
}

/// Parse a JSON column, naming it in the error.
pub(crate) fn json_col<T: serde::de::DeserializeOwned>(
    column: &'static str,
    text: &str,
) -> Result<T, StoreError> {
    serde_json::from_str(text).map_err(|source| StoreError::BadJson { column, source })
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
}
