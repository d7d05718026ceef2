//! The hub: every open WebSocket connection, which sessions each has resumed, what credential
//! it was opened with, and a bounded outbound queue per connection ([`Link`]). An event is
//! serialized once and offered to each recipient's queue; a connection whose queue is full is
//! told to close (a client that does not read is disconnected rather than slowing anyone else).
//! Revoking a credential ([`Hub::revoke`]) closes the connections opened with it, the terminal
//! sockets included (they are only watched, [`Hub::watch`]: no events, no heartbeat); one shared
//! heartbeat ([`Hub::heartbeat`]) pings every connection, instead of a timer per connection.
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
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use super::ServerEvent;
use super::credential::{Credential, Revoked};
pub use super::link::{CloseReason, Frame, Link, OUTBOUND_QUEUE};
use super::relay::Relay;
use crate::store::Scope;

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

/// One registered connection, as the connection task sees it.
pub struct Registration {
    pub id: ConnId,
    /// Its queue, heartbeat count and close request.
    pub link: Arc<Link>,
}

struct Conn {
    link: Arc<Link>,
    scope: Scope,
    credential: Credential,
    sessions: HashSet<String>,
}

struct Watched {
    link: Arc<Link>,
    credential: Credential,
}

#[derive(Default)]
struct Inner {
    /// Boxed: a table of 10,000 connections has up to twice as many slots, and an empty slot
    /// then costs a pointer, not a whole entry.
    conns: HashMap<ConnId, Box<Conn>>,
    sessions: HashMap<String, HashSet<ConnId>>,
    /// Sockets that hear no events but must close when their credential is revoked (terminals).
    watched: HashMap<ConnId, Watched>,
    /// Set at shutdown: a connection registering later is closed at once.
    closing: Option<CloseReason>,
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
    heartbeat_started: Arc<AtomicBool>,
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

    /// Add a connection that may see `scope`, opened with `credential`.
    pub fn register(&self, scope: Scope, credential: Credential) -> Registration {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed) + 1;
        let link = Arc::new(Link::default());
        let mut inner = self.lock();
        if let Some(reason) = inner.closing {
            link.close(reason);
        }
        inner.conns.insert(
            id,
            Box::new(Conn {
                link: link.clone(),
                scope,
                credential,
                sessions: HashSet::new(),
            }),
        );
        Registration { id, link }
    }

    /// Watch a socket opened with `credential` that hears no events: its link only ever carries
    /// a close (revocation, shutdown). [`Hub::unregister`] ends the watch.
    pub fn watch(&self, credential: Credential) -> Registration {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed) + 1;
        let link = Arc::new(Link::default());
        let mut inner = self.lock();
        if let Some(reason) = inner.closing {
            link.close(reason);
        }
        let watched = Watched {
            link: link.clone(),
            credential,
        };
        inner.watched.insert(id, watched);
        Registration { id, link }
    }

    /// Remove a connection and its session memberships.
    pub fn unregister(&self, id: ConnId) {
        let mut inner = self.lock();
        if inner.watched.remove(&id).is_some() {
            return;
        }
        if let Some(conn) = inner.conns.remove(&id) {
            for s in conn.sessions {
                if let Some(set) = inner.sessions.get_mut(&s) {
                    set.remove(&id);
                    if set.is_empty() {
                        inner.sessions.remove(&s);
                    }
                }
            }
            // A spike of connections leaves a table sized for it; give it back once three
            // quarters are gone (halving keeps the cost amortised O(1) per connection).
            let (len, capacity) = (inner.conns.len(), inner.conns.capacity());
            if capacity > 1024 && len * 4 < capacity {
                inner.conns.shrink_to(len * 2);
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
            .map(|c| c.link.backlog())
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
        let mut offer = |conn: &Conn| {
            if conn.link.push(frame.clone()) {
                sent += 1;
            }
        };
        match audience {
            Audience::Viewers { owner } => inner
                .conns
                .values()
                .filter(|c| sees(&c.scope, owner))
                .for_each(|c| offer(c)),
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

    /// One heartbeat period passed: ping every connection (closing those that left too many
    /// pings unanswered).
    pub fn heartbeat(&self) {
        let ping = ServerEvent::Ping.to_frame();
        for conn in self.lock().conns.values() {
            conn.link.heartbeat(&ping);
        }
    }

    /// The client of `id` answered a heartbeat.
    pub fn pong(&self, id: ConnId) {
        if let Some(c) = self.lock().conns.get(&id) {
            c.link.pong();
        }
    }

    /// `true` once: for whoever starts the shared heartbeat.
    pub fn claim_heartbeat(&self) -> bool {
        !self.heartbeat_started.swap(true, Ordering::AcqRel)
    }

    /// Close the connections opened with what was revoked. Returns how many.
    pub fn revoke(&self, revoked: Revoked<'_>) -> usize {
        let inner = self.lock();
        let mut closed = 0;
        let all = inner.conns.values().map(|c| (&c.credential, &c.link));
        let watched = inner.watched.values().map(|w| (&w.credential, &w.link));
        for (credential, link) in all.chain(watched) {
            if credential.is_revoked_by(revoked) {
                link.close(CloseReason::Revoked);
                closed += 1;
            }
        }
        closed
    }

    /// Close one connection.
    pub fn close(&self, id: ConnId, reason: CloseReason) {
        let inner = self.lock();
        if let Some(c) = inner.conns.get(&id) {
            c.link.close(reason);
        } else if let Some(w) = inner.watched.get(&id) {
            w.link.close(reason);
        }
    }

    /// Close every connection, and any that registers from now on (shutdown).
    pub fn close_all(&self, reason: CloseReason) {
        let mut inner = self.lock();
        inner.closing = Some(reason);
        for conn in inner.conns.values() {
            conn.link.close(reason);
        }
        for w in inner.watched.values() {
            w.link.close(reason);
        }
    }

    /// The connections opened with an API key or an access token, and their credentials: what
    /// to check again when the database may have changed behind the server's back.
    pub fn oauth_credentials(&self) -> Vec<(ConnId, Credential)> {
        let inner = self.lock();
        let all = inner.conns.iter().map(|(id, c)| (id, &c.credential));
        let watched = inner.watched.iter().map(|(id, w)| (id, &w.credential));
        all.chain(watched)
            .filter(|(_, c)| c.is_oauth())
            .map(|(id, c)| (*id, c.clone()))
            .collect()
    }
}

#[cfg(test)]
#[path = "hub_tests.rs"]
mod tests;
