//! Where the time of `GET /api/workspaces/:id/sessions?limit=100` goes, measured in process on a
//! database that `scripts/bench-ws.sh` or `scripts/bench-store.sh` seeded (run after the server
//! stopped): the workspace check, the store's list call into structs at 10 and 100 rows, the
//! list serialized straight from the rows (what the route does), a cached-page hit, and the
//! older ways of building the body from structs (`json!` → `Value` → bytes, or serde).
//!
//! `target/release/examples/list_breakdown DB_PATH [ITERATIONS]`

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context as _, anyhow};
use jean2::store::sessions::SessionQuery;
use jean2::store::{PageKey, Scope, Store};
use serde_json::json;

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

    // The same SQL on one plain connection, on this thread: the engine without the pool.
    let conn =
        rusqlite::Connection::open_with_flags(&db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    let sql = "SELECT * FROM sessions WHERE workspace_id = ?1 \
               ORDER BY updated_at DESC, id DESC LIMIT ?2";
    let step_all = |limit: i64| -> anyhow::Result<usize> {
        let mut st = conn.prepare_cached(sql)?;
        let mut rows = st.query((&ws.id, limit))?;
        let mut n = 0;
        while rows.next()?.is_some() {
            n += 1;
        }
        Ok(n)
    };
    let raw10_us = time_us!(n, step_all(11)?);
    let raw100_us = time_us!(n, step_all(101)?);
    let hop_us = time_us!(n, store.has_workspaces(&scope).await?);

    let json100_us = time_us!(n, store.list_sessions_json(&scope, &q100).await?);
    let key = PageKey::sessions(None, &ws.id, "bench");
    let body = store.list_sessions_json(&scope, &q100).await?.json;
    store.keep_page(key.clone(), store.page_generation(&key), body.into());
    let cached_us = time_us!(
        n,
        store
            .cached_page(&key)
            .ok_or_else(|| anyhow!("not cached"))?
    );

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
    println!(
        "  same SQL, one connection, no pool, 10    {raw10_us:8.1} us  (rows stepped, not read)"
    );
    println!("  same SQL, one connection, no pool, 100   {raw100_us:8.1} us");
    println!(
        "  a trivial query through the pool         {hop_us:8.1} us  (the blocking-thread hop)"
    );
    println!(
        "  store.list_sessions_json, limit=100      {json100_us:8.1} us  (rows straight to JSON)"
    );
    println!("  a cached first page                      {cached_us:8.1} us");
    println!("  JSON via json!(Value) then bytes         {via_value_us:8.1} us  ({bytes} bytes)");
    println!("  JSON serialized from the structs         {direct_us:8.1} us");
    store.close().await;
    Ok(())
}
