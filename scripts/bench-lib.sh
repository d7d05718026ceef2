# Shared helpers for scripts/bench-*.sh (sourced, not run). Every wait here is bounded, every
# process started here is killed on exit, and everything listens on and connects to 127.0.0.1.
# shellcheck shell=bash

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
# BENCH_PROFILE=debug only to try the scripts quickly; figures come from release builds.
PROFILE=${BENCH_PROFILE:-release}
BIN=$TARGET_DIR/$PROFILE/jean2
EXAMPLES=$TARGET_DIR/$PROFILE/examples
WORK=$(mktemp -d "${TMPDIR:-/tmp}/jean2-bench.XXXXXX")
PIDS=()

die() {
    echo "bench: error: $*" >&2
    exit 1
}

cleanup() {
    local pid
    for pid in "${PIDS[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    for pid in "${PIDS[@]}"; do
        # Up to 5 s for a graceful exit, then SIGKILL.
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$pid" 2>/dev/null || true
    done
    if [[ -n ${BENCH_KEEP:-} ]]; then
        echo "bench: logs kept in $WORK" >&2
    else
        rm -rf "$WORK"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ensure_wrk: install wrk from the distribution if it is missing.
ensure_wrk() {
    command -v wrk >/dev/null && return
    command -v apt-get >/dev/null || die "wrk is not installed and there is no apt-get; install wrk (https://github.com/wg/wrk) and run again"
    local sudo=()
    [[ $(id -u) -eq 0 ]] || sudo=(sudo)
    echo "bench: installing wrk (apt-get install -y wrk)" >&2
    if ! "${sudo[@]}" apt-get install -y wrk >"$WORK/apt.log" 2>&1; then
        "${sudo[@]}" apt-get update >>"$WORK/apt.log" 2>&1 || true
        "${sudo[@]}" apt-get install -y wrk >>"$WORK/apt.log" 2>&1 \
            || { tail -n 5 "$WORK/apt.log" >&2; die "could not install wrk"; }
    fi
}

# build_release: the release binary and examples (skipped with BENCH_NO_BUILD=1).
build_release() {
    if [[ -n ${BENCH_NO_BUILD:-} ]]; then
        [[ -x $BIN ]] || die "BENCH_NO_BUILD is set but $BIN does not exist"
        return
    fi
    local flags=(--release)
    [[ $PROFILE == release ]] || flags=(--profile "$PROFILE")
    [[ $PROFILE == debug ]] && flags=()
    echo "bench: cargo build ${flags[*]} --bins --examples (a few minutes the first time)" >&2
    (cd "$ROOT" && cargo build "${flags[@]}" --bins --examples --quiet) || die "$PROFILE build failed"
}

# free_port: a TCP port on 127.0.0.1 that nothing listens on (below the ephemeral range).
free_port() {
    local p
    for _ in $(seq 100); do
        p=$((20000 + RANDOM % 12000))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
            echo "$p"
            return
        fi
    done
    die "found no free port in 20000-31999"
}

# start_bg NAME CMD...: start CMD in the background, output to $WORK/NAME.log; sets LAST_PID.
start_bg() {
    local name=$1
    shift
    "$@" >"$WORK/$name.log" 2>&1 &
    LAST_PID=$!
    PIDS+=("$LAST_PID")
}

# wait_http NAME PID URL [CURL_ARGS...]: wait up to 20 s until URL answers 2xx.
wait_http() {
    local name=$1 pid=$2 url=$3
    shift 3
    for _ in $(seq 200); do
        kill -0 "$pid" 2>/dev/null || { tail -n 20 "$WORK/$name.log" >&2; die "$name exited during start-up (log above)"; }
        curl -fsS -o /dev/null --max-time 1 "$@" "$url" 2>/dev/null && return
        sleep 0.1
    done
    tail -n 20 "$WORK/$name.log" >&2
    die "$name did not answer $url within 20 s"
}

# stop_pid PID: SIGTERM, up to 10 s, then SIGKILL.
stop_pid() {
    local pid=$1
    kill "$pid" 2>/dev/null || return 0
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
}

# clean_env: `env` arguments that drop every JEAN2_* variable of the caller's environment.
clean_env() {
    local v
    for v in $(compgen -e); do
        [[ $v == JEAN2_* ]] && printf -- '-u %s ' "$v"
    done
}

# start_jean2 NAME TOKEN [VAR=VALUE...]: `jean2 server` as a user runs it, with its own data dir
# and a free port (TOKEN empty = auth off); sets J_PID, J_PORT, J_BASE, J_DATA.
start_jean2() {
    local name=$1 token=$2
    shift 2
    J_PORT=$(free_port)
    J_DATA=$WORK/$name-data
    mkdir -p "$J_DATA"
    local vars=(JEAN2_DATA_DIR="$J_DATA" JEAN2_PORT="$J_PORT" JEAN2_HOST=127.0.0.1)
    [[ -n $token ]] && vars+=(JEAN2_AUTH_TOKEN="$token")
    # shellcheck disable=SC2046
    start_bg "$name" env $(clean_env) "${vars[@]}" "$@" "$BIN" server
    J_PID=$LAST_PID
    J_BASE=http://127.0.0.1:$J_PORT
    wait_http "$name" "$J_PID" "$J_BASE/api/health"
}

# rss_mb PID: resident set size in MB (one decimal), from /proc/PID/status.
rss_mb() {
    awk '/^VmRSS:/ { printf "%.1f", $2 / 1024 }' "/proc/$1/status" 2>/dev/null || echo "?"
}

# to_ms VALUE: a wrk latency such as 812.00us, 1.23ms or 1.05s, in milliseconds.
to_ms() {
    awk -v v="$1" 'BEGIN {
        n = v + 0
        if (v ~ /us$/) n /= 1000; else if (v ~ /ms$/) n = n; else if (v ~ /m$/) n *= 60000; else if (v ~ /s$/) n *= 1000
        printf "%.2f", n
    }'
}

# cpu_ticks PID: user + system CPU time of PID so far, in clock ticks.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

# run_wrk LABEL PID URL [WRK_ARGS...]: a 2 s warm-up, then the measured run; fails on any
# non-2xx answer or socket error. Sets W_RPS, W_P50, W_P99 (ms) and W_CPU (server CPU time per
# request in microseconds, from /proc/PID/stat: independent of how the 2 cores were shared with
# wrk) and appends a row to $WORK/table.
WRK_CONNS=${BENCH_CONNS:-32}
WRK_DURATION=${BENCH_DURATION:-10s}
run_wrk() {
    local label=$1 pid=$2 url=$3
    shift 3
    local out
    out=$WORK/wrk-$(echo "$label" | tr -c 'A-Za-z0-9' '_').txt
    timeout 30 wrk -t1 -c"$WRK_CONNS" -d2s "$@" "$url" >/dev/null 2>&1 || true
    local t0
    t0=$(cpu_ticks "$pid")
    timeout 120 wrk -t1 -c"$WRK_CONNS" -d"$WRK_DURATION" --latency "$@" "$url" >"$out" 2>&1 \
        || { cat "$out" >&2; die "wrk failed for $label"; }
    local ticks=$(($(cpu_ticks "$pid") - t0))
    if grep -q -E 'Non-2xx|Socket errors' "$out"; then
        cat "$out" >&2
        die "$label: some requests failed (wrk output above); the figures would not be honest"
    fi
    W_RPS=$(awk '/^Requests\/sec:/ { printf "%.0f", $2 }' "$out")
    W_P50=$(to_ms "$(awk '$1 == "50%" { print $2 }' "$out")")
    W_P99=$(to_ms "$(awk '$1 == "99%" { print $2 }' "$out")")
    local total
    total=$(awk '/requests in/ { print $1 }' "$out")
    [[ -n $W_RPS && -n $total ]] || { cat "$out" >&2; die "could not read wrk output for $label"; }
    W_CPU=$(awk -v t="$ticks" -v hz="$(getconf CLK_TCK)" -v n="$total" 'BEGIN { printf "%.1f", t / hz * 1e6 / n }')
    printf '%-46s %8s %8s %8s %9s\n' "$label" "$W_RPS" "$W_P50" "$W_P99" "$W_CPU" >>"$WORK/table"
    echo "bench: $label: $W_RPS req/s, p50 $W_P50 ms, p99 $W_P99 ms, server CPU $W_CPU us/req" >&2
}

print_table() {
    printf '%-46s %8s %8s %8s %9s\n' "case (wrk -t1 -c$WRK_CONNS -d$WRK_DURATION --latency)" "req/s" "p50 ms" "p99 ms" "CPU us/req"
    printf '%s\n' "-------------------------------------------------------------------------------------"
    cat "$WORK/table"
}

# ratio A B: A/B with two decimals.
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }

# verdict VALUE OP TARGET: "ok" or "MISSED".
verdict() { awk -v v="$1" -v t="$3" -v op="$2" 'BEGIN { ok = (op == ">=") ? (v >= t) : (v < t); print (ok ? "ok" : "MISSED") }'; }
