//! Each test server runs on a tokio runtime of its own, on threads that log into that server's
//! [`ServerLog`]: the logs of servers running side by side never mix, and a failing test prints
//! the log of the server it talked to (see `Drop for TestApp`).

use std::cell::RefCell;
use std::future::Future;
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use jean2::config::Settings;
use tokio::sync::oneshot;
use tracing::Dispatch;
use tracing::dispatcher::DefaultGuard;

/// At most this many lines of a server log are printed (the last ones).
const PRINTED_LINES: usize = 3000;

/// What one server logged: `jean2` at debug, everything else at info. Cheap to clone.
#[derive(Clone, Default)]
pub struct ServerLog(Arc<Mutex<Vec<u8>>>);

impl ServerLog {
    /// Everything logged so far.
    pub fn contents(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }

    /// Print the log to stderr (the test harness shows it with the failure).
    pub fn print(&self, whose: &str) {
        let text = self.contents();
        let lines: Vec<&str> = text.lines().collect();
        let skipped = lines.len().saturating_sub(PRINTED_LINES);
        let mut out = format!("\n===== log of the server at {whose} (jean2=debug) =====\n");
        if skipped > 0 {
            out.push_str(&format!("[… {skipped} earlier lines left out]\n"));
        }
        for line in &lines[skipped..] {
            out.push_str(line);
            out.push('\n');
        }
        out.push_str("===== end of server log =====\n");
        eprint!("{out}");
    }

    fn dispatch(&self) -> Dispatch {
        let buffer = self.0.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new("info,jean2=debug"))
            .with_ansi(false)
            .with_thread_names(true)
            .with_writer(move || LogWriter(buffer.clone()))
            .finish();
        Dispatch::new(subscriber)
    }
}

struct LogWriter(Arc<Mutex<Vec<u8>>>);

impl Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

thread_local! {
    /// The log this runtime thread writes to, for as long as the thread lives.
    static THREAD_LOG: RefCell<Option<DefaultGuard>> = const { RefCell::new(None) };
}

fn log_this_thread_to(dispatch: &Dispatch) {
    let guard = tracing::dispatcher::set_default(dispatch);
    THREAD_LOG.with(|slot| *slot.borrow_mut() = Some(guard));
}

/// Run `jean2::server::serve` on a runtime of its own whose threads all log into `log`. The
/// receiver gets the server's result once it has stopped and its runtime is gone, so every
/// task it left behind has ended too.
///
/// The runtime has one thread, as the test's own runtime had before: tasks interleave only
/// where they await. On a multi-threaded runtime a race in the chat worker could show up as
/// rare failures of correct tests: a turn's end (`session.updated`, `runningAt: null`) is
/// broadcast before the worker releases the session (`runs.next`), so a `session.resume` sent
/// at once may still see `isRunning: true`.
pub fn start(
    log: &ServerLog,
    settings: Settings,
    listener: std::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
    reloader: Option<jean2::server::Reloader>,
) -> oneshot::Receiver<anyhow::Result<()>> {
    let dispatch = log.dispatch();
    let (done_tx, done_rx) = oneshot::channel();
    let port = listener.local_addr().map(|a| a.port()).unwrap_or(0);
    std::thread::Builder::new()
        .name(format!("server-{port}"))
        .spawn(move || {
            log_this_thread_to(&dispatch);
            let runtime = tokio::runtime::Builder::new_current_thread()
                .thread_name(format!("server-{port}-blocking"))
                .enable_all()
                .on_thread_start(move || log_this_thread_to(&dispatch))
                .build()
                .expect("server runtime");
            let serve = jean2::server::serve(settings, listener, shutdown, reloader);
            let result = runtime.block_on(serve);
            runtime.shutdown_timeout(Duration::from_secs(10));
            let _ = done_tx.send(result);
        })
        .expect("server thread");
    done_rx
}
