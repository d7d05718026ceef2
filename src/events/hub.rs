//! The hub: every open WebSocket connection, which sessions each has resumed, and a bounded
//! outbound queue per connection. An event is serialized once and offered to each recipient's
//! queue; a connection whose queue is full is told to close (a client that does not read is
//! disconnected rather than slowing anyone else).
//!
//! Each person's events are theirs: a broadcast (`All`, `AllExcept`) reaches a user's or an
//! application's connection only when published with [`Hub::publish_owned`] naming the owner of
//! the workspace it is about, and that owner is the connection's; a plain [`Hub::publish`]
//! broadcast reaches only connections that see everything (the owner, or everyone while auth is
//! off), so a broadcast that forgets its owner leaks nothing. Session audiences need no filter:
//! joining a session (resume) already checked that the connection may see it.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::ServerEvent;
use crate::auth::Principal;

/// Outbound frames a connection may have queued before it counts as not reading.
pub const OUTBOUND_QUEUE: usize = 256;

pub type ConnId = u64;

/// Who should hear an event.
#[derive(Debug, Clone, Copy)]
pub enum Audience<'a> {
    /// Every connection.
    All,
    /// Every connection but one (e.g. `session.created` to the others).
    AllExcept(ConnId),
    /// The connections that resumed this session.
    Session(&'a str),
    /// One connection.
    Conn(ConnId),
}

/// What a connection receives from its queue.
pub type Frame = Arc<str>;

/// One registered connection, as the connection task sees it.
pub struct Registration {
    pub id: ConnId,
    pub rx: mpsc::Receiver<Frame>,
    /// Cancelled when the hub wants the connection closed (its queue overflowed).
    pub evicted: CancellationToken,
}

struct Conn {
    tx: mpsc::Sender<Frame>,
    evicted: CancellationToken,
    principal: Principal,
    sessions: HashSet<String>,
}

#[derive(Default)]
struct Inner {
    conns: HashMap<ConnId, Conn>,
    sessions: HashMap<String, HashSet<ConnId>>,
}

/// Cheap to clone.
#[derive(Clone, Default)]
pub struct Hub {
    inner: Arc<Mutex<Inner>>,
    next_id: Arc<AtomicU64>,
}

impl Hub {
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Add a connection.
    pub fn register(&self, principal: Principal) -> Registration {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed) + 1;
        let (tx, rx) = mpsc::channel(OUTBOUND_QUEUE);
        let evicted = CancellationToken::new();
        self.lock().conns.insert(
            id,
            Conn {
                tx,
                evicted: evicted.clone(),
                principal,
                sessions: HashSet::new(),
            },
        );
        Registration { id, rx, evicted }
    }

    /// Remove a connection and its session memberships.
    pub fn unregister(&self, id: ConnId) {
        let mut inner = self.lock();
        if let Some(conn) = inner.conns.remove(&id) {
            for s in conn.sessions {
                if let Some(set) = inner.sessions.get_mut(&s) {
                    set.remove(&id);
                    if set.is_empty() {
                        inner.sessions.remove(&s);
                    }
                }
            }
        }
    }

    /// Make `id` a participant of `session_id` (idempotent).
    pub fn join_session(&self, id: ConnId, session_id: &str) {
        let mut inner = self.lock();
        if let Some(conn) = inner.conns.get_mut(&id) {
            conn.sessions.insert(session_id.to_owned());
            inner
                .sessions
                .entry(session_id.to_owned())
                .or_default()
                .insert(id);
        }
    }

    /// Forget every participant of a session (after it is deleted).
    pub fn drop_session(&self, session_id: &str) {
        let mut inner = self.lock();
        if let Some(ids) = inner.sessions.remove(session_id) {
            for id in ids {
                if let Some(c) = inner.conns.get_mut(&id) {
                    c.sessions.remove(session_id);
                }
            }
        }
    }

    /// Whether `id` has resumed `session_id`.
    pub fn is_participant(&self, id: ConnId, session_id: &str) -> bool {
        self.lock()
            .sessions
            .get(session_id)
            .is_some_and(|s| s.contains(&id))
    }

    /// The longest outbound queue among a session's participants (frames waiting to be
    /// written). A producer much faster than its readers (a local model bursting chunks) uses it
    /// to merge deltas instead of filling a queue until the reader is evicted.
    pub fn session_backlog(&self, session_id: &str) -> usize {
        let inner = self.lock();
        inner
            .sessions
            .get(session_id)
            .into_iter()
            .flatten()
            .filter_map(|id| inner.conns.get(id))
            .map(|c| OUTBOUND_QUEUE.saturating_sub(c.tx.capacity()))
            .max()
            .unwrap_or(0)
    }

    /// Number of open connections.
    pub fn connection_count(&self) -> usize {
        self.lock().conns.len()
    }

    /// Send `event` to `audience`. Returns how many connections it was queued for.
    pub fn publish(&self, audience: Audience<'_>, event: &ServerEvent) -> usize {
        self.publish_frame(audience, event.to_frame())
    }

    /// Send an event about a workspace owned by `owner` (`None`: the owner's own). Broadcasts
    /// reach only the connections whose principal may see that workspace.
    pub fn publish_owned(
        &self,
        audience: Audience<'_>,
        owner: Option<&str>,
        event: &ServerEvent,
    ) -> usize {
        self.offer(audience, Some(owner), event.to_frame())
    }

    /// Send an already serialized frame.
    pub fn publish_frame(&self, audience: Audience<'_>, frame: Frame) -> usize {
        self.offer(audience, None, frame)
    }

    /// `owner`: `Some(o)` when the event is known to be about a workspace of `o`.
    fn offer(&self, audience: Audience<'_>, owner: Option<Option<&str>>, frame: Frame) -> usize {
        let may_see = |c: &Conn| match owner {
            Some(o) => c.principal.may_see(o),
            None => c.principal.sees_everything(),
        };
        let inner = self.lock();
        let mut sent = 0;
        let mut offer = |conn: &Conn| match conn.tx.try_send(frame.clone()) {
            Ok(()) => sent += 1,
            Err(mpsc::error::TrySendError::Full(_)) => conn.evicted.cancel(),
            Err(mpsc::error::TrySendError::Closed(_)) => {}
        };
        match audience {
            Audience::All => inner
                .conns
                .values()
                .filter(|c| may_see(c))
                .for_each(&mut offer),
            Audience::AllExcept(skip) => inner
                .conns
                .iter()
                .filter(|(id, c)| **id != skip && may_see(c))
                .for_each(|(_, c)| offer(c)),
            Audience::Conn(id) => {
                if let Some(c) = inner.conns.get(&id) {
                    offer(c)
                }
            }
            Audience::Session(s) => {
                if let Some(ids) = inner.sessions.get(s) {
                    for id in ids {
                        if let Some(c) = inner.conns.get(id) {
                            offer(c)
                        }
                    }
                }
            }
        }
        sent
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn session_events_reach_only_participants() {
        let hub = Hub::new();
        let mut a = hub.register(Principal::Owner);
        let mut b = hub.register(Principal::Owner);
        hub.join_session(a.id, "s1");
        hub.join_session(a.id, "s1");
        assert_eq!(hub.publish(Audience::Session("s1"), &ServerEvent::Ping), 1);
        assert!(a.rx.try_recv().is_ok());
        assert!(b.rx.try_recv().is_err());
        assert_eq!(
            hub.publish(Audience::AllExcept(a.id), &ServerEvent::Ping),
            1
        );
        hub.unregister(a.id);
        assert_eq!(hub.publish(Audience::Session("s1"), &ServerEvent::Ping), 0);
    }

    #[tokio::test]
    async fn broadcasts_reach_users_only_for_their_own_workspaces() {
        let hub = Hub::new();
        let user = |id: &str| Principal::User {
            user_id: id.into(),
            app_id: "app".into(),
            scopes: vec!["read".into()],
        };
        let mut owner = hub.register(Principal::Owner);
        let mut alice = hub.register(user("alice"));
        let mut bob = hub.register(user("bob"));
        assert_eq!(
            hub.publish_owned(Audience::All, Some("alice"), &ServerEvent::Ping),
            2
        );
        assert!(owner.rx.try_recv().is_ok() && alice.rx.try_recv().is_ok());
        assert!(
            bob.rx.try_recv().is_err(),
            "bob never hears about alice's workspace"
        );
        assert_eq!(
            hub.publish(Audience::All, &ServerEvent::Ping),
            1,
            "unowned: owner only"
        );
        assert_eq!(
            hub.publish_owned(Audience::AllExcept(owner.id), None, &ServerEvent::Ping),
            0
        );
    }

    #[tokio::test]
    async fn session_backlog_is_the_longest_participant_queue() {
        let hub = Hub::new();
        let mut a = hub.register(Principal::Owner);
        let b = hub.register(Principal::Owner);
        hub.join_session(a.id, "s");
        hub.join_session(b.id, "s");
        assert_eq!(hub.session_backlog("s"), 0);
        for _ in 0..3 {
            hub.publish(Audience::Session("s"), &ServerEvent::Ping);
        }
        assert!(a.rx.try_recv().is_ok());
        assert_eq!(hub.session_backlog("s"), 3, "b has read nothing");
        assert_eq!(hub.session_backlog("other"), 0);
    }

    #[tokio::test]
    async fn a_full_queue_evicts_the_connection() {
        let hub = Hub::new();
        let a = hub.register(Principal::Owner);
        for _ in 0..OUTBOUND_QUEUE {
            hub.publish(Audience::All, &ServerEvent::Ping);
        }
        assert!(!a.evicted.is_cancelled());
        hub.publish(Audience::All, &ServerEvent::Ping);
        assert!(a.evicted.is_cancelled());
    }
}
