//! PostgreSQL migrations: the SQL files under `migrations/postgres/`, embedded in the binary and
//! applied at open, one transaction each, recorded in `schema_migrations`. Instances starting
//! together take turns (a transaction-scoped advisory lock), and each applies what is not
//! recorded yet, so a later migration may be numbered below one already applied (the SQLite
//! history's numbers are mirrored; PostgreSQL-only ones are numbered from 900).

use tokio_postgres::Client;

use super::super::error::{BackendError, StoreError};

/// The advisory lock key the migrations serialise on ("jean2mig").
const LOCK: i64 = 0x6a65_616e_326d_6967;

struct Migration {
    version: i64,
    name: &'static str,
    sql: &'static str,
}

const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "core",
        sql: include_str!("../../../migrations/postgres/0001_core.sql"),
    },
    Migration {
        version: 2,
        name: "oauth",
        sql: include_str!("../../../migrations/postgres/0002_oauth.sql"),
    },
    Migration {
        version: 3,
        name: "agent",
        sql: include_str!("../../../migrations/postgres/0003_agent.sql"),
    },
    Migration {
        version: 4,
        name: "attachments",
        sql: include_str!("../../../migrations/postgres/0004_attachments.sql"),
    },
    Migration {
        version: 5,
        name: "user host access",
        sql: include_str!("../../../migrations/postgres/0005_user_host_access.sql"),
    },
    Migration {
        version: 900,
        name: "cluster",
        sql: include_str!("../../../migrations/postgres/0900_cluster.sql"),
    },
    Migration {
        version: 901,
        name: "instance liveness lock",
        sql: include_str!("../../../migrations/postgres/0901_instance_lock.sql"),
    },
];

fn failed(version: i64, name: &'static str) -> impl Fn(tokio_postgres::Error) -> StoreError {
    move |e| StoreError::Migrate {
        version: u32::try_from(version).unwrap_or(u32::MAX),
        name,
        source: BackendError::msg(match e.as_db_error() {
            Some(db) => db.message().to_owned(),
            None => e.to_string(),
        }),
    }
}

/// Bring the schema up to date.
pub(super) async fn run(client: &mut Client) -> Result<(), StoreError> {
    let tx = client.transaction().await.map_err(failed(0, "history"))?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&LOCK])
        .await
        .map_err(failed(0, "history"))?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, \
         name TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())",
    )
    .await
    .map_err(failed(0, "history"))?;
    tx.commit().await.map_err(failed(0, "history"))?;
    for m in MIGRATIONS {
        let fail = failed(m.version, m.name);
        let tx = client.transaction().await.map_err(&fail)?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&LOCK])
            .await
            .map_err(&fail)?;
        let done = tx
            .query_opt(
                "SELECT 1 FROM schema_migrations WHERE version = $1",
                &[&m.version],
            )
            .await
            .map_err(&fail)?;
        if done.is_some() {
            continue;
        }
        tx.batch_execute(m.sql).await.map_err(&fail)?;
        tx.execute(
            "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)",
            &[&m.version, &m.name],
        )
        .await
        .map_err(&fail)?;
        tx.commit().await.map_err(&fail)?;
        tracing::debug!(
            migration = m.version,
            name = m.name,
            "applied a PostgreSQL migration"
        );
    }
    Ok(())
}
