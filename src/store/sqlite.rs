//! The SQLite backend's handle: one writer connection and a few readers ([`pool`](super::pool)),
//! migrations run at open ([`migrate`](super::migrate)), the page cache ([`pages`](super::pages)),
//! and the lock file that keeps a second server off the database. Its queries live in one file
//! per aggregate beside this one (`sessions.rs`, `messages.rs`, …), as `impl Sqlite` blocks.

use std::fs::File;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use rusqlite::Connection;

use super::error::{BackendError, Fail, StoreError};
use super::pages::{self, PageKey};
use super::pool::{self, Side, Slot, Slots};
use super::{files, migrate};

/// The SQLite database handle; cheap to clone.
#[derive(Clone)]
pub(crate) struct Sqlite {
    inner: Arc<Inner>,
}

pub(crate) struct Inner {
    readers: Slot,
    writer: Slot,
    pages: pages::Pages,
    /// The held lock file; taken out (and so released) by [`Sqlite::close`].
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

impl Sqlite {
    /// Open (creating if needed) the database at `path`, taking its lock file when `lock`, and
    /// run the migrations.
    pub(crate) async fn open(path: &Path, lock: bool) -> Result<Sqlite, StoreError> {
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

    pub(crate) fn page_generation(&self, key: &PageKey) -> u64 {
        self.inner.pages.generation(&key.topic)
    }

    pub(crate) fn cached_page(&self, key: &PageKey) -> Option<Bytes> {
        self.inner.pages.get(key)
    }

    pub(crate) fn keep_page(&self, key: PageKey, generation: u64, body: Bytes) {
        self.inner.pages.put(key, generation, body);
    }

    /// Wait for running queries, close every connection (checkpointing the WAL), then release
    /// the lock file.
    pub(crate) async fn close(&self) {
        self.inner.readers.close().await;
        self.inner.writer.close().await;
        let mut lock = self.inner.lock.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(file) = lock.take() {
            let _ = file.unlock();
        }
    }
}

fn open_blocking(path: &Path, lock: bool) -> Result<Sqlite, StoreError> {
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
    Ok(Sqlite {
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
