//! Start-up failures, told apart, and a pool that outlives a PostgreSQL restart. They run on
//! the PostgreSQL pass of the unit tests (`JEAN2_TEST_BACKEND=postgres`).

use std::time::Duration;

use super::testdb::{self, Cluster};
use crate::store::{DatabaseUrl, Scope, Store, StoreError};

async fn open(url: &str) -> StoreError {
    let url = DatabaseUrl::parse(url).unwrap();
    Store::connect(&url, 2).await.unwrap_err()
}

fn with_db(base: &str, db: &str) -> String {
    let mut u = url::Url::parse(base).unwrap();
    u.set_path(&format!("/{db}"));
    u.to_string()
}

#[tokio::test]
async fn each_failed_start_says_what_is_wrong_without_the_password() {
    if !testdb::on_postgres() {
        return;
    }
    let base = testdb::server_url();
    let unreachable = open("postgres://u:s3cret@127.0.0.1:1/jean2")
        .await
        .to_string();
    assert!(
        unreachable.contains("cannot reach the PostgreSQL server at 127.0.0.1:1"),
        "{unreachable}"
    );
    assert!(!unreachable.contains("s3cret"), "{unreachable}");

    let missing = open(&with_db(&base, "no_such_db")).await.to_string();
    assert!(
        missing.contains("\"no_such_db\" does not exist") && missing.contains("createdb"),
        "{missing}"
    );

    let mut stranger = url::Url::parse(&with_db(&base, "postgres")).unwrap();
    stranger.set_username("nobody_here").unwrap();
    let refused = open(stranger.as_str()).await.to_string();
    assert!(
        refused.contains("refused the login of user \"nobody_here\""),
        "{refused}"
    );

    // A database whose tables are not jean2's: the first migration fails, named.
    let url = testdb::create_database(&base).await;
    let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    client
        .batch_execute("CREATE TABLE workspaces (x int)")
        .await
        .unwrap();
    let failed = open(&url).await;
    assert!(
        matches!(
            failed,
            StoreError::Migrate {
                version: 1,
                name: "core",
                ..
            }
        ),
        "{failed:?}"
    );
    assert!(failed.to_string().contains("already exists"), "{failed}");
}

#[tokio::test]
async fn the_pool_recovers_from_a_postgresql_restart() {
    if !testdb::on_postgres() {
        return;
    }
    let cluster = tokio::task::spawn_blocking(Cluster::start)
        .await
        .unwrap()
        .unwrap();
    let url = testdb::create_database(&cluster.base).await;
    let store = Store::connect(&DatabaseUrl::parse(&url).unwrap(), 4)
        .await
        .unwrap();
    assert!(!store.has_workspaces(&Scope::All).await.unwrap());
    let cluster = std::sync::Arc::new(cluster);
    let c = cluster.clone();
    tokio::task::spawn_blocking(move || {
        c.stop();
        c.restart();
    })
    .await
    .unwrap();
    // Connections the restart closed are replaced as they are handed out; a query that was
    // given one in the moment may fail once, then every query works again.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while store.has_workspaces(&Scope::All).await.is_err() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the pool never recovered"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for _ in 0..20 {
        store.has_workspaces(&Scope::All).await.unwrap();
    }
    store.close().await;
}

/// Two instances on one database: one whose listening connection closes (a `kill -9`) is dead
/// at the next reaper pass, and its leases go; one that holds its lock stays.
#[tokio::test]
async fn an_instance_whose_lock_connection_closes_is_reaped_with_its_leases() {
    if !testdb::on_postgres() {
        return;
    }
    let url = DatabaseUrl::parse(&testdb::fresh_database().await).unwrap();
    let connect = || Store::connect(&url, 2);
    let (alive, dying) = (connect().await.unwrap(), connect().await.unwrap());
    let sid = crate::store::testing::session(&alive).await;
    let (a, d) = (alive.postgres().unwrap(), dying.postgres().unwrap());
    let mut listeners = Vec::new();
    for pg in [a, d] {
        pg.register_instance().await.unwrap();
        let (client, messages) = pg.dedicated().await.unwrap();
        pg.hold_liveness(&client).await.unwrap();
        listeners.push((client, messages));
    }
    assert!(
        d.acquire_runner(&sid).await.unwrap(),
        "the dying one runs the session"
    );
    assert!(
        a.reap_dead().await.unwrap().is_empty(),
        "both hold their locks"
    );
    assert!(!a.acquire_runner(&sid).await.unwrap(), "the lease is taken");

    drop(listeners.pop()); // the dying instance's connection closes
    let mut dead = Vec::new();
    for _ in 0..100 {
        dead = a.reap_dead().await.unwrap();
        if !dead.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(dead, [d.instance().to_owned()]);
    assert!(
        a.acquire_runner(&sid).await.unwrap(),
        "its lease went with it"
    );
    assert!(
        !d.heartbeat().await.unwrap(),
        "it learns it was declared dead"
    );
    assert!(a.heartbeat().await.unwrap());
}
