//! Where the time of `GET /api/workspaces/:id/sessions?limit=100` goes, measured in process on a
//! database that `scripts/bench-ws.sh` seeded (run after the server stopped): the workspace
//! check, the store's list call at 10 and 100 rows, the same SQL through sqlx without row
//! decoding, and the JSON body built as the handler does (`json!` → `Value` → bytes) versus
//! serialized straight from the structs.
//!
//! `target/release/examples/list_breakdown DB_PATH [ITERATIONS]`

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context as _, anyhow};
use jean2::store::sessions::SessionQuery;
use jean2::store::{Scope, Store};
use serde_json::json;
use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};

/// Mean microseconds per call of `f` over `n` calls (after one warm-up call).
macro_rules! time_us {
    ($n:expr, $body:expr) => {{
        $body;
        let t = Instant::now();
        for _ in 0..$n {
            $body;
        }
        t.elapsed().as_secs_f64() * 1e6 / $n as f64
    }};
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let db = PathBuf::from(
        args.next()
            .context("usage: list_breakdown DB_PATH [ITERATIONS]")?,
    );
    let n: u32 = args.next().map(|s| s.parse()).transpose()?.unwrap_or(300);
    let store = Store::open_unlocked(&db).await?;
    let scope = Scope::All;
    let ws = store
        .list_workspaces(&scope)
        .await?
        .into_iter()
        .next()
        .ok_or_else(|| anyhow!("no workspace in {}", db.display()))?;
    let query = |limit| SessionQuery {
        workspace_id: Some(ws.id.clone()),
        limit: Some(limit),
        ..SessionQuery::default()
    };
    let (q10, q100) = (query(10), query(100));

    let workspace_us = time_us!(n, store.get_workspace(&scope, &ws.id).await?);
    let list10_us = time_us!(n, store.list_sessions(&scope, &q10).await?);
    let list100_us = time_us!(n, store.list_sessions(&scope, &q100).await?);

    let pool = SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(SqliteConnectOptions::new().filename(&db).read_only(true))
        .await?;
    let sql = "SELECT * FROM sessions WHERE workspace_id = ?1 \
               ORDER BY updated_at DESC, id DESC LIMIT 101";
    let raw_us = time_us!(n, sqlx::query(sql).bind(&ws.id).fetch_all(&pool).await?);

    let page = store.list_sessions(&scope, &q100).await?;
    let bytes = serde_json::to_vec(&json!({ "sessions": page.sessions }))?.len();
    let via_value_us = time_us!(
        n,
        serde_json::to_vec(&json!({ "sessions": page.sessions }))?
    );
    #[derive(serde::Serialize)]
    struct Body<'a> {
        sessions: &'a [jean2::store::Session],
    }
    let direct_us = time_us!(
        n,
        serde_json::to_vec(&Body {
            sessions: &page.sessions
        })?
    );

    println!("breakdown of one sessions page ({n} iterations each, in process, no HTTP):");
    println!("  get_workspace (the 404 check)           {workspace_us:8.1} us");
    println!("  store.list_sessions, limit=10            {list10_us:8.1} us");
    println!("  store.list_sessions, limit=100           {list100_us:8.1} us");
    println!(
        "    per extra row                          {:8.2} us",
        (list100_us - list10_us) / 90.0
    );
    println!("  same SQL via sqlx, rows not decoded      {raw_us:8.1} us");
    println!("  JSON via json!(Value) then bytes         {via_value_us:8.1} us  ({bytes} bytes)");
    println!("  JSON serialized from the structs         {direct_us:8.1} us");
    store.close().await;
    Ok(())
}
