//! The hub: every open WebSocket connection, which sessions each has resumed, and a bounded
//! outbound queue per connection. An event is serialized once and offered to each recipient's
//! queue; a connection whose queue is full is told to close (a client that does not read is
//! disconnected rather than slowing anyone else).
//!
//! Each person's events are theirs: a connection registers with the [`Scope`] of what it may
//! see, and a broadcast names the owner of the workspace it is about ([`Audience::Viewers`]), so
//! it reaches only the connections that may see that workspace. There is no broadcast without an
//! owner. Session audiences need no filter: joining a session (resume) already checked that the
//! connection may see it.
//!
//! With several instances on one PostgreSQL database, a [`Relay`] is attached: every event
//! for a session or for viewers is also handed to it, and reaches the other instances' hubs
//! ([`Hub::deliver`]); events for one connection stay here.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::ServerEvent;
use super::relay::Relay;
use crate::store::Scope;

/// Outbound frames a connection may have queued before it counts as not reading.
pub const OUTBOUND_QUEUE: usize = 256;

pub type ConnId = u64;

/// Who should hear an event.
#[derive(Debug, Clone, Copy)]
pub enum Audience<'a> {
    /// Every connection that may see a workspace owned by `owner` (`None`: the server owner's
    /// own workspaces, seen only by connections that see everything).
    Viewers { owner: Option<&'a str> },
    /// The same, except one connection (it was told another way).
    ViewersExcept {
        owner: Option<&'a str>,
        except: ConnId,
    },
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
    scope: Scope,
    sessions: HashSet<String>,
}

#[derive(Default)]
struct Inner {
    conns: HashMap<ConnId, Conn>,
    sessions: HashMap<String, HashSet<ConnId>>,
}

/// Whether a connection seeing `scope` may hear about a workspace owned by `owner`.
fn sees(scope: &Scope, owner: Option<&str>) -> bool {
    match scope {
        Scope::All => true,
        Scope::Owner(me) => owner == Some(me.as_str()),
    }
}

/// Cheap to clone.
#[derive(Clone, Default)]
pub struct Hub {
    inner: Arc<Mutex<Inner>>,
    next_id: Arc<AtomicU64>,
    /// The other instances, when there are any (PostgreSQL).
    relay: Arc<std::sync::OnceLock<Relay>>,
}

impl Hub {
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Add a connection that may see `scope`.
    pub fn register(&self, scope: Scope) -> Registration {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed) + 1;
        let (tx, rx) = mpsc::channel(OUTBOUND_QUEUE);
        let evicted = CancellationToken::new();
        self.lock().conns.insert(
            id,
            Conn {
                tx,
                evicted: evicted.clone(),
                scope,
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

    /// Send `event` to a session's participants and to `conn` (once) if it is not one of them:
    /// the answer to a request about a session the sender may not have resumed.
    pub fn publish_to_session_and(&self, session_id: &str, conn: ConnId, event: &ServerEvent) {
        let frame = event.to_frame();
        if !self.is_participant(conn, session_id) {
            self.publish_frame(Audience::Conn(conn), frame.clone());
        }
        self.publish_frame(Audience::Session(session_id), frame);
    }

    /// Pass every later event for sessions and viewers on to the other instances too.
    pub fn attach_relay(&self, relay: Relay) {
        if self.relay.set(relay).is_err() {
            tracing::warn!("a relay was attached twice; the first one stays");
        }
    }

    /// The relay to the other instances, if there are any.
    pub fn relay(&self) -> Option<&Relay> {
        self.relay.get()
    }

    /// Send an already serialized frame (here, and to the other instances if any).
    pub fn publish_frame(&self, audience: Audience<'_>, frame: Frame) -> usize {
        if let Some(relay) = self.relay.get() {
            relay.forward(audience, &frame);
        }
        self.deliver(audience, frame)
    }

    /// Send a frame to this instance's connections only (an event another instance relayed).
    pub fn deliver(&self, audience: Audience<'_>, frame: Frame) -> usize {
        let inner = self.lock();
        let mut sent = 0;
        let mut offer = |conn: &Conn| match conn.tx.try_send(frame.clone()) {
            Ok(()) => sent += 1,
            Err(mpsc::error::TrySendError::Full(_)) => conn.evicted.cancel(),
            Err(mpsc::error::TrySendError::Closed(_)) => {}
        };
        match audience {
            Audience::Viewers { owner } => inner
                .conns
                .values()
                .filter(|c| sees(&c.scope, owner))
                .for_each(&mut offer),
            Audience::ViewersExcept { owner, except } => inner
                .conns
                .iter()
                .filter(|(id, c)| **id != except && sees(&c.scope, owner))
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
        let mut a = hub.register(Scope::All);
        let mut b = hub.register(Scope::All);
        hub.join_session(a.id, "s1");
        hub.join_session(a.id, "s1");
        assert_eq!(hub.publish(Audience::Session("s1"), &ServerEvent::Ping), 1);
        assert!(a.rx.try_recv().is_ok());
        assert!(b.rx.try_recv().is_err());
        assert_eq!(
            hub.publish(
                Audience::ViewersExcept {
                    owner: None,
                    except: a.id
                },
                &ServerEvent::Ping
            ),
            1
        );
        hub.unregister(a.id);
        assert_eq!(hub.publish(Audience::Session("s1"), &ServerEvent::Ping), 0);
    }

    #[tokio::test]
    async fn broadcasts_reach_users_only_for_their_own_workspaces() {
        let hub = Hub::new();
        let user = |id: &str| Scope::Owner(id.into());
        let mut owner = hub.register(Scope::All);
        let mut alice = hub.register(user("alice"));
        let mut bob = hub.register(user("bob"));
        assert_eq!(
            hub.publish(
                Audience::Viewers {
                    owner: Some("alice")
                },
                &ServerEvent::Ping
            ),
            2
        );
        assert!(owner.rx.try_recv().is_ok() && alice.rx.try_recv().is_ok());
        assert!(
            bob.rx.try_recv().is_err(),
            "bob never hears about alice's workspace"
        );
        assert_eq!(
            hub.publish(Audience::Viewers { owner: None }, &ServerEvent::Ping),
            1,
            "the owner's workspaces: owner only"
        );
        assert_eq!(
            hub.publish(
                Audience::ViewersExcept {
                    owner: None,
                    except: owner.id
                },
                &ServerEvent::Ping
            ),
            0
        );
    }

    #[tokio::test]
    async fn session_backlog_is_the_longest_participant_queue() {
        let hub = Hub::new();
        let mut a = hub.register(Scope::All);
        let b = hub.register(Scope::All);
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
        let a = hub.register(Scope::All);
        for _ in 0..OUTBOUND_QUEUE {
            hub.publish(Audience::Viewers { owner: None }, &ServerEvent::Ping);
        }
        assert!(!a.evicted.is_cancelled());
        hub.publish(Audience::Viewers { owner: None }, &ServerEvent::Ping);
        assert!(a.evicted.is_cancelled());
    }
}
