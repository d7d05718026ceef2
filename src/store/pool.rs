//! The connections: one writer and a few readers (WAL lets them read while it writes), each
//! query run on tokio's blocking threads, never on an async worker (a write waiting on the
//! busy timeout would stall every request on that worker for seconds).
//!
//! A connection is checked out with a semaphore permit, and the permit moves *into* the
//! blocking task: when a request is cancelled mid-query, its future is dropped but the task
//! keeps the connection and the permit until the query has finished, so nobody else can be
//! handed a connection that is still in use. Statements are prepared once per connection
//! (`prepare_cached`).

use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};
use tokio::sync::Semaphore;

use super::error::{BackendError, Fail, StoreError};

/// How long a statement waits for a lock held by another connection or process.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// Prepared statements kept per connection; the store has fewer distinct statements than this.
const STATEMENT_CACHE: usize = 128;

/// Which connections a closure runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Side {
    Read,
    Write,
}

/// A set of interchangeable connections and the permits that hand them out.
pub(crate) struct Slot {
    permits: Arc<Semaphore>,
    idle: Mutex<Vec<Connection>>,
    size: u32,
}

impl Slot {
    pub(crate) fn new(conns: Vec<Connection>) -> Self {
        let size = u32::try_from(conns.len()).unwrap_or(u32::MAX);
        Self {
            permits: Arc::new(Semaphore::new(conns.len())),
            idle: Mutex::new(conns),
            size,
        }
    }

    fn idle(&self) -> MutexGuard<'_, Vec<Connection>> {
        self.idle.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Wait for every checked-out connection to come back, then close them all; later calls
    /// fail with [`StoreError::Closed`]. Idempotent.
    pub(crate) async fn close(&self) {
        let Ok(all) = self.permits.clone().acquire_many_owned(self.size).await else {
            return;
        };
        self.permits.close();
        let conns = std::mem::take(&mut *self.idle());
        let _ = tokio::task::spawn_blocking(move || {
            for c in conns {
                if let Err((_, e)) = c.close() {
                    tracing::warn!(error = %e, "closing a database connection failed");
                }
            }
        })
        .await;
        drop(all);
    }
}

/// A checked-out connection; goes back to its slot when dropped, even if the query panicked.
struct Lease<'a> {
    slot: &'a Slot,
    conn: Option<Connection>,
}

impl Drop for Lease<'_> {
    fn drop(&mut self) {
        if let Some(c) = self.conn.take() {
            self.slot.idle().push(c);
        }
    }
}

/// The pieces a query closure may need besides its connection.
pub(crate) trait Slots: Send + Sync + 'static {
    fn slot(&self, side: Side) -> &Slot;
}

/// Run `f` on a connection of `side` on a blocking thread and wait for its result.
pub(crate) async fn run<I, T, F>(inner: &Arc<I>, side: Side, f: F) -> Result<T, StoreError>
where
    I: Slots,
    T: Send + 'static,
    F: FnOnce(&mut Connection, &I) -> Result<T, Fail> + Send + 'static,
{
    let permit = inner
        .slot(side)
        .permits
        .clone()
        .acquire_owned()
        .await
        .map_err(|_| StoreError::Closed)?;
    let inner = Arc::clone(inner);
    let task = tokio::task::spawn_blocking(move || {
        // Held until the query is done, even when the caller has gone away.
        let _permit = permit;
        let slot = inner.slot(side);
        let conn = slot.idle().pop();
        let mut lease = Lease { slot, conn };
        let Some(conn) = lease.conn.as_mut() else {
            return Err(StoreError::Db(BackendError::msg(
                "no idle connection behind a permit (a bug)",
            )));
        };
        f(conn, &inner).map_err(Fail::into_store)
    });
    match task.await {
        Ok(result) => result,
        Err(e) => Err(StoreError::Db(BackendError::msg(format!(
            "a database task did not finish: {e}"
        )))),
    }
}

/// Open one connection with the settings every connection shares; `writer` also switches the
/// file to WAL (a property of the file, kept across opens).
pub(crate) fn connect(path: &Path, writer: bool) -> rusqlite::Result<Connection> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_CREATE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags)?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    if writer {
        let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            tracing::warn!(journal_mode = %mode, "the database did not switch to WAL");
        }
    }
    conn.execute_batch("PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;")?;
    if !writer {
        // Readers never write: a mistake becomes an error instead of a second writer.
        conn.execute_batch("PRAGMA query_only = ON;")?;
    }
    Ok(conn)
}

/// How many read connections: one per core, at least 2 and at most 4 (more only contend).
pub(crate) fn reader_count() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2)
        .clamp(2, 4)
}
