//! Which instance runs each session's turns (`session_runners`, migration 900): a lease row
//! per running session, taken at admission and given back when the queue is empty; void when
//! its instance dies ([`super::cluster`]), and then freed by the reaper.
//!
//! **Why a lease row and not an advisory lock per session.** A session-level advisory lock ties
//! each running session to a connection held for the whole turn (a pool of 16 would cap an
//! instance at 16 running sessions), is invisible to a plain `SELECT` (another instance asking
//! "does this session run?" would read `pg_locks`), and does not survive a connection pooler in
//! transaction mode. A lease row is one indexed row per running session, visible to every
//! instance; the instance's own liveness (one advisory lock and a heartbeat per instance) says
//! when its leases are void.
//!
//! Taking a lease and recovering the sessions without one exclude each other (a transaction
//! advisory lock, shared for the first, exclusive for the second), so recovery never sees a
//! session between "lease taken" and "running set" as abandoned.

use std::sync::LazyLock;

use super::super::messages::{MSG_COLS, Message, message_from_row};
use super::super::parts::{Part, part_from_row};
use super::super::rows::{int, str};
use super::super::sessions::{COLS, Session, from_row};
use super::super::{Entity, StoreError};
use super::messages::{INTERRUPT_TOOL, OPEN_TOOL};
use super::{Postgres, db, exec_in, query_in};

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

impl Postgres {
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

    /// A message was queued behind the session's runner: wake its lease (the runner looks at
    /// the queue again before giving it up). `false` when no instance holds the lease.
    pub async fn bump_wake(&self, session_id: &str) -> Result<bool, StoreError> {
        let n = self
            .execute(
                "UPDATE session_runners SET wake = wake + 1 WHERE session_id = $1",
                &[&session_id],
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
