//! Writing the files of the data dir safely.
//!
//! - [`write_atomic`]: a temp file in the same folder, flushed to disk, then renamed over the
//!   target, so a failure at any point (full disk, read-only folder, a crash) leaves the old file
//!   whole. Every file jean2 writes from the settings screens goes through it.
//! - [`backup_original`]: a data dir written by the original (TypeScript) server (it has a
//!   `config.json`, which jean2 never writes) is copied once to `backups/original/` before jean2
//!   changes any of its files, so nothing of the original's is ever lost;
//!   [`backup_original_database`] does the same for its database before the store opens it.

use std::fs;
use std::io::{self, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// Mode of a file holding secrets (`.env`): readable by its owner only.
pub const PRIVATE: u32 = 0o600;
/// Mode of an ordinary new file of the data dir (`models.json`, preconfigs, prompts).
pub const SHARED: u32 = 0o644;

/// Replace `path` with `contents` atomically. A new file gets `mode`; an existing one keeps its
/// own unless `force_mode` (the `.env` always ends up 0600). A symbolic link is followed: its
/// target is replaced, the link stays.
pub fn write_atomic(path: &Path, contents: &[u8], mode: u32, force_mode: bool) -> io::Result<()> {
    let target = resolve_link(path);
    let dir = target
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    fs::create_dir_all(dir)?;
    let mode = match fs::metadata(&target) {
        Ok(meta) if !force_mode => meta.permissions().mode() & 0o7777,
        _ => mode,
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(".tmp-jean2-")
        .tempfile_in(dir)?;
    tmp.as_file()
        .set_permissions(fs::Permissions::from_mode(mode))?;
    tmp.write_all(contents)?;
    tmp.as_file().sync_all()?;
    tmp.persist(&target).map_err(|e| e.error)?;
    // The rename itself is durable once the folder is synced; failing that is not worth an error.
    if let Ok(d) = fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// The file a path names: the target of a symbolic link, else the path itself.
fn resolve_link(path: &Path) -> PathBuf {
    match fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => fs::canonicalize(path).unwrap_or(path.to_owned()),
        _ => path.to_owned(),
    }
}

/// The files of the original server's data dir that jean2 may change (top level), and the folders
/// whose files it may change.
const ORIGINAL_FILES: &[&str] = &[".env", "config.json", "models.json", "AGENTS.md"];
const ORIGINAL_DIRS: &[&str] = &["preconfigs", "prompts"];

/// Where [`backup_original`] keeps its copy.
pub fn original_backup_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("backups").join("original")
}

/// Whether `data_dir` was written by the original server (`jean2 init` writes `config.json`).
pub fn is_original_data_dir(data_dir: &Path) -> bool {
    data_dir.join("config.json").is_file()
}

/// Before jean2 changes a file of an original data dir for the first time: copy the original's
/// configuration files (see [`ORIGINAL_FILES`], [`ORIGINAL_DIRS`]) to `backups/original/`.
/// Returns the backup folder when this call made it; `None` when there is nothing to do (not
/// an original data dir, or the backup exists). The copy is made in a temp folder and renamed,
/// so a half-made backup never counts as done.
pub fn backup_original(data_dir: &Path) -> io::Result<Option<PathBuf>> {
    let dest = original_backup_dir(data_dir);
    if !is_original_data_dir(data_dir) || dest.exists() {
        return Ok(None);
    }
    let parent = data_dir.join("backups");
    fs::create_dir_all(&parent)?;
    fs::set_permissions(&parent, fs::Permissions::from_mode(0o700))?;
    let tmp = tempfile::Builder::new()
        .prefix(".original-")
        .tempdir_in(&parent)?;
    for name in ORIGINAL_FILES {
        copy_if_file(&data_dir.join(name), &tmp.path().join(name))?;
    }
    for dir in ORIGINAL_DIRS {
        let Ok(entries) = fs::read_dir(data_dir.join(dir)) else {
            continue;
        };
        fs::create_dir_all(tmp.path().join(dir))?;
        for entry in entries.flatten() {
            copy_if_file(&entry.path(), &tmp.path().join(dir).join(entry.file_name()))?;
        }
    }
    let made = tmp.keep();
    match fs::rename(&made, &dest) {
        Ok(()) => {
            tracing::info!(backup = %dest.display(), "copied the original server's configuration before changing it");
            Ok(Some(dest))
        }
        // Another request made it meanwhile: theirs counts, ours goes.
        Err(_) if dest.exists() => {
            let _ = fs::remove_dir_all(&made);
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

/// Before jean2 opens (and migrates) the database of an original data dir for the first time:
/// copy it, with its `-wal` and `-shm` files, to `backups/original-db/`. Call it before the store
/// opens, while no one writes the file. Returns the folder when this call made the copy; `None`
/// when there is nothing to do (not an original data dir, no database, or the copy exists).
pub fn backup_original_database(data_dir: &Path, database: &Path) -> io::Result<Option<PathBuf>> {
    let dest = data_dir.join("backups").join("original-db");
    if !is_original_data_dir(data_dir) || !database.is_file() || dest.exists() {
        return Ok(None);
    }
    let parent = data_dir.join("backups");
    fs::create_dir_all(&parent)?;
    fs::set_permissions(&parent, fs::Permissions::from_mode(0o700))?;
    let tmp = tempfile::Builder::new()
        .prefix(".original-db-")
        .tempdir_in(&parent)?;
    let name = database.file_name().unwrap_or(database.as_os_str());
    for suffix in ["", "-wal", "-shm"] {
        let mut from = database.as_os_str().to_owned();
        from.push(suffix);
        let mut to = name.to_owned();
        to.push(suffix);
        copy_if_file(Path::new(&from), &tmp.path().join(to))?;
    }
    let made = tmp.keep();
    fs::rename(&made, &dest)?;
    tracing::info!(backup = %dest.display(), "copied the original server's database before opening it");
    Ok(Some(dest))
}

/// Copy a regular file (not a link, not a folder), private to its owner: `.env` holds keys.
fn copy_if_file(from: &Path, to: &Path) -> io::Result<()> {
    match fs::symlink_metadata(from) {
        Ok(m) if m.is_file() => {
            fs::copy(from, to)?;
            fs::set_permissions(to, fs::Permissions::from_mode(PRIVATE))
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(p: &Path) -> u32 {
        fs::metadata(p).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn a_new_file_gets_the_mode_and_an_old_one_keeps_its_own_unless_forced() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("sub").join("f");
        write_atomic(&p, b"one", SHARED, false).unwrap();
        assert_eq!((fs::read(&p).unwrap(), mode(&p)), (b"one".to_vec(), 0o644));
        fs::set_permissions(&p, fs::Permissions::from_mode(0o640)).unwrap();
        write_atomic(&p, b"two", SHARED, false).unwrap();
        assert_eq!(mode(&p), 0o640);
        write_atomic(&p, b"three", PRIVATE, true).unwrap();
        assert_eq!(
            (fs::read(&p).unwrap(), mode(&p)),
            (b"three".to_vec(), 0o600)
        );
        let names: Vec<_> = fs::read_dir(p.parent().unwrap()).unwrap().collect();
        assert_eq!(names.len(), 1, "no temp file is left behind");
    }

    #[test]
    fn a_link_is_followed_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real.env");
        fs::write(&real, "A=1\n").unwrap();
        let link = dir.path().join(".env");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        write_atomic(&link, b"A=2\n", PRIVATE, true).unwrap();
        assert!(
            fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(fs::read_to_string(&real).unwrap(), "A=2\n");
    }

    #[test]
    fn the_original_database_is_copied_once_with_its_journal() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let db = d.join("data").join("agent.db");
        fs::create_dir_all(db.parent().unwrap()).unwrap();
        fs::write(&db, "sqlite").unwrap();
        fs::write(d.join("data/agent.db-wal"), "wal").unwrap();
        assert_eq!(
            backup_original_database(d, &db).unwrap(),
            None,
            "not an original dir"
        );
        fs::write(d.join("config.json"), "{}").unwrap();
        let made = backup_original_database(d, &db).unwrap().expect("a copy");
        assert_eq!(fs::read_to_string(made.join("agent.db")).unwrap(), "sqlite");
        assert_eq!(
            fs::read_to_string(made.join("agent.db-wal")).unwrap(),
            "wal"
        );
        assert!(!made.join("agent.db-shm").exists());
        assert_eq!(backup_original_database(d, &db).unwrap(), None, "only once");
    }

    #[test]
    fn the_original_configuration_is_copied_once_before_any_change() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        assert_eq!(
            backup_original(d).unwrap(),
            None,
            "not an original data dir"
        );
        fs::write(d.join("config.json"), "{}").unwrap();
        fs::write(d.join(".env"), "JEAN2_LLM_OPENAI_API_KEY=sk\n").unwrap();
        fs::create_dir_all(d.join("preconfigs")).unwrap();
        fs::write(d.join("preconfigs/general.md"), "---\nname: G\n---\nHi").unwrap();
        let made = backup_original(d).unwrap().expect("a backup");
        assert_eq!(
            fs::read_to_string(made.join("preconfigs/general.md")).unwrap(),
            "---\nname: G\n---\nHi"
        );
        assert_eq!(mode(&made.join(".env")), 0o600);
        fs::write(d.join(".env"), "changed\n").unwrap();
        assert_eq!(backup_original(d).unwrap(), None, "only once");
        assert_eq!(
            fs::read_to_string(made.join(".env")).unwrap(),
            "JEAN2_LLM_OPENAI_API_KEY=sk\n"
        );
    }
}
