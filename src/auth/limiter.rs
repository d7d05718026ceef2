//! Failed-authentication limiter: after `max` failures from one key (an address, or an account
//! for sign-ins) within `window`, that key is answered 429 until the window ends. Only failures
//! count; [`FailureLimiter::attempt`] checks and counts in one step (a success is forgiven
//! afterwards), so parallel attempts cannot all pass the check before any failure is recorded.
//!
//! Memory is bounded: accounts are keyed by a SHA-256 digest ([`AccountKey`]), never by what
//! was typed, and at most [`MAX_TRACKED`] keys are held. When the table is full the oldest entry
//! is evicted. Entries are queued in the order their windows started, so pruning expired ones
//! and evicting the oldest pop from the front: amortised O(1) per request, never a scan.

use std::collections::{HashMap, VecDeque};
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

/// Most keys tracked at once; beyond this the oldest is forgotten.
pub const MAX_TRACKED: usize = 100_000;

/// What failures are counted by. Addresses are grouped (see [`bucket`]); accounts are not.
pub trait LimitKey: Hash + Eq + Clone {
    fn bucket(&self) -> Self;
}

impl LimitKey for IpAddr {
    fn bucket(&self) -> Self {
        bucket(*self)
    }
}

/// An account as the limiter knows it: the SHA-256 of its normalised e-mail, 32 bytes whatever
/// was typed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AccountKey([u8; 32]);

impl AccountKey {
    pub fn of(normalized_email: &str) -> Self {
        Self(Sha256::digest(normalized_email.as_bytes()).into())
    }
}

impl LimitKey for AccountKey {
    fn bucket(&self) -> Self {
        *self
    }
}

#[derive(Debug)]
pub struct FailureLimiter<K = IpAddr> {
    max: u32,
    window: Duration,
    table: Mutex<Table<K>>,
    /// How many keys the table holds, as of its last change: while it holds none (the usual
    /// case), [`FailureLimiter::check`] answers without taking the lock every request would
    /// otherwise queue on.
    tracked: AtomicUsize,
}

#[derive(Debug)]
struct Table<K> {
    entries: HashMap<K, Entry>,
    /// Keys in the order their windows started, with that start. A record whose start is not
    /// its entry's any more is stale and skipped.
    order: VecDeque<(K, Instant)>,
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    started: Instant,
    failures: u32,
}

impl<K: LimitKey> FailureLimiter<K> {
    pub fn new(max: u32, window: Duration) -> Self {
        Self {
            max,
            window,
            table: Mutex::new(Table {
                entries: HashMap::new(),
                order: VecDeque::new(),
            }),
            tracked: AtomicUsize::new(0),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Table<K>> {
        self.table.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// `Err(retry_after)` while `key` is blocked.
    pub fn check(&self, key: K, now: Instant) -> Result<(), Duration> {
        if self.is_quiet() {
            return Ok(());
        }
        let table = self.lock();
        match table.entries.get(&key.bucket()) {
            Some(e) => self.blocked(e, now),
            None => Ok(()),
        }
    }

    /// Whether no key is tracked (then nobody is blocked, and the request path need not even
    /// read the clock for [`FailureLimiter::check`]).
    pub fn is_quiet(&self) -> bool {
        self.tracked.load(Ordering::Acquire) == 0
    }

    /// Check and count in one step: `Err(retry_after)` while blocked; otherwise this attempt is
    /// counted as a failure now, and [`FailureLimiter::forgive`] takes it back if it succeeds.
    pub fn attempt(&self, key: K, now: Instant) -> Result<(), Duration> {
        let mut table = self.lock();
        let entry = table.entry(key.bucket(), now, self.window);
        let verdict = self.blocked(entry, now);
        if verdict.is_ok() {
            entry.failures = entry.failures.saturating_add(1);
        }
        self.tracked.store(table.entries.len(), Ordering::Release);
        verdict
    }

    /// Take back one attempt counted by [`FailureLimiter::attempt`] (it succeeded).
    pub fn forgive(&self, key: K) {
        let mut table = self.lock();
        if let Some(e) = table.entries.get_mut(&key.bucket()) {
            e.failures = e.failures.saturating_sub(1);
        }
    }

    /// Count one failed attempt from `key`.
    pub fn record_failure(&self, key: K, now: Instant) {
        let mut table = self.lock();
        let entry = table.entry(key.bucket(), now, self.window);
        entry.failures = entry.failures.saturating_add(1);
        self.tracked.store(table.entries.len(), Ordering::Release);
    }

    fn blocked(&self, e: &Entry, now: Instant) -> Result<(), Duration> {
        let until = e.started + self.window;
        if e.failures >= self.max && until > now {
            Err(until - now)
        } else {
            Ok(())
        }
    }

    #[cfg(test)]
    fn tracked(&self) -> (usize, usize) {
        let t = self.lock();
        (t.entries.len(), t.order.len())
    }
}

impl<K: LimitKey> Table<K> {
    /// The live entry of `key`, started now if it had none or its window had passed. Expired
    /// entries at the front go first; if the table is still full, the oldest entry does.
    fn entry(&mut self, key: K, now: Instant, window: Duration) -> &mut Entry {
        self.prune(now, window);
        let fresh = Entry {
            started: now,
            failures: 0,
        };
        let live = self
            .entries
            .get(&key)
            .map(|e| now.duration_since(e.started) < window);
        if live != Some(true) {
            if live.is_none() && self.entries.len() >= MAX_TRACKED {
                self.evict_oldest();
            }
            self.entries.insert(key.clone(), fresh);
            self.order.push_back((key.clone(), now));
        }
        self.entries.entry(key).or_insert(fresh)
    }

    /// Whether the front record is stale (its entry was restarted or is gone).
    fn front_is_stale(&self) -> Option<bool> {
        let (k, started) = self.order.front()?;
        Some(self.entries.get(k).is_none_or(|e| e.started != *started))
    }

    /// Drop stale records and expired entries from the front.
    fn prune(&mut self, now: Instant, window: Duration) {
        while let Some(stale) = self.front_is_stale() {
            let Some((k, started)) = self.order.front() else {
                break;
            };
            if !stale && now.duration_since(*started) < window {
                break;
            }
            if !stale {
                self.entries.remove(k);
            }
            self.order.pop_front();
        }
    }

    /// Forget the entry whose window started first.
    fn evict_oldest(&mut self) {
        while let Some(stale) = self.front_is_stale() {
            let Some((k, _)) = self.order.pop_front() else {
                break;
            };
            if !stale {
                self.entries.remove(&k);
                return;
            }
        }
    }
}

/// IPv6 addresses are grouped by /64, the smallest block one host usually controls.
fn bucket(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return IpAddr::V4(v4);
            }
            let s = v6.segments();
            IpAddr::V6(std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
        }
        v4 => v4,
    }
}

#[cfg(test)]
#[path = "limiter_tests.rs"]
mod tests;
