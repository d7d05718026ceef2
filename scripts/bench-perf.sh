#!/usr/bin/env bash
# Request path and WebSockets (issue 10, items 4-7), in one run, figures and ratios against
# baselines measured in the same run:
#   (a) GET /api/auth/verify with the token against bare axum answering the same JSON
#       (examples/bare.rs), alternating ROUNDS rounds of wrk -t1 -c32: req/s, p99 and server
#       CPU per request; the ratio jean2/bare (target >= 0.90) from the best rounds of each, and
#       for reading beside it, each round's ratio to the bare round before it and their median;
#   (b) idle registered WebSockets, 3,000 and 10,000, each on a fresh server: KB per
#       connection (target <= 4 KB, aim 2.5), and the RSS once they have all closed and the
#       server idled SETTLE seconds (default 20: jemalloc gives pages back over its 10 s
#       decay) (target < 20 MB: memory goes back after a spike);
#   (c) chunk relay: examples/chat_load with the provider pacing one chunk per millisecond per
#       session, 1 and 50 sessions: provider -> resumed client latency p50/p99 (target: p99
#       <= 2 ms added on a quiet machine; compare the 1-session p99 with the 50-session one).
#   (d) the store and list routes with 10,000 sessions, jean2 beside the original Bun server when
#       ../shared/tools/reference-setup has built it: sidebar first page, its 51st page,
#       /api/workspaces (scripts/bench-lists.sh, same binaries; BENCH_LISTS=0 skips it).
# With BENCH_BASELINE=/path/to/another/jean2 (named BENCH_BASELINE_NAME, default "baseline"),
# (a)-(c) also run that binary in the same run: an older commit, or the same commit built with
# `--no-default-features` (glibc malloc instead of jemalloc). The machine's load (uptime) is
# printed first and last.
#
# Usage: scripts/bench-perf.sh
#   BENCH_NO_BUILD=1  use the existing target/release binaries
#   BENCH_ROUNDS=3 BENCH_DURATION=10s BENCH_SETTLE=20 BENCH_IDLE="3000 10000"
#   BENCH_KEEP=1      keep the temp dir with server logs and raw wrk output
set -euo pipefail
# shellcheck source=scripts/bench-lib.sh
source "$(dirname "$0")/bench-lib.sh"

ROUNDS=${BENCH_ROUNDS:-3}
SETTLE=${BENCH_SETTLE:-20}
IDLE_COUNTS=${BENCH_IDLE:-3000 10000}
TOKEN=bench-$RANDOM$RANDOM-token
BASELINE=${BENCH_BASELINE:-}
BASELINE_NAME=${BENCH_BASELINE_NAME:-baseline}
CANDIDATES=("$BIN")
[[ -n $BASELINE ]] && CANDIDATES+=("$BASELINE")

need=$((12000 + 1000))
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
[[ $(ulimit -n) == unlimited || $(ulimit -n) -ge $need ]] \
    || die "open-file limit is $(ulimit -n) (hard $(ulimit -Hn)); $need are needed for 10,000 sockets"

echo "bench: load before: $(uptime)" >&2
ensure_wrk
build_release
for ex in bare ws_load chat_load; do
    [[ -x $EXAMPLES/$ex ]] || die "$EXAMPLES/$ex is missing (cargo build --release --examples)"
done
label() { [[ $1 == "$BIN" ]] && echo "jean2" || echo "$BASELINE_NAME"; }

# (a) verify against bare axum, alternating.
best_bare=0 best_bare_cpu=
declare -A best_rps best_cpu best_p99 pair_ratios
for round in $(seq "$ROUNDS"); do
    port=$(free_port)
    start_bg "bare-$round" "$EXAMPLES/bare" "127.0.0.1:$port"
    pid=$LAST_PID
    wait_http "bare-$round" "$pid" "http://127.0.0.1:$port/api/auth/verify"
    run_wrk "bare axum verify, round $round" "$pid" "http://127.0.0.1:$port/api/auth/verify"
    stop_pid "$pid"
    ((W_RPS > best_bare)) && best_bare=$W_RPS
    round_bare=$W_RPS
    if [[ -z $best_bare_cpu ]] || awk -v a="$W_CPU" -v b="$best_bare_cpu" 'BEGIN { exit !(a < b) }'; then
        best_bare_cpu=$W_CPU
    fi
    for bin in "${CANDIDATES[@]}"; do
        name=$(label "$bin")
        saved=$BIN BIN=$bin
        start_jean2 "$name-verify-$round" "$TOKEN"
        BIN=$saved
        run_wrk "$name verify (token), round $round" "$J_PID" "$J_BASE/api/auth/verify" -H "Authorization: Bearer $TOKEN"
        stop_pid "$J_PID"
        pair_ratios[$name]+="$(ratio "$W_RPS" "$round_bare") "
        if ((W_RPS > ${best_rps[$name]:-0})); then
            best_rps[$name]=$W_RPS best_p99[$name]=$W_P99
        fi
        if [[ -z ${best_cpu[$name]:-} ]] || awk -v a="$W_CPU" -v b="${best_cpu[$name]}" 'BEGIN { exit !(a < b) }'; then
            best_cpu[$name]=$W_CPU
        fi
    done
done

# (b) idle WebSockets, each count on a fresh server; then all closed, then idle.
: >"$WORK/idle"
for bin in "${CANDIDATES[@]}"; do
    name=$(label "$bin")
    for n in $IDLE_COUNTS; do
        saved=$BIN BIN=$bin
        start_jean2 "$name-idle-$n" "$TOKEN" JEAN2_MAX_CONNECTIONS=$((n + 2000)) JEAN2_LOG=warn
        BIN=$saved
        sleep 1
        out=$(timeout 300 "$EXAMPLES/ws_load" --base "$J_BASE" --token "$TOKEN" idle --conns "$n" --pid "$J_PID" | tail -n 1) \
            || die "$name: idle-connection benchmark failed"
        sleep "$SETTLE"
        settled=$(rss_mb "$J_PID")
        stop_pid "$J_PID"
        kb=$(sed -n 's/.*kb_per_conn=\([^ ]*\).*/\1/p' <<<"$out")
        peak=$(sed -n 's/.*rss_after_kb=\([^ ]*\).*/\1/p' <<<"$out")
        base=$(sed -n 's/.*rss_before_kb=\([^ ]*\).*/\1/p' <<<"$out")
        printf '%-10s %6s sockets: %5s KB each (target <= 4: %s), RSS before %5.1f MB, peak %6.1f MB, after close + %ss idle %6s MB (target < 20: %s)\n' \
            "$name" "$n" "$kb" "$(verdict "$kb" '<' 4.0001)" "$(awk -v k="$base" 'BEGIN { print k / 1024 }')" \
            "$(awk -v k="$peak" 'BEGIN { print k / 1024 }')" \
            "$SETTLE" "$settled" "$(verdict "$settled" '<' 20)" >>"$WORK/idle"
    done
done

# (c) chunk relay, paced.
: >"$WORK/relay"
for bin in "${CANDIDATES[@]}"; do
    name=$(label "$bin")
    for sessions in 1 50; do
        line=$(timeout 300 "$EXAMPLES/chat_load" "$bin" "$sessions" 2000 1000 | grep -E 'latency|CPU' | tr '\n' ' ') \
            || die "$name: chat_load failed"
        printf '%-10s %2s sessions: %s\n' "$name" "$sessions" "$line" >>"$WORK/relay"
    done
done

echo
print_table
echo
for name in jean2 ${BASELINE:+$BASELINE_NAME}; do
    r=$(ratio "${best_rps[$name]}" "$best_bare")
    c=$(ratio "$best_bare_cpu" "${best_cpu[$name]}")
    printf '%-10s verify: best %s req/s (p99 %s ms), %s us CPU/req; / bare %s req/s: %s (target >= 0.90: %s); CPU bare/%s: %s\n' \
        "$name" "${best_rps[$name]}" "${best_p99[$name]}" "${best_cpu[$name]}" "$best_bare" "$r" \
        "$(verdict "$r" '>=' 0.9)" "$name" "$c"
    # Less sensitive to one lucky round than best against best (for reading, not the target).
    printf '%-10s verify: round by round / bare (each beside the bare round before it): %s; median %s\n' \
        "$name" "${pair_ratios[$name]}" "$(tr ' ' '\n' <<<"${pair_ratios[$name]}" | grep . | sort -n \
            | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.2f", (v[NR / 2] + v[NR / 2 + 1]) / 2 }')"
done
echo
cat "$WORK/idle"
echo
cat "$WORK/relay"
echo
echo "load after: $(uptime)"

if [[ ${BENCH_LISTS:-1} != 0 ]]; then
    echo
    echo "== store and list routes, 10,000 sessions (scripts/bench-lists.sh)"
    BENCH_NO_BUILD=1 "$(dirname "$0")/bench-lists.sh"
fi
