//! Admission and the per-session worker. `submit` runs the pre-checks and either starts a
//! worker task for the session or queues the message behind the running turn. The worker runs
//! turns one after another until the queue is empty, each in its own task, and after every
//! turn — completed, failed, interrupted, or even panicked — broadcasts `session.updated` with
//! `runningAt: null` (step 10 of `PROTOCOL.md` §4.5).

use tokio_util::sync::CancellationToken;

use super::plan::{self, Plan};
use super::runs::{Admission, Queued};
use super::{title, turn};
use crate::app::AppState;
use crate::events::event::QueuedItem;
use crate::events::{Audience, ConnId, ServerEvent};
use crate::store::{Scope, StoreError};
use crate::time::{now_iso, now_ms};

/// A chat message from connection `origin`: pre-checks (errors go to the sender only), then
/// run now or queue (`queue.added`).
pub async fn submit(
    app: &AppState,
    origin: ConnId,
    scope: Scope,
    session_id: &str,
    content: String,
) {
    let plan = match plan::prepare(app, &scope, session_id).await {
        Ok(p) => p,
        Err(event) => {
            app.hub.publish(Audience::Conn(origin), &event);
            return;
        }
    };
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
    match app.runs.start_or_enqueue(q.clone()) {
        Admission::Start(cancel) => {
            tokio::spawn(work(app.clone(), q, Some(plan), cancel));
        }
        Admission::Queued => {
            let event = ServerEvent::QueueAdded {
                session_id: q.item.session_id.clone(),
                item: q.item.clone(),
            };
            to_session_and(app, &q.item.session_id, origin, &event);
        }
    }
}

/// Publish to the session's participants and to `conn` (once) if it is not one.
pub fn to_session_and(app: &AppState, session_id: &str, conn: ConnId, event: &ServerEvent) {
    let frame = event.to_frame();
    if !app.hub.is_participant(conn, session_id) {
        app.hub.publish_frame(Audience::Conn(conn), frame.clone());
    }
    app.hub.publish_frame(Audience::Session(session_id), frame);
}

async fn work(app: AppState, mut q: Queued, mut plan: Option<Plan>, mut cancel: CancellationToken) {
    let sid = q.item.session_id.clone();
    loop {
        let ready = match plan.take() {
            Some(p) => Some(p),
            // A queued message is checked again: the session may have changed meanwhile.
            None => match plan::prepare(&app, &q.scope, &sid).await {
                Ok(p) => Some(p),
                // Deleted with messages still queued: they go with it, quietly.
                Err(_) if session_gone(&app, &sid).await => None,
                Err(event) => {
                    app.hub.publish(Audience::Conn(q.origin), &event);
                    None
                }
            },
        };
        if let Some(p) = ready {
            run_one(&app, p, &q, &cancel).await;
        }
        match app.runs.next(&sid) {
            Some((next, c)) => {
                app.hub.publish(
                    Audience::Session(&sid),
                    &ServerEvent::QueueRemoved {
                        session_id: sid.clone(),
                        queue_id: next.item.id.clone(),
                    },
                );
                q = next;
                cancel = c;
            }
            None => break,
        }
    }
}

async fn run_one(app: &AppState, plan: Plan, q: &Queued, cancel: &CancellationToken) {
    let sid = plan.session.id.clone();
    let origin = q.origin;
    // The sender watches the session it writes to.
    app.hub.join_session(origin, &sid);
    let handle = {
        let (app, plan, content, cancel) = (
            app.clone(),
            plan.clone(),
            q.item.content.clone(),
            cancel.clone(),
        );
        tokio::spawn(async move { turn::run(&app, &plan, &content, origin, &cancel).await })
    };
    let outcome = handle.await;
    end_running(app, &sid).await;
    match outcome {
        Ok(Ok(o)) => {
            if o.completed && title::is_default_title(&plan.session.title) {
                let user_text = q.item.content.clone();
                tokio::spawn(title::generate(app.clone(), plan, user_text, o.reply_text));
            }
        }
        // Deleted mid-turn: the client heard `session.deleted`; the failed writes are no news.
        Ok(Err(e)) if session_gone(app, &sid).await => {
            tracing::debug!(session.id = %sid, error = %e, "chat turn ended with its session deleted");
        }
        Ok(Err(e)) => {
            tracing::error!(session.id = %sid, error = %e, "chat turn stopped by a store error");
            app.hub.publish(
                Audience::Conn(origin),
                &ServerEvent::session_error("internal", "The reply could not be saved", &sid),
            );
        }
        Err(e) => {
            tracing::error!(session.id = %sid, error = %e, "chat turn task panicked");
            app.hub.publish(
                Audience::Conn(origin),
                &ServerEvent::session_error("internal", "Internal error", &sid),
            );
        }
    }
}

/// Step 10: `runningAt: null`, to everyone.
async fn end_running(app: &AppState, sid: &str) {
    let now = now_iso();
    match app.store.set_running(sid, None, &now).await {
        Ok(s) => {
            // Everyone who may see the session hears it stopped running; if the owner lookup
            // fails, at least the owner connections do.
            let owner = match app.store.workspace_owner(&s.workspace_id).await {
                Ok(owner) => owner,
                Err(e) => {
                    tracing::error!(session.id = %sid, error = %e, "cannot look up the workspace owner");
                    None
                }
            };
            app.hub.publish_owned(
                Audience::All,
                owner.as_deref(),
                &ServerEvent::session_updated(s),
            );
        }
        Err(StoreError::NotFound(_)) => {
            tracing::debug!(session.id = %sid, "session deleted while running");
        }
        Err(e) => tracing::error!(session.id = %sid, error = %e, "cannot clear runningAt"),
    }
}

/// Whether the session no longer exists (deleted while its turn ran).
async fn session_gone(app: &AppState, sid: &str) -> bool {
    matches!(
        app.store.get_session(&Scope::All, sid).await,
        Err(StoreError::NotFound(_))
    )
}
