//! Several instances on one PostgreSQL database: one runner per session, cluster-wide, and
//! control across instances. Without PostgreSQL none of this is joined and every function
//! here leaves the single-server behaviour as it is.
//!
//! - **Admission** ([`admit`]): a session with a worker on this instance queues as before;
//!   otherwise this instance takes the session's lease (`store::pg::runners`) and starts a
//!   worker, or, when another instance holds it, the message is queued in the store and the
//!   lease woken ([`queued_elsewhere`]). The runner gives the lease back only if nothing was
//!   queued since it last looked at the queue ([`let_go`]); if it had let go already, the
//!   instance that queued takes the lease and runs the queue. So a message is run once, by one
//!   instance.
//! - **Liveness** (`store::pg::cluster`): each instance holds an advisory lock while its
//!   listening connection lives and beats every 2 s; every instance reaps the dead (lock gone,
//!   or silent for 8 s) every 2 s and recovers what their turns left open (replies
//!   interrupted, tool calls and asks ended, sessions idle, with the events a client would have
//!   seen), then runs their queues. A `kill -9` is seen within one reaper pass (≤ 2 s), a frozen
//!   instance within 10 s; [`RECOVERY_BOUND`] is what the documentation promises. An instance
//!   told it was declared dead, or that cannot reach the database for as long, stops its own
//!   turns, so two runners for one session never overlap for long.
//! - **Control**: an interrupt, or an answer to a permission ask, for a turn that runs
//!   elsewhere travels on the relay to the instance that runs it (`permissions::answer`); a
//!   resuming client's `ask.pending_sync` lists every instance's asks (the database's).
//!
//! Session operations (edit, revert, compaction) take the lease too
//! ([`Chat::claim_anywhere`]); a worker makes sure it holds it ([`hold`]).

use std::time::Duration;

use serde_json::{Value, json};

use super::Chat;
use super::plan::Refusal;
use super::runs::Admission;
use crate::events::relay::Relay;
use crate::events::{Audience, ServerEvent};
use crate::store::pg::cluster::{HEARTBEAT, STALE};
use crate::store::pg::runners::Orphans;
use crate::store::{Postgres, StoreError};
use crate::time::{now_iso, now_ms};

/// How long after its instance died a session is idle again, at most (documented bound; the
/// reaper's worst case is `STALE + HEARTBEAT` = 10 s, plus the recovery writes).
pub const RECOVERY_BOUND: Duration = Duration::from_secs(15);

/// This instance among the others.
pub struct Cluster {
    pub pg: Postgres,
    pub relay: Relay,
}

/// Join the cluster (the instance is registered and its relay started): recover what dead
/// instances left — everything, and sweep the attachment files no session needs, when no other
/// instance is alive (as a single server does at start) — then keep the heartbeat, the reaper
/// and the control messages going until `chat` shuts down.
pub async fn start(chat: &Chat, pg: Postgres, relay: Relay) -> Result<(), StoreError> {
    let controls = relay.controls();
    chat.set_cluster(Cluster { pg, relay });
    let Some(cl) = chat.cluster() else {
        return Ok(());
    };
    cl.pg.reap_dead().await?;
    // Alone, it recovers and sweeps as a single server does at start; beside live instances,
    // whose uploads may be under way in a shared attachments folder, only what nobody runs.
    if cl.pg.others_alive().await? == 0 {
        super::recover::recover(chat.store()).await?;
        super::recover::sweep_attachments(chat.store(), chat.data_dir()).await;
    }
    // As a single server at start, the queues left behind wait for their sessions' next turn.
    recover(chat, false).await?;
    chat.spawn(beat(chat.clone()));
    chat.spawn(obey(chat.clone(), controls));
    Ok(())
}

impl Chat {
    /// [`Chat::claim`], cluster-wide: with PostgreSQL the session's lease is taken first, so no
    /// other instance runs a turn or an operation on the session meanwhile (`None`: one does).
    /// The claim's end gives the lease back (`worker::stop`, or its worker's end).
    pub async fn claim_anywhere(&self, sid: &str) -> Option<super::claim::Claim> {
        let Some(cl) = self.cluster() else {
            return self.claim(sid);
        };
        if self.runs().is_running(sid) || !matches!(acquire(self, &cl.pg, sid).await, Ok(true)) {
            return None;
        }
        let claim = self.claim(sid);
        if claim.is_none() {
            release(self, sid).await;
        }
        claim
    }
}

/// Where a submitted message goes.
pub(super) enum Admit {
    /// This instance decides ([`crate::chat::runs::Runs::admit`]).
    Here(Admission),
    /// Another instance runs the session: queue it, then [`queued_elsewhere`].
    Elsewhere,
}

/// Admission, cluster-wide (see the module doc).
pub(super) async fn admit(chat: &Chat, sid: &str) -> Result<Admit, Refusal> {
    let Some(cl) = chat.cluster() else {
        return Ok(Admit::Here(chat.runs().admit(sid)));
    };
    if chat.runs().is_running(sid) {
        return Ok(Admit::Here(chat.runs().admit(sid)));
    }
    match acquire(chat, &cl.pg, sid).await {
        Ok(true) => Ok(Admit::Here(chat.runs().admit(sid))),
        Ok(false) => Ok(Admit::Elsewhere),
        Err(StoreError::NotFound(_)) => Err(Refusal::SessionNotFound),
        Err(e) => {
            tracing::error!(session.id = %sid, error = %e, "cannot take a session's lease");
            Err(Refusal::Internal)
        }
    }
}

/// Take the session's lease. When this instance still holds it with no worker here, its
/// worker is giving it back right after announcing the end of the turn (`let_go`): wait for
/// that (a database round trip, normally a few milliseconds; at most 5 s on a loaded machine),
/// so a client that saw the turn end and acts at once starts a turn or an operation, as on one
/// server, instead of finding the session busy or its message queued.
async fn acquire(chat: &Chat, pg: &Postgres, sid: &str) -> Result<bool, StoreError> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while tokio::time::Instant::now() < deadline {
        if pg.acquire_runner(sid).await? {
            return Ok(true);
        }
        let ours = pg.runner_wake(sid).await?.is_some();
        if !ours || chat.runs().is_running(sid) {
            return Ok(false);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(false)
}

/// A message was queued behind another instance's runner: wake its lease; if it let go
/// meanwhile, run the queue here.
pub(super) async fn queued_elsewhere(chat: &Chat, sid: &str) {
    let Some(cl) = chat.cluster() else { return };
    match cl.pg.bump_wake(sid).await {
        Ok(true) => {}
        Ok(false) => drain_here(chat, sid).await,
        Err(e) => tracing::error!(session.id = %sid, error = %e, "cannot wake a session's runner"),
    }
}

/// Take the lease of a session nobody runs and run its queue here.
async fn drain_here(chat: &Chat, sid: &str) {
    let Some(cl) = chat.cluster() else { return };
    if !matches!(cl.pg.acquire_runner(sid).await, Ok(true)) {
        return;
    }
    // When an operation holds the session here, its end gives the lease back.
    if let Some(cancel) = chat.runs().try_start(sid) {
        let task = super::worker::work(chat.clone(), sid.to_owned(), None, cancel);
        chat.spawn(task);
    }
}

/// A worker starts: make sure this instance holds the session's lease (a turn after a session
/// operation took none yet). Another instance's lease stays its own.
pub(super) async fn hold(chat: &Chat, sid: &str) {
    if let Some(cl) = chat.cluster()
        && let Err(e) = cl.pg.acquire_runner(sid).await
    {
        tracing::warn!(session.id = %sid, error = %e, "cannot take a session's lease");
    }
}

/// The `wake` of this instance's lease of a session, read before looking at the queue.
pub(super) async fn wake(chat: &Chat, sid: &str) -> Option<i64> {
    let cl = chat.cluster()?;
    cl.pg.runner_wake(sid).await.ok().flatten()
}

/// The worker found the queue empty (at `wake`) and stopped here: give the lease back, unless
/// something was queued since — then `true`: the worker goes on, the session's slot taken
/// again.
pub(super) async fn let_go(chat: &Chat, sid: &str, wake: Option<i64>) -> bool {
    let (Some(cl), Some(wake)) = (chat.cluster(), wake) else {
        return false;
    };
    match cl.pg.release_runner(sid, Some(wake)).await {
        Ok(true) => false,
        // Still ours, woken since: look at the queue again.
        Ok(false) => chat.runs().try_start(sid).is_some(),
        Err(e) => {
            // The reaper frees it once this instance is gone; until then it stays ours.
            tracing::error!(session.id = %sid, error = %e, "cannot give a session's lease back");
            false
        }
    }
}

/// Give the lease back whatever was queued (the queue waits for the session's next message).
pub(super) async fn release(chat: &Chat, sid: &str) {
    if let Some(cl) = chat.cluster()
        && let Err(e) = cl.pg.release_runner(sid, None).await
    {
        tracing::error!(session.id = %sid, error = %e, "cannot give a session's lease back");
    }
}

/// Interrupt a turn that runs on another instance; what it had open, as the database says.
pub(super) async fn interrupt_remote(chat: &Chat, sid: &str) -> super::Interrupted {
    let Some(cl) = chat.cluster() else {
        return super::Interrupted::default();
    };
    if !cl.pg.has_runner(sid).await.unwrap_or(false) {
        return super::Interrupted::default();
    }
    let interrupted_tools = cl.pg.open_tool_calls(sid).await.unwrap_or_default();
    let rejected_asks = cl.pg.pending_ask_ids(sid).await.unwrap_or_default();
    cl.relay.control(json!({"interrupt": sid}));
    super::Interrupted {
        was_running: true,
        interrupted_tools,
        rejected_asks,
    }
}

/// End what runs nowhere any more and tell the clients; with `drain`, run the queues left
/// behind (an instance died: its queues move on here).
async fn recover(chat: &Chat, drain: bool) -> Result<(), StoreError> {
    let Some(cl) = chat.cluster() else {
        return Ok(());
    };
    let crash = super::recover::CRASH_MESSAGE;
    let orphans = cl.pg.recover_orphans(now_ms(), &now_iso(), crash).await?;
    announce(chat, orphans);
    if !drain {
        return Ok(());
    }
    for sid in cl.pg.unrun_queues().await? {
        drain_here(chat, &sid).await;
    }
    Ok(())
}

/// The events of a recovery, as the turns would have sent them.
fn announce(chat: &Chat, o: Orphans) {
    let total = o.messages.len() + o.parts.len() + o.asks.len() + o.sessions.len();
    if total > 0 {
        tracing::warn!(
            sessions = o.sessions.len(),
            messages = o.messages.len(),
            tool_calls = o.parts.len(),
            asks = o.asks.len(),
            "recovered turns cut off by an instance that stopped"
        );
    }
    let hub = chat.hub();
    for part in o.parts {
        let sid = part.session_id.clone();
        let event = ServerEvent::PartUpdated {
            session_id: sid.clone(),
            part: Box::new(part),
        };
        hub.publish(Audience::Session(&sid), &event);
    }
    for (sid, call, request) in o.asks {
        let event = ServerEvent::AskTimeout {
            session_id: sid.clone(),
            tool_call_id: call,
            request_id: Some(request),
        };
        hub.publish(Audience::Session(&sid), &event);
    }
    for m in o.messages {
        let sid = m.session_id.clone();
        let event = ServerEvent::MessageUpdated {
            message: Box::new(m),
        };
        hub.publish(Audience::Session(&sid), &event);
    }
    for s in o.sessions {
        super::turn::publish_session_updated(chat, s);
    }
}

/// The heartbeat and the reaper, every [`HEARTBEAT`], until shutdown.
async fn beat(chat: Chat) {
    let mut last_ok = tokio::time::Instant::now();
    let mut fenced = false;
    loop {
        tokio::select! {
            () = tokio::time::sleep(HEARTBEAT) => {}
            () = chat.shutdown_token().cancelled() => return,
        }
        let Some(cl) = chat.cluster() else { return };
        match cl.pg.heartbeat().await {
            Ok(true) => {
                last_ok = tokio::time::Instant::now();
                fenced = false;
            }
            Ok(false) => {
                let n = chat.runs().cancel_all();
                tracing::error!(turns = n, "this instance was declared dead; its turns stop");
                if let Err(e) = cl.pg.register_instance().await {
                    tracing::warn!(error = %e, "cannot register this instance again");
                }
            }
            Err(e) if !fenced && last_ok.elapsed() > STALE - HEARTBEAT => {
                fenced = true;
                let n = chat.runs().cancel_all();
                tracing::error!(error = %e, turns = n, "the database is out of reach; this instance's turns stop before another takes them over");
            }
            Err(e) => tracing::warn!(error = %e, "heartbeat failed"),
        }
        match cl.pg.reap_dead().await {
            Ok(dead) if !dead.is_empty() => {
                tracing::warn!(instances = ?dead, "instances stopped answering; recovering their turns");
                if let Err(e) = recover(&chat, true).await {
                    tracing::error!(error = %e, "cannot recover the turns of a dead instance");
                }
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "cannot look for dead instances"),
        }
    }
}

/// Control messages from the other instances.
async fn obey(chat: Chat, mut controls: tokio::sync::broadcast::Receiver<Value>) {
    use tokio::sync::broadcast::error::RecvError;
    loop {
        let message = tokio::select! {
            m = controls.recv() => m,
            () = chat.shutdown_token().cancelled() => return,
        };
        match message {
            Ok(m) => {
                if let Some(sid) = m.get("interrupt").and_then(Value::as_str) {
                    chat.interrupt(sid);
                } else if let Some(a) = m.get("answer") {
                    // An answer to an ask of a turn here, received by another instance.
                    let request_id = a.get("requestId").and_then(Value::as_str);
                    let call = a.get("toolCallId").and_then(Value::as_str);
                    let response = a.get("response").unwrap_or(&Value::Null);
                    chat.permissions()
                        .answer_here(request_id, call.unwrap_or_default(), response);
                }
            }
            Err(RecvError::Lagged(n)) => {
                tracing::warn!(
                    missed = n,
                    "control messages from other instances were missed"
                );
            }
            Err(RecvError::Closed) => return,
        }
    }
}
