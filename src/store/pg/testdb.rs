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

/// The server: its base URL (without a database) and, when started here, the process that
/// stops it when this binary exits.
struct Server {
    base: String,
    _guard: Option<Mutex<Child>>,
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
                _guard: None,
            }),
            Err(_) => start_cluster(),
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

fn start_cluster() -> Result<Server, String> {
    let bin =
        bin_dir().ok_or("no initdb found (install PostgreSQL, or set JEAN2_TEST_DATABASE_URL)")?;
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
            return Err("no postgres user to run PostgreSQL as (it refuses to run as root)".into());
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
    // The shell starts the server, waits for its stdin to close (this process exiting), then
    // stops the server and removes the directory.
    let script = format!(
        "{postgres} -D {data} -p {port} -k {dir} -c listen_addresses=127.0.0.1 -c fsync=off \
         -c synchronous_commit=off -c full_page_writes=off -c max_connections=500 \
         -c shared_buffers=64MB >{dir}/log 2>&1 & pid=$!; read _; kill -INT $pid; wait $pid; \
         rm -rf {dir}",
        postgres = bin.join("postgres").display(),
        data = data.display(),
        dir = dir.display(),
    );
    let child = unprivileged(Path::new("/bin/sh"))
        .args(["-c", &script])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start postgres: {e}"))?;
    let deadline = Instant::now() + Duration::from_secs(60);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        if Instant::now() > deadline {
            let log = std::fs::read_to_string(dir.join("log")).unwrap_or_default();
            return Err(format!("postgres did not start: {log}"));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok(Server {
        base: format!("postgres://postgres@127.0.0.1:{port}/postgres"),
        _guard: Some(Mutex::new(child)),
    })
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
    let name = format!(
        "jean2_t{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    );
    let client = admin(&server.base).await;
    client
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .await
        .unwrap_or_else(|e| panic!("cannot create a test database: {e}"));
    with_database(&server.base, &name)
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
