//! The closing line of a request ([`super::trace::log_done`]), built byte by byte straight into
//! the logging thread's buffer ([`super::logging::Lines::write_with`]): the `fmt` machinery (one dynamic call per piece, padding, a float
//! formatted to a precision) cost a bare server's tenth of a request. The line reads exactly as
//! `tracing-subscriber` writes the lines around it:
//! `2026-01-02T03:04:05.678901Z  INFO GET /path 200 http.route="/path" duration_ms=0.05 request.id="…"`.

use std::cell::Cell;
use std::fmt::{self, Write as _};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::trace::Scrubbed;

/// The closing line's level.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Level {
    Debug,
    Info,
    Warn,
}

/// What the line says.
pub struct Closing<'a> {
    pub level: Level,
    pub method: &'a str,
    pub uri: Scrubbed<'a>,
    pub status: u16,
    pub route: &'a str,
    pub duration: Duration,
    pub id: &'a str,
    /// When the request ended (the end of `duration`; the line's timestamp).
    pub at: Instant,
}

impl Closing<'_> {
    /// Append the line (newline included) to `out`.
    pub fn write_to(&self, out: &mut Vec<u8>) {
        // Room for the whole line at once (the fixed parts take under 100 bytes).
        out.reserve(
            128 + self.uri.path.len()
                + self.uri.query.map_or(0, str::len)
                + self.route.len()
                + self.id.len(),
        );
        Timestamp::at(self.at).write_to(out);
        // The level right-aligned in five columns, a space either side.
        out.extend_from_slice(match self.level {
            Level::Debug => b" DEBUG ",
            Level::Info => b"  INFO ",
            Level::Warn => b"  WARN ",
        });
        out.extend_from_slice(self.method.as_bytes());
        out.push(b' ');
        // Writing to a Vec cannot fail.
        let _ = self.uri.write_into(&mut Bytes(out));
        out.push(b' ');
        push_decimal(out, u64::from(self.status));
        out.extend_from_slice(b" http.route=");
        push_quoted(out, self.route);
        out.extend_from_slice(b" duration_ms=");
        push_millis(out, self.duration);
        out.extend_from_slice(b" request.id=");
        push_quoted(out, self.id);
        out.push(b'\n');
    }
}

/// `fmt::Write` into bytes.
struct Bytes<'a>(&'a mut Vec<u8>);

impl fmt::Write for Bytes<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.0.extend_from_slice(s.as_bytes());
        Ok(())
    }
}

/// `n` in decimal.
fn push_decimal(out: &mut Vec<u8>, n: u64) {
    // Three digits without a loop: every status code.
    if (100..1000).contains(&n) {
        out.extend_from_slice(&[
            b'0' + (n / 100) as u8,
            b'0' + (n / 10 % 10) as u8,
            b'0' + (n % 10) as u8,
        ]);
        return;
    }
    push_padded(out, n, 1);
}

/// `n` in decimal, at least `width` digits (zeros in front).
fn push_padded(out: &mut Vec<u8>, mut n: u64, width: usize) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    while n > 0 || digits.len() - at < width {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
    }
    out.extend_from_slice(&digits[at..]);
}

/// Milliseconds with two decimals (`12.35`), rounded.
fn push_millis(out: &mut Vec<u8>, d: Duration) {
    // In 64 bits: `as_micros` is 128 bits wide, and dividing those is a library call.
    let micros = d
        .as_secs()
        .saturating_mul(1_000_000)
        .saturating_add(u64::from(d.subsec_micros()));
    let hundredths = micros.saturating_add(5) / 10;
    push_decimal(out, hundredths / 100);
    out.push(b'.');
    push_padded(out, hundredths % 100, 2);
}

/// `s` quoted and escaped as `{:?}` writes it (routes and ids almost never need escaping, and
/// are then copied as they are).
fn push_quoted(out: &mut Vec<u8>, s: &str) {
    // Every byte looked at (no early exit), which the compiler does many at a time.
    let plain = s.bytes().fold(true, |plain, b| {
        plain & (b' '..=b'~').contains(&b) & (b != b'"') & (b != b'\\')
    });
    if plain {
        out.push(b'"');
        // A request id made here is 36 bytes: copied as a fixed size, inline (a variable one
        // is a call to `memcpy`, which for a line's ten small pieces cost half its building).
        match <&[u8; 36]>::try_from(s.as_bytes()) {
            Ok(id) => out.extend_from_slice(id),
            Err(_) => out.extend_from_slice(s.as_bytes()),
        }
        out.push(b'"');
    } else {
        let _ = write!(Bytes(out), "{s:?}");
    }
}

/// The time as `tracing-subscriber` writes it (`2026-01-02T03:04:05.678901Z`); the part up to
/// the second is formatted once a second per thread.
struct Timestamp {
    secs: i64,
    micros: u32,
}

impl Timestamp {
    /// The wall-clock time at `at`: the clock read at most a second earlier on this thread plus
    /// the monotonic time since (the request's end was read already; reading the wall clock too
    /// cost as much as building the rest of the line). Within that second the two clocks drift
    /// apart by what NTP slews them, microseconds at most.
    fn at(at: Instant) -> Self {
        thread_local! {
            static ANCHOR: Cell<Option<(Instant, SystemTime)>> = const { Cell::new(None) };
        }
        let wall = ANCHOR.with(|anchor| match anchor.get() {
            Some((then, wall)) if at >= then && at - then < Duration::from_secs(1) => {
                wall + (at - then)
            }
            _ => {
                let wall = SystemTime::now();
                anchor.set(Some((at, wall)));
                wall
            }
        });
        let since = wall.duration_since(UNIX_EPOCH).unwrap_or_default();
        Timestamp {
            secs: i64::try_from(since.as_secs()).unwrap_or(i64::MAX),
            micros: since.subsec_micros(),
        }
    }

    fn write_to(&self, out: &mut Vec<u8>) {
        /// `2026-01-02T03:04:05`.
        type Second = [u8; 19];
        thread_local! {
            static SECOND: Cell<(i64, Option<Second>)> = const { Cell::new((i64::MIN, None)) };
        }
        let second = SECOND.with(|cell| match cell.get() {
            (secs, text) if secs == self.secs => text,
            _ => {
                let mut iso = [0; crate::time::ISO_LEN];
                let text = crate::time::write_iso(self.secs.saturating_mul(1000), &mut iso)
                    .and_then(|iso| Second::try_from(&iso.as_bytes()[..19]).ok());
                cell.set((self.secs, text));
                text
            }
        });
        // Fixed sizes, copied inline.
        match second {
            Some(text) => out.extend_from_slice(&text),
            // Beyond year 9999.
            None => {
                let at = chrono::DateTime::from_timestamp(self.secs, 0).unwrap_or_default();
                let _ = write!(Bytes(out), "{}", at.format("%Y-%m-%dT%H:%M:%S"));
            }
        }
        let mut fraction = *b".000000Z";
        let mut micros = self.micros;
        for digit in fraction[1..7].iter_mut().rev() {
            *digit = b'0' + (micros % 10) as u8;
            micros /= 10;
        }
        out.extend_from_slice(&fraction);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(write: impl FnOnce(&mut Vec<u8>)) -> String {
        let mut out = Vec::new();
        write(&mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn numbers_and_quoted_fields_read_as_the_standard_formats_write_them() {
        for n in [0, 7, 42, 99, 100, 200, 404, 999, 1000, 65_535, u64::MAX] {
            assert_eq!(text(|o| push_decimal(o, n)), n.to_string());
        }
        assert_eq!(text(|o| push_padded(o, 5, 6)), "000005");
        assert_eq!(text(|o| push_padded(o, 0, 2)), "00");
        let ms = |micros| text(|o| push_millis(o, Duration::from_micros(micros)));
        assert_eq!(ms(0), "0.00");
        assert_eq!(ms(54), "0.05");
        assert_eq!(ms(12_345), "12.35");
        assert_eq!(ms(2_000_004), "2000.00");
        for s in [
            "/api/sessions/{id}",
            "",
            "a \"quoted\" id",
            "tab\there",
            "é",
            "back\\slash",
            "721d1672-310b-280c-0000-000000000000",
            "721d1672-310b-280c-0000-00000000000\"",
        ] {
            assert_eq!(text(|o| push_quoted(o, s)), format!("{s:?}"));
        }
    }

    #[test]
    fn timestamps_are_written_like_tracing_subscribers_own() {
        let at = |secs, micros| text(|o| Timestamp { secs, micros }.write_to(o));
        assert_eq!(at(0, 5), "1970-01-01T00:00:00.000005Z");
        assert_eq!(at(1_798_761_599, 999_999), "2026-12-31T23:59:59.999999Z");
        assert_eq!(at(1_798_761_600, 0), "2027-01-01T00:00:00.000000Z");
        assert_eq!(
            at(1_798_761_600, 0),
            "2027-01-01T00:00:00.000000Z",
            "cached"
        );
        assert_eq!(at(1_798_761_601, 120), "2027-01-01T00:00:01.000120Z");
        assert_eq!(at(253_402_300_800, 1), "+10000-01-01T00:00:00.000001Z");
    }

    #[test]
    fn a_line_is_stamped_with_the_wall_clock() {
        let secs = |t: SystemTime| t.duration_since(UNIX_EPOCH).unwrap().as_secs_f64();
        let before = secs(SystemTime::now());
        let first = Timestamp::at(Instant::now());
        std::thread::sleep(Duration::from_millis(20));
        let second = Timestamp::at(Instant::now());
        let after = secs(SystemTime::now());
        let value = |t: &Timestamp| t.secs as f64 + f64::from(t.micros) / 1e6;
        // A few hundred microseconds of slack: the clocks are read a few calls apart.
        assert!(value(&first) >= before - 1e-3 && value(&first) <= after + 1e-3);
        assert!(
            value(&second) >= value(&first) + 0.019,
            "the monotonic time since is added"
        );
        assert!(value(&second) <= after + 1e-3);
    }

    #[test]
    fn a_whole_line_reads_like_the_formatted_one() {
        let uri: axum::http::Uri = "/api/x?token=s3cret&limit=5".parse().unwrap();
        let closing = Closing {
            level: Level::Info,
            method: "GET",
            uri: Scrubbed::of(&uri),
            status: 200,
            route: "/api/x",
            duration: Duration::from_micros(1_234),
            id: "abc",
            at: Instant::now(),
        };
        let line = text(|o| closing.write_to(o));
        let (time, rest) = line.split_once(' ').unwrap();
        assert_eq!(time.len(), "2026-01-02T03:04:05.678901Z".len(), "{line}");
        assert_eq!(
            rest,
            " INFO GET /api/x?token=***&limit=5 200 http.route=\"/api/x\" duration_ms=1.23 \
             request.id=\"abc\"\n"
        );
    }
}
