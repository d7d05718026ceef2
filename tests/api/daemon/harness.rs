//! The harness of the daemon tests: a temporary data dir, the real binary run against it with
//! a cleared environment, and polls with deadlines.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;
use tempfile::TempDir;

/// One data dir and the commands run against it; stops its server when dropped (and prints
/// its `server.log` if the test failed).
pub struct Daemon {
    dir: TempDir,
    env: Vec<(String, String)>,
}

/// What a command printed and how it exited.
pub struct Run {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn all(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }
}

impl std::fmt::Debug for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit {:?}\n--- stdout\n{}--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

impl Daemon {
    /// A data dir; on a PostgreSQL run, every command also gets a new database of its own.
    pub fn new() -> Daemon {
        let mut env = Vec::new();
        if crate::helpers::testdb::on_postgres() {
            let url = crate::helpers::testdb::fresh_database_blocking();
            env.push(("JEAN2_DATABASE_URL".to_owned(), url));
        }
        Daemon {
            dir: tempfile::tempdir().unwrap(),
            env,
        }
    }

    /// The variables every command gets besides the data dir.
    pub fn env(&self) -> impl Iterator<Item = (&str, &str)> {
        self.env.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// Also pass this variable to every command (as if exported in the user's shell).
    pub fn with_env(mut self, key: &str, value: &str) -> Daemon {
        self.env.push((key.to_owned(), value.to_owned()));
        self
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn run(&self, args: &[&str]) -> Run {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_jean2"));
        cmd.args(args)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.dir.path())
            .env("JEAN2_DATA_DIR", self.dir.path());
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        let out = cmd.output().expect("run jean2");
        Run {
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// Run with standard output a pipe nobody reads any more (`jean2 … | head -0`).
    pub fn run_into_a_closed_pipe(&self, args: &[&str]) -> Run {
        let (reader, writer) = std::io::pipe().expect("pipe");
        drop(reader);
        let out = Command::new(env!("CARGO_BIN_EXE_jean2"))
            .args(args)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.dir.path())
            .env("JEAN2_DATA_DIR", self.dir.path())
            .stdout(writer)
            .stderr(std::process::Stdio::piped())
            .output()
            .expect("run jean2");
        Run {
            code: out.status.code(),
            stdout: String::new(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// Run and insist on exit 0.
    pub fn ok(&self, args: &[&str]) -> Run {
        let run = self.run(args);
        assert_eq!(run.code, Some(0), "jean2 {args:?}: {run:?}");
        run
    }

    pub fn write_env(&self, text: &str) {
        std::fs::write(self.path(".env"), text).unwrap();
    }

    pub fn record(&self) -> Value {
        let text = std::fs::read_to_string(self.path("server.pid")).expect("server.pid exists");
        serde_json::from_str(&text).expect("server.pid is JSON")
    }

    pub fn url(&self) -> String {
        self.record()["url"]
            .as_str()
            .expect("url in server.pid")
            .to_owned()
    }

    pub fn pid(&self) -> u32 {
        self.record()["pid"].as_u64().expect("pid in server.pid") as u32
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.path("server.log")).unwrap_or_default()
    }
}

impl Drop for Daemon {
    /// Stop the server; if the test is failing, print what it logged (`server.log`).
    fn drop(&mut self) {
        if self.path("server.pid").exists() {
            let _ = self.run(&["stop"]);
        }
        if std::thread::panicking() {
            eprintln!(
                "\n===== {} =====\n{}===== end of server.log =====",
                self.path("server.log").display(),
                self.log()
            );
        }
    }
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .danger_accept_invalid_certs(true)
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap()
}

pub async fn status_of(url: String, token: Option<&str>) -> u16 {
    let mut req = client().get(url);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    req.send().await.expect("request").status().as_u16()
}

/// Poll until nobody holds the pidfile lock (the server process is gone).
pub fn wait_until_lock_released(path: &Path) {
    let file = File::open(path).expect("pidfile still there");
    let deadline = Instant::now() + Duration::from_secs(10);
    while file.try_lock_shared().is_err() {
        assert!(Instant::now() < deadline, "lock still held after 10 s");
        std::thread::sleep(Duration::from_millis(20));
    }
}
