//! Schema migrations: the SQL files under `migrations/`, embedded in the binary and applied in
//! order at open, one transaction each. The applied version is SQLite's `PRAGMA user_version`
//! (stored in the file header, written in the same transaction as the migration).
//!
//! A database made by an earlier build (which used sqlx) records its migrations in a
//! `_sqlx_migrations` table instead: its successful versions are adopted as applied, never run
//! again.

use rusqlite::{Connection, OptionalExtension, TransactionBehavior};

use super::error::{BackendError, StoreError};

/// One migration: its version, a short name and its SQL.
struct Migration {
    version: u32,
    name: &'static str,
    sql: &'static str,
}

const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "core",
        sql: include_str!("../../migrations/0001_core.sql"),
    },
    Migration {
        version: 2,
        name: "oauth",
        sql: include_str!("../../migrations/0002_oauth.sql"),
    },
    Migration {
        version: 3,
        name: "agent",
        sql: include_str!("../../migrations/0003_agent.sql"),
    },
    Migration {
        version: 4,
        name: "attachments",
        sql: include_str!("../../migrations/0004_attachments.sql"),
    },
];

/// Bring the schema up to date. Safe to run from two processes at once: each migration
/// re-reads the version inside its (immediate, so exclusive) transaction.
pub(crate) fn run(conn: &mut Connection) -> Result<(), StoreError> {
    super::upstream::adopt(conn).map_err(|e| StoreError::Migrate {
        version: 0,
        name: "adopt a database of the original server",
        source: BackendError::new(e),
    })?;
    adopt_sqlx_history(conn).map_err(|e| StoreError::Migrate {
        version: 0,
        name: "adopt the sqlx history",
        source: BackendError::new(e),
    })?;
    for m in MIGRATIONS {
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(failed(m))?;
        if user_version(&tx).map_err(failed(m))? >= m.version {
            continue;
        }
        tx.execute_batch(m.sql).map_err(failed(m))?;
        tx.pragma_update(None, "user_version", m.version)
            .map_err(failed(m))?;
        tx.commit().map_err(failed(m))?;
        tracing::debug!(migration = m.version, name = m.name, "applied a migration");
    }
    Ok(())
}

fn failed(m: &'static Migration) -> impl Fn(rusqlite::Error) -> StoreError {
    move |e| StoreError::Migrate {
        version: m.version,
        name: m.name,
        source: BackendError::new(e),
    }
}

pub(crate) fn user_version(conn: &Connection) -> rusqlite::Result<u32> {
    conn.query_row("PRAGMA user_version", [], |r| r.get(0))
}

/// On a database the sqlx build made (`user_version` 0 and a `_sqlx_migrations` table), record
/// the contiguous run of successful versions 1, 2, … it lists as applied.
fn adopt_sqlx_history(conn: &mut Connection) -> rusqlite::Result<()> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    if user_version(&tx)? != 0 {
        return Ok(());
    }
    let has_table = tx
        .query_row(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'",
            [],
            |_| Ok(()),
        )
        .optional()?
        .is_some();
    if !has_table {
        return Ok(());
    }
    let mut applied = 0u32;
    {
        let mut st =
            tx.prepare("SELECT version FROM _sqlx_migrations WHERE success = 1 ORDER BY version")?;
        let versions = st.query_map([], |r| r.get::<_, i64>(0))?;
        for v in versions {
            if v? != i64::from(applied) + 1 {
                break;
            }
            applied += 1;
        }
    }
    let applied = applied.min(MIGRATIONS.len() as u32);
    if applied > 0 {
        tx.pragma_update(None, "user_version", applied)?;
        tracing::info!(
            migrations = applied,
            "adopted the migration history of an earlier (sqlx) build"
        );
    }
    tx.commit()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table_exists(conn: &Connection, name: &str) -> bool {
        conn.query_row(
            "SELECT 1 FROM sqlite_master WHERE name = ?1",
            [name],
            |_| Ok(()),
        )
        .optional()
        .unwrap()
        .is_some()
    }

    #[test]
    fn a_fresh_database_gets_every_migration_once() {
        let mut conn = Connection::open_in_memory().unwrap();
        run(&mut conn).unwrap();
        assert_eq!(user_version(&conn).unwrap(), MIGRATIONS.len() as u32);
        assert!(table_exists(&conn, "sessions") && table_exists(&conn, "signing_keys"));
        // A second run changes nothing (and does not fail).
        conn.execute_batch("DROP INDEX idx_parts_type").unwrap();
        run(&mut conn).unwrap();
        assert!(!table_exists(&conn, "idx_parts_type"), "nothing was re-run");
    }

    /// The table sqlx 0.8 keeps, as it creates it.
    const SQLX_TABLE: &str = "CREATE TABLE _sqlx_migrations (
        version BIGINT PRIMARY KEY, description TEXT NOT NULL,
        installed_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP, success BOOLEAN NOT NULL,
        checksum BLOB NOT NULL, execution_time BIGINT NOT NULL)";

    #[test]
    fn a_database_of_the_sqlx_build_opens_without_re_running_its_migrations() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(MIGRATIONS[0].sql).unwrap();
        conn.execute_batch(MIGRATIONS[1].sql).unwrap();
        conn.execute_batch(SQLX_TABLE).unwrap();
        conn.execute_batch(
            "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time)
             VALUES (1, 'core', 1, x'00', 1), (2, 'oauth', 1, x'00', 1)",
        )
        .unwrap();
        // A marker a re-run of migration 1 would undo.
        conn.execute_batch("DROP INDEX idx_parts_type").unwrap();
        run(&mut conn).unwrap();
        assert_eq!(user_version(&conn).unwrap(), MIGRATIONS.len() as u32);
        assert!(
            !table_exists(&conn, "idx_parts_type"),
            "migration 1 was re-run"
        );
        assert!(table_exists(&conn, "queued_messages"), "later ones ran");
    }

    #[test]
    fn a_failed_sqlx_migration_is_run_again() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(MIGRATIONS[0].sql).unwrap();
        conn.execute_batch(SQLX_TABLE).unwrap();
        conn.execute_batch(
            "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time)
             VALUES (1, 'core', 1, x'00', 1), (2, 'oauth', 0, x'00', 1)",
        )
        .unwrap();
        run(&mut conn).unwrap();
        assert_eq!(user_version(&conn).unwrap(), MIGRATIONS.len() as u32);
        assert!(table_exists(&conn, "users"), "migration 2 ran");
    }
}
