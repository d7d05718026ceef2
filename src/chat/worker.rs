//! Admission and the per-session worker. [`submit`] runs the pre-checks and either starts a
//! worker task for the session or queues the message behind the running turn. The worker runs
//! turns one after another until the queue is empty, each in its own task, and after every
//! turn — completed, failed, interrupted, or even panicked — broadcasts `session.updated` with
//! `runningAt: null` (step 10 of `PROTOCOL.md` §4.5). Every task is spawned on the chat's
//! tracker, so shutdown waits for it.

use tokio_util::sync::CancellationToken;

use super::plan::{self, Plan, Refusal};
use super::runs::{Admission, Queued};
use super::{Chat, title, turn};
use crate::events::event::QueuedItem;
use crate::events::{Audience, ConnId, ServerEvent};
use crate::store::{Scope, StoreError};
use crate::time::{now_iso, now_ms};

/// What became of a submitted message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Submitted {
    /// Its turn started.
    Started,
    /// It waits behind the running turn (`queue.added` went out).
    Queued,
}

/// A chat message from connection `origin`: pre-checks (a refusal is for the sender only),
/// then run now or queue (`queue.added` to the session and the sender).
pub async fn submit(
    chat: &Chat,
    origin: ConnId,
    scope: Scope,
    session_id: &str,
    content: String,
) -> Result<Submitted, Refusal> {
    let plan = plan::prepare(chat, &scope, session_id).await?;
    let q = Queued {
        item: QueuedItem {
            id: uuid::Uuid::new_v4().to_string(),
            session_id: plan.session.id.clone(),
            content,
            created_at: now_ms(),
        },
        origin,
        scope,
    };
    match chat.runs().start_or_enqueue(q.clone()) {
        Admission::Start(cancel) => {
            chat.spawn(work(chat.clone(), q, Some(plan), cancel));
            Ok(Submitted::Started)
        }
        Admission::Queued => {
            let event = ServerEvent::QueueAdded {
                session_id: q.item.session_id.clone(),
                item: q.item.clone(),
            };
            chat.hub()
                .publish_to_session_and(&q.item.session_id, origin, &event);
            Ok(Submitted::Queued)
        }
    }
}

async fn work(chat: Chat, mut q: Queued, mut plan: Option<Plan>, mut cancel: CancellationToken) {
    let sid = q.item.session_id.clone();
    loop {
        let ready = match plan.take() {
            Some(p) => Some(p),
            // A queued message is checked again: the session may have changed meanwhile.
            None => match plan::prepare(&chat, &q.scope, &sid).await {
                Ok(p) => Some(p),
                // Deleted with messages still queued: they go with it, quietly.
                Err(_) if session_gone(&chat, &sid).await => None,
                Err(refusal) => {
                    chat.hub()
                        .publish(Audience::Conn(q.origin), &refusal.event());
                    None
                }
            },
        };
        if let Some(p) = ready {
            run_one(&chat, p, &q, &cancel).await;
        }
        // After shutdown began, queued messages stay unsent (they were never acknowledged as
        // started) rather than starting turns that would be cut at once.
        let next = if chat.shutdown_token().is_cancelled() {
            None
        } else {
            chat.runs().next(&sid)
        };
        match next {
            Some((next, c)) => {
                chat.hub().publish(
                    Audience::Session(&sid),
                    &ServerEvent::QueueRemoved {
                        session_id: sid.clone(),
                        queue_id: next.item.id.clone(),
                    },
                );
                q = next;
                cancel = c;
            }
            None => {
                chat.runs().clear(&sid);
                break;
            }
        }
    }
}

async fn run_one(chat: &Chat, plan: Plan, q: &Queued, cancel: &CancellationToken) {
    let sid = plan.session.id.clone();
    let origin = q.origin;
    // The sender watches the session it writes to.
    chat.hub().join_session(origin, &sid);
    let handle = {
        let (c, plan, content, cancel) = (
            chat.clone(),
            plan.clone(),
            q.item.content.clone(),
            cancel.clone(),
        );
        chat.spawn(async move { turn::run(&c, &plan, &content, origin, &cancel).await })
    };
    let outcome = handle.await;
    end_running(chat, &sid).await;
    match outcome {
        Ok(Ok(o)) => {
            if o.completed && title::is_default_title(&plan.session.title) {
                let user_text = q.item.content.clone();
                chat.spawn(title::generate(chat.clone(), plan, user_text, o.reply_text));
            }
        }
        // Deleted mid-turn: the client heard `session.deleted`; the failed writes are no news.
        Ok(Err(e)) if session_gone(chat, &sid).await => {
            tracing::debug!(session.id = %sid, error = %e, "chat turn ended with its session deleted");
        }
        Ok(Err(e)) => {
            tracing::error!(session.id = %sid, error = %e, "chat turn stopped by a store error");
            chat.hub().publish(
                Audience::Conn(origin),
                &ServerEvent::session_error("internal", "The reply could not be saved", &sid),
            );
        }
        Err(e) => {
            tracing::error!(session.id = %sid, error = %e, "chat turn task panicked");
            chat.hub().publish(
                Audience::Conn(origin),
                &ServerEvent::session_error("internal", "Internal error", &sid),
            );
        }
    }
}

/// Step 10: `runningAt: null`, to everyone who may see the session.
async fn end_running(chat: &Chat, sid: &str) {
    let now = now_iso();
    match chat.store().set_running(sid, None, &now).await {
        Ok(s) => turn::publish_session_updated(chat, s).await,
        Err(StoreError::NotFound(_)) => {
            tracing::debug!(session.id = %sid, "session deleted while running");
        }
        Err(e) => tracing::error!(session.id = %sid, error = %e, "cannot clear runningAt"),
    }
}

/// Whether the session no longer exists (deleted while its turn ran).
async fn session_gone(chat: &Chat, sid: &str) -> bool {
    matches!(
        chat.store().get_session(&Scope::All, sid).await,
        Err(StoreError::NotFound(_))
    )
}
