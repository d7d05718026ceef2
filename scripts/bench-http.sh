#!/usr/bin/env bash
# HTTP benchmark (issue 2, part 11): in one run, with wrk -t1 -c32 -d10s --latency,
#   (a) bare axum (examples/bare.rs: the same route and JSON, no layers) — the reference point,
#   (b) `jean2 server` with JEAN2_AUTH_TOKEN set: GET /api/auth/verify with the Bearer header,
#   (c) the same with auth off,
#   (d) GET /api/health,
#   (e) (b) again with JEAN2_LOG=warn, to show what the per-request log line costs,
#   (f) (c) again with JEAN2_LOG=warn: the remaining layers (request id, Host/Origin guard,
#       timeout, connection limit) against bare axum,
# then the ratios auth-on/auth-off and auth-on/bare (targets >= 0.9) and the server's idle RSS
# after start and after the load (target < 20 MB); then the store and list routes against the
# original server (scripts/bench-lists.sh).
#
# Usage: scripts/bench-http.sh
#   BENCH_NO_BUILD=1   use the existing target/release binaries (BENCH_PROFILE=debug: quick try of the script, no figures)
#   BENCH_DURATION=10s BENCH_CONNS=32   wrk duration and connections
#   BENCH_ATTRIBUTE=0  skip the per-layer attribution runs (bare axum + one jean2 layer each)
#   BENCH_KEEP=1       keep the temp dir with server logs and raw wrk output
set -euo pipefail
# shellcheck source=scripts/bench-lib.sh
source "$(dirname "$0")/bench-lib.sh"

TOKEN=bench-$RANDOM$RANDOM-token
ensure_wrk
build_release
[[ -x $EXAMPLES/bare ]] || die "$EXAMPLES/bare is missing (cargo build --release --examples)"
echo "bench: $(nproc) CPUs; wrk and the server share them" >&2

# (a) bare axum; measured first and again last, and the better of the two is the baseline
# (req/s on a shared 2-core machine drifts; the stricter baseline keeps the ratios honest).
bare_rps=0 bare_cpu=
measure_bare() {
    local port pid
    port=$(free_port)
    start_bg bare "$EXAMPLES/bare" "127.0.0.1:$port"
    pid=$LAST_PID
    wait_http bare "$pid" "http://127.0.0.1:$port/api/auth/verify"
    run_wrk "bare axum GET /api/auth/verify$1" "$pid" "http://127.0.0.1:$port/api/auth/verify"
    stop_pid "$pid"
    ((W_RPS > bare_rps)) && bare_rps=$W_RPS
    if [[ -z $bare_cpu ]] || awk -v a="$W_CPU" -v b="$bare_cpu" 'BEGIN { exit !(a < b) }'; then
        bare_cpu=$W_CPU
    fi
}
measure_bare ""

# (b) + (d): auth on
start_jean2 auth-on "$TOKEN"
sleep 1
idle_start=$(rss_mb "$J_PID")
run_wrk "jean2 GET /api/auth/verify, auth on" "$J_PID" "$J_BASE/api/auth/verify" -H "Authorization: Bearer $TOKEN"
on_rps=$W_RPS on_cpu=$W_CPU
run_wrk "jean2 GET /api/health" "$J_PID" "$J_BASE/api/health"
sleep 2
idle_after=$(rss_mb "$J_PID")
# The token must really be checked: a wrong one is refused.
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 -H "Authorization: Bearer wrong" "$J_BASE/api/auth/verify")
[[ $code == 401 ]] || die "auth-on server answered $code to a wrong token (expected 401)"
stop_pid "$J_PID"

# (c) auth off
start_jean2 auth-off ""
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$J_BASE/api/auth/verify")
[[ $code == 200 ]] || die "auth-off server answered $code without a token (expected 200)"
run_wrk "jean2 GET /api/auth/verify, auth off" "$J_PID" "$J_BASE/api/auth/verify"
off_rps=$W_RPS off_cpu=$W_CPU
stop_pid "$J_PID"

# (e) auth on, request log off
start_jean2 auth-on-quiet "$TOKEN" JEAN2_LOG=warn
run_wrk "jean2 GET /api/auth/verify, auth on, log=warn" "$J_PID" "$J_BASE/api/auth/verify" -H "Authorization: Bearer $TOKEN"
quiet_rps=$W_RPS quiet_cpu=$W_CPU
stop_pid "$J_PID"

# (f) auth off, request log off: what the remaining layers cost against bare axum
start_jean2 auth-off-quiet "" JEAN2_LOG=warn
run_wrk "jean2 GET /api/auth/verify, auth off, log=warn" "$J_PID" "$J_BASE/api/auth/verify"
plain_rps=$W_RPS plain_cpu=$W_CPU
stop_pid "$J_PID"

measure_bare " (again)"

# Attribution: bare axum plus one piece of jean2's stack at a time (examples/bare.rs LAYERS).
if [[ ${BENCH_ATTRIBUTE:-1} != 0 ]]; then
    : >"$WORK/attrib"
    for layers in state fromfn timeout reqid log state,fromfn,timeout,reqid,log; do
        port=$(free_port)
        start_bg "bare-$layers" env TMPDIR="$WORK" "$EXAMPLES/bare" "127.0.0.1:$port" "$layers"
        pid=$LAST_PID
        wait_http "bare-$layers" "$pid" "http://127.0.0.1:$port/api/auth/verify"
        run_wrk "bare axum + $layers" "$pid" "http://127.0.0.1:$port/api/auth/verify"
        printf '%-44s %6s us/req   (%+.1f us vs bare)\n' "bare axum + $layers" "$W_CPU" \
            "$(awk -v a="$W_CPU" -v b="$bare_cpu" 'BEGIN { print a - b }')" >>"$WORK/attrib"
        stop_pid "$pid"
    done
fi

r_off=$(ratio "$on_rps" "$off_rps")
r_bare=$(ratio "$on_rps" "$bare_rps")
r_quiet=$(ratio "$quiet_rps" "$bare_rps")
echo
print_table
echo
echo "baseline: the better of the two bare axum runs ($bare_rps req/s, $bare_cpu us/req)"
printf '%-44s %6s   %s\n' "auth-on / auth-off (req/s)" "$r_off" "target >= 0.90: $(verdict "$r_off" '>=' 0.9)"
printf '%-44s %6s   %s\n' "auth-on / bare axum (req/s)" "$r_bare" "target >= 0.90: $(verdict "$r_bare" '>=' 0.9)"
printf '%-44s %6s   %s\n' "auth-on, log=warn / bare axum" "$r_quiet" "(without the per-request log line)"
printf '%-44s %6s   %s\n' "auth-off, log=warn / bare axum" "$(ratio "$plain_rps" "$bare_rps")" "(the other layers alone)"
printf '%-44s %6s   %s\n' "CPU-based: auth-off / auth-on (us per req)" "$(ratio "$off_cpu" "$on_cpu")" "target >= 0.90: $(verdict "$(ratio "$off_cpu" "$on_cpu")" '>=' 0.9) (steadier than req/s on a shared machine)"
printf '%-44s %6s   %s\n' "CPU-based: bare / auth-on (us per req)" "$(ratio "$bare_cpu" "$on_cpu")" "target >= 0.90: $(verdict "$(ratio "$bare_cpu" "$on_cpu")" '>=' 0.9)"
printf '%-44s %6s   %s\n' "server CPU per request: auth-on / bare" "$(ratio "$on_cpu" "$bare_cpu")" "(bare $bare_cpu us; auth off $off_cpu, log=warn $quiet_cpu, both off $plain_cpu)"
printf '%-44s %6s MB   %s\n' "jean2 idle RSS after start" "$idle_start" "target < 20 MB: $(verdict "$idle_start" '<' 20)"
printf '%-44s %6s MB   %s\n' "jean2 idle RSS after the load" "$idle_after" "target < 20 MB: $(verdict "$idle_after" '<' 20)"
if [[ -s $WORK/attrib ]]; then
    echo
    echo "server CPU per request, bare axum plus one piece of jean2's stack (bare: $bare_cpu us/req):"
    cat "$WORK/attrib"
fi

# The store and the list routes, beside the original server when it is built
# (scripts/bench-lists.sh, same binaries); BENCH_LISTS=0 skips it.
if [[ ${BENCH_LISTS:-1} != 0 ]]; then
    echo
    echo "== store and list routes (scripts/bench-lists.sh)"
    BENCH_NO_BUILD=1 "$(dirname "$0")/bench-lists.sh"
fi
