//! Unit tests of the failed-attempt limiter.

use super::*;

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

#[test]
fn blocks_after_max_failures_until_window_passes() {
    let l: FailureLimiter = FailureLimiter::new(3, Duration::from_secs(60));
    let t0 = Instant::now();
    for _ in 0..3 {
        assert!(l.check(ip("10.0.0.1"), t0).is_ok());
        l.record_failure(ip("10.0.0.1"), t0);
    }
    let retry = l
        .check(ip("10.0.0.1"), t0 + Duration::from_secs(10))
        .unwrap_err();
    assert_eq!(retry, Duration::from_secs(50));
    assert!(
        l.check(ip("10.0.0.2"), t0).is_ok(),
        "other addresses unaffected"
    );
    assert!(
        l.check(ip("10.0.0.1"), t0 + Duration::from_secs(61))
            .is_ok()
    );
}

#[test]
fn a_failure_after_the_window_starts_a_new_count() {
    let l: FailureLimiter = FailureLimiter::new(2, Duration::from_secs(60));
    let t0 = Instant::now();
    l.record_failure(ip("10.0.0.1"), t0);
    let later = t0 + Duration::from_secs(61);
    l.record_failure(ip("10.0.0.1"), later);
    assert!(
        l.check(ip("10.0.0.1"), later).is_ok(),
        "one failure in the new window"
    );
    l.record_failure(ip("10.0.0.1"), later + Duration::from_secs(1));
    assert_eq!(
        l.check(ip("10.0.0.1"), later + Duration::from_secs(1)),
        Err(Duration::from_secs(59)),
        "blocked until the new window ends"
    );
}

#[test]
fn attempts_are_checked_and_counted_in_one_step_and_successes_are_forgiven() {
    let l: FailureLimiter = FailureLimiter::new(3, Duration::from_secs(60));
    let t0 = Instant::now();
    // Three attempts in flight at once use up the allowance: the fourth is refused before
    // any of them has finished.
    for i in 0..3 {
        assert!(l.attempt(ip("10.0.0.1"), t0).is_ok(), "attempt {i}");
    }
    assert_eq!(l.attempt(ip("10.0.0.1"), t0), Err(Duration::from_secs(60)));
    // One of them succeeded: it no longer counts.
    l.forgive(ip("10.0.0.1"));
    assert!(l.attempt(ip("10.0.0.1"), t0).is_ok());
    assert!(l.attempt(ip("10.0.0.1"), t0).is_err());
}

#[test]
fn accounts_are_keyed_by_digest_and_ipv4_mapped_addresses_as_ipv4() {
    let l: FailureLimiter<AccountKey> = FailureLimiter::new(1, Duration::from_secs(60));
    let t0 = Instant::now();
    l.record_failure(AccountKey::of("ada@example.com"), t0);
    assert!(l.check(AccountKey::of("ada@example.com"), t0).is_err());
    assert!(l.check(AccountKey::of("bob@example.com"), t0).is_ok());
    assert_eq!(
        std::mem::size_of::<AccountKey>(),
        32,
        "a key costs 32 bytes whatever was typed"
    );

    let l: FailureLimiter = FailureLimiter::new(1, Duration::from_secs(60));
    l.record_failure(ip("::ffff:10.0.0.1"), t0);
    assert!(l.check(ip("10.0.0.1"), t0).is_err());
}

fn account(i: usize) -> AccountKey {
    AccountKey::of(&format!("user{i}@example.com"))
}

#[test]
fn a_full_table_evicts_its_oldest_entry_and_keeps_tracking_new_keys() {
    let l: FailureLimiter<AccountKey> = FailureLimiter::new(1, Duration::from_secs(60));
    let t0 = Instant::now();
    for i in 0..MAX_TRACKED {
        let at = t0 + Duration::from_millis(i as u64 / 1000);
        l.record_failure(account(i), at);
    }
    let full = t0 + Duration::from_secs(30);
    l.record_failure(AccountKey::of("new"), full);
    assert!(
        l.check(AccountKey::of("new"), full).is_err(),
        "a new key is tracked even though no entry has expired"
    );
    assert!(
        l.check(account(0), full).is_ok(),
        "the oldest entry made room"
    );
    assert!(l.check(account(1), full).is_err(), "the others stay");
    assert_eq!(l.tracked(), (MAX_TRACKED, MAX_TRACKED));

    let expired = t0 + Duration::from_secs(61);
    l.record_failure(AccountKey::of("newer"), expired);
    assert_eq!(
        l.tracked(),
        (2, 2),
        "expired entries are dropped from the front"
    );
}

#[test]
fn restarted_windows_leave_no_growing_queue() {
    let l: FailureLimiter = FailureLimiter::new(1, Duration::from_secs(1));
    let t0 = Instant::now();
    for round in 0..1000u64 {
        let at = t0 + Duration::from_secs(round * 2);
        l.record_failure(ip("10.0.0.1"), at);
        l.record_failure(ip("10.0.0.2"), at);
    }
    assert_eq!(l.tracked(), (2, 2));
}

#[test]
fn ipv6_neighbours_share_a_bucket() {
    let l: FailureLimiter = FailureLimiter::new(1, Duration::from_secs(60));
    let t0 = Instant::now();
    l.record_failure(ip("2001:db8::1"), t0);
    assert!(l.check(ip("2001:db8::2"), t0).is_err());
    assert!(l.check(ip("2001:db9::1"), t0).is_ok());
}
