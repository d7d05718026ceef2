//! A throwaway PostgreSQL for tests, shared by the unit tests (`store::testing`) and the
//! integration tests (`tests/api/helpers`, which include this file by path), so the test code
//! never ships in the binary. It uses nothing of the crate itself.
//!
//! `JEAN2_TEST_BACKEND=postgres` runs a test binary's tests on PostgreSQL: each store gets a
//! database of its own. The server is `JEAN2_TEST_DATABASE_URL`
//! (any database on it; the user must be allowed to create databases) or, without it, a cluster
//! this binary starts once: `initdb` in a temporary directory and `postgres` on a free port,
//! run as the `postgres` user when the tests run as root (PostgreSQL refuses root). The cluster
//! stops and its directory goes when the test binary exits (a shell waits on a pipe that closes
//! with it). [`rerun_on_postgres`] is how a plain `cargo test` covers both backends.

use std::io::Write as _;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// The variable that selects the backend of a test run.
pub const BACKEND_VAR: &str = "JEAN2_TEST_BACKEND";
/// A PostgreSQL server to use instead of starting one.
pub const URL_VAR: &str = "JEAN2_TEST_DATABASE_URL";

/// Whether this test run is on PostgreSQL.
pub fn on_postgres() -> bool {
    std::env::var(BACKEND_VAR).is_ok_and(|v| v == "postgres")
}

/// The server: its base URL (without a database) and, when started here, its cluster.
struct Server {
    base: String,
    _cluster: Option<Cluster>,
}

static SERVER: OnceLock<Result<Server, String>> = OnceLock::new();
static NEXT: AtomicU64 = AtomicU64::new(0);

/// Where the PostgreSQL programs are: on `PATH`, or Debian's `/usr/lib/postgresql/<n>/bin`.
pub fn bin_dir() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&path) {
            if dir.join("initdb").is_file() && dir.join("postgres").is_file() {
                return Some(dir);
            }
        }
    }
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
        .filter(|d| d.join("initdb").is_file())
        .collect();
    versions.sort();
    versions.pop()
}

/// Whether PostgreSQL can be had for a test run (a URL given, or the programs installed).
pub fn available() -> bool {
    std::env::var(URL_VAR).is_ok() || bin_dir().is_some()
}

fn server() -> Result<&'static Server, String> {
    SERVER
        .get_or_init(|| match std::env::var(URL_VAR) {
            Ok(url) => Ok(Server {
                base: url,
                _cluster: None,
            }),
            Err(_) => Cluster::start().map(|c| Server {
                base: c.base.clone(),
                _cluster: Some(c),
            }),
        })
        .as_ref()
        .map_err(Clone::clone)
}

/// Whether this process runs as root (`/proc/self` belongs to the effective user).
fn is_root() -> bool {
    use std::os::unix::fs::MetadataExt as _;
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

/// `program` as the `postgres` user when this process is root.
fn unprivileged(program: &Path) -> Command {
    if !is_root() {
        return Command::new(program);
    }
    let mut cmd = Command::new("setpriv");
    cmd.args([
        "--reuid=postgres",
        "--regid=postgres",
        "--clear-groups",
        "--",
    ])
    .arg(program);
    cmd
}

/// A PostgreSQL cluster of this process: `initdb` in a temporary directory, `postgres` on a
/// free port, driven by a shell that reads `stop` and `start` from a pipe, and stops the server
/// and removes the directory when the pipe closes (this process exits, or the value drops).
pub struct Cluster {
    /// `postgres://postgres@127.0.0.1:<port>/postgres`.
    pub base: String,
    pub port: u16,
    ctl: Mutex<(Child, Option<std::process::ChildStdin>)>,
}

impl Cluster {
    /// Make and start a cluster.
    pub fn start() -> Result<Cluster, String> {
        let bin = bin_dir()
            .ok_or("no initdb found (install PostgreSQL, or set JEAN2_TEST_DATABASE_URL)")?;
        let dir = tempfile::Builder::new()
            .prefix("jean2-pg-")
            .tempdir()
            .map_err(|e| e.to_string())?
            .keep();
        if is_root() {
            let chown = Command::new("chown")
                .arg("postgres:postgres")
                .arg(&dir)
                .status()
                .map_err(|e| e.to_string())?;
            if !chown.success() {
                return Err("no postgres user to run PostgreSQL as (it refuses root)".into());
            }
        }
        let data = dir.join("data");
        let out = unprivileged(&bin.join("initdb"))
            .arg("-D")
            .arg(&data)
            .args([
                "-U",
                "postgres",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
            ])
            .output()
            .map_err(|e| format!("initdb: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "initdb failed: {}",
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| e.to_string())?
            .port();
        let script = format!(
            "run() {{ {postgres} -D {data} -p {port} -k {dir} -c listen_addresses=127.0.0.1 \
             -c fsync=off -c synchronous_commit=off -c full_page_writes=off \
             -c max_connections=500 -c shared_buffers=64MB >>{dir}/log 2>&1 & pid=$!; }}
             run
             while read cmd; do
               case \"$cmd\" in
                 stop) kill -INT $pid; wait $pid;;
                 start) run;;
               esac
             done
             kill -INT $pid 2>/dev/null; wait $pid; rm -rf {dir}",
            postgres = bin.join("postgres").display(),
            data = data.display(),
            dir = dir.display(),
        );
        let mut child = unprivileged(Path::new("/bin/sh"))
            .args(["-c", &script])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start postgres: {e}"))?;
        let stdin = child.stdin.take();
        let cluster = Cluster {
            base: format!("postgres://postgres@127.0.0.1:{port}/postgres"),
            port,
            ctl: Mutex::new((child, stdin)),
        };
        cluster.wait(true).map_err(|e| {
            let log = std::fs::read_to_string(dir.join("log")).unwrap_or_default();
            format!("{e}: {log}")
        })?;
        Ok(cluster)
    }

    fn send(&self, cmd: &str) {
        let mut ctl = self.ctl.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(stdin) = ctl.1.as_mut() {
            let _ = writeln!(stdin, "{cmd}");
        }
    }

    /// Wait until the port accepts connections (`up`) or refuses them.
    fn wait(&self, up: bool) -> Result<(), String> {
        let deadline = Instant::now() + Duration::from_secs(60);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() != up {
            if Instant::now() > deadline {
                return Err(format!(
                    "postgres did not {}",
                    if up { "start" } else { "stop" }
                ));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(())
    }

    /// Stop the server (fast shutdown: its connections are closed) and wait until it is down.
    pub fn stop(&self) {
        self.send("stop");
        let _ = self.wait(false);
    }

    /// Start it again on the same port and data, and wait until it listens.
    pub fn restart(&self) {
        self.send("start");
        let _ = self.wait(true);
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let mut ctl = self.ctl.lock().unwrap_or_else(|e| e.into_inner());
        drop(ctl.1.take());
        let _ = ctl.0.wait();
    }
}

/// A new database on a cluster of `base`; its URL.
pub async fn create_database(base: &str) -> String {
    let name = format!(
        "jean2_t{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    );
    let client = admin(base).await;
    client
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .await
        .unwrap_or_else(|e| panic!("cannot create a test database: {e}"));
    with_database(base, &name)
}

/// `base` with its database replaced by `name`.
fn with_database(base: &str, name: &str) -> String {
    match url::Url::parse(base) {
        Ok(mut u) => {
            u.set_path(&format!("/{name}"));
            u.to_string()
        }
        Err(_) => base.to_owned(),
    }
}

/// A connection to the server's own database, waiting while the server starts up.
async fn admin(base: &str) -> tokio_postgres::Client {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        match tokio_postgres::connect(base, tokio_postgres::NoTls).await {
            Ok((client, conn)) => {
                tokio::spawn(conn);
                return client;
            }
            Err(e) if Instant::now() > deadline => {
                panic!("cannot connect to the test PostgreSQL: {e}")
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
}

/// The URL of a new, empty database on the test server (the store migrates it when it opens).
pub async fn fresh_database() -> String {
    let server = server().unwrap_or_else(|e| panic!("PostgreSQL for the tests: {e}"));
    create_database(&server.base).await
}

/// The base URL of the test server (its `postgres` database).
pub fn server_url() -> String {
    server()
        .unwrap_or_else(|e| panic!("PostgreSQL for the tests: {e}"))
        .base
        .clone()
}

/// Run this test binary again with `JEAN2_TEST_BACKEND=postgres` (every test but this one),
/// and fail with its output if any test fails there. Without PostgreSQL, one loud line and a
/// pass, except under CI (`CI=true`), where that is a failure.
pub fn rerun_on_postgres(this_test: &str) {
    if on_postgres() {
        return;
    }
    if !available() {
        let line = "!!! PostgreSQL backend SKIPPED: no initdb on PATH or in /usr/lib/postgresql, \
                    and no JEAN2_TEST_DATABASE_URL; only SQLite was tested";
        let _ = writeln!(std::io::stderr(), "{line}");
        let ci = std::env::var("CI").is_ok_and(|v| v == "true");
        assert!(!ci, "{line} (CI must test both backends)");
        return;
    }
    let exe = std::env::current_exe().unwrap_or_else(|e| panic!("current exe: {e}"));
    let out = Command::new(exe)
        .env(BACKEND_VAR, "postgres")
        .args(["--skip", this_test, "--test-threads", "2"])
        .output()
        .unwrap_or_else(|e| panic!("cannot rerun the tests: {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let summary = stdout
        .lines()
        .filter(|l| l.starts_with("test result:"))
        .collect::<Vec<_>>()
        .join("\n");
    let _ = writeln!(std::io::stderr(), "PostgreSQL backend: {summary}");
    assert!(
        out.status.success(),
        "the tests failed on PostgreSQL:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// [`fresh_database`] from synchronous code (its own thread and runtime).
#[allow(
    dead_code,
    reason = "the integration tests' daemon harness uses it, the unit tests do not"
)]
pub fn fresh_database_blocking() -> String {
    let run = || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap_or_else(|e| panic!("runtime: {e}"))
            .block_on(fresh_database())
    };
    std::thread::spawn(run)
        .join()
        .unwrap_or_else(|_| panic!("creating a test database failed"))
}
