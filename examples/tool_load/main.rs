//! Tool-step benchmark (issue 11), for `scripts/bench-tools.sh`: a fake OpenAI-compatible
//! provider in this process (on `--provider-port`, which the script gave jean2 as
//! `JEAN2_LLM_BASE_URL`) scripts turns of `--steps` tool calls (streamed `tool_calls` deltas,
//! `finish_reason: "tool_calls"`), then a short answer. The running `jean2 server` at `--base`
//! runs them in the `code` preconfig in a folder workspace under `--work`, each session watched
//! by its own resumed WebSocket client. For every tool step it takes, on one clock:
//!
//! - the provider's end of the step's stream (its last frame handed out) and the arrival of the
//!   next provider request carrying that call's result: the server's own time per tool step,
//!   the model call excluded (the stream's end parsed, parts stored and published, the tool run,
//!   the next request built and sent);
//! - the client reading the tool part's `part.updated` with its result, which splits that time
//!   into before and after the result reaches a client;
//! - the tool's run time as the part states it (`completedAt - startedAt`, whole milliseconds).
//!
//! `--tool none` calls a tool the preconfig does not have: the part ends as an error at once, so
//! nothing runs and the figure is the server's own bookkeeping per step. It prints p50/p99/max of
//! each and the server's CPU time per step (`--pid`, from /proc). Benchmarks print figures; none
//! asserts. Only ever listens on and connects to 127.0.0.1.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use axum::Router;
use axum::routing::post;
use clap::Parser;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::time::timeout;
use tokio_tungstenite::tungstenite::Message;

mod provider;

use provider::{Fake, completions, now_ns, tool_args};

/// Longest wait for any single frame from the server.
const REPLY_TIMEOUT: Duration = Duration::from_secs(60);

#[derive(Parser)]
struct Cli {
    /// The running server, e.g. http://127.0.0.1:8742 (auth off).
    #[arg(long)]
    base: String,
    /// Its process id, for its CPU time.
    #[arg(long)]
    pid: u32,
    /// The port of 127.0.0.1 the fake provider listens on (jean2's `JEAN2_LLM_BASE_URL`).
    #[arg(long)]
    provider_port: u16,
    /// Scratch directory: the workspace folder goes there.
    #[arg(long)]
    work: PathBuf,
    /// The tool each step calls: read-file (README.md), ls (.), shell (`true`), or none.
    #[arg(long, default_value = "read-file")]
    tool: String,
    /// Measured sessions (one turn each), after one warm-up session.
    #[arg(long, default_value_t = 20)]
    sessions: usize,
    /// Tool steps per turn (then one step that answers); jean2's JEAN2_LLM_MAX_STEPS must allow
    /// one more.
    #[arg(long, default_value_t = 25)]
    steps: usize,
    /// Sessions running at once.
    #[arg(long, default_value_t = 1)]
    parallel: usize,
}

/// What the client saw of one tool call: when its result arrived, and the run time the part
/// states.
struct Seen {
    result_at: u64,
    tool_ms: i64,
}

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn recv(ws: &mut Ws) -> anyhow::Result<Value> {
    loop {
        let msg = timeout(REPLY_TIMEOUT, ws.next())
            .await
            .context("no frame from the server in time")?
            .context("the WebSocket closed")??;
        if let Message::Text(t) = msg {
            return Ok(serde_json::from_str(&t)?);
        }
    }
}

async fn send(ws: &mut Ws, v: Value) -> anyhow::Result<()> {
    Ok(ws.send(Message::Text(v.to_string().into())).await?)
}

/// One session, one turn: create and resume it, send `go <index>`, and note every tool
/// result until the reply ends.
async fn session(
    ws_url: &str,
    workspace: &str,
    index: usize,
) -> anyhow::Result<Vec<(String, Seen)>> {
    let (mut ws, _) = tokio_tungstenite::connect_async(ws_url).await?;
    send(&mut ws, json!({"type": "client.register", "client": {"clientId": uuid::Uuid::new_v4().to_string(),
        "clientType": "sdk", "displayName": "tool bench", "interactionMode": "headless", "capabilities": []}})).await?;
    send(
        &mut ws,
        json!({"type": "session.create", "preconfigId": "code", "workspaceId": workspace}),
    )
    .await?;
    let sid = loop {
        let v = recv(&mut ws).await?;
        if v["type"] == "session.created" {
            break v["session"]["id"]
                .as_str()
                .context("no session id")?
                .to_owned();
        }
    };
    send(&mut ws, json!({"type": "session.resume", "sessionId": sid})).await?;
    while recv(&mut ws).await?["type"] != "session.resumed" {}
    send(
        &mut ws,
        json!({"type": "chat.message", "sessionId": sid, "content": format!("go {index}")}),
    )
    .await?;
    let mut seen = Vec::new();
    loop {
        let v = recv(&mut ws).await?;
        let now = now_ns();
        match v["type"].as_str().unwrap_or("") {
            "part.updated" if v["part"]["type"] == "tool" => {
                let state = &v["part"]["state"];
                let end = state["completedAt"].as_i64().or(state["failedAt"].as_i64());
                if let (Some(id), Some(end)) = (v["part"]["callId"].as_str(), end) {
                    let tool_ms = end - state["startedAt"].as_i64().unwrap_or(end);
                    seen.push((
                        id.to_owned(),
                        Seen {
                            result_at: now,
                            tool_ms,
                        },
                    ));
                }
            }
            "message.updated" if v["message"]["role"] == "assistant" => {
                if v["message"]["status"] != "completed" {
                    bail!(
                        "the turn ended {}: {}",
                        v["message"]["status"],
                        v["message"]["error"]
                    );
                }
                return Ok(seen);
            }
            "error" => bail!("error from the server: {v}"),
            _ => {}
        }
    }
}

/// utime + stime of a process, in seconds.
fn cpu_seconds(pid: u32) -> anyhow::Result<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    let after = stat
        .get(stat.rfind(')').context("stat")? + 2..)
        .context("stat")?;
    let f: Vec<&str> = after.split_whitespace().collect();
    let ticks: f64 = f[11].parse::<f64>()? + f[12].parse::<f64>()?;
    Ok(ticks / 100.0) // CLK_TCK is 100 on Linux
}

async fn workspace(base: &str, dir: &Path) -> anyhow::Result<String> {
    std::fs::create_dir_all(dir)?;
    std::fs::write(
        dir.join("README.md"),
        "# Bench\n\nA small file the benchmark reads.\n",
    )?;
    let body = json!({"name": "tool bench", "path": dir, "isVirtual": false});
    let res = reqwest::Client::new()
        .post(format!("{base}/api/workspaces"))
        .json(&body)
        .send()
        .await?;
    if !res.status().is_success() {
        bail!("POST /api/workspaces: {}", res.status());
    }
    let v: Value = res.json().await?;
    Ok(v["workspace"]["id"]
        .as_str()
        .context("no workspace id")?
        .to_owned())
}

/// p50, p99 and max of signed nanosecond samples, in milliseconds.
fn stats(mut v: Vec<i64>) -> String {
    if v.is_empty() {
        return "no samples".to_owned();
    }
    v.sort_unstable();
    let at = |q: f64| v[((v.len() as f64 - 1.0) * q).round() as usize] as f64 / 1e6;
    format!(
        "p50 {:.3} ms, p99 {:.3} ms, max {:.3} ms",
        at(0.5),
        at(0.99),
        at(1.0)
    )
}

/// Run `count` sessions from `first`, `parallel` at a time; all the client observations.
async fn run_sessions(
    ws_url: &str,
    ws_id: &str,
    first: usize,
    count: usize,
    parallel: usize,
) -> anyhow::Result<Vec<(String, Seen)>> {
    let next = Arc::new(AtomicUsize::new(first));
    let workers = (0..parallel.max(1)).map(|_| {
        let (next, ws_id, ws_url) = (next.clone(), ws_id.to_owned(), ws_url.to_owned());
        tokio::spawn(async move {
            let mut seen = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                if i >= first + count {
                    return Ok::<_, anyhow::Error>(seen);
                }
                seen.extend(session(&ws_url, &ws_id, i).await?);
            }
        })
    });
    let mut all = Vec::new();
    for w in workers.collect::<Vec<_>>() {
        all.extend(w.await??);
    }
    Ok(all)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    now_ns();
    let (tool, args) = tool_args(&cli.tool)?;
    let fake = Arc::new(Fake {
        steps: cli.steps,
        tool,
        args,
        marks: Mutex::default(),
    });
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", cli.provider_port))
        .await
        .context("bind the fake provider's port")?;
    let app = Router::new()
        .route("/v1/chat/completions", post(completions))
        .with_state(fake.clone());
    tokio::spawn(async move { axum::serve(listener, app).await });
    let base = cli.base.trim_end_matches('/');
    let ws_url = format!("{}/ws", base.replacen("http", "ws", 1));
    let ws_id = workspace(base, &cli.work.join("tool-bench-project")).await?;

    run_sessions(&ws_url, &ws_id, 0, 1, 1).await?; // warm-up, not measured
    let cpu0 = cpu_seconds(cli.pid)?;
    let t0 = Instant::now();
    let seen = run_sessions(&ws_url, &ws_id, 1, cli.sessions, cli.parallel).await?;
    let wall = t0.elapsed();
    let cpu = cpu_seconds(cli.pid)? - cpu0;
    report(&cli, &fake, &seen, wall, cpu)
}

fn report(
    cli: &Cli,
    fake: &Fake,
    seen: &[(String, Seen)],
    wall: Duration,
    cpu: f64,
) -> anyhow::Result<()> {
    let marks = fake.marks.lock().unwrap_or_else(|e| e.into_inner());
    let (mut step, mut before, mut after, mut tool) = (vec![], vec![], vec![], vec![]);
    for (id, s) in seen {
        let (Some(&end), Some(&req)) = (marks.stream_end.get(id), marks.request_at.get(id)) else {
            continue;
        };
        step.push(req as i64 - end as i64);
        before.push(s.result_at as i64 - end as i64);
        after.push(req as i64 - s.result_at as i64);
        tool.push(s.tool_ms * 1_000_000);
    }
    let n = step.len();
    if n == 0 {
        bail!("no tool step measured");
    }
    println!(
        "tool: {} ({}), sessions: {} x {} steps, {} at once; tool steps measured: {n}",
        cli.tool, fake.tool, cli.sessions, cli.steps, cli.parallel
    );
    println!(
        "wall time: {:.2} s ({:.0} tool steps/s)",
        wall.as_secs_f64(),
        n as f64 / wall.as_secs_f64()
    );
    println!(
        "server time per tool step (end of the step's stream -> next provider request): {}",
        stats(step)
    );
    println!(
        "  end of the step's stream -> the tool's result on the client: {}",
        stats(before)
    );
    println!(
        "  the tool's result on the client -> next provider request:     {}",
        stats(after)
    );
    println!(
        "  the tool's run as the part states it (whole ms):             {}",
        stats(tool)
    );
    println!(
        "server CPU: {cpu:.2} s total, {:.0} µs per tool step",
        cpu * 1e6 / n as f64
    );
    Ok(())
}
