//! Timestamps in the two forms the wire uses: Unix milliseconds (messages, parts) and ISO-8601
//! with milliseconds and `Z` (sessions, workspaces, `timestamp` fields).

use chrono::{SecondsFormat, Utc};

/// Now, in Unix milliseconds.
pub fn now_ms() -> i64 {
    Utc::now().timestamp_millis()
}

/// Now, as `2026-11-22T14:36:51.991Z`.
pub fn now_iso() -> String {
    Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// A Unix-millisecond time as an ISO string (`2026-11-22T14:36:51.991Z`).
pub fn iso_of_ms(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// The clock the OAuth core reads: the system time plus an offset that tests move forward to
/// expire codes and tokens without sleeping. Cheap to clone; clones share the offset.
#[derive(Clone, Default)]
pub struct Clock {
    offset_ms: std::sync::Arc<std::sync::atomic::AtomicI64>,
}

impl Clock {
    /// The system clock.
    pub fn system() -> Self {
        Self::default()
    }

    /// Now, in Unix milliseconds, as this clock sees it.
    pub fn now_ms(&self) -> i64 {
        now_ms() + self.offset_ms.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Now, as a monotonic instant moved forward by the same offset: for windows measured in
    /// [`std::time::Instant`]s (the failed-attempt limiter).
    pub fn instant(&self) -> std::time::Instant {
        let now = std::time::Instant::now();
        let off = self.offset_ms.load(std::sync::atomic::Ordering::Relaxed);
        u64::try_from(off)
            .ok()
            .and_then(|ms| now.checked_add(std::time::Duration::from_millis(ms)))
            .unwrap_or(now)
    }

    /// Move this clock (and every clone) forward.
    pub fn advance(&self, by: std::time::Duration) {
        let ms = i64::try_from(by.as_millis()).unwrap_or(i64::MAX);
        self.offset_ms
            .fetch_add(ms, std::sync::atomic::Ordering::Relaxed);
    }
}

impl std::fmt::Debug for Clock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let off = self.offset_ms.load(std::sync::atomic::Ordering::Relaxed);
        write!(f, "Clock(system{off:+}ms)")
    }
}

/// A Unix-millisecond time as `YYYY-MM-DD` (UTC), the key of per-day counters.
pub fn day_of(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .format("%Y-%m-%d")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advancing_moves_now_and_instant_for_every_clone() {
        let clock = Clock::system();
        let other = clock.clone();
        let (ms, instant) = (other.now_ms(), other.instant());
        clock.advance(std::time::Duration::from_secs(3600));
        assert!(other.now_ms() - ms >= 3_600_000);
        assert!(other.instant() - instant >= std::time::Duration::from_secs(3600));
    }
}
