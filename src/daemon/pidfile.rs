//! `<data dir>/server.pid`: an OS-locked file (`flock` through `File::try_lock`).
//!
//! "Running" means "some process holds the exclusive lock", never "the file exists": the kernel
//! drops the lock when the server dies, even after `kill -9`, so a file left behind is recognisably
//! stale. The server ([`PidfileGuard`]) locks the file before it binds, writes a [`Record`] at once
//! (port still unknown), rewrites it with the bound port once it serves, and removes the file on
//! drop. Other commands only look ([`inspect`]) with a shared lock, which succeeds exactly when no
//! server holds the file, and clean up a stale file when they find one.

use std::fs::{self, File, OpenOptions, TryLockError};
use std::io::{self, Read as _};
use std::os::unix::fs::DirBuilderExt;
use std::os::unix::fs::{FileExt as _, MetadataExt as _};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

/// How often lock holders are polled.
const POLL: Duration = Duration::from_millis(20);
/// How long [`PidfileGuard::acquire`] waits out a lock that may belong to a mere observer.
const ACQUIRE_PATIENCE: Duration = Duration::from_secs(2);

/// What a server writes into its pidfile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Record {
    /// The server's process id.
    pub pid: u32,
    /// The bound port; `None` while the server is still starting.
    pub port: Option<u16>,
    /// The bind address as configured (`127.0.0.1`, `0.0.0.0`, …).
    pub host: String,
    /// When the process started, ISO-8601 UTC.
    pub started_at: String,
    /// The server's version.
    pub version: String,
    /// The URL a client on this machine uses; `None` while starting.
    pub url: Option<String>,
}

impl Record {
    /// "pid 1234, http://127.0.0.1:8742" (or "…, still starting").
    pub fn describe(&self) -> String {
        match &self.url {
            Some(url) => format!("pid {}, {url}", self.pid),
            None => format!("pid {}, still starting", self.pid),
        }
    }
}

/// Why the pidfile could not be taken.
#[derive(Debug, thiserror::Error)]
pub enum AcquireError {
    #[error(
        "jean2 is already running ({}); stop it with `jean2 stop`, or use another JEAN2_DATA_DIR",
        holder(.record, .path)
    )]
    AlreadyRunning {
        record: Option<Box<Record>>,
        path: PathBuf,
    },
    #[error("cannot use the pidfile {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

fn holder(record: &Option<Box<Record>>, path: &Path) -> String {
    match record {
        Some(r) => r.describe(),
        None => format!("{} is locked by another process", path.display()),
    }
}

/// The server's hold on the pidfile: the lock lives as long as this value; dropping it removes
/// the file and releases the lock.
#[derive(Debug)]
pub struct PidfileGuard {
    file: File,
    path: PathBuf,
}

impl PidfileGuard {
    /// Take the exclusive lock on `path` (creating its directory) and write `record`.
    /// Fails with [`AcquireError::AlreadyRunning`] when another server holds it.
    pub fn acquire(path: &Path, record: &Record) -> Result<PidfileGuard, AcquireError> {
        let io_err = |source| AcquireError::Io {
            path: path.to_owned(),
            source,
        };
        if let Some(dir) = path.parent() {
            fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)
                .map_err(io_err)?;
        }
        let deadline = Instant::now() + ACQUIRE_PATIENCE;
        loop {
            let file = OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .open(path)
                .map_err(io_err)?;
            match file.try_lock() {
                // An observer may have removed the file between our open and our lock; a lock on
                // an unlinked file protects nothing, so start over with the file now at `path`.
                Ok(()) if !is_same_file(&file, path) => {}
                Ok(()) => {
                    let mut guard = PidfileGuard {
                        file,
                        path: path.to_owned(),
                    };
                    guard.write(record).map_err(io_err)?;
                    return Ok(guard);
                }
                Err(TryLockError::WouldBlock) => {
                    let current = read_record(&file);
                    // A record naming a live process means a server holds the lock. Otherwise the
                    // holder may be `jean2 status` looking at a stale file: wait a moment.
                    let live = current.as_ref().is_some_and(|r| pid_alive(r.pid));
                    if live || Instant::now() >= deadline {
                        return Err(AcquireError::AlreadyRunning {
                            record: current.map(Box::new),
                            path: path.to_owned(),
                        });
                    }
                }
                Err(TryLockError::Error(e)) => return Err(io_err(e)),
            }
            if Instant::now() >= deadline {
                return Err(io_err(io::Error::other(
                    "the file keeps being replaced while locking it",
                )));
            }
            std::thread::sleep(POLL);
        }
    }

    /// Replace the record (e.g. once the port is known).
    pub fn write(&mut self, record: &Record) -> io::Result<()> {
        let mut json = serde_json::to_vec_pretty(record).map_err(io::Error::other)?;
        json.push(b'\n');
        // Write in place, then cut: readers may see a torn record for a moment and retry, but the
        // file (and so the lock) stays the same inode.
        self.file.write_all_at(&json, 0)?;
        self.file.set_len(json.len() as u64)?;
        self.file.sync_data()
    }

    /// The pidfile's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for PidfileGuard {
    fn drop(&mut self) {
        // Remove first, unlock second (on close): a process waiting for our lock then finds the
        // path gone or replaced and starts over instead of locking a dead file.
        if is_same_file(&self.file, &self.path) {
            let _ = fs::remove_file(&self.path);
        }
        let _ = self.file.unlock();
    }
}

/// What [`inspect`] found.
#[derive(Debug)]
pub enum State {
    /// A server holds the lock. `record` is `None` only if its content could not be read.
    Running(Running),
    /// Nobody holds the lock. `stale` is what a left-behind file said; it has been removed.
    NotRunning { stale: Option<Stale> },
}

/// A running server, seen from outside; keeps the pidfile open to notice when the lock goes.
#[derive(Debug)]
pub struct Running {
    pub record: Option<Record>,
    file: File,
}

impl Running {
    /// Wait until the server lets go of the lock (it exited), at most `timeout`.
    pub fn wait_released(&self, timeout: Duration) -> io::Result<bool> {
        let deadline = Instant::now() + timeout;
        loop {
            match self.file.try_lock_shared() {
                Ok(()) => {
                    self.file.unlock()?;
                    return Ok(true);
                }
                Err(TryLockError::WouldBlock) if Instant::now() < deadline => {
                    std::thread::sleep(POLL)
                }
                Err(TryLockError::WouldBlock) => return Ok(false),
                Err(TryLockError::Error(e)) => return Err(e),
            }
        }
    }
}

/// A pidfile nobody held: what it said (if it could be read).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stale {
    pub record: Option<Record>,
    pub path: PathBuf,
}

impl Stale {
    /// A note for the user, e.g. after a `kill -9` or a crash.
    pub fn note(&self) -> String {
        match &self.record {
            Some(r) => format!(
                "note: removed a stale pidfile {} (pid {} was not running any more: it crashed or was killed)",
                self.path.display(),
                r.pid
            ),
            None => format!(
                "note: removed a stale, unreadable pidfile {}",
                self.path.display()
            ),
        }
    }
}

/// Whether a server holds `path`; a stale file is removed and reported.
pub fn inspect(path: &Path) -> io::Result<State> {
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Ok(State::NotRunning { stale: None });
        }
        Err(e) => return Err(e),
    };
    match file.try_lock_shared() {
        Ok(()) => {
            let record = read_record(&file);
            if is_same_file(&file, path) {
                match fs::remove_file(path) {
                    Ok(()) => {}
                    Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                    Err(e) => return Err(e),
                }
            }
            file.unlock()?;
            Ok(State::NotRunning {
                stale: Some(Stale {
                    record,
                    path: path.to_owned(),
                }),
            })
        }
        Err(TryLockError::WouldBlock) => {
            // The server writes its record right after locking; allow for that instant.
            let deadline = Instant::now() + Duration::from_millis(500);
            let mut record = read_record(&file);
            while record.is_none() && Instant::now() < deadline {
                std::thread::sleep(POLL);
                record = read_record(&file);
            }
            Ok(State::Running(Running { record, file }))
        }
        Err(TryLockError::Error(e)) => Err(e),
    }
}

/// The record at `path` without any locking (for `start` waiting on its child).
pub fn read(path: &Path) -> Option<Record> {
    File::open(path).ok().and_then(|f| read_record(&f))
}

fn read_record(file: &File) -> Option<Record> {
    let mut text = String::new();
    let mut f = file;
    let _ = std::io::Seek::rewind(&mut f);
    f.read_to_string(&mut text).ok()?;
    serde_json::from_str(&text).ok()
}

fn is_same_file(file: &File, path: &Path) -> bool {
    match (file.metadata(), fs::metadata(path)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

/// Whether a process with this id exists (a permission error still means it exists).
pub fn pid_alive(pid: u32) -> bool {
    let Ok(pid) = i32::try_from(pid) else {
        return false;
    };
    !matches!(
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None),
        Err(nix::errno::Errno::ESRCH)
    )
}

#[cfg(test)]
#[path = "pidfile_tests.rs"]
mod tests;
