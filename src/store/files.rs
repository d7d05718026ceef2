//! The database holds the signing key, password hashes and every chat: it and its WAL and SHM
//! files are private to the user. A new database is created `0600` (SQLite gives the WAL and SHM
//! files the database's mode), and an existing file with wider rights is tightened to `0600`,
//! with a warning naming it.

use std::fs::{self, OpenOptions, Permissions};
use std::io;
use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};

/// Owner read and write, nothing for anyone else.
pub const PRIVATE: u32 = 0o600;

/// Create `db` (empty, `0600`) if it does not exist, and tighten it and its `-wal` and `-shm`
/// files, where present, to `0600`. Call before opening the database and again after.
pub fn make_private(db: &Path) -> io::Result<()> {
    OpenOptions::new()
        .create(true)
        .append(true)
        .mode(PRIVATE)
        .open(db)?;
    for path in [
        db.to_owned(),
        with_suffix(db, "-wal"),
        with_suffix(db, "-shm"),
    ] {
        tighten(&path)?;
    }
    Ok(())
}

fn with_suffix(db: &Path, suffix: &str) -> PathBuf {
    let mut name = db.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// Set `path` to `0600` if others may read or write it; a missing file is fine.
fn tighten(path: &Path) -> io::Result<()> {
    let mode = match fs::metadata(path) {
        Ok(meta) => meta.permissions().mode() & 0o777,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    if mode & 0o077 == 0 {
        return Ok(());
    }
    fs::set_permissions(path, Permissions::from_mode(PRIVATE))?;
    tracing::warn!(
        path = %path.display(),
        "{} was open to other users (mode {mode:o}); it holds keys, password hashes and chats, so it is now 0600",
        path.display()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(path: &Path) -> u32 {
        fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn a_new_database_is_created_private() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("agent.db");
        make_private(&db).unwrap();
        assert_eq!(mode(&db), PRIVATE);
        assert_eq!(
            fs::metadata(&db).unwrap().len(),
            0,
            "empty: SQLite makes it a database"
        );
    }

    #[test]
    fn wider_files_are_tightened_and_private_ones_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("agent.db");
        for (path, m) in [
            (db.clone(), 0o644),
            (with_suffix(&db, "-wal"), 0o666),
            (with_suffix(&db, "-shm"), 0o400),
        ] {
            fs::write(&path, b"x").unwrap();
            fs::set_permissions(&path, Permissions::from_mode(m)).unwrap();
        }
        make_private(&db).unwrap();
        assert_eq!(mode(&db), PRIVATE);
        assert_eq!(mode(&with_suffix(&db, "-wal")), PRIVATE);
        assert_eq!(mode(&with_suffix(&db, "-shm")), 0o400, "already private");
        assert_eq!(fs::read(&db).unwrap(), b"x", "contents untouched");
    }
}
