//! `status`, `stop`, `restart`, `reload` and `auth`: commands that look at (or signal) the server
//! named by the locked pidfile. They read only the data dir from the environment where they can,
//! so a broken `.env` never prevents stopping the server.

use std::fmt;
use std::fs::File;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use crate::config::{CliOverrides, Settings};
use crate::daemon::log::indent;
use crate::daemon::pidfile::{self, Record, Running, State};
use crate::daemon::probe::Probe;
use crate::daemon::{Paths, spawn};

/// `status` exits with this when the server is not running (LSB).
pub const EXIT_NOT_RUNNING: u8 = 3;
/// How long `stop` waits after SIGTERM before SIGKILL.
pub const STOP_GRACE: Duration = Duration::from_secs(5);
/// How long `reload` waits for the server to log the outcome.
const RELOAD_CONFIRM: Duration = Duration::from_secs(5);

/// The pidfile's state, printing a note when a stale file was cleaned up.
fn current(paths: &Paths) -> anyhow::Result<State> {
    let state = pidfile::inspect(&paths.pid_file)
        .with_context(|| format!("cannot read {}", paths.pid_file.display()))?;
    if let State::NotRunning { stale: Some(stale) } = &state {
        eprintln!("{}", stale.note());
    }
    Ok(state)
}

/// A running server's record, or an error explaining that its pidfile cannot be read.
fn record_of<'a>(running: &'a Running, paths: &Paths) -> anyhow::Result<&'a Record> {
    running.record.as_ref().with_context(|| {
        format!(
            "a jean2 server holds {} but its content cannot be read",
            paths.pid_file.display()
        )
    })
}

/// `jean2 status`: exit 0 when running, 3 when not.
pub fn status() -> anyhow::Result<ExitCode> {
    let paths = Paths::from_env()?;
    let State::Running(running) = current(&paths)? else {
        println!("jean2 is not running");
        return Ok(ExitCode::from(EXIT_NOT_RUNNING));
    };
    let r = record_of(&running, &paths)?;
    match (&r.url, r.port) {
        (Some(url), Some(port)) => {
            println!("jean2 is running");
            println!("  PID:      {}", r.pid);
            println!("  URL:      {url}");
            println!("  host:     {}", r.host);
            println!("  port:     {port}");
            // One public request tells whether it answers, and whether it wants a token.
            match Probe::new().ok().and_then(|p| p.info(url)) {
                Some(info) => {
                    let auth = info["features"]["authentication"].as_bool();
                    println!("  answers:  yes (auth {})", auth.map_or("unknown", on_off));
                }
                None => println!("  answers:  no (see `jean2 logs`)"),
            }
        }
        _ => {
            println!("jean2 is starting");
            println!("  PID:      {}", r.pid);
            println!("  host:     {}", r.host);
        }
    }
    println!("  uptime:   {}", uptime(&r.started_at));
    let mine = crate::VERSION;
    if r.version == mine {
        println!("  version:  {}", r.version);
    } else {
        println!(
            "  version:  {} (this jean2 is {mine}; `jean2 restart` runs the new one)",
            r.version
        );
    }
    if paths.log_file.exists() {
        println!("  log:      {}", paths.log_file.display());
    } else {
        println!("  log:      none (a foreground `jean2 server` logs to its terminal)");
    }
    Ok(ExitCode::SUCCESS)
}

/// "3h 2m 1s" since an ISO timestamp.
fn uptime(started_at: &str) -> String {
    let Ok(start) = chrono::DateTime::parse_from_rfc3339(started_at) else {
        return "unknown".into();
    };
    let secs = (chrono::Utc::now() - start.with_timezone(&chrono::Utc))
        .num_seconds()
        .max(0);
    let (d, h, m, s) = (secs / 86400, secs / 3600 % 24, secs / 60 % 60, secs % 60);
    match (d, h, m) {
        (0, 0, 0) => format!("{s}s"),
        (0, 0, _) => format!("{m}m {s}s"),
        (0, _, _) => format!("{h}h {m}m {s}s"),
        _ => format!("{d}d {h}h {m}m"),
    }
}

/// What [`terminate`] had to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stopped {
    /// It ended after SIGTERM.
    Gracefully,
    /// It ignored SIGTERM for the grace period and was killed.
    Killed,
    /// It was still there even after SIGKILL (should not happen).
    Stuck,
}

impl fmt::Display for Stopped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Stopped::Gracefully => "it shut down after SIGTERM",
            Stopped::Killed => "it did not stop after SIGTERM and was killed with SIGKILL",
            Stopped::Stuck => "it is still there even after SIGKILL",
        })
    }
}

/// SIGTERM `pid`, wait until `gone()` (at most `grace`), then SIGKILL and wait again.
pub fn terminate(pid: u32, grace: Duration, mut gone: impl FnMut() -> bool) -> Stopped {
    let Ok(raw) = i32::try_from(pid) else {
        return Stopped::Stuck;
    };
    let pid = Pid::from_raw(raw);
    let _ = kill(pid, Signal::SIGTERM);
    if wait_for(grace, &mut gone) {
        return Stopped::Gracefully;
    }
    let _ = kill(pid, Signal::SIGKILL);
    if wait_for(Duration::from_secs(5), &mut gone) {
        Stopped::Killed
    } else {
        Stopped::Stuck
    }
}

fn wait_for(timeout: Duration, gone: &mut impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if gone() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// `jean2 stop`: "not running" (exit 0) when it is not.
pub fn stop() -> anyhow::Result<ExitCode> {
    let paths = Paths::from_env()?;
    stop_at(&paths, true)?;
    Ok(ExitCode::SUCCESS)
}

/// Stop the server of `paths` if one runs; returns whether one did.
fn stop_at(paths: &Paths, say_not_running: bool) -> anyhow::Result<bool> {
    let State::Running(running) = current(paths)? else {
        if say_not_running {
            println!("jean2 is not running");
        }
        return Ok(false);
    };
    let pid = record_of(&running, paths)?.pid;
    if let Err(nix::errno::Errno::EPERM) = kill(Pid::from_raw(pid as i32), None) {
        bail!("not allowed to signal jean2 (pid {pid}): it runs as another user");
    }
    let how = terminate(pid, STOP_GRACE, || {
        running.wait_released(Duration::ZERO).unwrap_or(false)
    });
    if how == Stopped::Stuck {
        bail!("could not stop jean2 (pid {pid}): {how}");
    }
    // A killed server leaves its pidfile behind; clear it quietly.
    let _ = pidfile::inspect(&paths.pid_file);
    println!("jean2 stopped (pid {pid}; {how})");
    Ok(true)
}

/// `jean2 restart [flags]`: stop if running, then start with these flags.
pub fn restart(overrides: &CliOverrides) -> anyhow::Result<ExitCode> {
    // Check the configuration before stopping anything: a typo must not leave the user with
    // no server at all.
    Settings::load(overrides)?;
    let paths = Paths::from_env()?;
    if !stop_at(&paths, false)? {
        println!("jean2 was not running; starting it");
    }
    spawn::start(overrides)
}

/// `jean2 reload`: SIGHUP to the running server, then report what it logged.
pub fn reload() -> anyhow::Result<ExitCode> {
    let paths = Paths::from_env()?;
    let State::Running(running) = current(&paths)? else {
        eprintln!("jean2 is not running; nothing to reload (start it with `jean2 start`)");
        return Ok(ExitCode::FAILURE);
    };
    let record = record_of(&running, &paths)?;
    if record.port.is_none() {
        bail!(
            "jean2 (pid {}) is still starting; try again in a moment",
            record.pid
        );
    }
    // The server keeps its configuration when the new one is invalid; say why here and now.
    // Every value is checked, as `start` would (a broken JEAN2_PORT too, though the port cannot
    // change live). The flags the server was started with are unknown here, so whether auth may
    // be off is left to the server, which judges it by the address it is bound to (it refuses
    // and logs why, which is reported below).
    let overrides = CliOverrides {
        port: None,
        allow_no_auth: true,
        host: Some(record.host.clone()),
    };
    let (mut settings, _) = Settings::load(&overrides).context(
        "not reloading: the configuration has an error (the server keeps its current one)",
    )?;
    settings.port = record.port.unwrap_or(settings.port);
    let log_offset = File::open(&paths.log_file)
        .and_then(|f| f.metadata())
        .map(|m| m.len())
        .ok();
    kill(Pid::from_raw(record.pid as i32), Signal::SIGHUP)
        .with_context(|| format!("cannot signal jean2 (pid {})", record.pid))?;
    println!(
        "sent SIGHUP to jean2 (pid {}): re-reading .env and the TLS certificate",
        record.pid
    );
    let Some(offset) = log_offset else {
        println!(
            "(it logs to its terminal, not to {}; look there for the outcome)",
            paths.log_file.display()
        );
        return Ok(ExitCode::SUCCESS);
    };
    let deadline = Instant::now() + RELOAD_CONFIRM;
    loop {
        let new = crate::daemon::log::lines_since(&paths.log_file, offset, 200);
        let lines: Vec<&str> = new.lines().filter(|l| l.contains("reload")).collect();
        let failed = lines
            .iter()
            .any(|l| l.contains("reload failed") || l.contains("ERROR"));
        if failed || lines.iter().any(|l| l.contains("reloaded")) {
            print!("{}", indent(&lines.join("\n")));
            if failed {
                return Ok(ExitCode::FAILURE);
            }
            for (i, line) in spawn::auth_lines(&settings).iter().enumerate() {
                let label = if i == 0 { "auth:  " } else { "       " };
                println!("{label}{line}");
            }
            return Ok(ExitCode::SUCCESS);
        }
        if Instant::now() >= deadline {
            println!(
                "the server has not confirmed within {} s; see `jean2 logs`",
                RELOAD_CONFIRM.as_secs()
            );
            return Ok(ExitCode::SUCCESS);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

pub(crate) fn on_off(on: bool) -> &'static str {
    if on { "on" } else { "off" }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spawn_sh(script: &str) -> std::process::Child {
        use std::io::BufRead as _;
        let mut child = std::process::Command::new("sh")
            .args(["-c", script])
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        // Wait for "ready", so signals arrive after the script set itself up.
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.as_mut().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert_eq!(line.trim(), "ready");
        child
    }

    #[test]
    fn terminate_ends_a_process_with_sigterm_when_it_obeys() {
        let mut child = spawn_sh("echo ready; exec sleep 30");
        let how = terminate(child.id(), Duration::from_secs(5), || {
            matches!(child.try_wait(), Ok(Some(_)))
        });
        assert_eq!(how, Stopped::Gracefully);
    }

    #[test]
    fn terminate_kills_a_process_that_ignores_sigterm_after_the_grace_period() {
        let mut child = spawn_sh("trap '' TERM; echo ready; while :; do sleep 0.05; done");
        let started = Instant::now();
        let how = terminate(child.id(), Duration::from_millis(300), || {
            matches!(child.try_wait(), Ok(Some(_)))
        });
        assert_eq!(how, Stopped::Killed);
        assert!(started.elapsed() >= Duration::from_millis(300));
    }

    #[test]
    fn uptime_reads_like_a_duration() {
        let ago = |secs: i64| {
            (chrono::Utc::now() - chrono::Duration::seconds(secs))
                .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
        };
        assert_eq!(uptime(&ago(5)), "5s");
        assert_eq!(uptime(&ago(125)), "2m 5s");
        assert_eq!(uptime(&ago(3 * 3600 + 61)), "3h 1m 1s");
        assert_eq!(uptime(&ago(2 * 86400 + 3600)), "2d 1h 0m");
        assert_eq!(uptime("not a time"), "unknown");
    }
}
