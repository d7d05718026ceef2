#!/usr/bin/env bash
# Files and terminal benchmark (issue 14), against `jean2 server` with a token, one request at a
# time (latency, not throughput), through examples/files_load.rs:
#   (a) search by name on a generated tree of 100,000 files (plus 10,000 ignored ones):
#       a name found early (the walk stops at limit=50) and one only 3 files have (whole walk);
#   (b) the tree listing of a folder of 10,000 entries;
#   (c) terminal echo round trip: one key in over /ws/terminal, its echo back from the PTY;
#   (d) git status (the `git` binary, five short commands) on a 200-file repository;
# each as p50/p99 in milliseconds, with the machine's load (`uptime`) before and after.
#
# Usage: scripts/bench-files.sh
#   BENCH_NO_BUILD=1   use the existing target/release binaries (BENCH_PROFILE=debug: quick try of the script, no figures)
#   BENCH_FILES=100000 BENCH_ENTRIES=10000 BENCH_KEYS=500 BENCH_RUNS=30
#   BENCH_KEEP=1       keep the temp dir with the server log and the generated trees
set -euo pipefail
# shellcheck source=scripts/bench-lib.sh
source "$(dirname "$0")/bench-lib.sh"

FILES=${BENCH_FILES:-100000}
ENTRIES=${BENCH_ENTRIES:-10000}
KEYS=${BENCH_KEYS:-500}
RUNS=${BENCH_RUNS:-30}
TOKEN=bench-$RANDOM$RANDOM-token

build_release
LOAD=$EXAMPLES/files_load
[[ -x $LOAD ]] || die "the files_load example is missing (cargo build --release --examples)"
echo "bench: $(nproc) CPUs; the load generator and the server share them" >&2
echo "uptime before: $(uptime)"

start_jean2 files "$TOKEN"
run() { timeout 900 "$LOAD" --base "$J_BASE" --token "$TOKEN" --work "$WORK" "$@"; }
echo "bench: generating $FILES files (this takes a while)" >&2
run search --files "$FILES" --runs "$RUNS"
run tree --entries "$ENTRIES" --runs "$RUNS"
run echo --keys "$KEYS"
run git --runs "$RUNS"
stop_pid "$J_PID"
echo "uptime after: $(uptime)"
