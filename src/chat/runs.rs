//! The in-memory registry of running turns: per session, the cancel handle of the turn now
//! streaming and the messages queued behind it. A session is "running" exactly while it has
//! an entry; the worker that owns the entry removes it atomically when the queue is empty, so
//! a message arriving at any moment is either queued or starts a new worker, never lost.
//! Nothing here survives a restart (the queue is memory only, as upstream's control state).

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use tokio_util::sync::CancellationToken;

use crate::events::ConnId;
use crate::events::event::QueuedItem;
use crate::store::Scope;

/// A message waiting to be run, with who sent it (pre-check errors go back to them).
#[derive(Debug, Clone)]
pub struct Queued {
    pub item: QueuedItem,
    pub origin: ConnId,
    pub scope: Scope,
}

#[derive(Debug)]
struct Run {
    cancel: CancellationToken,
    queue: VecDeque<Queued>,
}

/// What [`Runs::start_or_enqueue`] did.
#[derive(Debug)]
pub enum Admission {
    /// Nothing was running: the caller owns the session's worker and runs this turn now.
    Start(CancellationToken),
    /// A turn is running; the message waits in the queue.
    Queued,
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

    /// Start a turn for `q`'s session, or queue `q` behind the running one.
    pub fn start_or_enqueue(&self, q: Queued) -> Admission {
        let mut map = self.lock();
        match map.get_mut(&q.item.session_id) {
            Some(run) => {
                run.queue.push_back(q);
                Admission::Queued
            }
            None => {
                let cancel = self.parent.child_token();
                map.insert(
                    q.item.session_id.clone(),
                    Run {
                        cancel: cancel.clone(),
                        queue: VecDeque::new(),
                    },
                );
                Admission::Start(cancel)
            }
        }
    }

    /// Called by the worker after a turn: the next queued message with a fresh cancel handle,
    /// or `None` after removing the session's entry (it is no longer running).
    pub fn next(&self, session_id: &str) -> Option<(Queued, CancellationToken)> {
        let mut map = self.lock();
        let run = map.get_mut(session_id)?;
        match run.queue.pop_front() {
            Some(q) => {
                run.cancel = self.parent.child_token();
                Some((q, run.cancel.clone()))
            }
            None => {
                map.remove(session_id);
                None
            }
        }
    }

    /// Forget a session's entry and whatever is still queued in it (its worker stopped).
    pub fn clear(&self, session_id: &str) {
        self.lock().remove(session_id);
    }

    /// Stop the running turn of a session. Returns whether one was running.
    pub fn interrupt(&self, session_id: &str) -> bool {
        match self.lock().get(session_id) {
            Some(run) => {
                run.cancel.cancel();
                true
            }
            None => false,
        }
    }

    /// The session a queued message waits in, if it is still queued.
    pub fn session_of(&self, queue_id: &str) -> Option<String> {
        self.lock().values().find_map(|run| {
            run.queue
                .iter()
                .find(|q| q.item.id == queue_id)
                .map(|q| q.item.session_id.clone())
        })
    }

    /// Remove a queued message by id; returns it if it was queued.
    pub fn remove(&self, queue_id: &str) -> Option<Queued> {
        let mut map = self.lock();
        for run in map.values_mut() {
            if let Some(i) = run.queue.iter().position(|q| q.item.id == queue_id) {
                return run.queue.remove(i);
            }
        }
        None
    }

    pub fn is_running(&self, session_id: &str) -> bool {
        self.lock().contains_key(session_id)
    }

    /// The messages queued for a session, oldest first.
    pub fn queued(&self, session_id: &str) -> Vec<QueuedItem> {
        self.lock()
            .get(session_id)
            .map(|r| r.queue.iter().map(|q| q.item.clone()).collect())
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(id: &str) -> Queued {
        Queued {
            item: QueuedItem {
                id: id.into(),
                session_id: "s".into(),
                content: id.into(),
                created_at: 0,
            },
            origin: 1,
            scope: Scope::All,
        }
    }

    #[test]
    fn a_second_message_queues_and_runs_after_the_first() {
        let runs = Runs::new(CancellationToken::new());
        assert!(matches!(runs.start_or_enqueue(q("a")), Admission::Start(_)));
        assert!(matches!(runs.start_or_enqueue(q("b")), Admission::Queued));
        assert!(runs.is_running("s"));
        assert_eq!(runs.queued("s").len(), 1);
        let (next, _) = runs.next("s").unwrap();
        assert_eq!(next.item.id, "b");
        assert!(runs.is_running("s"), "still running while b runs");
        assert!(runs.next("s").is_none());
        assert!(!runs.is_running("s"));
    }

    #[test]
    fn interrupt_cancels_only_the_current_turn_and_remove_drops_a_queued_one() {
        let runs = Runs::new(CancellationToken::new());
        let Admission::Start(first) = runs.start_or_enqueue(q("a")) else {
            panic!("should start")
        };
        runs.start_or_enqueue(q("b"));
        runs.start_or_enqueue(q("c"));
        assert!(runs.interrupt("s"));
        assert!(first.is_cancelled());
        assert_eq!(runs.remove("b").unwrap().item.id, "b");
        assert!(runs.remove("b").is_none());
        let (next, token) = runs.next("s").unwrap();
        assert_eq!(next.item.id, "c");
        assert!(!token.is_cancelled());
        assert!(!runs.interrupt("other"));
    }
}
