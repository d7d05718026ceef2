//! Load generator for `scripts/bench-files.sh` (issue 14), against a running jean2 with a token:
//!
//! - `search`: a generated tree of 100,000 files (plus an ignored `node_modules` and a
//!   `.gitignore`d `target`) as a workspace; `GET …/files?search=` latency, p50/p99, for a name
//!   found early (the walk stops at `limit`) and for one that only three files have (the whole
//!   tree is walked);
//! - `tree`: `GET …/files?path=big` on a folder of 10,000 entries, p50/p99;
//! - `echo`: a terminal's keystroke echo round trip over `/ws/terminal`: one key sent, the time
//!   until the PTY's echo of it comes back, p50/p99;
//! - `git`: `GET …/git/status` on a small repository (200 files, 6 changes), p50/p99.
//!
//! Only ever connects where `--base` points (the script passes 127.0.0.1). Every wait is bounded.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use clap::{Parser, Subcommand};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::time::timeout;
use tokio_tungstenite::tungstenite::Message;

/// Longest wait for any single reply.
const REPLY_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Parser)]
struct Cli {
    /// Server base URL, e.g. http://127.0.0.1:8742.
    #[arg(long)]
    base: String,
    #[arg(long)]
    token: String,
    /// A scratch directory for the generated trees.
    #[arg(long)]
    work: PathBuf,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    Search {
        #[arg(long, default_value_t = 100_000)]
        files: usize,
        #[arg(long, default_value_t = 30)]
        runs: usize,
    },
    Tree {
        #[arg(long, default_value_t = 10_000)]
        entries: usize,
        #[arg(long, default_value_t = 50)]
        runs: usize,
    },
    Echo {
        #[arg(long, default_value_t = 500)]
        keys: usize,
    },
    Git {
        #[arg(long, default_value_t = 50)]
        runs: usize,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let http = reqwest::Client::builder().timeout(REPLY_TIMEOUT).build()?;
    let api = Api {
        http,
        base: cli.base.clone(),
        token: cli.token.clone(),
    };
    match cli.cmd {
        Cmd::Search { files, runs } => search(&api, &cli.work, files, runs).await,
        Cmd::Tree { entries, runs } => tree(&api, &cli.work, entries, runs).await,
        Cmd::Echo { keys } => echo(&api, &cli.work, keys).await,
        Cmd::Git { runs } => git_status(&api, &cli.work, runs).await,
    }
}

struct Api {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl Api {
    async fn get(&self, path: &str) -> anyhow::Result<Value> {
        let res = self
            .http
            .get(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .send()
            .await?;
        if !res.status().is_success() {
            bail!("GET {path}: {}", res.status());
        }
        Ok(res.json().await?)
    }

    async fn post(&self, path: &str, body: &Value) -> anyhow::Result<Value> {
        let res = self
            .http
            .post(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .json(body)
            .send()
            .await?;
        if !res.status().is_success() {
            bail!("POST {path}: {}", res.status());
        }
        Ok(res.json().await?)
    }

    async fn workspace(&self, dir: &Path) -> anyhow::Result<String> {
        let body = json!({"name": "bench", "path": dir, "isVirtual": false});
        let ws = self.post("/api/workspaces", &body).await?;
        Ok(ws["workspace"]["id"]
            .as_str()
            .context("no workspace id")?
            .to_owned())
    }
}

/// p50 and p99 of some durations, in milliseconds.
fn percentiles(mut samples: Vec<Duration>) -> (f64, f64) {
    samples.sort();
    let at = |q: f64| {
        let i = ((samples.len() as f64 - 1.0) * q).round() as usize;
        samples[i].as_secs_f64() * 1000.0
    };
    (at(0.50), at(0.99))
}

async fn timed(api: &Api, path: &str, runs: usize) -> anyhow::Result<(f64, f64, Value)> {
    let mut last = api.get(path).await?; // warm-up (page cache, first-use allocations)
    let mut samples = Vec::with_capacity(runs);
    for _ in 0..runs {
        let t = Instant::now();
        last = api.get(path).await?;
        samples.push(t.elapsed());
    }
    let (p50, p99) = percentiles(samples);
    Ok((p50, p99, last))
}

async fn search(api: &Api, work: &Path, files: usize, runs: usize) -> anyhow::Result<()> {
    let root = work.join("tree100k");
    let per_dir = 100;
    let needles = [7, files / 2 + 7, files.saturating_sub(93)];
    for i in 0..files {
        let dir = root.join(format!("pkg_{:03}/mod_{:02}", i / 1000, (i / per_dir) % 10));
        if i % per_dir == 0 {
            std::fs::create_dir_all(&dir)?;
        }
        let name = if needles.contains(&i) {
            format!("needle_{i}.rs")
        } else {
            format!("file_{i}.rs")
        };
        std::fs::write(dir.join(name), "")?;
    }
    for (dir, n) in [("node_modules/dep", 5_000), ("target/debug", 5_000)] {
        std::fs::create_dir_all(root.join(dir))?;
        for i in 0..n {
            std::fs::write(root.join(dir).join(format!("needle_ignored_{i}.rs")), "")?;
        }
    }
    std::fs::write(root.join(".gitignore"), "target/\n")?;
    let ws = api.workspace(&root).await?;
    for (label, query) in [
        ("early hit, limit 50", "file_1"),
        ("3 matches, whole tree", "needle"),
    ] {
        let path = format!("/api/workspaces/{ws}/files?search={query}&limit=50&showHidden=true");
        let (p50, p99, body) = timed(api, &path, runs).await?;
        let found = body["files"].as_array().map_or(0, Vec::len);
        println!(
            "search {files} files ({label}): {found} results, p50 {p50:.1} ms, p99 {p99:.1} ms ({runs} runs)"
        );
        if query == "needle" && found != 3 {
            bail!("expected the 3 needles and no ignored file, got {found}: {body}");
        }
    }
    Ok(())
}

async fn tree(api: &Api, work: &Path, entries: usize, runs: usize) -> anyhow::Result<()> {
    let root = work.join("tree10k");
    let big = root.join("big");
    std::fs::create_dir_all(&big)?;
    for i in 0..entries {
        if i % 10 == 0 {
            std::fs::create_dir(big.join(format!("dir_{i:05}")))?;
        } else {
            std::fs::write(big.join(format!("file_{i:05}.txt")), "")?;
        }
    }
    let ws = api.workspace(&root).await?;
    let path = format!("/api/workspaces/{ws}/files?path=big&showHidden=true");
    let (p50, p99, body) = timed(api, &path, runs).await?;
    let listed = body["files"].as_array().map_or(0, Vec::len);
    if listed != entries {
        bail!("listed {listed} of {entries} entries");
    }
    println!("tree listing of {entries} entries: p50 {p50:.1} ms, p99 {p99:.1} ms ({runs} runs)");
    Ok(())
}

async fn echo(api: &Api, work: &Path, keys: usize) -> anyhow::Result<()> {
    let root = work.join("term");
    std::fs::create_dir_all(&root)?;
    let ws = api.workspace(&root).await?;
    let session = api
        .post(&format!("/api/workspaces/{ws}/terminals"), &json!({}))
        .await?;
    let sid = session["session"]["id"]
        .as_str()
        .context("no terminal id")?;
    let ws_base = api.base.replacen("http", "ws", 1);
    let url = format!(
        "{ws_base}/ws/terminal?cwd=%2F&workspaceId={ws}&sessionId={sid}&token={}",
        url::form_urlencoded::byte_serialize(api.token.as_bytes()).collect::<String>()
    );
    let (mut sock, _) = tokio_tungstenite::connect_async(url).await?;
    // The terminal echoes nothing; `cat` sends each key back as a shell would: key → PTY →
    // process → PTY → socket.
    send_keys(&mut sock, b"stty -icanon -echo; exec cat\r").await?;
    read_until(&mut sock, b"exec cat").await?;
    tokio::time::sleep(Duration::from_millis(300)).await;
    drain(&mut sock).await;
    let mut samples = Vec::with_capacity(keys);
    for i in 0..keys {
        let key = [b'a' + (i % 26) as u8];
        let t = Instant::now();
        send_keys(&mut sock, &key).await?;
        read_until(&mut sock, &key).await?;
        samples.push(t.elapsed());
    }
    let (p50, p99) = percentiles(samples);
    println!("terminal echo round trip: p50 {p50:.2} ms, p99 {p99:.2} ms ({keys} keys)");
    Ok(())
}

async fn git_status(api: &Api, work: &Path, runs: usize) -> anyhow::Result<()> {
    let root = work.join("repo");
    for i in 0..200 {
        let dir = root.join(format!("d{}", i % 10));
        std::fs::create_dir_all(&dir)?;
        let lines: String = (1..=50).map(|n| format!("{n}\n")).collect();
        std::fs::write(dir.join(format!("f{i}.txt")), lines)?;
    }
    let git = |args: &[&str]| -> anyhow::Result<()> {
        let ok = std::process::Command::new("git")
            .args([
                "-c",
                "user.name=bench",
                "-c",
                "user.email=bench@example.com",
            ])
            .args(args)
            .current_dir(&root)
            .status()?
            .success();
        if !ok {
            bail!("git {args:?} failed");
        }
        Ok(())
    };
    git(&["init", "-q"])?;
    git(&["add", "-A"])?;
    git(&["commit", "-qm", "init"])?;
    for i in 1..=5 {
        let f = root.join(format!("d{i}/f{i}.txt"));
        std::fs::write(&f, std::fs::read_to_string(&f)? + "x\n")?;
    }
    std::fs::write(root.join("untracked.txt"), "new\n")?;
    let ws = api.workspace(&root).await?;
    let path = format!("/api/workspaces/{ws}/git/status");
    let (p50, p99, body) = timed(api, &path, runs).await?;
    let n = body["files"].as_array().map_or(0, Vec::len);
    if n != 6 {
        bail!("expected 6 changed files, got {n}: {body}");
    }
    println!(
        "git status, 200-file repository with 6 changes: p50 {p50:.1} ms, p99 {p99:.1} ms ({runs} runs)"
    );
    Ok(())
}

type Sock =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn send_keys(sock: &mut Sock, keys: &[u8]) -> anyhow::Result<()> {
    let mut frame = vec![0x01];
    frame.extend_from_slice(keys);
    sock.send(Message::Binary(frame.into())).await?;
    Ok(())
}

/// Read frames until an `OUTPUT` frame contains `needle`.
async fn read_until(sock: &mut Sock, needle: &[u8]) -> anyhow::Result<()> {
    loop {
        let msg = timeout(REPLY_TIMEOUT, sock.next())
            .await
            .context("no terminal output within 30 s")?
            .context("terminal socket closed")??;
        if let Message::Binary(b) = msg
            && b.first() == Some(&0x04)
            && b[1..].windows(needle.len()).any(|w| w == needle)
        {
            return Ok(());
        }
    }
}

/// Drop whatever output is waiting (the prompt, the echoed command).
async fn drain(sock: &mut Sock) {
    while let Ok(Some(_)) = timeout(Duration::from_millis(100), sock.next()).await {}
}
