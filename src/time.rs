//! Timestamps in the two forms the wire uses: Unix milliseconds (messages, parts) and ISO-8601
//! with milliseconds and `Z` (sessions, workspaces, `timestamp` fields).

use chrono::{SecondsFormat, Utc};

/// Now, in Unix milliseconds.
pub fn now_ms() -> i64 {
    Utc::now().timestamp_millis()
}

/// Now, as `2026-11-22T14:36:51.991Z`.
pub fn now_iso() -> String {
    iso_of_ms(now_ms())
}

/// A Unix-millisecond time as an ISO string (`2026-11-22T14:36:51.991Z`).
pub fn iso_of_ms(ms: i64) -> String {
    let mut out = [0u8; ISO_LEN];
    match write_iso(ms, &mut out) {
        Some(text) => text.to_owned(),
        // Years before 0 or after 9999: chrono's longer form (`+10000-01-01T…`).
        None => chrono::DateTime::from_timestamp_millis(ms)
            .unwrap_or_default()
            .to_rfc3339_opts(SecondsFormat::Millis, true),
    }
}

/// The length of `2026-11-22T14:36:51.991Z`.
pub const ISO_LEN: usize = 24;

/// `ms` as `2026-11-22T14:36:51.991Z` written into `out` (arithmetic on the day count, no
/// formatter: chrono's `to_rfc3339_opts` cost a small request's handler more than the rest of
/// its answer); `None` for a year outside 0–9999.
pub fn write_iso(ms: i64, out: &mut [u8; ISO_LEN]) -> Option<&str> {
    let secs = ms.div_euclid(1000);
    let millis = ms.rem_euclid(1000);
    let (year, month, day) = civil_from_days(secs.div_euclid(86_400));
    if !(0..=9999).contains(&year) {
        return None;
    }
    let of_day = secs.rem_euclid(86_400);
    let fields: [(usize, i64, usize); 7] = [
        (0, year, 4),
        (5, month, 2),
        (8, day, 2),
        (11, of_day / 3600, 2),
        (14, of_day / 60 % 60, 2),
        (17, of_day % 60, 2),
        (20, millis, 3),
    ];
    *out = *b"0000-00-00T00:00:00.000Z";
    for (at, mut n, width) in fields {
        for i in (at..at + width).rev() {
            out[i] = b'0' + (n % 10) as u8;
            n /= 10;
        }
    }
    std::str::from_utf8(out).ok()
}

/// Year, month (1–12) and day (1–31) of the proleptic Gregorian calendar for a count of days
/// since 1970-01-01 (Howard Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
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

    fn chrono_iso(ms: i64) -> String {
        chrono::DateTime::from_timestamp_millis(ms)
            .unwrap()
            .to_rfc3339_opts(SecondsFormat::Millis, true)
    }

    #[test]
    fn iso_strings_read_as_chrono_writes_them() {
        let edges = [
            0,
            -1,
            -999,
            -1000,
            1,
            999,
            86_399_999,
            86_400_000,
            951_782_400_000,     // 2000-02-29
            4_107_542_399_999,   // 2100-02-28T23:59:59.999
            4_107_542_400_000,   // 2100-03-01 (not a leap year)
            253_402_300_799_999, // 9999-12-31T23:59:59.999
            -62_167_219_200_000, // 0000-01-01
        ];
        for ms in edges {
            assert_eq!(iso_of_ms(ms), chrono_iso(ms), "{ms}");
        }
        for ms in [253_402_300_800_000, -62_167_219_200_001] {
            assert_eq!(iso_of_ms(ms), chrono_iso(ms), "outside 0-9999: {ms}");
            assert!(write_iso(ms, &mut [0; ISO_LEN]).is_none());
        }
        assert_eq!(now_iso().len(), ISO_LEN);
    }

    proptest::proptest! {
        #[test]
        fn any_time_in_years_0_to_9999_reads_as_chrono_writes_it(
            ms in -62_167_219_200_000i64..=253_402_300_799_999,
        ) {
            proptest::prop_assert_eq!(iso_of_ms(ms), chrono_iso(ms));
        }
    }

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
