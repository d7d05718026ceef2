//! The in-memory registry of running turns: per session, the cancel handle of the turn now
//! running and the tool calls it has open. The queue itself is in the store (it survives a
//! restart); this registry only makes sure that exactly one worker runs a session's turns, and
//! that a message admitted while a worker finishes is never stranded: admission counts the
//! enqueues it has in flight, and the worker may stop only when none are.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

#[derive(Debug)]
struct Run {
    cancel: CancellationToken,
    /// Messages admitted behind this run whose queue row is still being written.
    enqueuing: usize,
    /// Woken when such a write finishes.
    written: Arc<Notify>,
    /// The `callId`s of the tool calls now running (reported by an interrupt).
    calls: Vec<String>,
}

impl Run {
    fn new(cancel: CancellationToken) -> Self {
        Run {
            cancel,
            enqueuing: 0,
            written: Arc::new(Notify::new()),
            calls: Vec::new(),
        }
    }
}

/// What [`Runs::admit`] decided.
#[derive(Debug)]
pub enum Admission {
    /// Nothing was running: the caller owns the session's worker and runs this turn now.
    Start(CancellationToken),
    /// A turn is running: the caller writes the message to the queue, then calls
    /// [`Runs::enqueued`].
    Queue,
}

/// What [`Runs::try_stop`] found.
#[derive(Debug)]
pub enum Stop {
    /// The worker's entry is gone: the session no longer runs.
    Stopped,
    /// A message is being queued: wait on this, then look at the queue again.
    Wait(Arc<Notify>),
}

/// Cheap to clone.
#[derive(Clone, Debug)]
pub struct Runs {
    inner: Arc<Mutex<HashMap<String, Run>>>,
    /// Every turn's cancel token is a child of this one (the server's shutdown).
    parent: CancellationToken,
}

impl Runs {
    /// Runs whose turns all stop when `parent` is cancelled.
    pub fn new(parent: CancellationToken) -> Self {
        Self {
            inner: Arc::default(),
            parent,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Run>> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Start a turn for the session, or (a turn runs) have the caller queue the message.
    pub fn admit(&self, session_id: &str) -> Admission {
        let mut map = self.lock();
        if let Some(run) = map.get_mut(session_id) {
            run.enqueuing += 1;
            return Admission::Queue;
        }
        let cancel = self.parent.child_token();
        map.insert(session_id.to_owned(), Run::new(cancel.clone()));
        Admission::Start(cancel)
    }

    /// Take the session's worker slot for an operation (an edit and its turn, a compaction, a
    /// revert) if nothing runs: `None` when a turn or another operation holds it. While held,
    /// chat messages are queued as behind a turn.
    pub fn try_start(&self, session_id: &str) -> Option<CancellationToken> {
        let mut map = self.lock();
        if map.contains_key(session_id) {
            return None;
        }
        let cancel = self.parent.child_token();
        map.insert(session_id.to_owned(), Run::new(cancel.clone()));
        Some(cancel)
    }

    /// The queue row of a message admitted with [`Admission::Queue`] is written (or failed).
    pub fn enqueued(&self, session_id: &str) {
        let written = {
            let mut map = self.lock();
            let Some(run) = map.get_mut(session_id) else {
                return;
            };
            run.enqueuing = run.enqueuing.saturating_sub(1);
            Arc::clone(&run.written)
        };
        // A stored permit if the worker is not waiting yet: the wake-up cannot be lost.
        written.notify_one();
    }

    /// The worker found the queue empty: stop, unless a message is still being queued.
    pub fn try_stop(&self, session_id: &str) -> Stop {
        self.try_stop_then(session_id, || {})
    }

    /// [`Runs::try_stop`], running `last` as the session stops, before another message can
    /// start a turn: what it publishes reaches clients before anything of the next turn.
    pub fn try_stop_then(&self, session_id: &str, last: impl FnOnce()) -> Stop {
        let mut map = self.lock();
        match map.get(session_id) {
            Some(run) if run.enqueuing > 0 => Stop::Wait(Arc::clone(&run.written)),
            _ => {
                map.remove(session_id);
                last();
                Stop::Stopped
            }
        }
    }

    /// A fresh cancel handle for the next turn of a running session.
    pub fn next_turn(&self, session_id: &str) -> CancellationToken {
        let mut map = self.lock();
        let cancel = self.parent.child_token();
        if let Some(run) = map.get_mut(session_id) {
            run.cancel = cancel.clone();
            run.calls.clear();
        }
        cancel
    }

    /// Forget a session's entry (its worker ended).
    pub fn clear(&self, session_id: &str) {
        self.lock().remove(session_id);
    }

    /// Stop the running turn of a session; the tool calls it had open, or `None` when nothing
    /// ran.
    pub fn interrupt(&self, session_id: &str) -> Option<Vec<String>> {
        let map = self.lock();
        let run = map.get(session_id)?;
        run.cancel.cancel();
        Some(run.calls.clone())
    }

    /// The tool calls a session's turn has open now.
    pub fn set_calls(&self, session_id: &str, calls: Vec<String>) {
        if let Some(run) = self.lock().get_mut(session_id) {
            run.calls = calls;
        }
    }

    pub fn is_running(&self, session_id: &str) -> bool {
        self.lock().contains_key(session_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_message_is_queued_and_the_worker_waits_for_its_row() {
        let runs = Runs::new(CancellationToken::new());
        assert!(matches!(runs.admit("s"), Admission::Start(_)));
        assert!(matches!(runs.admit("s"), Admission::Queue));
        assert!(
            matches!(runs.try_stop("s"), Stop::Wait(_)),
            "a message is still being queued"
        );
        runs.enqueued("s");
        assert!(matches!(runs.try_stop("s"), Stop::Stopped));
        assert!(!runs.is_running("s"));
        assert!(
            matches!(runs.admit("s"), Admission::Start(_)),
            "starts afresh"
        );
    }

    #[test]
    fn the_last_news_goes_out_only_as_the_session_stops() {
        let runs = Runs::new(CancellationToken::new());
        let _ = runs.admit("s");
        let _ = runs.admit("s");
        let mut told = 0;
        let waited = runs.try_stop_then("s", || told += 1);
        assert!(matches!(waited, Stop::Wait(_)));
        assert_eq!(told, 0, "the worker goes on: a message is being queued");
        runs.enqueued("s");
        assert!(matches!(
            runs.try_stop_then("s", || told += 1),
            Stop::Stopped
        ));
        assert_eq!(told, 1);
        assert!(matches!(runs.admit("s"), Admission::Start(_)));
    }

    #[test]
    fn an_operation_takes_the_slot_only_while_nothing_runs() {
        let runs = Runs::new(CancellationToken::new());
        let held = runs.try_start("s").expect("idle: the operation runs");
        assert!(
            runs.try_start("s").is_none(),
            "held: a second operation waits"
        );
        assert!(
            matches!(runs.admit("s"), Admission::Queue),
            "a message is queued"
        );
        runs.enqueued("s");
        assert_eq!(runs.interrupt("s"), Some(vec![]));
        assert!(held.is_cancelled(), "an interrupt reaches the operation");
        assert!(matches!(runs.try_stop("s"), Stop::Stopped));
        assert!(runs.try_start("s").is_some());
    }

    #[test]
    fn interrupt_cancels_the_current_turn_and_reports_its_calls() {
        let parent = CancellationToken::new();
        let runs = Runs::new(parent.clone());
        let Admission::Start(first) = runs.admit("s") else {
            panic!("should start")
        };
        runs.set_calls("s", vec!["call_1".into()]);
        assert_eq!(runs.interrupt("s"), Some(vec!["call_1".to_owned()]));
        assert!(first.is_cancelled());
        let next = runs.next_turn("s");
        assert!(!next.is_cancelled());
        assert_eq!(runs.interrupt("other"), None);
        parent.cancel();
        assert!(next.is_cancelled(), "shutdown cancels every turn");
    }
}
