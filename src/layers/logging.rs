//! The process's log writer: a request never waits for the log, and logging a line costs a
//! copy into a buffer of the logging thread's own. Lines are formatted on the thread that logs
//! them, into that thread's buffer under a lock only the writer thread ever shares (once per
//! write); one writer thread takes every buffer, merges their lines by timestamp, and writes
//! them to standard output (the daemon's `server.log`) in one system call, at most once every
//! [`WRITE_EVERY`] (sooner once a buffer holds [`WRITE_AT`] bytes). The first line after a
//! quiet spell is written at once (`jean2 start` then `jean2 logs` shows the start-up lines);
//! while nothing is logged the writer sleeps, so an idle server does not wake up for its log.
//!
//! One buffer per thread, not one for the process: the worker threads took turns on a shared
//! buffer's lock and its cache lines for every request's line (docs/benchmarks.md, "Request
//! path"). Each thread's lines are in the order it logged them; every line starts with its
//! timestamp, so merging the buffers by the lines' first bytes gives one log in time order.
//!
//! Not `tracing-appender`'s non-blocking writer: it allocates every line and hands it through a
//! channel that wakes its writer thread per line, which cost a third of the throughput of a
//! small authenticated request.
//!
//! When the log cannot keep up (a full disk, a stalled pipe, a flood), new lines are dropped once
//! [`MAX_BUFFERED`] bytes wait in a thread's buffer, never waited for, and counted; every
//! [`DROP_REPORT`] in which lines were lost ends with a warning that says how many, and how many
//! in all since the start.

use std::cell::RefCell;
use std::fs::File;
use std::io::{self, IsTerminal as _, Write};
use std::os::fd::AsFd as _;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use tracing_subscriber::fmt::MakeWriter;

/// Bytes that may wait for the writer in one thread's buffer (about 7,000 request lines, 0.1 s
/// of a worker thread at full load). Only the threads that log hold a buffer: the async workers,
/// and now and then a blocking thread; what waits is at most this much for each of them.
pub const MAX_BUFFERED: usize = 1024 * 1024;
/// The writer is woken early once a thread's buffer holds this much.
pub const WRITE_AT: usize = 64 * 1024;
/// How long a line may wait for the writer.
pub const WRITE_EVERY: Duration = Duration::from_millis(20);
/// How often lost lines are reported.
pub const DROP_REPORT: Duration = Duration::from_secs(10);
/// How many leading bytes of two lines are compared to put them in time order: the timestamp
/// (`2026-01-02T03:04:05.678901Z`, 27 bytes) and, with colours, the escape code before it.
const ORDER_BY: usize = 32;

/// Lines waiting in one buffer.
#[derive(Default)]
struct Pending {
    bytes: Vec<u8>,
    /// Where each line ends in `bytes` (a line is what one write gave).
    ends: Vec<usize>,
}

impl Pending {
    fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    fn clear(&mut self) {
        self.bytes.clear();
        self.ends.clear();
        // A burst's buffer is not kept for good.
        if self.bytes.capacity() > 4 * WRITE_AT {
            self.bytes.shrink_to(WRITE_AT);
            self.ends.shrink_to(WRITE_AT / 64);
        }
    }
}

/// One thread's buffer.
#[derive(Default)]
struct Slot {
    /// The lines the thread logged since the writer last took them.
    lines: Mutex<Pending>,
    /// What the writer took last time, written out and cleared (its memory is reused).
    taken: Mutex<Pending>,
}

/// What the writer is waiting for.
#[derive(Clone, Copy, PartialEq, Eq, Default)]
enum Waiting {
    /// Not waiting: it is writing, or about to look at the buffers.
    #[default]
    No,
    /// Any line.
    Line,
    /// The time to write, or a full buffer.
    Time,
}

#[derive(Default)]
struct State {
    waiting: Waiting,
    closed: bool,
}

#[derive(Default)]
struct Shared {
    /// Every thread's buffer; locked when a thread first logs and once per write.
    slots: Mutex<Vec<Arc<Slot>>>,
    state: Mutex<State>,
    wake: Condvar,
    dropped: AtomicU64,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Shared {
    /// Tell a waiting writer that a line came (`full`: that a buffer is full enough to write).
    fn nudge(&self, full: bool) {
        let mut state = lock(&self.state);
        let wanted = match state.waiting {
            Waiting::No => false,
            Waiting::Line => true,
            Waiting::Time => full,
        };
        if wanted {
            state.waiting = Waiting::No;
            drop(state);
            self.wake.notify_one();
        }
    }

    /// Whether any line waits, or a buffer holds `at_least` bytes.
    fn any_waiting(&self, at_least: usize) -> bool {
        lock(&self.slots).iter().any(|slot| {
            let lines = lock(&slot.lines);
            !lines.is_empty() && lines.bytes.len() >= at_least
        })
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
    /// Copy one line (ending in a newline) into this thread's buffer: no `tracing` event, no
    /// allocation. A line that does not fit is dropped whole (and counted).
    pub fn write_bytes(&self, line: &[u8]) {
        self.write_with(|out| out.extend_from_slice(line));
    }

    /// Have `write` append one line (ending in a newline) to this thread's buffer. A line that
    /// does not fit is dropped whole (and counted).
    pub fn write_with(&self, write: impl FnOnce(&mut Vec<u8>)) {
        let mut write = Some(write);
        let _ = MINE.try_with(|mine| {
            let Ok(mut mine) = mine.try_borrow_mut() else {
                return;
            };
            if !matches!(&*mine, Some((shared, _)) if Arc::ptr_eq(shared, &self.0)) {
                *mine = Some((self.0.clone(), self.new_slot()));
            }
            if let (Some((_, slot)), Some(write)) = (&*mine, write.take()) {
                self.append(slot, write);
            }
        });
        // Without this thread's own buffer (its thread-locals are being torn down, or a line
        // is being logged while one is written), the line goes into a buffer of its own.
        if let Some(write) = write.take() {
            self.append(&self.new_slot(), write);
        }
    }

    /// A new buffer, in the writer's list.
    fn new_slot(&self) -> Arc<Slot> {
        let slot = Arc::new(Slot::default());
        lock(&self.0.slots).push(slot.clone());
        slot
    }

    fn append(&self, slot: &Slot, write: impl FnOnce(&mut Vec<u8>)) {
        let mut lines = lock(&slot.lines);
        let before = lines.bytes.len();
        write(&mut lines.bytes);
        let after = lines.bytes.len();
        if after > MAX_BUFFERED {
            lines.bytes.truncate(before);
            drop(lines);
            self.0.dropped.fetch_add(1, Ordering::Relaxed);
            return;
        }
        lines.ends.push(after);
        drop(lines);
        // The first line since the writer took the buffer wakes an idle writer (under load,
        // once per write per thread); a buffer reaching WRITE_AT wakes it early.
        let first = before == 0;
        let full = before < WRITE_AT && after >= WRITE_AT;
        if first || full {
            self.0.nudge(full);
        }
    }
}

thread_local! {
    /// This thread's buffer, and the log it belongs to.
    static MINE: RefCell<Option<(Arc<Shared>, Arc<Slot>)>> = const { RefCell::new(None) };
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
        lock(&self.shared.state).closed = true;
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

/// The writer thread: wait for lines, take every thread's, write them in time order; until
/// closed and empty.
fn write_out(shared: &Shared, mut out: impl Write) {
    let mut merged = Vec::with_capacity(WRITE_AT);
    // When the last batch was written.
    let mut written: Option<Instant> = None;
    loop {
        let closed = {
            let mut state = lock(&shared.state);
            // Nothing to write: sleep until a line comes (or the log closes).
            while !state.closed && !shared.any_waiting(0) {
                state.waiting = Waiting::Line;
                state = shared.wake.wait(state).unwrap_or_else(|e| e.into_inner());
                state.waiting = Waiting::No;
            }
            // At most one write per WRITE_EVERY: lines that follow a write wait for the rest of
            // it, gathering (a busy log is written in pieces of about WRITE_AT per thread); after
            // a quiet spell the first line goes out at once.
            let due = written.map(|at| at + WRITE_EVERY);
            if let Some(wait) = due.and_then(|due| due.checked_duration_since(Instant::now()))
                && !state.closed
                && !shared.any_waiting(WRITE_AT)
            {
                state.waiting = Waiting::Time;
                state = shared
                    .wake
                    .wait_timeout(state, wait)
                    .map(|(s, _)| s)
                    .unwrap_or_else(|e| e.into_inner().0);
                state.waiting = Waiting::No;
            }
            state.closed
        };
        let slots: Vec<Arc<Slot>> = {
            let mut slots = lock(&shared.slots);
            // A buffer only the list holds is a finished thread's: taken this once more, then
            // let go.
            let all = slots.clone();
            slots.retain(|slot| Arc::strong_count(slot) > 2);
            all
        };
        let mut taken: Vec<MutexGuard<'_, Pending>> = Vec::with_capacity(slots.len());
        for slot in &slots {
            let mut mine = lock(&slot.taken);
            std::mem::swap(&mut *lock(&slot.lines), &mut *mine);
            if !mine.is_empty() {
                taken.push(mine);
            }
        }
        let batch: &[u8] = match taken.as_slice() {
            [] => &[],
            [one] => &one.bytes,
            many => {
                merge(many, &mut merged);
                &merged
            }
        };
        if !batch.is_empty() {
            // Nowhere to report a failing log; the lines are lost.
            let _ = out.write_all(batch).and_then(|()| out.flush());
            written = Some(Instant::now());
        }
        for pending in &mut taken {
            pending.clear();
        }
        merged.clear();
        drop(taken);
        if closed && !shared.any_waiting(0) {
            return;
        }
    }
}

/// The lines of `buffers` (each in its own order) into `out`, in the order of their first
/// [`ORDER_BY`] bytes; a line that compares equal to another's goes after those of earlier
/// buffers.
fn merge(buffers: &[MutexGuard<'_, Pending>], out: &mut Vec<u8>) {
    // For each buffer: the index of its next line, and where that line starts.
    let mut next: Vec<(usize, usize)> = vec![(0, 0); buffers.len()];
    let key = |b: usize, (line, from): (usize, usize)| -> Option<&[u8]> {
        let pending = &buffers[b];
        let end = *pending.ends.get(line)?;
        Some(&pending.bytes[from..end.min(from + ORDER_BY)])
    };
    loop {
        let mut first: Option<(usize, &[u8])> = None;
        for (b, &at) in next.iter().enumerate() {
            if let Some(k) = key(b, at)
                && first.is_none_or(|(_, best)| k < best)
            {
                first = Some((b, k));
            }
        }
        let Some((b, _)) = first else {
            return;
        };
        let (line, from) = next[b];
        let end = buffers[b].ends[line];
        out.extend_from_slice(&buffers[b].bytes[from..end]);
        next[b] = (line + 1, end);
    }
}

/// Where the log is a file this process keeps to a size: `server.log` when standard output is
/// that file (as `jean2 start` runs the server). Past `max_bytes` it is renamed `<name>.1`
/// (replacing the one before) and a new file is opened in its place, for standard output and
/// error alike, so the log takes at most about twice `max_bytes` on disk however fast requests
/// come (at full load, one line per request is ~18 MB/s).
#[derive(Clone, Debug)]
pub struct Rotation {
    pub path: PathBuf,
    pub max_bytes: u64,
}

impl Rotation {
    /// `path` kept to `max_bytes`, if standard output is that file and `max_bytes` is not 0.
    pub fn of_stdout(path: &Path, max_bytes: u64) -> Option<Self> {
        use std::os::unix::fs::MetadataExt as _;
        if max_bytes == 0 {
            return None;
        }
        let out = File::from(io::stdout().as_fd().try_clone_to_owned().ok()?).metadata();
        let (out, file) = (out.ok()?, std::fs::metadata(path).ok()?);
        (out.is_file() && out.dev() == file.dev() && out.ino() == file.ino()).then(|| Rotation {
            path: path.to_owned(),
            max_bytes,
        })
    }
}

/// What a rotated log's new file replaces: standard output and error (their descriptors are
/// pointed at it), or, in tests, a file of their own.
pub trait Reopen: Write {
    fn reopen(&mut self, file: File) -> io::Result<()>;
}

impl Reopen for io::Stdout {
    fn reopen(&mut self, file: File) -> io::Result<()> {
        use std::os::fd::AsRawFd as _;
        for fd in [1, 2] {
            nix::unistd::dup2(file.as_raw_fd(), fd).map_err(io::Error::from)?;
        }
        Ok(())
    }
}

impl Reopen for File {
    fn reopen(&mut self, file: File) -> io::Result<()> {
        *self = file;
        Ok(())
    }
}

/// The writer's output with [`Rotation`]: written batch by batch, rotated between batches.
pub struct Rotating<W> {
    out: W,
    rotation: Rotation,
    /// Bytes in the current file.
    written: u64,
}

impl<W: Reopen> Rotating<W> {
    /// `out` writes to `rotation.path`, which holds what it holds already.
    pub fn new(out: W, rotation: Rotation) -> Self {
        let written = std::fs::metadata(&rotation.path).map_or(0, |m| m.len());
        Rotating {
            out,
            rotation,
            written,
        }
    }

    /// `server.log` → `server.log.1`, and a new `server.log`.
    fn rotate(&mut self) -> io::Result<()> {
        let path = &self.rotation.path;
        let mut old = path.as_os_str().to_owned();
        old.push(".1");
        std::fs::rename(path, &old)?;
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .open(path)?;
        self.out.reopen(file)
    }
}

impl<W: Reopen> Write for Rotating<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.out.write(buf)?;
        self.written += n as u64;
        Ok(n)
    }

    /// The end of a batch: the time to rotate, once the file is full.
    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()?;
        if self.written < self.rotation.max_bytes {
            return Ok(());
        }
        // Failed or not, the next try is another `max_bytes` away (a failure every batch
        // would fill the log with its own reports).
        self.written = 0;
        if let Err(e) = self.rotate() {
            let at = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S%.6fZ");
            let line = format!(
                "{at}  WARN cannot rotate the log {}: {e}; it goes on growing (JEAN2_LOG_MAX_MB)\n",
                self.rotation.path.display()
            );
            self.out.write_all(line.as_bytes())?;
            self.out.flush()?;
        }
        Ok(())
    }
}

/// Install the global subscriber: `filter` (an `EnvFilter` directive such as `info`), ANSI
/// colours only on a terminal, through the buffered writer; with `rotation`, standard output is
/// that file, kept to its size.
pub fn init(filter: &str, rotation: Option<Rotation>) -> Option<LogGuard> {
    let filter = tracing_subscriber::EnvFilter::try_new(filter)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let stdout = io::stdout();
    let ansi = stdout.is_terminal();
    let fmt = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi)
        .with_target(false);
    let started = match rotation {
        Some(rotation) => start(Rotating::new(stdout, rotation)),
        None => start(stdout),
    };
    match started {
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

    #[test]
    fn a_full_log_is_renamed_and_a_new_one_started() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("server.log");
        let old = dir.path().join("server.log.1");
        let open = || {
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path)
                .unwrap()
        };
        std::fs::write(&path, "x".repeat(400)).unwrap();
        let rotation = Rotation {
            path: path.clone(),
            max_bytes: 1000,
        };
        let mut out = Rotating::new(open(), rotation);
        let batch = |n: usize, c: char| format!("{}\n", c.to_string().repeat(n - 1));
        // 400 there already + 300 + 300 = 1000: full after the second batch.
        for c in ['a', 'b'] {
            out.write_all(batch(300, c).as_bytes()).unwrap();
            out.flush().unwrap();
        }
        assert_eq!(std::fs::metadata(&old).unwrap().len(), 1000);
        assert_eq!(
            std::fs::metadata(&path).unwrap().len(),
            0,
            "a new, empty log"
        );
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        // Batches go whole into the new file; the next rotation replaces the old one.
        for c in ['c', 'd', 'e', 'f'] {
            out.write_all(batch(300, c).as_bytes()).unwrap();
            out.flush().unwrap();
        }
        let old_text = std::fs::read_to_string(&old).unwrap();
        assert_eq!(
            old_text,
            [
                batch(300, 'c'),
                batch(300, 'd'),
                batch(300, 'e'),
                batch(300, 'f')
            ]
            .concat()
        );
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 0);
        out.write_all(b"g\n").unwrap();
        out.flush().unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "g\n");
    }

    #[test]
    fn a_rotation_that_fails_is_reported_in_the_log_and_retried_later() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("server.log");
        let file = std::fs::File::create(&path).unwrap();
        let rotation = Rotation {
            path: path.clone(),
            max_bytes: 10,
        };
        let mut out = Rotating::new(file, rotation);
        // The log's directory goes away: renaming fails, the open file still takes lines.
        let moved = dir.path().with_extension("moved");
        std::fs::rename(dir.path(), &moved).unwrap();
        out.write_all(b"0123456789\n").unwrap();
        out.flush().unwrap();
        let text = std::fs::read_to_string(moved.join("server.log")).unwrap();
        assert!(text.contains("WARN cannot rotate the log"), "{text}");
        std::fs::rename(&moved, dir.path()).unwrap();
    }

    #[test]
    fn only_a_regular_file_that_is_standard_output_is_rotated() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("server.log");
        std::fs::write(&path, "").unwrap();
        // The test harness's standard output is not this file.
        assert!(Rotation::of_stdout(&path, 1 << 20).is_none());
        assert!(Rotation::of_stdout(&dir.path().join("missing.log"), 1 << 20).is_none());
    }

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

    /// Waits (bounded) until `sink` holds `n` lines.
    fn wait_for_lines(sink: &Sink, n: usize) -> bool {
        // Bounded: 10 s is 500 times the writer's interval.
        for _ in 0..1000 {
            if sink
                .bytes
                .lock()
                .unwrap()
                .iter()
                .filter(|&&b| b == b'\n')
                .count()
                >= n
            {
                return true;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        false
    }

    #[test]
    fn the_lines_of_many_threads_are_all_written_whole_each_thread_in_its_order() {
        let sink = Sink::default();
        let (lines, guard) = start(sink.clone()).unwrap();
        let threads: Vec<_> = (0..8)
            .map(|t| {
                let lines = lines.clone();
                std::thread::spawn(move || {
                    for i in 0..2_000 {
                        lines.write_bytes(format!("thread {t} line {i:05}\n").as_bytes());
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        drop(guard);
        let text = String::from_utf8(sink.bytes.lock().unwrap().clone()).unwrap();
        let mut seen = vec![Vec::new(); 8];
        for line in text.lines() {
            let (t, i) = line
                .strip_prefix("thread ")
                .and_then(|rest| rest.split_once(" line "))
                .unwrap_or_else(|| panic!("not a whole line: {line:?}"));
            seen[t.parse::<usize>().unwrap()].push(i.parse::<u32>().unwrap());
        }
        for (t, got) in seen.iter().enumerate() {
            assert_eq!(*got, (0..2_000).collect::<Vec<_>>(), "thread {t}");
        }
    }

    #[test]
    fn merged_lines_go_in_the_order_of_their_timestamps() {
        let pending = |lines: &[&str]| {
            let mut p = Pending::default();
            for l in lines {
                p.bytes.extend_from_slice(l.as_bytes());
                p.ends.push(p.bytes.len());
            }
            Mutex::new(p)
        };
        let a = pending(&[
            "2026-01-02T03:04:05.000001Z  INFO a1\n",
            "2026-01-02T03:04:05.000004Z  INFO a2\n",
            "2026-01-02T03:04:06.000000Z  WARN a3\n",
        ]);
        let b = pending(&[
            "2026-01-02T03:04:05.000002Z  INFO b1 a longer line\n",
            "2026-01-02T03:04:05.000004Z  INFO b2\n",
        ]);
        let c = pending(&["2026-01-02T03:04:05.000003Z DEBUG c1\n"]);
        let guards = [a.lock().unwrap(), b.lock().unwrap(), c.lock().unwrap()];
        let mut out = Vec::new();
        merge(&guards, &mut out);
        let order: Vec<&str> = std::str::from_utf8(&out)
            .unwrap()
            .lines()
            .map(|l| l.rsplit(' ').next().unwrap())
            .collect();
        // Equal timestamps: the earlier buffer's line first.
        assert_eq!(order, ["a1", "line", "c1", "a2", "b2", "a3"]);
    }

    #[test]
    fn a_finished_threads_lines_are_written_and_its_buffer_let_go() {
        let sink = Sink::default();
        let (lines, guard) = start(sink.clone()).unwrap();
        for t in 0..10 {
            let lines = lines.clone();
            std::thread::spawn(move || lines.write_bytes(format!("from {t}\n").as_bytes()))
                .join()
                .unwrap();
        }
        assert!(
            wait_for_lines(&sink, 10),
            "the threads' lines were not written"
        );
        // One more pass of the writer, after the threads are gone.
        lines.write_bytes(b"last\n");
        assert!(wait_for_lines(&sink, 11), "the last line was not written");
        let kept = lock(&lines.0.slots).len();
        assert!(kept <= 2, "{kept} buffers kept after their threads ended");
        drop(guard);
    }
}
