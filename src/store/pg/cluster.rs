//! What several instances on one database share beyond the data (migration 900): who is
//! alive (`instances`, a heartbeat every [`HEARTBEAT`]), which instance runs each session's
//! turns (`session_runners`, a lease), event bodies too large for a `NOTIFY` payload
//! (`event_payloads`), and `NOTIFY` itself.
//!
//! **Why a lease row and not an advisory lock.** A session-level advisory lock would be freed
//! the moment a dead instance's connection closes, but it ties each running session to a
//! connection held for the whole turn, is invisible to a plain `SELECT` (another instance asking
//! "does this session run?" would have to read `pg_locks`), and does not survive a connection
//! pooler in transaction mode. A lease row is one indexed row per running session, visible to
//! every instance, and the instance's heartbeat (one `UPDATE` every [`HEARTBEAT`] for all its
//! leases) bounds how long a dead instance holds them: [`STALE`] after its last beat, the next
//! reaper pass of any survivor (every [`HEARTBEAT`]) frees them, so a session is idle again at
//! most `STALE + HEARTBEAT` (10 s) after its instance died, plus the recovery writes.
//! Times are the database's (`now()`), so the instances' clocks do not matter.
//!
//! Taking a lease and recovering the sessions without one exclude each other (a transaction
//! advisory lock, shared for the first, exclusive for the second), so recovery never sees a
//! session between "lease taken" and "running set" as abandoned.

use std::sync::LazyLock;
use std::time::Duration;

use super::super::messages::{MSG_COLS, Message, message_from_row};
use super::super::parts::{Part, part_from_row};
use super::super::rows::{int, str};
use super::super::sessions::{COLS, Session, from_row};
use super::super::{Entity, StoreError};
use super::messages::{INTERRUPT_TOOL, OPEN_TOOL};
use super::{Postgres, db, exec_in, query_in};

/// How often an instance says it is alive, and how often it looks for dead ones.
pub const HEARTBEAT: Duration = Duration::from_secs(2);
/// How long after its last heartbeat an instance counts as dead.
pub const STALE: Duration = Duration::from_secs(8);
/// The channel session events travel on between instances.
pub const EVENTS: &str = "jean2_events";
/// Payloads longer than this travel by reference (`NOTIFY` takes at most 8000 bytes).
pub const MAX_PAYLOAD: usize = 7900;

/// The advisory lock that orders taking leases against recovering sessions without one.
const RUNNERS_LOCK: i64 = 0x6a65_616e_3272_756e;

/// A session no instance runs any more that still looked running, and what recovery changed.
#[derive(Debug, Default)]
pub struct Orphans {
    /// Replies left streaming, now interrupted.
    pub messages: Vec<Message>,
    /// Tool calls left open, now interrupted.
    pub parts: Vec<Part>,
    /// `(session, tool call, request)` of asks left pending, now expired.
    pub asks: Vec<(String, String, String)>,
    /// Sessions left running, now idle.
    pub sessions: Vec<Session>,
}

/// Milliseconds, as PostgreSQL takes an interval from a number.
fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

impl Postgres {
    /// Say this instance is alive (at start, and again after it was declared dead).
    pub async fn register_instance(&self) -> Result<(), StoreError> {
        self.execute(
            "INSERT INTO instances (id) VALUES ($1) \
             ON CONFLICT (id) DO UPDATE SET heartbeat_at = now()",
            &[&self.instance()],
        )
        .await?;
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

    /// Declare the instances silent for [`STALE`] dead and free their leases (each lease is
    /// freed by exactly one caller); the instances found dead.
    pub async fn reap_dead(&self) -> Result<Vec<String>, StoreError> {
        let rows = self
            .query(
                "DELETE FROM instances \
                 WHERE heartbeat_at < now() - make_interval(secs => $1 / 1000.0) RETURNING id",
                &[&ms(STALE)],
            )
            .await?;
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

    /// Take the lease of a session's runner; `false` when another instance (or this one)
    /// holds it. `NotFound(Session)` when the session is gone.
    pub async fn acquire_runner(&self, session_id: &str) -> Result<bool, StoreError> {
        let mut c = self.conn().await?;
        let tx = c.transaction().await.map_err(db)?;
        exec_in(
            &tx,
            "SELECT pg_advisory_xact_lock_shared($1)",
            &[&RUNNERS_LOCK],
        )
        .await?;
        let got = query_in(
            &tx,
            "INSERT INTO session_runners (session_id, instance_id) \
             SELECT id, $2 FROM sessions WHERE id = $1 \
             ON CONFLICT (session_id) DO NOTHING RETURNING 1",
            &[&session_id, &self.instance()],
        )
        .await?;
        if got.is_empty() {
            let exists =
                query_in(&tx, "SELECT 1 FROM sessions WHERE id = $1", &[&session_id]).await?;
            if exists.is_empty() {
                return Err(StoreError::NotFound(Entity::Session));
            }
        }
        tx.commit().await.map_err(db)?;
        Ok(!got.is_empty())
    }

    /// The `wake` of this instance's lease of a session (`None`: it holds none).
    pub async fn runner_wake(&self, session_id: &str) -> Result<Option<i64>, StoreError> {
        let row = self
            .query_opt(
                "SELECT wake FROM session_runners WHERE session_id = $1 AND instance_id = $2",
                &[&session_id, &self.instance()],
            )
            .await?;
        row.map(|r| Ok(int(&r, 0)?)).transpose()
    }

    /// Give the lease back if nothing was queued since its `wake` was read (`false`: something
    /// was; look at the queue again). Without `wake`, give it back whatever happened.
    pub async fn release_runner(
        &self,
        session_id: &str,
        wake: Option<i64>,
    ) -> Result<bool, StoreError> {
        let n = self
            .execute(
                "DELETE FROM session_runners WHERE session_id = $1 AND instance_id = $2 \
                 AND ($3::bigint IS NULL OR wake = $3)",
                &[&session_id, &self.instance(), &wake],
            )
            .await?;
        Ok(n > 0)
    }

    /// Whether any instance runs the session's turns.
    pub async fn has_runner(&self, session_id: &str) -> Result<bool, StoreError> {
        Ok(self
            .query_opt(
                "SELECT 1 FROM session_runners WHERE session_id = $1",
                &[&session_id],
            )
            .await?
            .is_some())
    }

    /// End what turns no instance runs any more left open: replies streaming, tool calls
    /// open, asks pending, sessions running. One transaction, under the runners lock.
    pub async fn recover_orphans(
        &self,
        now_ms: i64,
        now_iso: &str,
        error: &str,
    ) -> Result<Orphans, StoreError> {
        const NO_RUNNER: &str = "NOT EXISTS (SELECT 1 FROM session_runners r WHERE r.session_id = ";
        static MESSAGES: LazyLock<String> = LazyLock::new(|| {
            format!(
                "UPDATE messages SET status = 'interrupted', completed_at = $1, error = $2 \
                 WHERE role = 'assistant' AND status = 'streaming' \
                 AND {NO_RUNNER}messages.session_id) RETURNING {MSG_COLS}"
            )
        });
        static PARTS: LazyLock<String> = LazyLock::new(|| {
            format!(
                "UPDATE parts SET {INTERRUPT_TOOL} WHERE {OPEN_TOOL} AND {NO_RUNNER}parts.session_id) \
                 RETURNING id, message_id, session_id, data, created_at"
            )
        });
        static ASKS: LazyLock<String> = LazyLock::new(|| {
            format!(
                "UPDATE pending_asks SET status = 'expired' WHERE status = 'pending' \
                 AND {NO_RUNNER}pending_asks.session_id) \
                 RETURNING session_id, tool_call_id, request_id"
            )
        });
        static SESSIONS: LazyLock<String> = LazyLock::new(|| {
            format!(
                "UPDATE sessions SET running_at = NULL, updated_at = $1 \
                 WHERE running_at IS NOT NULL AND {NO_RUNNER}sessions.id) RETURNING {}",
                *COLS
            )
        });
        let mut c = self.conn().await?;
        let tx = c.transaction().await.map_err(db)?;
        exec_in(&tx, "SELECT pg_advisory_xact_lock($1)", &[&RUNNERS_LOCK]).await?;
        let messages = query_in(&tx, &MESSAGES, &[&now_ms, &error]).await?;
        let parts = query_in(&tx, &PARTS, &[&now_ms]).await?;
        let asks = query_in(&tx, &ASKS, &[]).await?;
        let sessions = query_in(&tx, &SESSIONS, &[&now_iso]).await?;
        tx.commit().await.map_err(db)?;
        Ok(Orphans {
            messages: messages
                .iter()
                .map(message_from_row)
                .collect::<Result<_, _>>()?,
            parts: parts.iter().map(part_from_row).collect::<Result<_, _>>()?,
            asks: asks
                .iter()
                .map(|r| {
                    Ok((
                        str(r, 0)?.to_owned(),
                        str(r, 1)?.to_owned(),
                        str(r, 2)?.to_owned(),
                    ))
                })
                .collect::<Result<_, StoreError>>()?,
            sessions: sessions.iter().map(from_row).collect::<Result<_, _>>()?,
        })
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

    /// The session of a pending ask, by request id (or, without one, by tool call).
    pub async fn pending_ask_session(
        &self,
        request_id: Option<&str>,
        tool_call_id: &str,
    ) -> Result<Option<String>, StoreError> {
        let row = self
            .query_opt(
                "SELECT session_id FROM pending_asks WHERE status = 'pending' AND \
                 (CASE WHEN $1::text IS NULL THEN tool_call_id = $2 ELSE request_id = $1 END) \
                 LIMIT 1",
                &[&request_id, &tool_call_id],
            )
            .await?;
        row.map(|r| Ok(str(&r, 0)?.to_owned())).transpose()
    }

    /// The request ids of a session's pending asks, oldest first.
    pub async fn pending_ask_ids(&self, session_id: &str) -> Result<Vec<String>, StoreError> {
        let rows = self
            .query(
                "SELECT request_id FROM pending_asks WHERE session_id = $1 AND status = 'pending' \
                 ORDER BY created_at, seq",
                &[&session_id],
            )
            .await?;
        rows.iter().map(|r| Ok(str(r, 0)?.to_owned())).collect()
    }

    /// Sessions with queued messages and no runner (their runner died between two turns).
    pub async fn unrun_queues(&self) -> Result<Vec<String>, StoreError> {
        let rows = self
            .query(
                "SELECT DISTINCT q.session_id FROM queued_messages q WHERE NOT EXISTS \
                 (SELECT 1 FROM session_runners r WHERE r.session_id = q.session_id)",
                &[],
            )
            .await?;
        rows.iter().map(|r| Ok(str(r, 0)?.to_owned())).collect()
    }

    /// The tool calls a session's running turn has open (for an interrupt answered by an
    /// instance that does not run it).
    pub async fn open_tool_calls(&self, session_id: &str) -> Result<Vec<String>, StoreError> {
        static SQL: LazyLock<String> = LazyLock::new(|| {
            format!(
                "SELECT call_id FROM parts WHERE session_id = $1 AND {OPEN_TOOL} \
                 AND call_id IS NOT NULL ORDER BY created_at, id"
            )
        });
        let rows = self.query(&SQL, &[&session_id]).await?;
        rows.iter().map(|r| Ok(str(r, 0)?.to_owned())).collect()
    }
}
