//! `jean2 start`: validate the configuration here (so mistakes show at once), re-execute this
//! binary as `jean2 server` detached (own process group, stdin closed, output appended to
//! `server.log`), and return only once the child has written its port into the pidfile and
//! answers `GET /api/health`, or fail showing what the child wrote to the log.

use std::fs::{self, OpenOptions};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::Path;
use std::process::{Child, Command, ExitCode, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use std::os::unix::process::CommandExt as _;

use crate::config::{CliOverrides, Settings};
use crate::daemon::control::terminate;
use crate::daemon::log::{indent, lines_since};
use crate::daemon::pidfile::{self, Record, State};
use crate::daemon::probe::Probe;

/// How long `start` waits for the server to answer.
pub const START_TIMEOUT: Duration = Duration::from_secs(15);
/// How many log lines a failed start shows.
const LOG_LINES_ON_FAILURE: usize = 20;

/// `jean2 start [-p N] [-h H] [--allow-no-auth]`.
pub fn start(overrides: &CliOverrides) -> anyhow::Result<ExitCode> {
    let (settings, report) = Settings::load(overrides)?;
    for w in &report.warnings {
        eprintln!("warning: {w}");
    }
    // The server checks these again, but a bad file is best reported here, not in the log.
    if let Some(files) = &settings.tls {
        crate::server::tls::load(files)?;
    }
    let pid_file = settings.pid_file();
    refuse_if_running(&pid_file)?;

    // The data dir holds the token (.env), the database and the log: private to the user.
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&settings.data_dir)
        .with_context(|| format!("cannot create {}", settings.data_dir.display()))?;
    let data_dir = std::path::absolute(&settings.data_dir)
        .with_context(|| format!("cannot resolve {}", settings.data_dir.display()))?;
    let log_path = settings.log_file();
    let log = OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(&log_path)
        .with_context(|| format!("cannot open {}", log_path.display()))?;
    let log_offset = log.metadata().map(|m| m.len()).unwrap_or(0);
    let exe = std::env::current_exe().context("cannot find the jean2 executable to run")?;

    let mut child = Command::new(&exe)
        .arg("server")
        .args(overrides.to_args())
        .env("JEAN2_DATA_DIR", &data_dir)
        .stdin(Stdio::null())
        .stdout(log.try_clone().context("cannot share the log file")?)
        .stderr(log)
        .process_group(0)
        .spawn()
        .with_context(|| format!("cannot run {}", exe.display()))?;

    match wait_until_ready(&mut child, &pid_file)? {
        Ready::Serving(record) => {
            print_started(&settings, &record, &log_path);
            Ok(ExitCode::SUCCESS)
        }
        Ready::Exited(status) => {
            // Another `jean2 start` may have won a race for the pidfile.
            if let Ok(State::Running(other)) = pidfile::inspect(&pid_file)
                && let Some(record) = &other.record
            {
                bail!(
                    "jean2 is already running ({}): another start got there first",
                    record.describe()
                );
            }
            bail!(
                "the server exited during start-up ({status}). What it wrote to {}:\n{}",
                log_path.display(),
                indent(&lines_since(&log_path, log_offset, LOG_LINES_ON_FAILURE))
            )
        }
        Ready::TimedOut => {
            let stopped = terminate(child.id(), Duration::from_secs(3), || {
                matches!(child.try_wait(), Ok(Some(_)))
            });
            let _ = child.try_wait();
            bail!(
                "the server did not answer GET /api/health within {} s, so it was stopped ({stopped}). \
                 What it wrote to {}:\n{}",
                START_TIMEOUT.as_secs(),
                log_path.display(),
                indent(&lines_since(&log_path, log_offset, LOG_LINES_ON_FAILURE))
            )
        }
    }
}

/// An error when a server already holds the pidfile (a stale one is only noted).
fn refuse_if_running(pid_file: &std::path::Path) -> anyhow::Result<()> {
    match pidfile::inspect(pid_file)
        .with_context(|| format!("cannot read {}", pid_file.display()))?
    {
        State::Running(running) => bail!(
            "jean2 is already running ({}); use `jean2 restart` to restart it, or `jean2 stop`",
            running
                .record
                .as_ref()
                .map(Record::describe)
                .unwrap_or_else(|| format!("{} is locked", pid_file.display()))
        ),
        State::NotRunning { stale: Some(stale) } => eprintln!("{}", stale.note()),
        State::NotRunning { stale: None } => {}
    }
    Ok(())
}

enum Ready {
    Serving(Record),
    Exited(ExitStatus),
    TimedOut,
}

/// Poll (bounded by [`START_TIMEOUT`]) until the child's record has a URL that answers.
fn wait_until_ready(child: &mut Child, pid_file: &Path) -> anyhow::Result<Ready> {
    let probe = Probe::new()?;
    let deadline = Instant::now() + START_TIMEOUT;
    loop {
        if let Some(status) = child
            .try_wait()
            .context("cannot watch the server process")?
        {
            return Ok(Ready::Exited(status));
        }
        if let Some(record) = pidfile::read(pid_file).filter(|r| r.pid == child.id())
            && let Some(url) = &record.url
            && probe.healthy(url)
        {
            return Ok(Ready::Serving(record));
        }
        if Instant::now() >= deadline {
            return Ok(Ready::TimedOut);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn print_started(settings: &Settings, record: &Record, log_path: &Path) {
    crate::console::say!("jean2 started (pid {})", record.pid);
    crate::console::say!("  URL:   {}", record.url.as_deref().unwrap_or("?"));
    for (i, line) in auth_lines(settings).iter().enumerate() {
        let label = if i == 0 { "  auth:  " } else { "         " };
        crate::console::say!("{label}{line}");
    }
    crate::console::say!("  log:   {}", log_path.display());
}

/// What to say about authentication, one line per item.
pub fn auth_lines(settings: &Settings) -> Vec<String> {
    let env_file = settings.data_dir.join(".env");
    let oauth = if settings.oauth.enabled {
        " + OAuth 2.1 (users and apps, see `jean2 users` / `jean2 apps`)"
    } else {
        ""
    };
    match &settings.auth_token {
        Some(token) => vec![format!("on (token {}){oauth}", token.masked())],
        None if settings.oauth.enabled => vec![
            "on: OAuth 2.1 only (users and apps, see `jean2 users` / `jean2 apps`; no shared token)"
                .to_owned(),
        ],
        None => {
            let mut lines = Vec::new();
            if settings.host_is_loopback() {
                lines.push(format!(
                    "off — only this machine can connect; set JEAN2_AUTH_TOKEN in {} and run `jean2 restart` to require a token",
                    env_file.display()
                ));
            } else {
                lines.push(format!(
                    "OFF on {} (--allow-no-auth) — anyone who can reach this address controls the server; \
                     set JEAN2_AUTH_TOKEN in {} and run `jean2 restart`",
                    settings.host,
                    env_file.display()
                ));
            }
            if !settings.allowed_origins.iter().any(|o| o == "null") {
                lines.push(
                    "the desktop app (Origin: null) needs a token (enter it in the app), or JEAN2_ALLOWED_ORIGINS=null"
                        .to_owned(),
                );
            }
            lines
        }
    }
}
