#!/usr/bin/env bash
# Sessions and WebSocket benchmark (issue 3, part 8), against `jean2 server` with a token:
#   (a) GET /api/workspaces/:id/sessions?limit=100 with 10,000 sessions (seeded through
#       POST /api/sessions), wrk -t1 -c32 -d10s: req/s and p99 (aim p99 < 10 ms);
#   (b) fan-out: 1,000 connections resumed on one session, another connection renames it;
#       time until the last of the 1,000 has `session.renamed`, 20 rounds, p50/p99;
#   (c) memory of 10,000 idle registered WebSocket connections: server RSS before/after,
#       KB per connection (aim < 20 KB), on a fresh server;
#   and where the list time goes (examples/list_breakdown.rs, in process).
#
# Usage: scripts/bench-ws.sh
#   BENCH_NO_BUILD=1   use the existing target/release binaries (BENCH_PROFILE=debug: quick try of the script, no figures)
#   BENCH_SESSIONS=10000 BENCH_FANOUT=1000 BENCH_ROUNDS=20 BENCH_IDLE=10000
#   BENCH_KEEP=1       keep the temp dir with server logs and raw wrk output
set -euo pipefail
# shellcheck source=scripts/bench-lib.sh
source "$(dirname "$0")/bench-lib.sh"

SESSIONS=${BENCH_SESSIONS:-10000}
FANOUT=${BENCH_FANOUT:-1000}
ROUNDS=${BENCH_ROUNDS:-20}
IDLE=${BENCH_IDLE:-10000}
TOKEN=bench-$RANDOM$RANDOM-token

# Both the server and the load generator hold one descriptor per connection.
need=$((IDLE + 1000))
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
[[ $(ulimit -n) == unlimited || $(ulimit -n) -ge $need ]] \
    || die "open-file limit is $(ulimit -n) (hard $(ulimit -Hn)); $need are needed: raise it (e.g. ulimit -Hn $need as root) or set BENCH_IDLE lower"

ensure_wrk
build_release
LOAD=$EXAMPLES/ws_load
[[ -x $LOAD && -x $EXAMPLES/list_breakdown ]] || die "the ws_load and list_breakdown examples are missing (cargo build --release --examples)"
SERVER_VARS=(JEAN2_MAX_CONNECTIONS=$((IDLE + 2000)))

# (a) the session list
start_jean2 sessions "$TOKEN" "${SERVER_VARS[@]}"
echo "bench: seeding $SESSIONS sessions through POST /api/sessions" >&2
ws_line=$(timeout 600 "$LOAD" --base "$J_BASE" --token "$TOKEN" seed --sessions "$SESSIONS" | tail -n 1) \
    || die "seeding failed"
WS_ID=${ws_line#workspace }
[[ -n $WS_ID && $WS_ID != "$ws_line" ]] || die "seeding printed no workspace id"
list_url="$J_BASE/api/workspaces/$WS_ID/sessions?limit=100"
page=$(curl -fsS --max-time 10 -H "Authorization: Bearer $TOKEN" "$list_url") || die "GET $list_url failed"
n_ids=$(grep -o '"id":' <<<"$page" | wc -l)
[[ $n_ids -ge 100 ]] || die "the list returned $n_ids sessions, expected 100: ${page:0:300}"
grep -q '"hasMore":true' <<<"$page" || die "the list page says no more pages with $SESSIONS sessions: ${page:0:300}"
echo "bench: one page is $(wc -c <<<"$page") bytes" >&2
run_wrk "GET .../sessions?limit=100 ($SESSIONS sessions)" "$J_PID" "$list_url" -H "Authorization: Bearer $TOKEN"
list_p99=$W_P99 list_cpu=$W_CPU
run_wrk "GET .../sessions?rootOnly=true&limit=100" "$J_PID" "$list_url&rootOnly=true" -H "Authorization: Bearer $TOKEN"
run_wrk "GET .../sessions?limit=10" "$J_PID" "${list_url%=100}=10" -H "Authorization: Bearer $TOKEN"
list10_cpu=$W_CPU
WRK_CONNS=1 run_wrk "GET .../sessions?limit=100, one client (-c1)" "$J_PID" "$list_url" -H "Authorization: Bearer $TOKEN"
c1_p99=$W_P99
run_wrk "GET /api/health (same server, reference)" "$J_PID" "$J_BASE/api/health"
# The same page straight from SQLite (no server), to split engine time from server time.
sqlite_ms=n/a
if command -v sqlite3 >/dev/null; then
    q="SELECT * FROM sessions WHERE workspace_id = '$WS_ID' ORDER BY updated_at DESC, id DESC LIMIT 101;"
    t0=$(date +%s%N)
    for _ in $(seq 200); do echo "$q"; done | timeout 60 sqlite3 -readonly "$J_DATA/data/agent.db" >/dev/null \
        || die "sqlite3 could not read $J_DATA/data/agent.db"
    sqlite_ms=$(awk -v ns=$(($(date +%s%N) - t0)) 'BEGIN { printf "%.3f", ns / 200 / 1e6 }')
fi

# (b) fan-out, on the same server
echo "bench: fan-out to $FANOUT connections, $ROUNDS rounds" >&2
rss_before_fanout=$(rss_mb "$J_PID")
fan=$(timeout 300 "$LOAD" --base "$J_BASE" --token "$TOKEN" fanout --conns "$FANOUT" --rounds "$ROUNDS" | tail -n 1) \
    || die "fan-out benchmark failed"
rss_after_fanout=$(rss_mb "$J_PID")
stop_pid "$J_PID"

# Where the list's time goes, in process on the same database (now that the server is stopped).
breakdown=$(timeout 120 "$EXAMPLES/list_breakdown" "$J_DATA/data/agent.db" 300) \
    || die "list_breakdown failed"

# (c) idle connections, on a fresh server
echo "bench: opening $IDLE idle WebSocket connections" >&2
start_jean2 idle "$TOKEN" "${SERVER_VARS[@]}"
sleep 1
idle=$(timeout 300 "$LOAD" --base "$J_BASE" --token "$TOKEN" idle --conns "$IDLE" --pid "$J_PID" | tail -n 1) \
    || die "idle-connection benchmark failed"
stop_pid "$J_PID"

field() { sed -n "s/.*$1=\([^ ]*\).*/\1/p" <<<"$2"; }
echo
print_table
echo
printf '%-44s %8s ms   %s\n' "list p99" "$list_p99" "aim < 10 ms: $(verdict "$list_p99" '<' 10)"
printf '%-44s %8s ms   %s\n' "list p99, one client" "$c1_p99" "aim < 10 ms: $(verdict "$c1_p99" '<' 10)"
per_row=$(awk -v a="$list_cpu" -v b="$list10_cpu" 'BEGIN { printf "%.1f", (a - b) / 90 }')
printf '%-44s %8s us   %s\n' "server CPU per extra session in a page" "$per_row" "(CPU/req at limit=100 vs limit=10)"
printf '%-44s %8s ms   %s\n' "the same page from the sqlite3 CLI" "$sqlite_ms" "(SQLite engine alone)"
printf '%-44s %8s ms\n' "fan-out to $FANOUT: last arrival, p50" "$(field last_p50_ms "$fan")"
printf '%-44s %8s ms\n' "fan-out to $FANOUT: last arrival, p99" "$(field last_p99_ms "$fan")"
printf '%-44s %8s ms\n' "fan-out to $FANOUT: median arrival, p50" "$(field median_conn_p50_ms "$fan")"
printf '%-44s %8s ms   %s\n' "fan-out to $FANOUT: first arrival, p50" "$(field first_p50_ms "$fan")" "(rename stored + first frame out)"
printf '%-44s %8s MB\n' "server RSS before / after fan-out" "$rss_before_fanout / $rss_after_fanout"
printf '%-44s %8s KB\n' "server RSS before $IDLE idle connections" "$(field rss_before_kb "$idle")"
printf '%-44s %8s KB\n' "server RSS with $IDLE idle connections" "$(field rss_after_kb "$idle")"
printf '%-44s %8s KB\n' "server RSS after they closed" "$(field rss_after_close_kb "$idle")"
kb=$(field kb_per_conn "$idle")
printf '%-44s %8s KB   %s\n' "per idle connection" "$kb" "aim < 20 KB: $(verdict "$kb" '<' 20)"
echo
echo "$breakdown"
