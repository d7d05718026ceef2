//! Messages queued behind a running turn (`queued_messages`, `PROTOCOL-AGENT.md` §10): kept
//! in position order per session, taken off one at a time when a turn ends, deleted with their
//! session, kept across restarts.

use serde::Serialize;
use serde_json::Value;

use super::error::bad_json;
use super::rows::{all, int, one, opt_str, str};
use super::{Fail, Store, StoreError};

/// A queued message as the clients see it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct QueuedMessage {
    pub id: String,
    pub session_id: String,
    pub content: String,
    /// 0 for the first of a session, then the highest so far plus one.
    pub position: i64,
    /// Unix ms.
    pub created_at: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attachments: Option<Value>,
}

const COLS: &str = "id, session_id, content, position, created_at, attachments";

fn from_row(r: &rusqlite::Row<'_>) -> Result<QueuedMessage, Fail> {
    let attachments = match opt_str(r, 5)? {
        Some(t) if !t.is_empty() => {
            Some(serde_json::from_str(t).map_err(bad_json("queued_messages.attachments"))?)
        }
        _ => None,
    };
    Ok(QueuedMessage {
        id: str(r, 0)?.to_owned(),
        session_id: str(r, 1)?.to_owned(),
        content: str(r, 2)?.to_owned(),
        position: int(r, 3)?,
        created_at: int(r, 4)?,
        attachments,
    })
}

/// Why a message could not be queued.
#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    #[error("The queue of this session is full ({0} messages wait already)")]
    Full(u32),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Store {
    /// Queue a message at the end of its session's queue, unless `max` already wait.
    pub async fn enqueue(
        &self,
        session_id: &str,
        content: &str,
        attachments: Option<Value>,
        created_at: i64,
        max: u32,
    ) -> Result<QueuedMessage, QueueError> {
        let attachments = match attachments {
            Some(a) => Some(serde_json::to_string(&a).map_err(bad_json("attachments"))?),
            None => None,
        };
        let (id, sid, content) = (
            uuid::Uuid::new_v4().to_string(),
            session_id.to_owned(),
            content.to_owned(),
        );
        let queued = self
            .write(move |c, _| {
                let tx = c.transaction()?;
                let waiting: i64 = tx
                    .prepare_cached("SELECT COUNT(*) FROM queued_messages WHERE session_id = ?1")?
                    .query_row([&sid], |r| r.get(0))?;
                if waiting >= i64::from(max) {
                    return Ok(None);
                }
                let row = one(
                    &mut *tx.prepare_cached(&format!(
                        "INSERT INTO queued_messages ({COLS}) \
                         SELECT ?1, ?2, ?3, COALESCE(MAX(position) + 1, 0), ?4, ?5 \
                         FROM queued_messages WHERE session_id = ?2 RETURNING {COLS}"
                    ))?,
                    (id, &sid, content, created_at, attachments),
                    from_row,
                )?;
                tx.commit()?;
                Ok(row)
            })
            .await?;
        queued.ok_or(QueueError::Full(max))
    }

    /// A session's queue, in order.
    pub async fn queued(&self, session_id: &str) -> Result<Vec<QueuedMessage>, StoreError> {
        let sid = session_id.to_owned();
        self.read(move |c| {
            all(
                &mut *c.prepare_cached(&format!(
                    "SELECT {COLS} FROM queued_messages WHERE session_id = ?1 ORDER BY position"
                ))?,
                [sid],
                from_row,
            )
        })
        .await
    }

    /// Take the first queued message of a session off the queue.
    pub async fn take_queued(&self, session_id: &str) -> Result<Option<QueuedMessage>, StoreError> {
        let sid = session_id.to_owned();
        self.write(move |c, _| {
            one(
                &mut *c.prepare_cached(&format!(
                    "DELETE FROM queued_messages WHERE id = (SELECT id FROM queued_messages \
                     WHERE session_id = ?1 ORDER BY position LIMIT 1) RETURNING {COLS}"
                ))?,
                [sid],
                from_row,
            )
        })
        .await
    }

    /// Remove a queued message by id; returns it if it was queued.
    pub async fn unqueue(&self, queue_id: &str) -> Result<Option<QueuedMessage>, StoreError> {
        let id = queue_id.to_owned();
        self.write(move |c, _| {
            one(
                &mut *c.prepare_cached(&format!(
                    "DELETE FROM queued_messages WHERE id = ?1 RETURNING {COLS}"
                ))?,
                [id],
                from_row,
            )
        })
        .await
    }

    /// The queued message with this id, if it still waits.
    pub async fn queued_message(
        &self,
        queue_id: &str,
    ) -> Result<Option<QueuedMessage>, StoreError> {
        let id = queue_id.to_owned();
        self.read(move |c| {
            one(
                &mut *c
                    .prepare_cached(&format!("SELECT {COLS} FROM queued_messages WHERE id = ?1"))?,
                [id],
                from_row,
            )
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::testing::store;

    async fn session(s: &Store) -> String {
        crate::store::testing::session(s).await
    }

    #[tokio::test]
    async fn messages_queue_in_order_are_taken_first_in_first_out_and_are_bounded() {
        let (s, _dir) = store().await;
        let sid = session(&s).await;
        let a = s.enqueue(&sid, "a", None, 1, 3).await.unwrap();
        let b = s
            .enqueue(
                &sid,
                "b",
                Some(serde_json::json!([{"id": "x", "kind": "image"}])),
                2,
                3,
            )
            .await
            .unwrap();
        assert_eq!((a.position, b.position), (0, 1));
        s.enqueue(&sid, "c", None, 3, 3).await.unwrap();
        assert!(matches!(
            s.enqueue(&sid, "d", None, 4, 3).await,
            Err(QueueError::Full(3))
        ));
        assert_eq!(s.unqueue(&b.id).await.unwrap().unwrap().content, "b");
        let next = s.take_queued(&sid).await.unwrap().unwrap();
        assert_eq!(next.content, "a");
        let rest = s.queued(&sid).await.unwrap();
        assert_eq!(rest.len(), 1);
        assert_eq!(rest[0].position, 2, "positions keep counting up");
        s.take_queued(&sid).await.unwrap();
        assert!(s.take_queued(&sid).await.unwrap().is_none());
    }
}
