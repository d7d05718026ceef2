//! The process's log writer: a request never waits for the log. Lines are formatted on the
//! thread that logs them and handed to one writer thread through a bounded queue of
//! [`QUEUED_LINES`]; the writer drains whatever is queued into a 64 KiB buffer and writes it
//! to standard output (the daemon's `server.log`) in one system call.
//!
//! When the log cannot keep up (a full disk, a stalled pipe, a flood), new lines are dropped,
//! never waited for, and counted; every [`DROP_REPORT`] in which lines were lost ends with a
//! warning that says how many, and how many in all since the start.

use std::io::{BufWriter, IsTerminal as _};
use std::time::Duration;

use tracing_appender::non_blocking::{ErrorCounter, NonBlockingBuilder, WorkerGuard};

/// Lines that may wait for the writer (about 2 MB at a typical 250 bytes a line).
pub const QUEUED_LINES: usize = 8_192;
/// How often lost lines are reported.
pub const DROP_REPORT: Duration = Duration::from_secs(10);

/// Keeps the writer thread running; dropping it writes out what is queued.
pub struct LogGuard {
    _worker: WorkerGuard,
}

/// Install the global subscriber: `filter` (an `EnvFilter` directive such as `info`), ANSI
/// colours only on a terminal, through the non-blocking writer.
pub fn init(filter: &str) -> LogGuard {
    let filter = tracing_subscriber::EnvFilter::try_new(filter)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let stdout = std::io::stdout();
    let ansi = stdout.is_terminal();
    let (writer, worker) = NonBlockingBuilder::default()
        .buffered_lines_limit(QUEUED_LINES)
        .lossy(true)
        .thread_name("jean2-log")
        .finish(BufWriter::with_capacity(64 * 1024, stdout));
    report_drops(writer.error_counter());
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi)
        .with_target(false)
        .with_writer(writer)
        .init();
    LogGuard { _worker: worker }
}

/// A small thread that reports lost lines (the log is the one thing it cannot report through
/// while they are being lost, so it reports afterwards).
fn report_drops(counter: ErrorCounter) {
    let spawned = std::thread::Builder::new()
        .name("jean2-log-drops".into())
        .stack_size(64 * 1024)
        .spawn(move || {
            let mut reported = 0;
            loop {
                std::thread::sleep(DROP_REPORT);
                let dropped = counter.dropped_lines();
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
