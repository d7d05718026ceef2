//! Admission and the per-session worker (`PROTOCOL-AGENT.md` §10). [`submit`] runs the
//! pre-checks and either starts a worker for the session or puts the message in the session's
//! queue (in the store: it survives a restart). The worker runs turns one after another: after a
//! turn that completed, was interrupted, or failed with a server error or timeout, it takes the
//! next queued message (`queue.sending`) and runs it; after a rate limit or a fatal error the
//! queue waits for the next turn. After every turn — however it ended, even by a panic — it
//! broadcasts `session.updated` with `runningAt: null` (step 10 of `PROTOCOL.md` §4.5), once it
//! knows whether the session goes on ([`Held`]). A turn the provider refused for its length is
//! followed by a compaction and one replay of the last user text, and a turn whose input neared
//! the model's window by an automatic compaction (`PROTOCOL-AGENT.md` §11.5). A turn on an edited message (§11.3) stores no user
//! message and does not drain the queue. Every task is spawned on the chat's tracker, so
//! shutdown waits for it.

use serde_json::Value;
use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;

use super::compaction::{self, Reason};
use super::plan::{self, Plan, Refusal};
use super::runs::{Admission, Stop};
use super::{Chat, cluster, summary, title, turn};
use crate::events::{Audience, ConnId, ServerEvent};
use crate::store::queue::QueueError;
use crate::store::{Scope, Session, StoreError};
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

/// One turn to run: its message and who sent it (`None` for a message from the queue).
pub(crate) struct Job {
    pub(super) plan: Plan,
    pub(super) content: String,
    pub(super) origin: Option<ConnId>,
    /// The message's attachments, `[{id, kind, …}]` (`PROTOCOL-AGENT.md` §10).
    pub(super) attachments: Option<Value>,
    /// `false` for a turn on an edited message: its user message is already stored.
    pub(super) new_message: bool,
    /// Whether the queue drains after it (not after a turn on an edited message, §10).
    pub(super) drains: bool,
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
    let (admission, elsewhere) = match cluster::admit(chat, &sid).await? {
        cluster::Admit::Here(a) => (a, false),
        cluster::Admit::Elsewhere => (Admission::Queue, true),
    };
    match admission {
        Admission::Start(cancel) => {
            let job = Job {
                plan,
                content,
                origin: Some(origin),
                attachments,
                new_message: true,
                drains: true,
            };
            chat.spawn(work(chat.clone(), sid, Some(job), cancel));
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
                session_id: sid.clone(),
                message,
            };
            chat.hub().publish(Audience::Conn(origin), &event);
            if elsewhere {
                cluster::queued_elsewhere(chat, &sid).await;
            }
            Ok(Submitted::Queued)
        }
    }
}

/// Run `first` (if any), then the queue while turns allow it; then give up the session.
pub(super) async fn work(
    chat: Chat,
    sid: String,
    first: Option<Job>,
    mut cancel: CancellationToken,
) {
    let mut next = first;
    let mut held: Held = None;
    cluster::hold(&chat, &sid).await;
    loop {
        if let Some(job) = next.take() {
            let drain;
            (drain, held) = run_one(&chat, job, &cancel).await;
            if !drain || chat.shutdown_token().is_cancelled() {
                // The queue waits (for the next turn, or the next start).
                stop_announcing(&chat, &sid, held).await;
                return;
            }
        }
        let wake = cluster::wake(&chat, &sid).await;
        match chat.store().take_queued(&sid).await {
            Ok(Some(m)) => {
                announce(&chat, &mut held);
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
                            origin: None,
                            attachments: m.attachments,
                            new_message: true,
                            drains: true,
                        });
                    }
                    Err(refusal) => {
                        let e =
                            ServerEvent::session_error(refusal.code(), refusal.to_string(), &sid);
                        chat.hub().publish(Audience::Session(&sid), &e);
                    }
                }
            }
            Ok(None) => match chat
                .runs()
                .try_stop_then(&sid, || announce(&chat, &mut held))
            {
                // PostgreSQL: what another instance queued since `wake` keeps the worker going.
                Stop::Stopped => {
                    if !cluster::let_go(&chat, &sid, wake).await {
                        return;
                    }
                }
                Stop::Wait(written) => written.notified().await,
            },
            Err(e) => {
                if !matches!(e, StoreError::Closed) {
                    tracing::error!(session.id = %sid, error = %e, "cannot read the queue");
                }
                announce(&chat, &mut held);
                chat.runs().clear(&sid);
                cluster::release(&chat, &sid).await;
                return;
            }
        }
    }
}

/// Stop the worker without draining, once no message is still being queued.
pub(super) async fn stop(chat: &Chat, sid: &str) {
    stop_announcing(chat, sid, None).await;
}

/// [`stop`], publishing the held `runningAt: null` as the session stops.
async fn stop_announcing(chat: &Chat, sid: &str, mut held: Held) {
    while let Stop::Wait(written) = chat.runs().try_stop_then(sid, || announce(chat, &mut held)) {
        written.notified().await;
    }
    cluster::release(chat, sid).await;
}

/// A turn's `session.updated` with `runningAt: null` (step 10), held back until the worker
/// knows what follows: it goes out before the next queued message's `queue.sending`, before a
/// compaction, or as the worker gives up the session, under the runs lock. So a client that saw
/// it and sends a message starts a turn, rather than queueing behind a worker about to stop.
/// With it, what waits for it to go out first (a title's `session.renamed`: the title may be
/// ready before the worker knows what follows, and clients see the turn end before its title).
type Held = Option<(Session, Vec<oneshot::Sender<()>>)>;

fn announce(chat: &Chat, held: &mut Held) {
    // The senders go as this ends: the titles waiting for them go out after the update.
    if let Some((session, _after)) = held.take() {
        turn::publish_session_updated(chat, session);
    }
}

/// Fires once the held `session.updated` went out (at once if it already has).
fn after_held(held: &mut Held) -> oneshot::Receiver<()> {
    let (tx, rx) = oneshot::channel();
    if let Some((_, after)) = held.as_mut() {
        after.push(tx);
    }
    rx
}

/// Run one turn and what follows it (a compaction and a replay after an overflow, a title, an
/// automatic compaction); whether the queue may drain afterwards, and the [`Held`] end of it.
async fn run_one(chat: &Chat, mut job: Job, cancel: &CancellationToken) -> (bool, Held) {
    // The sender watches the session it writes to.
    if let Some(origin) = job.origin {
        chat.hub().join_session(origin, &job.plan.session.id);
    }
    let Some((mut o, mut held)) = run_turn(chat, &job, cancel).await else {
        return (false, None);
    };
    if o.overflow.is_some() {
        announce(chat, &mut held);
        let Some(replay) = after_overflow(chat, &job, cancel, o.overflow.take()).await else {
            return (false, None);
        };
        job.content = replay;
        // The replayed text's attachments are already stored with the first message.
        job.attachments = None;
        job.new_message = true;
        (o, held) = match run_turn(chat, &job, cancel).await {
            Some((o, mut held)) if o.overflow.is_some() => {
                announce(chat, &mut held);
                overflow_error(chat, &job, o.overflow.unwrap_or_default());
                return (false, None);
            }
            Some(replayed) => replayed,
            None => return (false, None),
        };
    } else if o.completed && job.new_message && title::is_default_title(&job.plan.session.title) {
        let (plan, text) = (job.plan.clone(), job.content.clone());
        chat.spawn(title::generate(
            chat.clone(),
            plan,
            text,
            o.reply_text.clone(),
            after_held(&mut held),
        ));
    }
    if o.completed && needs_compaction(chat, &job.plan, o.input_tokens) {
        let (sid, model) = (&job.plan.session.id, &job.plan.model);
        announce(chat, &mut held);
        // Its failure is in the transcript; the chat goes on either way.
        let _ = compaction::compact(chat, sid, model, Reason::Auto, cancel).await;
    }
    (o.drain && job.drains, held)
}

/// A turn overflowed the model's window: compact (`auto`, `overflow`), then the text to replay
/// once; `None` (and `error context_overflow` for the sender) when compaction failed.
async fn after_overflow(
    chat: &Chat,
    job: &Job,
    cancel: &CancellationToken,
    why: Option<String>,
) -> Option<String> {
    let sid = &job.plan.session.id;
    let replay = compaction::replay_text(chat, sid).await;
    let compacted = compaction::compact(chat, sid, &job.plan.model, Reason::Overflow, cancel).await;
    match compacted {
        Ok(_) => Some(replay.unwrap_or_else(|| summary::OVERFLOW_TRIGGER_TEXT.to_owned())),
        Err(_) => {
            overflow_error(chat, job, why.unwrap_or_default());
            None
        }
    }
}

fn overflow_error(chat: &Chat, job: &Job, message: String) {
    let sid = &job.plan.session.id;
    let e = ServerEvent::session_error("context_overflow", message, sid);
    match job.origin {
        Some(conn) => chat.hub().publish(Audience::Conn(conn), &e),
        None => chat.hub().publish(Audience::Session(sid), &e),
    };
}

/// Whether a finished turn of `plan` that sent `input_tokens` nears its model's window
/// ([`summary::auto_threshold`]). Sessions of models the catalog does not size never compact
/// on their own.
fn needs_compaction(chat: &Chat, plan: &Plan, input_tokens: Option<i64>) -> bool {
    let (Some(cw), Some(used)) = (plan.model.context_window, input_tokens) else {
        return false;
    };
    let max_out = plan
        .model
        .max_output_tokens
        .or_else(|| chat.llm_settings().max_tokens.map(u64::from))
        .unwrap_or(32_000);
    let threshold = summary::auto_threshold(cw, max_out);
    cw > 0 && plan.session.parent_id.is_none() && u64::try_from(used).unwrap_or(0) >= threshold
}

/// One turn and the end of its running state, [`Held`]; `None` when it stopped on a store error
/// or a panic (the sender heard why).
async fn run_turn(
    chat: &Chat,
    job: &Job,
    cancel: &CancellationToken,
) -> Option<(turn::Outcome, Held)> {
    let sid = job.plan.session.id.clone();
    let handle = {
        let (c, plan, cancel) = (chat.clone(), job.plan.clone(), cancel.clone());
        let (origin, content) = (job.origin, job.new_message.then(|| job.content.clone()));
        let attachments = job.attachments.clone();
        chat.spawn(async move {
            match content {
                Some(text) => {
                    let attachments = attachments.as_ref();
                    turn::run_with(&c, &plan, &text, attachments, origin, &cancel).await
                }
                None => turn::respond(&c, &plan, origin, &cancel).await,
            }
        })
    };
    let outcome = handle.await;
    let mut held = clear_running(chat, &sid).await;
    if !matches!(outcome, Ok(Ok(_))) {
        announce(chat, &mut held);
    }
    let to_sender = |e: &ServerEvent| match job.origin {
        Some(conn) => chat.hub().publish(Audience::Conn(conn), e),
        None => chat.hub().publish(Audience::Session(&sid), e),
    };
    match outcome {
        Ok(Ok(o)) => Some((o, held)),
        // Deleted mid-turn: the client heard `session.deleted`; the failed writes are no news.
        Ok(Err(e)) if session_gone(chat, &sid).await => {
            tracing::debug!(session.id = %sid, error = %e, "chat turn ended with its session deleted");
            None
        }
        Ok(Err(e)) => {
            tracing::error!(session.id = %sid, error = %e, "chat turn stopped by a store error");
            to_sender(&ServerEvent::session_error(
                "internal",
                "The reply could not be saved",
                &sid,
            ));
            None
        }
        Err(e) => {
            tracing::error!(session.id = %sid, error = %e, "chat turn task panicked");
            to_sender(&ServerEvent::session_error(
                "internal",
                "Internal error",
                &sid,
            ));
            None
        }
    }
}

/// Step 10 in the store: `runningAt: null`; the session to announce it with ([`Held`]).
async fn clear_running(chat: &Chat, sid: &str) -> Held {
    let now = now_iso();
    match chat.store().set_running(sid, None, &now).await {
        Ok(s) => Some((s, Vec::new())),
        Err(StoreError::NotFound(_)) => {
            tracing::debug!(session.id = %sid, "session deleted while running");
            None
        }
        Err(e) => {
            tracing::error!(session.id = %sid, error = %e, "cannot clear runningAt");
            None
        }
    }
}

/// Whether the session no longer exists (deleted while its turn ran).
async fn session_gone(chat: &Chat, sid: &str) -> bool {
    matches!(
        chat.store().get_session(&Scope::All, sid).await,
        Err(StoreError::NotFound(_))
    )
}
