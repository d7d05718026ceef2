//! What several instances on one database share beyond the data (migrations 900 and 901):
//! who is alive (`instances`), event bodies too large for a `NOTIFY` payload
//! (`event_payloads`), and `NOTIFY` itself. Which instance runs each session's turns is in
//! [`super::runners`].
//!
//! **Liveness.** An instance is alive while it holds its own session-level advisory lock (taken
//! on the connection that listens for the other instances' events) *and* its heartbeat (one
//! `UPDATE` every [`HEARTBEAT`]) is younger than [`STALE`]. PostgreSQL frees the lock the moment
//! the instance's connection closes (a `kill -9`, a crash: the kernel closes the socket), so
//! such a death is seen at the next reaper pass of any survivor (every [`HEARTBEAT`]); the
//! heartbeat covers what closes no socket (a frozen process, a machine gone off the network):
//! seen at most `STALE + HEARTBEAT` (10 s) after the last beat. Times are the database's
//! (`now()`), so the instances' clocks do not matter.

use std::sync::LazyLock;
use std::time::Duration;

use super::super::StoreError;
use super::super::rows::{int, str};
use super::Postgres;

/// How often an instance says it is alive, and how often it looks for dead ones.
pub const HEARTBEAT: Duration = Duration::from_secs(2);
/// How long after its last heartbeat an instance counts as dead.
pub const STALE: Duration = Duration::from_secs(8);
/// The channel session events travel on between instances.
pub const EVENTS: &str = "jean2_events";
/// Payloads longer than this travel by reference (`NOTIFY` takes at most 8000 bytes).
pub const MAX_PAYLOAD: usize = 7900;

/// Milliseconds, as PostgreSQL takes an interval from a number.
fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// The advisory lock key of an instance: a positive 62-bit number from its id (FNV-1a).
pub fn lock_key(instance: &str) -> i64 {
    let hash = instance.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    i64::try_from(hash & 0x3fff_ffff_ffff_ffff).unwrap_or(1)
}

/// SQL: whether some connection to this database holds the advisory lock `key` (a bigint
/// expression), as `pg_locks` shows a bigint key: its high and low 32 bits.
fn held(key: &str) -> String {
    format!(
        "EXISTS (SELECT 1 FROM pg_locks l WHERE l.locktype = 'advisory' AND l.granted \
         AND l.objsubid = 1 \
         AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) \
         AND l.classid::bigint = ({key} >> 32) AND l.objid::bigint = ({key} & 4294967295))"
    )
}

impl Postgres {
    /// Say this instance is alive (at start, and again after it was declared dead: then with
    /// its lock key if its listening connection holds the lock already).
    pub async fn register_instance(&self) -> Result<(), StoreError> {
        static SQL: LazyLock<String> = LazyLock::new(|| {
            format!(
                "INSERT INTO instances (id, lock_key) VALUES ($1, CASE WHEN {} THEN $2 END) \
                 ON CONFLICT (id) DO UPDATE SET heartbeat_at = now(), lock_key = EXCLUDED.lock_key",
                held("$2::bigint")
            )
        });
        let key = lock_key(self.instance());
        self.execute(&SQL, &[&self.instance(), &key]).await?;
        Ok(())
    }

    /// The heartbeat; `false` when this instance's row is gone (another declared it dead and
    /// recovered its sessions: its turns must stop).
    pub async fn heartbeat(&self) -> Result<bool, StoreError> {
        let n = self
            .execute(
                "UPDATE instances SET heartbeat_at = now() WHERE id = $1",
                &[&self.instance()],
            )
            .await?;
        Ok(n > 0)
    }

    /// On a clean stop: this instance is gone (its leases were given back by its workers).
    pub async fn leave(&self) -> Result<(), StoreError> {
        self.execute(
            "DELETE FROM session_runners WHERE instance_id = $1",
            &[&self.instance()],
        )
        .await?;
        self.execute("DELETE FROM instances WHERE id = $1", &[&self.instance()])
            .await?;
        Ok(())
    }

    /// Declare dead the instances whose lock is gone or that were silent for [`STALE`], and
    /// free their leases (each lease is
    /// freed by exactly one caller); the instances found dead.
    pub async fn reap_dead(&self) -> Result<Vec<String>, StoreError> {
        static SQL: LazyLock<String> = LazyLock::new(|| {
            format!(
                "DELETE FROM instances i \
                 WHERE i.heartbeat_at < now() - make_interval(secs => $1::float8 / 1000.0) \
                 OR (i.lock_key IS NOT NULL AND NOT {}) RETURNING id",
                held("i.lock_key")
            )
        });
        let rows = self.query(&SQL, &[&ms(STALE)]).await?;
        let dead: Vec<String> = rows
            .iter()
            .map(|r| Ok(str(r, 0)?.to_owned()))
            .collect::<Result<_, StoreError>>()?;
        self.execute(
            "DELETE FROM session_runners r \
             WHERE NOT EXISTS (SELECT 1 FROM instances i WHERE i.id = r.instance_id)",
            &[],
        )
        .await?;
        Ok(dead)
    }

    /// On the connection that listens for the other instances (it lives as long as this
    /// process): take this instance's advisory lock and record its key, so that the lock's
    /// release (the connection closed: the process died) says this instance is gone.
    pub async fn hold_liveness(&self, listener: &tokio_postgres::Client) -> Result<(), StoreError> {
        let key = lock_key(self.instance());
        listener
            .query_one("SELECT pg_try_advisory_lock($1)", &[&key])
            .await
            .map_err(super::db)?;
        self.execute(
            "UPDATE instances SET lock_key = $1 WHERE id = $2",
            &[&key, &self.instance()],
        )
        .await?;
        Ok(())
    }

    /// How many other instances are alive (after [`Postgres::reap_dead`]).
    pub async fn others_alive(&self) -> Result<i64, StoreError> {
        let row = self
            .query_opt(
                "SELECT COUNT(*) FROM instances WHERE id <> $1",
                &[&self.instance()],
            )
            .await?;
        Ok(row.map(|r| int(&r, 0)).transpose()?.unwrap_or(0))
    }

    /// Keep an event body too large for `NOTIFY`; its id.
    pub async fn put_payload(&self, body: &str) -> Result<i64, StoreError> {
        let row = self
            .query_opt(
                "INSERT INTO event_payloads (body) VALUES ($1) RETURNING id",
                &[&body],
            )
            .await?
            .ok_or_else(|| StoreError::Db(super::super::error::BackendError::msg("no id")))?;
        Ok(int(&row, 0)?)
    }

    /// An event body kept by [`Postgres::put_payload`].
    pub async fn payload(&self, id: i64) -> Result<Option<String>, StoreError> {
        let row = self
            .query_opt("SELECT body FROM event_payloads WHERE id = $1", &[&id])
            .await?;
        row.map(|r| Ok(str(&r, 0)?.to_owned())).transpose()
    }

    /// Drop event bodies every instance has had a minute to read.
    pub async fn prune_payloads(&self) -> Result<u64, StoreError> {
        self.execute(
            "DELETE FROM event_payloads WHERE created_at < now() - interval '1 minute'",
            &[],
        )
        .await
    }

    /// Send `payloads` on `channel`, in order, in one round trip.
    pub async fn notify(&self, channel: &str, payloads: &[String]) -> Result<(), StoreError> {
        self.execute(
            "SELECT pg_notify($1, p) FROM unnest($2::text[]) WITH ORDINALITY AS t(p, n) ORDER BY n",
            &[&channel, &payloads],
        )
        .await?;
        Ok(())
    }
}
