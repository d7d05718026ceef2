//! Running the `git` binary safely. A repository's own config can name programs that `git
//! status` and `git diff` run (an fsmonitor hook, clean filters, external diffs, text
//! conversion, a pager), and a workspace's `.git` may have been written by an agent, so all of
//! them are switched off: no pager, no colour, `--no-ext-diff --no-textconv` (by the callers),
//! `core.fsmonitor=false`, no hooks, every filter driver the config defines emptied
//! ([`safe_config`]), submodules not entered. Also: `GIT_*` variables from our environment
//! removed, exact paths
//! (`core.quotepath=off`, `-z` where parsed), literal pathspecs, none of jean2's secrets, a timeout that kills it, and a
//! bound on how much output is read.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use tokio::io::AsyncReadExt;
use tokio::process::Command;

/// How long one git command may take.
pub const TIMEOUT: Duration = Duration::from_secs(10);
/// Most bytes read from one git command's output; more is [`GitError::TooLarge`].
pub const MAX_OUTPUT: u64 = 16 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum GitError {
    #[error("git is not installed")]
    NotInstalled,
    #[error("git exited with {code:?}: {stderr}")]
    Failed { code: Option<i32>, stderr: String },
    #[error("git took longer than {TIMEOUT:?}")]
    TimedOut,
    #[error("git printed more than {MAX_OUTPUT} bytes")]
    TooLarge,
    #[error("the directory does not exist")]
    NoDirectory,
    #[error("cannot run git: {0}")]
    Io(#[from] std::io::Error),
}

impl GitError {
    /// Whether git said the directory is not inside a repository (and nothing else went wrong).
    pub fn not_a_repo(&self) -> bool {
        matches!(self, GitError::Failed { stderr, .. } if stderr.contains("not a git repository"))
    }
}

/// Run `git <args>` in `dir` and return its standard output.
pub async fn git(dir: &Path, args: &[&str]) -> Result<Vec<u8>, GitError> {
    git_with(dir, &[], args).await
}

/// `-c` settings that switch off every filter driver (`filter.<name>.clean` and the like) the
/// repository's config defines: an empty command is no filter. Reading config runs nothing.
pub async fn safe_config(dir: &Path) -> Vec<String> {
    let listed = git(
        dir,
        &[
            "config",
            "--null",
            "--name-only",
            "--get-regexp",
            r"^filter\.",
        ],
    )
    .await
    .unwrap_or_default();
    let mut names: Vec<String> = listed
        .split(|b| *b == 0)
        .filter_map(|key| {
            let key = std::str::from_utf8(key).ok()?;
            let rest = key.strip_prefix("filter.")?;
            Some(rest[..rest.rfind('.')?].to_owned())
        })
        .collect();
    names.sort();
    names.dedup();
    names
        .iter()
        .flat_map(|n| {
            [
                format!("filter.{n}.clean="),
                format!("filter.{n}.smudge="),
                format!("filter.{n}.process="),
                format!("filter.{n}.required=false"),
            ]
        })
        .collect()
}

/// [`git`] with extra `-c` settings (from [`safe_config`]).
pub async fn git_with(dir: &Path, config: &[String], args: &[&str]) -> Result<Vec<u8>, GitError> {
    // Checked first: a missing working directory also fails the spawn with "not found".
    if !dir.is_dir() {
        return Err(GitError::NoDirectory);
    }
    let mut cmd = Command::new("git");
    cmd.arg("--no-pager")
        .arg("--literal-pathspecs")
        .args(["-c", "core.quotepath=off"])
        .args(["-c", "core.fsmonitor=false"])
        .args(["-c", "color.ui=false"])
        .args(["-c", "diff.noprefix=false"])
        .args(["-c", "core.hooksPath=/dev/null"])
        .args(config.iter().flat_map(|c| ["-c", c.as_str()]))
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    for (key, _) in std::env::vars_os() {
        let name = key.to_string_lossy();
        if name.starts_with("GIT_") || crate::proc::is_hidden(&name, &[]) {
            cmd.env_remove(key);
        }
    }
    // Status must not take the index lock (a concurrent `git commit` of the user would fail).
    cmd.env("GIT_OPTIONAL_LOCKS", "0")
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("LC_ALL", "C");
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(GitError::NotInstalled),
        Err(e) => return Err(e.into()),
    };
    let stdout = child.stdout.take().ok_or(GitError::TooLarge)?;
    let stderr = child.stderr.take().ok_or(GitError::TooLarge)?;
    let work = async {
        let mut out = Vec::new();
        let mut err = Vec::new();
        let mut stdout = stdout.take(MAX_OUTPUT + 1);
        // The first 64 KiB of stderr are kept; the rest is read and dropped so git never blocks.
        let drain_err = async {
            let mut kept = stderr.take(64 * 1024);
            kept.read_to_end(&mut err).await?;
            tokio::io::copy(&mut kept.into_inner(), &mut tokio::io::sink()).await
        };
        let (a, b) = tokio::join!(stdout.read_to_end(&mut out), drain_err);
        a?;
        b?;
        if out.len() as u64 > MAX_OUTPUT {
            return Err(GitError::TooLarge);
        }
        let status = child.wait().await?;
        if status.success() {
            Ok(out)
        } else {
            Err(GitError::Failed {
                code: status.code(),
                stderr: String::from_utf8_lossy(&err).trim().to_owned(),
            })
        }
    };
    match tokio::time::timeout(TIMEOUT, work).await {
        Ok(result) => result,
        // Dropping the future drops the child, which kills it (kill_on_drop).
        Err(_) => Err(GitError::TimedOut),
    }
}
