//! Unit tests of the store as a whole: the build of SQLite, the lock file, closing, and
//! cancelled queries.

use std::time::Duration;

use super::testing::store;
use super::*;

#[tokio::test]
async fn sqlite_is_built_without_memory_statistics() {
    let (store, _dir) = store().await;
    let options = store
        .read(|c| {
            let mut st = c.prepare("PRAGMA compile_options")?;
            rows::all(&mut st, [], |r| Ok(rows::str(r, 0)?.to_owned()))
        })
        .await
        .unwrap();
    assert!(
        options.iter().any(|o| o == "DEFAULT_MEMSTATUS=0"),
        "LIBSQLITE3_FLAGS from .cargo/config.toml did not reach the build: {options:?}"
    );
}

#[tokio::test]
async fn connections_use_wal_foreign_keys_and_normal_sync() {
    let (store, _dir) = store().await;
    for _ in 0..8 {
        let (mode, fk, sync) = store
            .read(|c| {
                let q = |sql: &str| c.query_row(sql, [], |r| r.get::<_, String>(0));
                Ok((
                    q("PRAGMA journal_mode")?,
                    c.query_row("PRAGMA foreign_keys", [], |r| r.get::<_, i64>(0))?,
                    c.query_row("PRAGMA synchronous", [], |r| r.get::<_, i64>(0))?,
                ))
            })
            .await
            .unwrap();
        assert_eq!((mode.as_str(), fk, sync), ("wal", 1, 1));
    }
}

#[tokio::test]
async fn a_second_store_on_the_same_file_is_refused_until_the_first_closes() {
    let (first, dir) = store().await;
    let err = Store::open(&dir.path().join("t.db")).await.unwrap_err();
    assert!(matches!(err, StoreError::Locked { .. }), "{err:?}");
    assert!(err.to_string().contains("another jean2 server"), "{err}");
    let beside = Store::open_unlocked(&dir.path().join("t.db")).await;
    assert!(
        beside.is_ok(),
        "an admin command may open it beside the server: {beside:?}"
    );
    first.close().await;
    let again = Store::open(&dir.path().join("t.db")).await;
    assert!(again.is_ok(), "{again:?}");
}

#[tokio::test]
async fn a_closed_store_refuses_queries() {
    let (store, _dir) = store().await;
    store.close().await;
    store.close().await;
    let err = store.has_workspaces(&Scope::All).await.unwrap_err();
    assert!(matches!(err, StoreError::Closed), "{err:?}");
}

#[tokio::test]
async fn cancelled_queries_do_not_hand_out_a_busy_connection() {
    let (store, _dir) = store().await;
    // Start many slow reads and drop them mid-query; each keeps its connection until done.
    for _ in 0..3 {
        let mut tasks = Vec::new();
        for _ in 0..16 {
            let store = store.clone();
            tasks.push(tokio::spawn(async move {
                store
                    .read(|c| {
                        let n: i64 = c.query_row(
                            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n \
                             WHERE i < 200000) SELECT count(*) FROM n",
                            [],
                            |r| r.get(0),
                        )?;
                        Ok(n)
                    })
                    .await
            }));
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
        for t in &tasks {
            t.abort();
        }
        // Every connection still works, one caller at a time.
        for _ in 0..8 {
            assert!(!store.has_workspaces(&Scope::All).await.unwrap());
        }
    }
}
