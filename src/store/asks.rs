//! Asks waiting for a person (`pending_asks`, `PROTOCOL-AGENT.md` §9.3): the `ask.request` body
//! of each, until it is answered or expires. A restart ends every turn, so what was still
//! pending then can never be answered: recovery marks it expired.

use serde_json::Value;

use super::error::bad_json;
use super::rows::{all, str};
use super::{Store, StoreError};

impl Store {
    /// Record an open ask.
    pub async fn add_pending_ask(
        &self,
        request_id: &str,
        session_id: &str,
        tool_call_id: &str,
        request: &Value,
        created_at: i64,
        expires_at: i64,
    ) -> Result<(), StoreError> {
        let request = serde_json::to_string(request).map_err(bad_json("pending_asks.request"))?;
        self.exec(
            "INSERT INTO pending_asks \
             (request_id, session_id, tool_call_id, request, created_at, expires_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            (
                request_id.to_owned(),
                session_id.to_owned(),
                tool_call_id.to_owned(),
                request,
                created_at,
                expires_at,
            ),
        )
        .await
        .map(|_| ())
    }

    /// Close an ask with how it ended (`approved`, `denied`, `expired`, `cancelled`).
    pub async fn close_pending_ask(
        &self,
        request_id: &str,
        status: &str,
    ) -> Result<(), StoreError> {
        self.exec(
            "UPDATE pending_asks SET status = ?2 WHERE request_id = ?1 AND status = 'pending'",
            (request_id.to_owned(), status.to_owned()),
        )
        .await
        .map(|_| ())
    }

    /// The open asks of a session (their `ask.request` bodies), oldest first.
    pub async fn pending_asks(&self, session_id: &str) -> Result<Vec<Value>, StoreError> {
        let sid = session_id.to_owned();
        self.read(move |c| {
            all(
                &mut *c.prepare_cached(
                    "SELECT request FROM pending_asks WHERE session_id = ?1 AND status = 'pending' \
                     ORDER BY created_at, rowid",
                )?,
                [sid],
                |r| {
                    serde_json::from_str(str(r, 0)?)
                        .map_err(|e| bad_json("pending_asks.request")(e).into())
                },
            )
        })
        .await
    }

    /// At start-up: every ask still pending belonged to a turn that no longer runs.
    pub async fn expire_pending_asks(&self) -> Result<usize, StoreError> {
        self.exec(
            "UPDATE pending_asks SET status = 'expired' WHERE status = 'pending'",
            (),
        )
        .await
    }
}
