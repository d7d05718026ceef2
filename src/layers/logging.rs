//! The process's log writer: a request never waits for the log, and logging a line costs a
//! copy into a shared buffer under a short lock. Lines are formatted on the thread that logs
//! them; one writer thread takes the whole buffer and writes it to standard output (the daemon's
//! `server.log`) in one system call, at most once every [`WRITE_EVERY`] (sooner once it holds
//! [`WRITE_AT`] bytes). The first line after a quiet spell is written at once (`jean2 start`
//! then `jean2 logs` shows the start-up lines); while nothing is logged the writer sleeps, so an
//! idle server does not wake up for its log.
//!
//! Not `tracing-appender`'s non-blocking writer: it allocates every line and hands it through a
//! channel that wakes its writer thread per line, which cost a third of the throughput of a
//! small authenticated request (docs/benchmarks.md, "Request path").
//!
//! When the log cannot keep up (a full disk, a stalled pipe, a flood), new lines are dropped once
//! [`MAX_BUFFERED`] bytes wait, never waited for, and counted; every [`DROP_REPORT`] in which lines
//! were lost ends with a warning that says how many, and how many in all since the start.

use std::io::{self, IsTerminal as _, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use tracing_subscriber::fmt::MakeWriter;

/// Bytes that may wait for the writer (about 8,000 lines of 250 bytes).
pub const MAX_BUFFERED: usize = 2 * 1024 * 1024;
/// The writer is woken early once this much waits.
pub const WRITE_AT: usize = 64 * 1024;
/// How long a line may wait for the writer.
pub const WRITE_EVERY: Duration = Duration::from_millis(20);
/// How often lost lines are reported.
pub const DROP_REPORT: Duration = Duration::from_secs(10);

#[derive(Default)]
struct Buffer {
    bytes: Vec<u8>,
    closed: bool,
}

#[derive(Default)]
struct Shared {
    buffer: Mutex<Buffer>,
    wake: Condvar,
    dropped: AtomicU64,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Buffer> {
        self.buffer.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Where the log's lines go: cheap to clone, one per `tracing` event.
#[derive(Clone)]
pub struct Lines(Arc<Shared>);

impl Write for Lines {
    /// The formatter writes each line with one call; a line that does not fit is dropped whole.
    fn write(&mut self, line: &[u8]) -> io::Result<usize> {
        self.write_bytes(line);
        Ok(line.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Lines {
    /// Copy one line (ending in a newline) into the shared buffer: no `tracing` event, no
    /// allocation. A line that does not fit is dropped whole (and counted).
    pub fn write_bytes(&self, line: &[u8]) {
        let mut buf = self.0.lock();
        if buf.bytes.len() + line.len() > MAX_BUFFERED {
            drop(buf);
            self.0.dropped.fetch_add(1, Ordering::Relaxed);
            return;
        }
        let before = buf.bytes.len();
        buf.bytes.extend_from_slice(line);
        // The first line wakes an idle writer (under load, about once per WRITE_EVERY); a
        // full WRITE_AT wakes it early.
        let wake = before == 0 || (before < WRITE_AT && buf.bytes.len() >= WRITE_AT);
        drop(buf);
        if wake {
            self.0.wake.notify_one();
        }
    }
}

/// The buffer of the process's log when [`init`] installed it without colours: the request log
/// ([`super::trace::log_done`]) writes its closing lines there itself, in the plain format of
/// the `tracing` lines beside them.
static DIRECT: OnceLock<Lines> = OnceLock::new();

/// The buffer to write plain lines to directly, if there is one.
pub fn direct() -> Option<&'static Lines> {
    DIRECT.get()
}

impl<'a> MakeWriter<'a> for Lines {
    type Writer = Lines;

    fn make_writer(&'a self) -> Lines {
        self.clone()
    }
}

/// Keeps the writer thread running; dropping it writes out what is buffered.
pub struct LogGuard {
    shared: Arc<Shared>,
    writer: Option<JoinHandle<()>>,
}

impl Drop for LogGuard {
    fn drop(&mut self) {
        self.shared.lock().closed = true;
        self.shared.wake.notify_one();
        if let Some(writer) = self.writer.take() {
            let _ = writer.join();
        }
    }
}

/// Start a writer thread that writes what [`Lines`] gather to `out`.
pub fn start(out: impl Write + Send + 'static) -> io::Result<(Lines, LogGuard)> {
    let shared = Arc::new(Shared::default());
    let for_writer = shared.clone();
    let writer = std::thread::Builder::new()
        .name("jean2-log".into())
        .spawn(move || write_out(&for_writer, out))?;
    let guard = LogGuard {
        shared: shared.clone(),
        writer: Some(writer),
    };
    Ok((Lines(shared), guard))
}

/// The writer thread: swap the buffer out, write it, until closed and empty.
fn write_out(shared: &Shared, mut out: impl Write) {
    let mut spare = Vec::with_capacity(WRITE_AT);
    // When the last batch was written.
    let mut written: Option<Instant> = None;
    loop {
        let closed = {
            let mut buf = shared.lock();
            // Nothing to write: sleep until a line comes (or the log closes).
            while buf.bytes.is_empty() && !buf.closed {
                buf = shared.wake.wait(buf).unwrap_or_else(|e| e.into_inner());
            }
            // At most one write per WRITE_EVERY: lines that follow a write wait for the rest of
            // it, gathering (a busy log is written in pieces of WRITE_AT); after a quiet spell
            // the first line goes out at once.
            let due = written.map(|at| at + WRITE_EVERY);
            if let Some(wait) = due.and_then(|due| due.checked_duration_since(Instant::now()))
                && buf.bytes.len() < WRITE_AT
                && !buf.closed
            {
                buf = shared
                    .wake
                    .wait_timeout(buf, wait)
                    .map(|(b, _)| b)
                    .unwrap_or_else(|e| e.into_inner().0);
            }
            std::mem::swap(&mut buf.bytes, &mut spare);
            buf.closed
        };
        if !spare.is_empty() {
            // Nowhere to report a failing log; the lines are lost.
            let _ = out.write_all(&spare).and_then(|()| out.flush());
            spare.clear();
            written = Some(Instant::now());
        }
        if closed && shared.lock().bytes.is_empty() {
            return;
        }
    }
}

/// Install the global subscriber: `filter` (an `EnvFilter` directive such as `info`), ANSI
/// colours only on a terminal, through the buffered writer.
pub fn init(filter: &str) -> Option<LogGuard> {
    let filter = tracing_subscriber::EnvFilter::try_new(filter)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let stdout = io::stdout();
    let ansi = stdout.is_terminal();
    let fmt = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi)
        .with_target(false);
    match start(stdout) {
        Ok((lines, guard)) => {
            fmt.with_writer(lines.clone()).init();
            if !ansi {
                let _ = DIRECT.set(lines.clone());
            }
            report_drops(lines);
            Some(guard)
        }
        Err(e) => {
            // Without the thread, lines go out directly: slower, never lost.
            fmt.init();
            tracing::warn!(error = %e, "cannot start the log writer thread; writing directly");
            None
        }
    }
}

/// A small thread that reports lost lines (the log is the one thing it cannot report through
/// while they are being lost, so it reports afterwards).
fn report_drops(lines: Lines) {
    let spawned = std::thread::Builder::new()
        .name("jean2-log-drops".into())
        .stack_size(64 * 1024)
        .spawn(move || {
            let mut reported = 0;
            loop {
                std::thread::sleep(DROP_REPORT);
                let dropped = lines.0.dropped.load(Ordering::Relaxed);
                if dropped > reported {
                    tracing::warn!(
                        log.dropped_lines = dropped - reported,
                        log.dropped_total = dropped,
                        "the log could not keep up; {} lines were dropped",
                        dropped - reported
                    );
                    reported = dropped;
                }
            }
        });
    if let Err(e) = spawned {
        tracing::warn!(error = %e, "cannot start the thread that reports dropped log lines");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A sink the test can read, that can be made to stall.
    #[derive(Clone, Default)]
    struct Sink {
        bytes: Arc<Mutex<Vec<u8>>>,
        stall: Arc<Mutex<()>>,
    }

    impl Write for Sink {
        fn write(&mut self, b: &[u8]) -> io::Result<usize> {
            let _stalled = self.stall.lock().unwrap();
            self.bytes.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn every_line_is_written_in_order_by_the_time_the_guard_is_dropped() {
        let sink = Sink::default();
        let (mut lines, guard) = start(sink.clone()).unwrap();
        let want: Vec<String> = (0..5_000).map(|i| format!("line {i}\n")).collect();
        for l in &want {
            lines.write_all(l.as_bytes()).unwrap();
        }
        drop(guard);
        assert_eq!(
            String::from_utf8(sink.bytes.lock().unwrap().clone()).unwrap(),
            want.concat()
        );
    }

    /// The writer sleeps while nothing is logged, and the first line wakes it: a line written
    /// to an idle log reaches the output without the guard being dropped.
    #[test]
    fn a_line_written_to_an_idle_log_is_written_out() {
        let sink = Sink::default();
        let (lines, guard) = start(sink.clone()).unwrap();
        let written = |want: &[u8]| {
            // Bounded: 10 s is 500 times the writer's interval.
            for _ in 0..1000 {
                if sink.bytes.lock().unwrap().as_slice() == want {
                    return true;
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            false
        };
        // Let the writer go idle, then log: twice, the second time after it wrote the first.
        lines.write_bytes(b"one\n");
        assert!(written(b"one\n"), "the first line was not written");
        lines.write_bytes(b"two\n");
        assert!(
            written(b"one\ntwo\n"),
            "a line after an idle spell was not written"
        );
        drop(guard);
    }

    #[test]
    fn a_stalled_log_drops_whole_lines_and_counts_them_instead_of_waiting() {
        let sink = Sink::default();
        let stalled = sink.stall.lock().unwrap();
        let (mut lines, guard) = start(sink.clone()).unwrap();
        let line = [b'x'; 1000];
        let n = 3 * MAX_BUFFERED / line.len();
        for _ in 0..n {
            lines.write_all(&line).unwrap();
        }
        let dropped = lines.0.dropped.load(Ordering::Relaxed) as usize;
        assert!(dropped >= n / 3, "{dropped} of {n} dropped");
        drop(stalled);
        drop(guard);
        let written = sink.bytes.lock().unwrap().len();
        assert_eq!(written, (n - dropped) * line.len(), "whole lines only");
    }

    #[test]
    fn formatted_lines_join_the_written_ones_and_a_full_buffer_drops_them_whole() {
        let sink = Sink::default();
        let stalled = sink.stall.lock().unwrap();
        let (mut lines, guard) = start(sink.clone()).unwrap();
        lines.write_all(b"first\n").unwrap();
        lines.write_bytes(b"second 2\n");
        let big = "y".repeat(1000);
        let n = 3 * MAX_BUFFERED / 1001;
        for _ in 0..n {
            lines.write_bytes(format!("{big}\n").as_bytes());
        }
        let dropped = lines.0.dropped.load(Ordering::Relaxed) as usize;
        assert!(dropped >= n / 3, "{dropped} of {n} dropped");
        drop(stalled);
        drop(guard);
        let text = String::from_utf8(sink.bytes.lock().unwrap().clone()).unwrap();
        assert!(text.starts_with("first\nsecond 2\n"), "{}", &text[..20]);
        assert_eq!(text.len(), 15 + (n - dropped) * 1001, "whole lines only");
    }
}
