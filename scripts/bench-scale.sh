#!/usr/bin/env bash
# Scale-out benchmark (issue 16 item 6), in one run, on a throwaway PostgreSQL cluster:
#   (1) DB-backed routes through haproxy with 1 and with 2 jean2 instances on one database
#       (wrk -t1 -cCONNS -dDURATION --latency): GET /api/sessions?workspaceId=… (a page of 50 of
#       200 sessions) and GET /api/sessions/{id} with the token;
#   (2) event latency (examples/cluster_load.rs): a turn runs on B, a client on B and a client on
#       A watch it; the provider stamps every chunk; p50/p99 from the provider to B's client
#       (the single-instance relay) and to A's client (relayed through PostgreSQL).
# Usage: scripts/bench-scale.sh
#   BENCH_PROFILE=debug  quick try of the script with a debug build (no figures to keep)
#   BENCH_NO_BUILD=1     use the existing binaries
#   BENCH_DURATION=10s BENCH_CONNS=32   wrk duration and connections
#   SCALE_SESSIONS=20 SCALE_CHUNKS=500 SCALE_INTERVAL_US=1000   the latency run
#   BENCH_KEEP=1         keep the temp dir (logs, haproxy configs, raw wrk output)
# Needs PostgreSQL's programs, haproxy and wrk (installed from the distribution if missing).
set -euo pipefail
# shellcheck source=scripts/bench-lib.sh
source "$(dirname "$0")/bench-lib.sh"

TOKEN=bench-$RANDOM$RANDOM-token
ensure_wrk
command -v haproxy >/dev/null || die "haproxy is not installed (apt-get install haproxy)"
PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
[[ -x ${PG_BIN:-}/initdb ]] || die "PostgreSQL is not installed (apt-get install postgresql)"
build_release
echo "bench: $(nproc) CPUs shared by PostgreSQL, haproxy, the instances and wrk" >&2

as_pg() { if [[ $(id -u) -eq 0 ]]; then su postgres -s /bin/sh -c "$*"; else sh -c "$*"; fi; }
PG_PORT=$(free_port)
mkdir -p "$WORK/pg"
[[ $(id -u) -eq 0 ]] && chown postgres "$WORK/pg" && chmod 755 "$WORK"
as_pg "'$PG_BIN/initdb' -D '$WORK/pg/data' -U postgres -A trust >'$WORK/pg/initdb.log' 2>&1"
as_pg "'$PG_BIN/pg_ctl' -D '$WORK/pg/data' -l '$WORK/pg/server.log' -w \
    -o \"-p $PG_PORT -k '$WORK/pg' -c listen_addresses=127.0.0.1\" start" >/dev/null
stop_pg() { as_pg "'$PG_BIN/pg_ctl' -D '$WORK/pg/data' -m fast stop" >/dev/null 2>&1 || true; }
trap 'stop_pg; cleanup' EXIT
db() { as_pg "'$PG_BIN/createdb' -h 127.0.0.1 -p $PG_PORT -U postgres $1"; echo "postgres://postgres@127.0.0.1:$PG_PORT/$1?sslmode=disable"; }

# (1) routes through haproxy, 1 then 2 instances.
URL=$(db bench_routes)
start_jean2 a "$TOKEN" JEAN2_DATABASE_URL="$URL" JEAN2_TRUSTED_PROXIES=127.0.0.1 JEAN2_LOG=warn
A_PID=$J_PID A_PORT=$J_PORT
start_jean2 b "$TOKEN" JEAN2_DATABASE_URL="$URL" JEAN2_TRUSTED_PROXIES=127.0.0.1 JEAN2_LOG=warn
B_PID=$J_PID B_PORT=$J_PORT
auth=(-H "Authorization: Bearer $TOKEN")
wid=$(curl -fs "${auth[@]}" "http://127.0.0.1:$A_PORT/api/workspaces" | sed -n 's/.*"id":"\([^"]*\)".*/\1/p' | head -n 1)
[[ -n $wid ]] || die "no workspace"
for i in $(seq 200); do
    sid=$(curl -fs "${auth[@]}" -H 'Content-Type: application/json' \
        -d "{\"workspaceId\":\"$wid\",\"title\":\"bench $i\"}" "http://127.0.0.1:$A_PORT/api/sessions" \
        | sed -n 's/.*"id":"\([^"]*\)".*/\1/p' | head -n 1)
done
[[ -n $sid ]] || die "could not create sessions"

proxy() { # name servers...
    local name=$1 port cfg
    shift
    port=$(free_port)
    cfg=$WORK/haproxy-$name.cfg
    {
        printf 'defaults\n    mode http\n    timeout connect 5s\n    timeout client 60s\n    timeout server 60s\n'
        printf 'frontend f\n    bind 127.0.0.1:%s\n    option forwardfor\n    default_backend b\n' "$port"
        printf 'backend b\n    balance roundrobin\n    option httpchk GET /api/health\n'
        for s in "$@"; do printf '    server s%s 127.0.0.1:%s check inter 2s\n' "$s" "$s"; done
    } >"$cfg"
    start_bg "haproxy-$name" haproxy -f "$cfg" -db
    P_PID=$LAST_PID P_BASE=http://127.0.0.1:$port
    wait_http "haproxy $name" "$P_PID" "$P_BASE/api/health"
}
for n in 1 2; do
    if [[ $n == 1 ]]; then proxy one "$A_PORT"; else proxy two "$A_PORT" "$B_PORT"; fi
    run_wrk "$n instance(s): GET /api/sessions (50 of 200)" "$A_PID" \
        "$P_BASE/api/sessions?workspaceId=$wid&limit=50" "${auth[@]}"
    run_wrk "$n instance(s): GET /api/sessions/{id}" "$A_PID" "$P_BASE/api/sessions/$sid" "${auth[@]}"
    stop_pid "$P_PID"
done
stop_pid "$A_PID"
stop_pid "$B_PID"
echo
echo "== DB-backed routes through haproxy (CPU column: instance A only)"
print_table

# (2) event latency across instances.
echo
echo "== event latency: a turn on B, watched on B and on A"
"$EXAMPLES/cluster_load" "$BIN" "$(db bench_events)" "${SCALE_SESSIONS:-20}" \
    "${SCALE_CHUNKS:-500}" "${SCALE_INTERVAL_US:-1000}"
