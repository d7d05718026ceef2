//! Ending a terminal's processes, all of them. The shell leads its own session (it was spawned
//! with `setsid`), and an interactive shell puts each job in a process group of its own, so
//! killing the shell's group alone would leave `sleep 1000 &` running. On Linux every process
//! of the session is found in `/proc` and signalled: `SIGHUP` (what closing a real terminal
//! sends) and `SIGCONT` (so stopped jobs see it), then `SIGKILL` for what is left after a grace
//! period. Elsewhere the shell's process group is signalled. A process that started a session
//! of its own (`setsid`, daemons) has left the terminal and is not touched.

use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill, killpg};
use nix::unistd::Pid;

/// How long processes get to exit after `SIGHUP` before `SIGKILL`.
pub const GRACE: Duration = Duration::from_millis(500);
/// How long to wait for the processes to go after `SIGKILL`.
const AFTER_KILL: Duration = Duration::from_secs(2);

/// End every process of the session `leader` leads. `reaped`: the shell itself has exited and
/// been reaped, so its pid may already be another process's and only the session's remaining
/// members are signalled. Blocking (it waits up to [`GRACE`] + 2 s); returns whether they are
/// all gone.
pub fn end_session(leader: u32, reaped: bool) -> bool {
    let Ok(raw) = i32::try_from(leader) else {
        return true;
    };
    let leader = Pid::from_raw(raw);
    signal_all(leader, reaped, Signal::SIGHUP);
    signal_all(leader, reaped, Signal::SIGCONT);
    if wait_gone(leader, reaped, GRACE) {
        return true;
    }
    signal_all(leader, reaped, Signal::SIGKILL);
    wait_gone(leader, reaped, AFTER_KILL)
}

fn signal_all(leader: Pid, reaped: bool, sig: Signal) {
    if !reaped {
        let _ = killpg(leader, sig);
    }
    for pid in members(leader) {
        let _ = kill(pid, sig);
    }
}

fn wait_gone(leader: Pid, reaped: bool, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    loop {
        if members(leader).is_empty() && (reaped || !alive(leader)) {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Whether `pid` runs (a zombie has ended: it only waits to be reaped).
pub fn alive(pid: Pid) -> bool {
    if kill(pid, None).is_err() {
        return false;
    }
    #[cfg(target_os = "linux")]
    if let Some(stat) = proc_stat(pid.as_raw()) {
        return stat.state != 'Z' && stat.state != 'X';
    }
    true
}

/// The live processes of session `leader` other than zombies (Linux), or none elsewhere (the
/// group signal covers those platforms).
fn members(leader: Pid) -> Vec<Pid> {
    #[cfg(target_os = "linux")]
    {
        let Ok(dir) = std::fs::read_dir("/proc") else {
            return Vec::new();
        };
        dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
            .filter(|&pid| {
                proc_stat(pid).is_some_and(|s| {
                    s.session == leader.as_raw() && s.state != 'Z' && s.state != 'X'
                })
            })
            .map(Pid::from_raw)
            .collect()
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = leader;
        Vec::new()
    }
}

#[cfg(target_os = "linux")]
struct Stat {
    state: char,
    session: i32,
}

/// State and session id from `/proc/<pid>/stat` (fields 3 and 6; the name in field 2 may hold
/// spaces and parentheses, so the fields are counted from the last `)`).
#[cfg(target_os = "linux")]
fn proc_stat(pid: i32) -> Option<Stat> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &text[text.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace();
    let state = fields.next()?.chars().next()?;
    let session = fields.nth(2)?.parse().ok()?;
    Some(Stat { state, session })
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    #[test]
    fn a_session_and_its_background_jobs_all_end() {
        // setsid: a new session whose shell starts a background job (the terminal tests cover
        // jobs in process groups of their own, which needs an interactive shell on a tty).
        let mut child = std::process::Command::new("setsid")
            .args(["sh", "-c", "sleep 1000 & echo $!; wait"])
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        std::io::BufRead::read_line(
            &mut std::io::BufReader::new(child.stdout.take().unwrap()),
            &mut line,
        )
        .unwrap();
        let job = Pid::from_raw(line.trim().parse().unwrap());
        let leader = u32::try_from(proc_stat(job.as_raw()).unwrap().session).unwrap();
        assert!(alive(job));
        assert!(end_session(leader, false));
        assert!(!alive(job), "the background job ended too");
        let _ = child.wait();
    }
}
