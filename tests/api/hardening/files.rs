//! Item 15: the database and its WAL/SHM files are private to the user (`0600`), even with the
//! usual umask of 022, and a database left readable by others is tightened at start, with a
//! warning in the log.

use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;

use crate::helpers::{spawn_app, spawn_on};

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

fn companions(db: &Path) -> [std::path::PathBuf; 3] {
    let with = |suffix: &str| {
        let mut name = db.as_os_str().to_owned();
        name.push(suffix);
        std::path::PathBuf::from(name)
    };
    [db.to_owned(), with("-wal"), with("-shm")]
}

#[tokio::test]
async fn the_database_and_its_wal_and_shm_files_are_created_private() {
    let app = spawn_app().await;
    // A write, so the WAL is in use.
    let res = app
        .post_json(
            "/api/workspaces",
            &serde_json::json!({"name": "w", "isVirtual": true}),
        )
        .await;
    assert_eq!(res.status(), 201);
    for path in companions(&app.settings.database_path) {
        assert!(path.exists(), "{}", path.display());
        assert_eq!(mode(&path), 0o600, "{}", path.display());
    }
}

#[tokio::test]
async fn a_database_readable_by_others_is_tightened_with_a_warning() {
    let app = spawn_app().await;
    let settings = app.settings.clone();
    let dir = app.stop().await;
    for path in companions(&settings.database_path) {
        if path.exists() {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        }
    }
    let app = spawn_on(dir, settings).await;
    let db = &app.settings.database_path;
    assert_eq!(mode(db), 0o600);
    let log = app.log.contents();
    assert!(
        log.contains("was open to other users (mode 644)") && log.contains("agent.db"),
        "{log}"
    );
}
