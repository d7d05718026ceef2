//! The store: every read and write of persistent state, and the only place SQL lives. Two
//! backends sit behind one [`Store`] (an enum; each method is declared once in [`api`] and
//! `api_auth` and dispatched to the backend's method of the same name):
//!
//! - **SQLite** (the embedded default) through rusqlite ([`sqlite`]): bundled, memory
//!   statistics off, WAL, foreign keys, busy timeout, `synchronous=NORMAL`; one writer and a few
//!   readers, queries on blocking threads with cached prepared statements ([`pool`]), migrations
//!   from `migrations/` ([`migrate`]). Its queries are the `impl Sqlite` blocks of the aggregate
//!   files here: [`workspaces`], [`sessions`], [`messages`], …
//! - **PostgreSQL** (`JEAN2_DATABASE_URL=postgres://…`, for several instances on one database)
//!   through tokio-postgres and a deadpool pool ([`pg`]), migrations from `migrations/postgres/`.
//!
//! Row decoding (the wire shapes) is shared: [`rows`] reads columns from either driver's rows.
//! Errors leave here in domain terms ([`StoreError`]); no driver type is part of the API.
//!
//! A SQLite server holds an exclusive lock file next to the database (`<db>.lock`) for as long
//! as its store is open, so a second server on the same file refuses to start instead of
//! sharing it (each keeps connection, "running" and page-cache state in memory; two would
//! disagree). PostgreSQL has no lock file: its instances share that state through the database
//! (`pg/cluster`), and the page cache is off there (see [`Store::cached_page`]).

mod api;
mod api_auth;
mod api_ops;
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
pub mod pg;
pub mod pins;
mod pool;
pub mod queue;
mod rows;
pub mod session_ops;
mod session_writes;
pub mod sessions;
mod sessions_json;
mod sessions_list;
mod sqlite;
mod todos;
mod upstream;
pub mod users;
pub mod workspaces;
mod workspaces_json;

use std::path::Path;

use bytes::Bytes;

pub use error::{BackendError, Entity, StoreError};
pub use kinds::{MessageStatus, Role, SessionStatus};
pub use messages::{Message, MessageWithParts, Part, TranscriptPage};
pub use pages::{PageKey, Topic};
pub use pg::{DatabaseUrl, Postgres};
pub use sessions::Session;
pub use sessions_json::SessionPageJson;
pub use workspaces::Workspace;
pub use workspaces_json::WorkspacesJson;

pub(crate) use error::Fail;
pub(crate) use sqlite::Sqlite;

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
pub struct Store(Backend);

/// The backend behind a [`Store`].
#[derive(Clone)]
pub(crate) enum Backend {
    /// The embedded default: one server on one file.
    Sqlite(Sqlite),
    /// Several instances on one PostgreSQL database.
    Postgres(Postgres),
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let backend = match &self.0 {
            Backend::Sqlite(_) => "sqlite",
            Backend::Postgres(_) => "postgres",
        };
        f.debug_struct("Store")
            .field("backend", &backend)
            .finish_non_exhaustive()
    }
}

/// Declare store methods once: each becomes a `pub async fn` on [`Store`] that calls the
/// backend's method of the same name.
macro_rules! dispatch {
    ($(
        $(#[$meta:meta])*
        fn $name:ident(&self $(, $arg:ident: $ty:ty)* $(,)?) -> $ret:ty;
    )*) => {
        impl Store {
            $(
                $(#[$meta])*
                pub async fn $name(&self $(, $arg: $ty)*) -> $ret {
                    match &self.0 {
                        $crate::store::Backend::Sqlite(b) => b.$name($($arg),*).await,
                        $crate::store::Backend::Postgres(b) => b.$name($($arg),*).await,
                    }
                }
            )*
        }
    };
}
pub(crate) use dispatch;

impl Store {
    /// Open (creating if needed) the SQLite database at `path`, take its lock file and run the
    /// migrations. Fails with [`StoreError::Locked`] while another server holds the lock.
    pub async fn open(path: &Path) -> Result<Store, StoreError> {
        Sqlite::open(path, true)
            .await
            .map(|s| Store(Backend::Sqlite(s)))
    }

    /// Open without taking the server's lock file: for the admin commands (`jean2 users|apps|
    /// keys`), which make short transactional changes next to a running server (SQLite's WAL
    /// and busy timeout serialise the writers), and for tests that inspect a live server's
    /// database. Never serve from a store opened this way.
    pub async fn open_unlocked(path: &Path) -> Result<Store, StoreError> {
        Sqlite::open(path, false)
            .await
            .map(|s| Store(Backend::Sqlite(s)))
    }

    /// Connect to the PostgreSQL database at `url` and run its migrations. Each failure says
    /// which: a malformed URL, an unreachable server, a missing database, a refused login, a
    /// failed migration ([`StoreError::Open`] / [`StoreError::Migrate`]).
    pub async fn connect(url: &DatabaseUrl, pool_size: usize) -> Result<Store, StoreError> {
        Postgres::open(url, pool_size)
            .await
            .map(|p| Store(Backend::Postgres(p)))
    }

    /// The PostgreSQL backend, for what only several instances need (events across instances,
    /// the cluster-wide runner of a session).
    pub fn postgres(&self) -> Option<&Postgres> {
        match &self.0 {
            Backend::Postgres(p) => Some(p),
            Backend::Sqlite(_) => None,
        }
    }

    /// The SQLite backend (for the tests of SQLite itself).
    #[cfg(test)]
    pub(crate) fn sqlite(&self) -> &Sqlite {
        match &self.0 {
            Backend::Sqlite(s) => s,
            Backend::Postgres(_) => panic!("a SQLite-only test ran on PostgreSQL"),
        }
    }

    /// The generation of the topic of `key`: take it *before* reading a page to cache, and
    /// pass it to [`Store::keep_page`] (see `pages.rs`).
    pub fn page_generation(&self, key: &PageKey) -> u64 {
        match &self.0 {
            Backend::Sqlite(s) => s.page_generation(key),
            Backend::Postgres(_) => 0,
        }
    }

    /// A page kept by [`Store::keep_page`], if no write has changed its topic since. Always
    /// `None` on PostgreSQL: another instance's writes are not seen here, and checking a
    /// generation kept in the database costs a round trip, most of what the page would save.
    pub fn cached_page(&self, key: &PageKey) -> Option<Bytes> {
        match &self.0 {
            Backend::Sqlite(s) => s.cached_page(key),
            Backend::Postgres(_) => None,
        }
    }

    /// Keep a page (the response bytes) read under `generation`; ignored if a write has
    /// changed its topic since (and on PostgreSQL).
    pub fn keep_page(&self, key: PageKey, generation: u64, body: Bytes) {
        if let Backend::Sqlite(s) = &self.0 {
            s.keep_page(key, generation, body);
        }
    }

    /// Wait for running queries and close every connection (SQLite: checkpointing the WAL and
    /// releasing the lock file). Later calls fail with [`StoreError::Closed`].
    pub async fn close(&self) {
        match &self.0 {
            Backend::Sqlite(s) => s.close().await,
            Backend::Postgres(p) => p.close().await,
        }
    }
}

#[cfg(test)]
pub(crate) mod testing {
    //! An open store on a temporary file, for the store's unit tests.
    use super::Store;

    /// A new store: SQLite in a temporary directory, or a new PostgreSQL database when the
    /// run is on PostgreSQL (`JEAN2_TEST_BACKEND=postgres`, see `pg/testdb.rs`).
    pub async fn store() -> (Store, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let store = if super::pg::testdb::on_postgres() {
            let url = super::pg::testdb::fresh_database().await;
            Store::connect(&super::DatabaseUrl::parse(&url).unwrap(), 4)
                .await
                .unwrap()
        } else {
            Store::open(&dir.path().join("t.db")).await.unwrap()
        };
        (store, dir)
    }

    /// The number of rows of `table`, on either backend.
    pub async fn count(store: &Store, table: &'static str) -> i64 {
        let sql = format!("SELECT COUNT(*) FROM {table}");
        match store.postgres() {
            Some(pg) => pg.query(&sql, &[]).await.unwrap()[0].get::<_, i64>(0),
            None => store
                .sqlite()
                .read(move |c| Ok(c.query_row(&sql, [], |r| r.get::<_, i64>(0))?))
                .await
                .unwrap(),
        }
    }

    /// Whether the store under test is SQLite (for the tests of SQLite itself).
    pub fn on_sqlite() -> bool {
        !super::pg::testdb::on_postgres()
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

#[cfg(test)]
mod both_backends {
    #[test]
    fn every_unit_test_passes_on_postgres_too() {
        super::pg::testdb::rerun_on_postgres(
            "store::both_backends::every_unit_test_passes_on_postgres_too",
        );
    }
}
