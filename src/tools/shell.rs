//! `shell`: `sh -c <command>` in the workspace (or `cwd`), in a process group of its own, with
//! an environment without jean2's secrets. Whatever ends the call early (its timeout, an
//! interrupt, shutdown, the turn dropping it) kills the whole group, so `sleep` under `sh -c`
//! dies with it (upstream kills only `sh`). Output is kept within a memory bound.

use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::io::{AsyncRead, AsyncReadExt};

use super::ask::Assessment;
use super::env::ToolEnv;
use super::outcome::ToolOutput;
use super::paths::locate;
use super::risk::parse;
use super::shell_ask;
use super::shell_risk::{analyze, strip_redundant_cd};

/// Bytes kept of each stream: the first half and the last half of this.
const KEEP_BYTES: usize = 1024 * 1024;
/// Characters of each stream shown in the `shell-output` card: the end of it.
const SHOWN_CHARS: usize = 20_000;

#[derive(Deserialize)]
struct Input {
    command: String,
    cwd: Option<String>,
}

fn refusal(env: &ToolEnv) -> Option<String> {
    (env.confined || !env.allow_shell)
        .then(|| "Running shell commands is not allowed in this session.".to_owned())
}

/// The working folder, resolved; the workspace root when none is given.
fn working_dir(cwd: Option<&str>, env: &ToolEnv) -> PathBuf {
    locate(cwd.unwrap_or("."), env.roots.primary(), &env.roots).real
}

pub(super) fn assess(input: &Value, env: &ToolEnv) -> Assessment {
    if let Some(refusal) = refusal(env) {
        return Assessment::Refuse(refusal);
    }
    let Ok(input) = parse::<Input>("shell", input) else {
        return Assessment::Allow;
    };
    let cwd = working_dir(input.cwd.as_deref(), env);
    let command = strip_redundant_cd(input.command.trim(), &cwd, env);
    if command.is_empty() {
        return Assessment::Allow;
    }
    let analysis = analyze(&command, &cwd, env);
    match analysis.risk() {
        None => Assessment::Allow,
        Some(risk) => Assessment::Ask(Box::new(shell_ask::build(&analysis, env, risk))),
    }
}

pub(super) async fn run(input: &Value, env: &ToolEnv) -> ToolOutput {
    if let Some(refusal) = refusal(env) {
        return ToolOutput::fail(refusal);
    }
    let input = match parse::<Input>("shell", input) {
        Ok(i) => i,
        Err(e) => return ToolOutput::fail(e),
    };
    if input.command.trim().is_empty() {
        return ToolOutput::fail("EMPTY_COMMAND: shell tool requires a non-empty command");
    }
    let cwd = working_dir(input.cwd.as_deref(), env);
    if !cwd.is_dir() {
        return ToolOutput::fail(format!("Working directory not found: {}", cwd.display()));
    }
    let command = strip_redundant_cd(input.command.trim(), &cwd, env);
    match execute(&command, &cwd, env).await {
        Ok((stdout, stderr, status)) => report(&command, stdout, stderr, status),
        Err(e) => ToolOutput::fail(format!("Cannot run the command: {e}")),
    }
}

/// Kills a process group when dropped, unless the command ended on its own.
struct GroupGuard(Option<Pid>);

impl Drop for GroupGuard {
    fn drop(&mut self) {
        if let Some(pgid) = self.0 {
            // The group may be gone already; nothing to do then.
            let _ = killpg(pgid, Signal::SIGKILL);
        }
    }
}

async fn execute(
    command: &str,
    cwd: &Path,
    env: &ToolEnv,
) -> std::io::Result<(String, String, ExitStatus)> {
    let mut child = tokio::process::Command::new("sh")
        .arg("-c")
        .arg(command)
        .current_dir(cwd)
        .env_clear()
        .envs(crate::proc::child_env(&env.env_file_keys))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true)
        .spawn()?;
    // Armed from here on: dropping this future (timeout, interrupt) kills the group.
    let mut guard = GroupGuard(
        child
            .id()
            .and_then(|id| i32::try_from(id).ok())
            .map(Pid::from_raw),
    );
    let (stdout, stderr) = (child.stdout.take(), child.stderr.take());
    let (stdout, stderr, status) = tokio::join!(capture(stdout), capture(stderr), child.wait());
    let status = status?;
    // The command ended and closed its output: what it left running in the background
    // (a server started with `&` and its own log) was meant to outlive it.
    guard.0 = None;
    Ok((stdout?, stderr?, status))
}

/// Reads a stream to its end, keeping its first and last half megabyte.
async fn capture(stream: Option<impl AsyncRead + Unpin>) -> std::io::Result<String> {
    let Some(mut stream) = stream else {
        return Ok(String::new());
    };
    let half = KEEP_BYTES / 2;
    let (mut head, mut tail) = (Vec::new(), std::collections::VecDeque::new());
    let mut dropped = 0u64;
    let mut buf = [0u8; 16 * 1024];
    loop {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            break;
        }
        let mut chunk = &buf[..n];
        if head.len() < half {
            let take = chunk.len().min(half - head.len());
            head.extend_from_slice(&chunk[..take]);
            chunk = &chunk[take..];
        }
        tail.extend(chunk);
        let excess = tail.len().saturating_sub(half);
        tail.drain(..excess);
        dropped += excess as u64;
    }
    let mut text = String::from_utf8_lossy(&head).into_owned();
    if dropped > 0 {
        text.push_str(&format!("\n[... {dropped} bytes of output omitted ...]\n"));
    }
    text.push_str(&String::from_utf8_lossy(tail.make_contiguous()));
    Ok(text)
}

fn exit_code(status: ExitStatus) -> i32 {
    use std::os::unix::process::ExitStatusExt;
    status
        .code()
        .unwrap_or_else(|| 128 + status.signal().unwrap_or(0))
}

fn tail_chars(text: &str) -> String {
    let count = text.chars().count();
    match count > SHOWN_CHARS {
        true => format!(
            "…{}",
            text.chars().skip(count - SHOWN_CHARS).collect::<String>()
        ),
        false => text.to_owned(),
    }
}

fn report(command: &str, stdout: String, stderr: String, status: ExitStatus) -> ToolOutput {
    let code = exit_code(status);
    let mut viz = json!({"type": "shell-output", "command": command.chars().take(100).collect::<String>(), "exitCode": code});
    if !stdout.is_empty() {
        viz["stdout"] = json!(tail_chars(&stdout));
    }
    if !stderr.is_empty() {
        viz["stderr"] = json!(tail_chars(&stderr));
    }
    let error = (code != 0).then(|| match stderr.split('\n').next() {
        Some(first) if !stderr.is_empty() => format!("Command exited with code {code}: {first}"),
        _ => format!("Command exited with code {code}"),
    });
    ToolOutput {
        success: error.is_none(),
        result: Some(json!({"stdout": stdout, "stderr": stderr, "exitCode": code})),
        error,
        visualization: Some(viz),
    }
}

#[cfg(test)]
#[path = "shell_tests.rs"]
mod tests;
