//! What can go wrong in the store, in domain terms. No database type crosses this line (a
//! backend failure is an opaque [`BackendError`]), so a second backend returns the same errors
//! and the layers above never name SQLite. The HTTP mapping lives in `crate::error`.

use std::fmt;

/// What a [`StoreError::NotFound`] did not find. `Display` is the capitalised name, so the API
/// layer can say "Session not found" without knowing which call failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Entity {
    Workspace,
    Session,
    Message,
    Part,
    User,
    App,
    ApiKey,
}

impl fmt::Display for Entity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Entity::Workspace => "Workspace",
            Entity::Session => "Session",
            Entity::Message => "Message",
            Entity::Part => "Part",
            Entity::User => "User",
            Entity::App => "App",
            Entity::ApiKey => "API key",
        })
    }
}

/// What can go wrong in the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The row does not exist, or the caller's scope cannot see it.
    #[error("{0} not found")]
    NotFound(Entity),
    /// A unique key is taken; the message says which, in words a client may read.
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("cannot open the database {path}: {source}")]
    Open {
        path: String,
        #[source]
        source: BackendError,
    },
    #[error(
        "the database {db} is in use by another jean2 server (lock file {lock} is held); \
         stop that server first (`jean2 stop`), or give this one its own database with \
         JEAN2_DATABASE_PATH or JEAN2_DATA_DIR"
    )]
    Locked { db: String, lock: String },
    #[error("database migration {version} ({name}) failed: {source}")]
    Migrate {
        version: u32,
        name: &'static str,
        #[source]
        source: BackendError,
    },
    #[error("stored JSON in {column} is invalid: {source}")]
    BadJson {
        column: &'static str,
        #[source]
        source: serde_json::Error,
    },
    /// The store was closed (the server is shutting down).
    #[error("the store is closed")]
    Closed,
    #[error("database error: {0}")]
    Db(#[source] BackendError),
}

/// A failure inside the database backend, kept opaque so no driver type is part of the API.
#[derive(Debug)]
pub struct BackendError(Box<dyn std::error::Error + Send + Sync>);

impl BackendError {
    pub(crate) fn new(e: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self(Box::new(e))
    }

    pub(crate) fn msg(m: impl Into<String>) -> Self {
        Self(m.into().into())
    }
}

impl fmt::Display for BackendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for BackendError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0.source()
    }
}

/// The error type of the closures that run on a connection: either SQLite's own error or one
/// already in domain terms. Crate-private, so `?` works on both without a public
/// `From<rusqlite::Error>` on [`StoreError`].
#[derive(Debug)]
pub(crate) enum Fail {
    Sql(rusqlite::Error),
    Store(StoreError),
}

impl From<rusqlite::Error> for Fail {
    fn from(e: rusqlite::Error) -> Self {
        Fail::Sql(e)
    }
}

impl From<StoreError> for Fail {
    fn from(e: StoreError) -> Self {
        Fail::Store(e)
    }
}

impl Fail {
    /// In domain terms: a unique violation is a [`StoreError::Conflict`], the rest opaque.
    pub(crate) fn into_store(self) -> StoreError {
        match self {
            Fail::Store(e) => e,
            Fail::Sql(e) if is_unique_violation(&e) => {
                StoreError::Conflict(sqlite_message(&e).unwrap_or("conflict").to_owned())
            }
            Fail::Sql(e) => StoreError::Db(BackendError::new(e)),
        }
    }
}

/// A JSON value could not be written for `column`.
pub(crate) fn bad_json(column: &'static str) -> impl Fn(serde_json::Error) -> StoreError {
    move |source| StoreError::BadJson { column, source }
}

fn extended_code(e: &rusqlite::Error) -> Option<i32> {
    match e {
        rusqlite::Error::SqliteFailure(f, _) => Some(f.extended_code),
        _ => None,
    }
}

fn sqlite_message(e: &rusqlite::Error) -> Option<&str> {
    match e {
        rusqlite::Error::SqliteFailure(_, Some(m)) => Some(m),
        _ => None,
    }
}

fn is_unique_violation(e: &rusqlite::Error) -> bool {
    matches!(
        extended_code(e),
        Some(rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE | rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY)
    )
}

/// Whether an insert failed because a referenced row (a session, a message) does not exist.
pub(crate) fn is_foreign_key_violation(f: &Fail) -> bool {
    matches!(f, Fail::Sql(e) if extended_code(e) == Some(rusqlite::ffi::SQLITE_CONSTRAINT_FOREIGNKEY))
}
