#!/usr/bin/env bash
# Store and list-route benchmark (issue 10), against `jean2 server` with a token and, when
# ../shared/tools/reference-setup has built it ($JEAN2_REF_DIR, default /work/ref), the original
# Bun server beside it, in the same run:
#   - seeding: 10,000 sessions in one workspace through POST /api/sessions (8 clients), seconds;
#   - the sidebar's first page  GET /api/workspaces/:id/sessions?rootOnly=true&limit=100,
#   - its 51st page (following nextCursor 50 times; never cached),
#   - GET /api/workspaces,
# each with wrk -t1 -c32 -d10s --latency, in alternating rounds (jean2, original, jean2, …) so
# drift of the shared machine hits both alike. Prints every run, then per route the median over
# the rounds and the ratios jean2/original against the targets of issue 10, by req/s and by server
# CPU time per request (the steadier of the two when other work shares the machine).
#
# Usage: scripts/bench-lists.sh
#   BENCH_NO_BUILD=1   use the existing target/release binaries
#   BENCH_SESSIONS=10000 BENCH_ROUNDS=3 BENCH_DURATION=10s BENCH_CONNS=32
#   BENCH_ORIGINAL=0   skip the original server even if it is built
#   BENCH_KEEP=1       keep the temp dir with server logs and raw wrk output
set -euo pipefail
# shellcheck source=scripts/bench-lib.sh
source "$(dirname "$0")/bench-lib.sh"

SESSIONS=${BENCH_SESSIONS:-10000}
ROUNDS=${BENCH_ROUNDS:-3}
TOKEN=bench-$RANDOM$RANDOM-token
REF=${JEAN2_REF_DIR:-/work/ref}
BUN=$REF/bun-local/bin/bun
PEER=$REF/jean2-peer/packages/server

ensure_wrk
build_release
LOAD=$EXAMPLES/ws_load
[[ -x $LOAD ]] || die "$LOAD is missing (cargo build --release --examples)"
echo "bench: $(nproc) CPUs; load before: $(uptime)" >&2

# start_original NAME: the original server in a fresh, initialized data dir; sets O_PID, O_BASE.
start_original() {
    local name=$1 home port
    home=$WORK/$name-home
    mkdir -p "$home/.jean2"
    port=$(free_port)
    local run_env=(env -i "PATH=$PATH" "HOME=$home" "JEAN2_DATA_DIR=$home/.jean2" "LANG=C.UTF-8"
        "JEAN2_CLIENT_ENABLED=false" "JEAN2_AUTH_TOKEN=$TOKEN")
    (cd "$PEER" && "${run_env[@]}" "$BUN" src/cli.ts init --db-path "$home/.jean2/data/agent.db" \
        --tools-path "$home/.jean2/tools" --run-migrations --install-preconfigs --no-tools) \
        </dev/null >"$WORK/$name-init.log" 2>&1 || { tail -n 20 "$WORK/$name-init.log" >&2; die "original: jean2 init failed"; }
    start_bg "$name" env -C "$PEER" "${run_env[@]:1}" "$BUN" src/cli.ts server --port "$port" --host 127.0.0.1
    O_PID=$LAST_PID
    O_BASE=http://127.0.0.1:$port
    wait_http "$name" "$O_PID" "$O_BASE/api/health"
}

# prepare NAME BASE: seed, then find the three URLs; sets SEED_S, FIRST, PAGE51, WORKSPACES.
prepare() {
    local name=$1 base=$2 line t0 page cursor
    echo "bench: $name: seeding $SESSIONS sessions through POST /api/sessions" >&2
    t0=$(date +%s%N)
    line=$(timeout 900 "$LOAD" --base "$base" --token "$TOKEN" seed --sessions "$SESSIONS" 2>"$WORK/$name-seed.err" | tail -n 1) \
        || { cat "$WORK/$name-seed.err" >&2; die "$name: seeding failed"; }
    SEED_S=$(awk -v ns=$(($(date +%s%N) - t0)) 'BEGIN { printf "%.1f", ns / 1e9 }')
    local ws=${line#workspace }
    [[ -n $ws && $ws != "$line" ]] || die "$name: seeding printed no workspace id"
    FIRST="$base/api/workspaces/$ws/sessions?rootOnly=true&limit=100"
    WORKSPACES="$base/api/workspaces"
    PAGE51=$FIRST
    for _ in $(seq 50); do
        page=$(curl -fsS --max-time 10 -H "Authorization: Bearer $TOKEN" "$PAGE51") || die "$name: GET $PAGE51 failed"
        cursor=$(grep -o '"nextCursor":"[^"]*"' <<<"$page" | cut -d'"' -f4)
        [[ -n $cursor ]] || die "$name: no nextCursor on the way to page 51: ${page:0:200}"
        PAGE51="$FIRST&cursor=$cursor"
    done
    page=$(curl -fsS --max-time 10 -H "Authorization: Bearer $TOKEN" "$PAGE51")
    local n
    n=$(grep -o '"workspaceId":' <<<"$page" | wc -l)
    [[ $n -ge 100 ]] || die "$name: page 51 holds $n sessions, expected 100"
    echo "bench: $name: seeded in $SEED_S s; first page $(curl -fsS -H "Authorization: Bearer $TOKEN" "$FIRST" | wc -c) bytes" >&2
}

start_jean2 jean2 "$TOKEN"
prepare jean2 "$J_BASE"
j_seed=$SEED_S j_first=$FIRST j_51=$PAGE51 j_ws=$WORKSPACES

have_original=""
if [[ ${BENCH_ORIGINAL:-1} != 0 && -x $BUN && -f $PEER/src/cli.ts ]]; then
    start_original original
    prepare original "$O_BASE"
    o_seed=$SEED_S o_first=$FIRST o_51=$PAGE51 o_ws=$WORKSPACES
    have_original=1
else
    echo "bench: the original server is not built under $REF (../shared/tools/reference-setup); jean2 only" >&2
fi

# measure SERVER ROUTE PID URL: one wrk run, recorded for the medians.
measure() {
    run_wrk "$1 $2" "$3" "$4" -H "Authorization: Bearer $TOKEN"
    echo "$1 $2 $W_RPS $W_P99 $W_CPU" >>"$WORK/runs"
}
: >"$WORK/runs"
for round in $(seq "$ROUNDS"); do
    echo "bench: round $round of $ROUNDS" >&2
    measure jean2 first "$J_PID" "$j_first"
    [[ -n $have_original ]] && measure original first "$O_PID" "$o_first"
    measure jean2 page51 "$J_PID" "$j_51"
    [[ -n $have_original ]] && measure original page51 "$O_PID" "$o_51"
    measure jean2 workspaces "$J_PID" "$j_ws"
    [[ -n $have_original ]] && measure original workspaces "$O_PID" "$o_ws"
done

# median SERVER ROUTE COLUMN (3 = req/s, 4 = p99 ms, 5 = CPU us/req) over the rounds.
median() {
    awk -v s="$1" -v r="$2" -v c="$3" '$1 == s && $2 == r { print $c }' "$WORK/runs" | sort -g \
        | awk '{ v[NR] = $1 } END { if (NR == 0) print "n/a"; else if (NR % 2) print v[(NR + 1) / 2]; else printf "%.2f", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

echo
print_table
echo
echo "load after: $(uptime)"
echo
printf '%-30s %10s %9s %11s   %10s %9s %11s\n' "median of $ROUNDS rounds" "jean2 rps" "p99 ms" "CPU us/req" "orig rps" "p99 ms" "CPU us/req"
for route in first page51 workspaces; do
    printf '%-30s %10s %9s %11s   %10s %9s %11s\n' "$route" \
        "$(median jean2 $route 3)" "$(median jean2 $route 4)" "$(median jean2 $route 5)" \
        "$(median original $route 3)" "$(median original $route 4)" "$(median original $route 5)"
done
printf '%-30s %10s s %29s s\n' "seeding $SESSIONS sessions" "$j_seed" "${o_seed:-n/a}"
echo
p99=$(median jean2 first 4)
printf '%-44s %6s ms  %s\n' "jean2 first page p99 at $WRK_CONNS connections" "$p99" "target < 10 ms: $(verdict "$p99" '<' 10)"
if [[ -n $have_original ]]; then
    r=$(ratio "$(median jean2 first 3)" "$(median original first 3)")
    printf '%-44s %6s    %s\n' "first page, jean2 / original (req/s)" "$r" "target >= 4: $(verdict "$r" '>=' 4)"
    r=$(ratio "$(median jean2 page51 3)" "$(median original page51 3)")
    printf '%-44s %6s    %s\n' "51st page, jean2 / original (req/s)" "$r" "target >= 2: $(verdict "$r" '>=' 2)"
    r=$(ratio "$(median jean2 workspaces 3)" "$(median original workspaces 3)")
    printf '%-44s %6s    %s\n' "/api/workspaces, jean2 / original (req/s)" "$r" "target >= 2: $(verdict "$r" '>=' 2)"
    # Server CPU per request: steadier than req/s when wrk and other work share the 2 cores.
    for route in first page51 workspaces; do
        printf '%-44s %6s    %s\n' "$route: original / jean2, CPU us per req" \
            "$(ratio "$(median original $route 5)" "$(median jean2 $route 5)")" "(the same comparison by server CPU time)"
    done
    r=$(ratio "$o_seed" "$j_seed")
    printf '%-44s %6s    %s\n' "seeding speed, jean2 / original" "$r" "target >= 1: $(verdict "$r" '>=' 1)"
fi
