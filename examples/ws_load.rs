//! Load generator for `scripts/bench-ws.sh` (issue 3, benchmarks), against a running jean2:
//!
//! - `seed`: create N sessions through the REST API (`POST /api/sessions`) in the first workspace;
//!   prints `workspace <id>` last, for the list benchmark that `wrk` then runs.
//! - `fanout`: C connections each send `client.register` and `session.resume` for one session;
//!   another connection sends `session.rename` R times; for each round, the time from sending the
//!   rename until the last of the C participants has read its `session.renamed`.
//! - `idle`: the server's RSS (`/proc/PID/status`) before and after opening C registered, idle
//!   WebSocket connections, and after closing them: KB per connection.
//!
//! Only ever connects where `--base` points (the script passes 127.0.0.1). Every wait is bounded.

use std::time::{Duration, Instant};

use anyhow::{Context as _, anyhow, bail};
use clap::{Parser, Subcommand};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio::time::timeout;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Longest wait for any single reply.
const REPLY_TIMEOUT: Duration = Duration::from_secs(15);
/// Connection handshakes in flight at once.
const CONNECT_CONCURRENCY: usize = 64;

#[derive(Parser)]
struct Cli {
    /// Server base URL, e.g. http://127.0.0.1:8742.
    #[arg(long)]
    base: String,
    /// Bearer token (omit when auth is off).
    #[arg(long)]
    token: Option<String>,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Create sessions through POST /api/sessions.
    Seed {
        #[arg(long, default_value_t = 10_000)]
        sessions: usize,
    },
    /// Fan-out latency of one session event to many resumed connections.
    Fanout {
        #[arg(long, default_value_t = 1_000)]
        conns: usize,
        #[arg(long, default_value_t = 20)]
        rounds: usize,
    },
    /// Server memory per idle, registered WebSocket connection.
    Idle {
        #[arg(long, default_value_t = 10_000)]
        conns: usize,
        /// The server's process id (its RSS is read from /proc).
        #[arg(long)]
        pid: u32,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let base = cli.base.trim_end_matches('/').to_owned();
    match cli.cmd {
        Cmd::Seed { sessions } => seed(&base, cli.token.as_deref(), sessions).await,
        Cmd::Fanout { conns, rounds } => fanout(&base, cli.token.as_deref(), conns, rounds).await,
        Cmd::Idle { conns, pid } => idle(&base, cli.token.as_deref(), conns, pid).await,
    }
}

// ---------- seed ----------

fn http_client() -> anyhow::Result<reqwest::Client> {
    Ok(reqwest::Client::builder().timeout(REPLY_TIMEOUT).build()?)
}

/// The id of the first workspace (`GET /api/workspaces` creates the default one if there is none).
async fn first_workspace(
    http: &reqwest::Client,
    base: &str,
    token: Option<&str>,
) -> anyhow::Result<String> {
    let mut req = http.get(format!("{base}/api/workspaces"));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let res = req.send().await?;
    let status = res.status();
    let body: Value = res.json().await.context("GET /api/workspaces: not JSON")?;
    body["workspaces"][0]["id"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| anyhow!("GET /api/workspaces ({status}) has no workspace id: {body}"))
}

async fn seed(base: &str, token: Option<&str>, n: usize) -> anyhow::Result<()> {
    let http = http_client()?;
    let ws_id = first_workspace(&http, base, token).await?;
    let started = Instant::now();
    let workers = 8;
    let mut tasks = tokio::task::JoinSet::new();
    for w in 0..workers {
        let (http, base, ws_id) = (http.clone(), base.to_owned(), ws_id.clone());
        let token = token.map(str::to_owned);
        tasks.spawn(async move {
            for i in (w..n).step_by(workers) {
                let mut req = http
                    .post(format!("{base}/api/sessions"))
                    .json(&json!({"workspaceId": ws_id, "title": format!("Bench session {i}")}));
                if let Some(t) = &token {
                    req = req.bearer_auth(t);
                }
                let res = req.send().await?;
                if !res.status().is_success() {
                    let status = res.status();
                    bail!("POST /api/sessions #{i}: {status}: {}", res.text().await?);
                }
            }
            anyhow::Ok(())
        });
    }
    while let Some(done) = tasks.join_next().await {
        done??;
    }
    let secs = started.elapsed().as_secs_f64();
    eprintln!(
        "seeded {n} sessions in {secs:.1} s ({:.0}/s)",
        n as f64 / secs
    );
    println!("workspace {ws_id}");
    Ok(())
}

// ---------- WebSocket helpers ----------

async fn connect(base: &str, token: Option<&str>) -> anyhow::Result<Ws> {
    let mut url = format!("{}/ws", base.replacen("http", "ws", 1));
    if let Some(t) = token {
        url.push_str(&format!(
            "?token={}",
            url::form_urlencoded::byte_serialize(t.as_bytes()).collect::<String>()
        ));
    }
    // Small client buffers: 10,000 clients at the 128 KiB default would need 1.3 GB here.
    let config = WebSocketConfig::default()
        .read_buffer_size(4096)
        .write_buffer_size(0);
    let (ws, _) = timeout(
        REPLY_TIMEOUT,
        tokio_tungstenite::connect_async_with_config(url, Some(config), true),
    )
    .await
    .context("WebSocket connect timed out")??;
    Ok(ws)
}

async fn send(ws: &mut Ws, v: Value) -> anyhow::Result<()> {
    ws.send(Message::text(v.to_string())).await?;
    Ok(())
}

/// Read until a frame of type `want` arrives (answering pings); an `error` frame fails.
async fn expect(ws: &mut Ws, want: &str) -> anyhow::Result<Value> {
    let deadline = Instant::now() + REPLY_TIMEOUT;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let msg = timeout(left, ws.next())
            .await
            .with_context(|| format!("no {want} within {REPLY_TIMEOUT:?}"))?
            .ok_or_else(|| anyhow!("socket closed while waiting for {want}"))??;
        let Message::Text(text) = msg else { continue };
        let v: Value = serde_json::from_str(text.as_str())?;
        match v["type"].as_str() {
            Some(t) if t == want => return Ok(v),
            Some("ping") => send(ws, json!({"type": "pong"})).await?,
            Some("error" | "client.rejected") => bail!("waiting for {want}, got {v}"),
            _ => {}
        }
    }
}

async fn registered(base: &str, token: Option<&str>, i: usize) -> anyhow::Result<Ws> {
    let mut ws = connect(base, token).await?;
    let client = json!({"clientId": format!("bench-{i}"), "clientType": "sdk",
        "displayName": "jean2 bench", "interactionMode": "headless", "capabilities": []});
    send(
        &mut ws,
        json!({"type": "client.register", "client": client}),
    )
    .await?;
    expect(&mut ws, "client.registered").await?;
    Ok(ws)
}

/// Open `n` connections with `CONNECT_CONCURRENCY` handshakes in flight, each prepared by `make`.
async fn open_many<F, Fut>(n: usize, make: F) -> anyhow::Result<Vec<Ws>>
where
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<Ws>>,
{
    let started = Instant::now();
    let results: Vec<_> = futures_util::stream::iter(0..n)
        .map(make)
        .buffer_unordered(CONNECT_CONCURRENCY)
        .collect()
        .await;
    let conns = results.into_iter().collect::<anyhow::Result<Vec<_>>>()?;
    eprintln!(
        "opened {n} connections in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(conns)
}

fn percentile(sorted: &[f64], p: usize) -> f64 {
    sorted[(sorted.len() - 1) * p / 100]
}

fn rss_kb(pid: u32) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .with_context(|| format!("cannot read /proc/{pid}/status: is the server running?"))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .ok_or_else(|| anyhow!("no VmRSS in /proc/{pid}/status"))
}

// ---------- fanout ----------

async fn fanout(base: &str, token: Option<&str>, n: usize, rounds: usize) -> anyhow::Result<()> {
    let workspace = first_workspace(&http_client()?, base, token).await?;
    let mut control = registered(base, token, usize::MAX).await?;
    let create =
        json!({"type": "session.create", "workspaceId": workspace, "title": "Fan-out bench"});
    send(&mut control, create).await?;
    let created = expect(&mut control, "session.created").await?;
    let sid = created["session"]["id"]
        .as_str()
        .ok_or_else(|| anyhow!("session.created without session.id: {created}"))?
        .to_owned();

    let sid_ref = &sid;
    let conns = open_many(n, |i| async move {
        let mut ws = registered(base, token, i).await?;
        send(
            &mut ws,
            json!({"type": "session.resume", "sessionId": sid_ref}),
        )
        .await?;
        expect(&mut ws, "session.resumed").await?;
        Ok(ws)
    })
    .await?;

    // Each participant reports (round, arrival time) for every session.renamed it reads.
    let (tx, mut rx) = mpsc::unbounded_channel::<(usize, Instant)>();
    let mut readers = tokio::task::JoinSet::new();
    for mut ws in conns {
        let tx = tx.clone();
        readers.spawn(async move {
            while let Some(Ok(msg)) = ws.next().await {
                let Message::Text(text) = msg else { continue };
                let Ok(v) = serde_json::from_str::<Value>(text.as_str()) else {
                    continue;
                };
                match v["type"].as_str() {
                    Some("session.renamed") => {
                        let round = v["session"]["title"]
                            .as_str()
                            .and_then(|t| t.strip_prefix("fanout-"))
                            .and_then(|r| r.parse().ok());
                        if let Some(r) = round {
                            let _ = tx.send((r, Instant::now()));
                        }
                    }
                    Some("ping") => {
                        let _ = ws.send(Message::text(r#"{"type":"pong"}"#)).await;
                    }
                    _ => {}
                }
            }
        });
    }
    drop(tx);

    let mut last = Vec::with_capacity(rounds);
    let mut median = Vec::with_capacity(rounds);
    let mut first = Vec::with_capacity(rounds);
    for round in 0..rounds {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let t0 = Instant::now();
        let msg =
            json!({"type": "session.rename", "sessionId": sid, "title": format!("fanout-{round}")});
        send(&mut control, msg).await?;
        let mut arrivals = Vec::with_capacity(n);
        let deadline = t0 + REPLY_TIMEOUT;
        while arrivals.len() < n {
            let left = deadline.saturating_duration_since(Instant::now());
            match timeout(left, rx.recv()).await {
                Ok(Some((r, at))) if r == round => {
                    arrivals.push(at.duration_since(t0).as_secs_f64() * 1000.0)
                }
                Ok(Some(_)) => {}
                Ok(None) => bail!("all participant connections closed"),
                Err(_) => bail!(
                    "round {round}: only {} of {n} connections got session.renamed within {REPLY_TIMEOUT:?}",
                    arrivals.len()
                ),
            }
        }
        arrivals.sort_by(f64::total_cmp);
        last.push(arrivals[n - 1]);
        median.push(percentile(&arrivals, 50));
        first.push(arrivals[0]);
    }
    readers.abort_all();
    last.sort_by(f64::total_cmp);
    median.sort_by(f64::total_cmp);
    first.sort_by(f64::total_cmp);
    println!(
        "fanout conns={n} rounds={rounds} last_p50_ms={:.2} last_p99_ms={:.2} last_max_ms={:.2} \
         median_conn_p50_ms={:.2} first_p50_ms={:.2}",
        percentile(&last, 50),
        percentile(&last, 99),
        last[rounds - 1],
        percentile(&median, 50),
        percentile(&first, 50),
    );
    Ok(())
}

// ---------- idle ----------

async fn idle(base: &str, token: Option<&str>, n: usize, pid: u32) -> anyhow::Result<()> {
    // One connection first, so one-time lazy initialisation is not charged to the 10,000.
    drop(registered(base, token, usize::MAX).await?);
    tokio::time::sleep(Duration::from_secs(1)).await;
    let before = rss_kb(pid)?;
    let conns = open_many(n, |i| registered(base, token, i)).await?;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after = rss_kb(pid)?;
    drop(conns);
    tokio::time::sleep(Duration::from_secs(3)).await;
    let closed = rss_kb(pid)?;
    let per_conn = after.saturating_sub(before) as f64 / n as f64;
    println!(
        "idle conns={n} rss_before_kb={before} rss_after_kb={after} rss_after_close_kb={closed} kb_per_conn={per_conn:.1}"
    );
    Ok(())
}
