//! Failed-authentication limiter: after `max` failures from one key (an address, or an account
//! for sign-ins) within `window`, that key is answered 429 until the window ends. Only failures
//! count. Memory is bounded.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Most addresses tracked at once; beyond this, expired entries are pruned, and if none are,
/// new addresses are not tracked (the limiter never grows without bound under a spoofed flood).
const MAX_TRACKED: usize = 100_000;

/// What failures are counted by. Addresses are grouped (see [`bucket`]); accounts are not.
pub trait LimitKey: Hash + Eq + Clone {
    fn bucket(&self) -> Self;
}

impl LimitKey for IpAddr {
    fn bucket(&self) -> Self {
        bucket(*self)
    }
}

impl LimitKey for String {
    fn bucket(&self) -> Self {
        self.clone()
    }
}

#[derive(Debug)]
pub struct FailureLimiter<K = IpAddr> {
    max: u32,
    window: Duration,
    entries: Mutex<HashMap<K, Entry>>,
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
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// `Err(retry_after)` while `ip` is blocked.
    pub fn check(&self, ip: K, now: Instant) -> Result<(), Duration> {
        let key = ip.bucket();
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        match entries.get(&key) {
            Some(e) if e.failures >= self.max => {
                let until = e.started + self.window;
                if until > now {
                    Err(until - now)
                } else {
                    Ok(())
                }
            }
            _ => Ok(()),
        }
    }

    /// Count one failed attempt from `ip`.
    pub fn record_failure(&self, ip: K, now: Instant) {
        let key = ip.bucket();
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= MAX_TRACKED && !entries.contains_key(&key) {
            let window = self.window;
            entries.retain(|_, e| now.duration_since(e.started) < window);
            if entries.len() >= MAX_TRACKED {
                return;
            }
        }
        let e = entries.entry(key).or_insert(Entry {
            started: now,
            failures: 0,
        });
        if now.duration_since(e.started) >= self.window {
            *e = Entry {
                started: now,
                failures: 0,
            };
        }
        e.failures = e.failures.saturating_add(1);
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
mod tests {
    use super::*;

    #[test]
    fn blocks_after_max_failures_until_window_passes() {
        let l: FailureLimiter = FailureLimiter::new(3, Duration::from_secs(60));
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        let t0 = Instant::now();
        for _ in 0..3 {
            assert!(l.check(ip, t0).is_ok());
            l.record_failure(ip, t0);
        }
        let retry = l.check(ip, t0 + Duration::from_secs(10)).unwrap_err();
        assert_eq!(retry, Duration::from_secs(50));
        assert!(
            l.check("10.0.0.2".parse().unwrap(), t0).is_ok(),
            "other addresses unaffected"
        );
        assert!(l.check(ip, t0 + Duration::from_secs(61)).is_ok());
    }

    #[test]
    fn a_failure_after_the_window_starts_a_new_count() {
        let l: FailureLimiter = FailureLimiter::new(2, Duration::from_secs(60));
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        let t0 = Instant::now();
        l.record_failure(ip, t0);
        let later = t0 + Duration::from_secs(61);
        l.record_failure(ip, later);
        assert!(l.check(ip, later).is_ok(), "one failure in the new window");
        l.record_failure(ip, later + Duration::from_secs(1));
        assert_eq!(
            l.check(ip, later + Duration::from_secs(1)),
            Err(Duration::from_secs(59)),
            "blocked until the new window ends"
        );
    }

    #[test]
    fn accounts_are_counted_exactly_and_ipv4_mapped_addresses_as_ipv4() {
        let l: FailureLimiter<String> = FailureLimiter::new(1, Duration::from_secs(60));
        let t0 = Instant::now();
        l.record_failure("ada@example.com".to_owned(), t0);
        assert!(l.check("ada@example.com".to_owned(), t0).is_err());
        assert!(l.check("bob@example.com".to_owned(), t0).is_ok());

        let l: FailureLimiter = FailureLimiter::new(1, Duration::from_secs(60));
        l.record_failure("::ffff:10.0.0.1".parse().unwrap(), t0);
        assert!(l.check("10.0.0.1".parse().unwrap(), t0).is_err());
    }

    #[test]
    fn a_full_table_prunes_expired_entries_and_then_stops_tracking_new_keys() {
        let l: FailureLimiter<String> = FailureLimiter::new(1, Duration::from_secs(60));
        let t0 = Instant::now();
        for i in 0..MAX_TRACKED {
            l.record_failure(format!("old{i}"), t0);
        }
        let full = t0 + Duration::from_secs(30);
        l.record_failure("new".to_owned(), full);
        assert!(
            l.check("new".to_owned(), full).is_ok(),
            "no entry has expired: a new key is not tracked"
        );
        assert!(l.check("old0".to_owned(), full).is_err(), "old keys stay");

        let expired = t0 + Duration::from_secs(61);
        l.record_failure("new".to_owned(), expired);
        assert!(
            l.check("new".to_owned(), expired).is_err(),
            "expired entries make room"
        );
        assert_eq!(l.entries.lock().unwrap().len(), 1);
    }

    #[test]
    fn ipv6_neighbours_share_a_bucket() {
        let l: FailureLimiter = FailureLimiter::new(1, Duration::from_secs(60));
        let t0 = Instant::now();
        l.record_failure("2001:db8::1".parse().unwrap(), t0);
        assert!(l.check("2001:db8::2".parse().unwrap(), t0).is_err());
        assert!(l.check("2001:db9::1".parse().unwrap(), t0).is_ok());
    }
}
