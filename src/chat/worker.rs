//! Admission and the per-session worker (`PROTOCOL-AGENT.md` §10). [`submit`] runs the
//! pre-checks and either starts a worker for the session or puts the message in the session's
//! queue (in the store: it survives a restart). The worker runs turns one after another: after a
//! turn that completed, was interrupted, or failed with a server error or timeout, it takes the
//! next queued message (`queue.sending`) and runs it; after a rate limit or a fatal error the
//! queue waits for the next turn. After every turn — however it ended, even by a panic — it
//! broadcasts `session.updated` with `runningAt: null` (step 10 of `PROTOCOL.md` §4.5). Every
//! task is spawned on the chat's tracker, so shutdown waits for it.

use serde_json::Value;
use tokio_util::sync::CancellationToken;

use super::plan::{self, Plan, Refusal};
use super::runs::{Admission, Stop};
use super::{Chat, title, turn};
use crate::events::{Audience, ConnId, ServerEvent};
use crate::store::queue::QueueError;
use crate::store::{Scope, StoreError};
use crate::time::{now_iso, now_ms};

/// The most messages that may wait behind a session's running turn.
pub const MAX_QUEUED: u32 = 32;

/// What became of a submitted message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Submitted {
    /// Its turn started.
    Started,
    /// It waits behind the running turn (`queue.added` went to the sender).
    Queued,
}

/// One turn to run: its message (with its attachments, `[{id, kind, …}]`) and who sent it
/// (`None` for a message from the queue).
struct Job {
    plan: Plan,
    content: String,
    attachments: Option<Value>,
    origin: Option<ConnId>,
}

/// A chat message from connection `origin`: pre-checks (a refusal is for the sender only),
/// then run now or queue it (`queue.added` to the sender).
pub async fn submit(
    chat: &Chat,
    origin: ConnId,
    scope: Scope,
    session_id: &str,
    content: String,
    attachments: Option<Value>,
) -> Result<Submitted, Refusal> {
    let plan = plan::prepare(chat, &scope, session_id).await?;
    let sid = plan.session.id.clone();
    match chat.runs().admit(&sid) {
        Admission::Start(cancel) => {
            let job = Job {
                plan,
                content,
                attachments,
                origin: Some(origin),
            };
            chat.spawn(work(chat.clone(), sid, job, cancel));
            Ok(Submitted::Started)
        }
        Admission::Queue => {
            let store = chat.store();
            // §10: the queued message names its uploads' file names, types and keys.
            let queued = match super::attachments::describe(store, &sid, attachments).await {
                Ok(attachments) => {
                    store
                        .enqueue(&sid, &content, attachments, now_ms(), MAX_QUEUED)
                        .await
                }
                Err(e) => Err(QueueError::Store(e)),
            };
            chat.runs().enqueued(&sid);
            let message = queued.map_err(|e| match e {
                QueueError::Full(n) => Refusal::QueueFull(n),
                QueueError::Store(e) => {
                    tracing::error!(session.id = %sid, error = %e, "cannot queue a message");
                    Refusal::Internal
                }
            })?;
            let event = ServerEvent::QueueAdded {
                session_id: sid,
                message,
            };
            chat.hub().publish(Audience::Conn(origin), &event);
            Ok(Submitted::Queued)
        }
    }
}

async fn work(chat: Chat, sid: String, first: Job, mut cancel: CancellationToken) {
    let mut next = Some(first);
    loop {
        if let Some(job) = next.take() {
            let drain = run_one(&chat, job, &cancel).await;
            if !drain || chat.shutdown_token().is_cancelled() {
                // The queue waits (for the next turn, or the next start).
                stop(&chat, &sid).await;
                return;
            }
        }
        match chat.store().take_queued(&sid).await {
            Ok(Some(m)) => {
                chat.hub().publish(
                    Audience::Session(&sid),
                    &ServerEvent::QueueSending {
                        session_id: sid.clone(),
                        queue_id: m.id.clone(),
                    },
                );
                // Checked again: the session may have changed while the message waited.
                match plan::prepare(&chat, &Scope::All, &sid).await {
                    Ok(plan) => {
                        cancel = chat.runs().next_turn(&sid);
                        next = Some(Job {
                            plan,
                            content: m.content,
                            attachments: m.attachments,
                            origin: None,
                        });
                    }
                    Err(refusal) => {
                        let e =
                            ServerEvent::session_error(refusal.code(), refusal.to_string(), &sid);
                        chat.hub().publish(Audience::Session(&sid), &e);
                    }
                }
            }
            Ok(None) => match chat.runs().try_stop(&sid) {
                Stop::Stopped => return,
                Stop::Wait(written) => written.notified().await,
            },
            Err(e) => {
                if !matches!(e, StoreError::Closed) {
                    tracing::error!(session.id = %sid, error = %e, "cannot read the queue");
                }
                chat.runs().clear(&sid);
                return;
            }
        }
    }
}

/// Stop the worker without draining, once no message is still being queued.
async fn stop(chat: &Chat, sid: &str) {
    while let Stop::Wait(written) = chat.runs().try_stop(sid) {
        written.notified().await;
    }
}

/// Run one turn and end its running state; whether the queue may drain after it.
async fn run_one(chat: &Chat, job: Job, cancel: &CancellationToken) -> bool {
    let sid = job.plan.session.id.clone();
    // The sender watches the session it writes to.
    if let Some(origin) = job.origin {
        chat.hub().join_session(origin, &sid);
    }
    let handle = {
        let (c, plan, content, cancel) = (
            chat.clone(),
            job.plan.clone(),
            job.content.clone(),
            cancel.clone(),
        );
        let (origin, attachments) = (job.origin, job.attachments.clone());
        chat.spawn(async move {
            let attachments = attachments.as_ref();
            turn::run_with(&c, &plan, &content, attachments, origin, &cancel).await
        })
    };
    let outcome = handle.await;
    end_running(chat, &sid).await;
    let to_sender = |e: &ServerEvent| match job.origin {
        Some(conn) => chat.hub().publish(Audience::Conn(conn), e),
        None => chat.hub().publish(Audience::Session(&sid), e),
    };
    match outcome {
        Ok(Ok(o)) => {
            if o.completed && title::is_default_title(&job.plan.session.title) {
                let user_text = job.content;
                chat.spawn(title::generate(
                    chat.clone(),
                    job.plan,
                    user_text,
                    o.reply_text,
                ));
            }
            o.drain
        }
        // Deleted mid-turn: the client heard `session.deleted`; the failed writes are no news.
        Ok(Err(e)) if session_gone(chat, &sid).await => {
            tracing::debug!(session.id = %sid, error = %e, "chat turn ended with its session deleted");
            false
        }
        Ok(Err(e)) => {
            tracing::error!(session.id = %sid, error = %e, "chat turn stopped by a store error");
            to_sender(&ServerEvent::session_error(
                "internal",
                "The reply could not be saved",
                &sid,
            ));
            false
        }
        Err(e) => {
            tracing::error!(session.id = %sid, error = %e, "chat turn task panicked");
            to_sender(&ServerEvent::session_error(
                "internal",
                "Internal error",
                &sid,
            ));
            false
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
