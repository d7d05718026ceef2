#!/usr/bin/env bash
# Tool-step benchmark (issue 11): `jean2 server` (release, auth off, its own data dir) against a
# fake OpenAI-compatible provider (examples/tool_load) that scripts turns of STEPS tool calls in a
# folder workspace, one resumed WebSocket client per session. For each tool it prints, as
# p50/p99/max over SESSIONS x STEPS tool steps:
#   - the server's own time per tool step: from the end of the step's stream (provider side) to
#     the start of the next provider request, the model call excluded;
#   - that time split at the moment the tool's result (`part.updated`) reaches the client, i.e.
#     the latency from the tool's result on the client to the next provider request;
#   - the tool's run time as its part states it (whole milliseconds);
#   - the server's CPU time per tool step (/proc).
# Tools: none (a tool the preconfig lacks: the part ends as an error at once, nothing runs: the
# server's own bookkeeping), read-file (README.md), ls (.), shell (`true`: a process per call).
# The machine's load (`uptime`) is printed before and after. It prints figures; it asserts nothing.
#
# Usage: scripts/bench-tools.sh
#   BENCH_NO_BUILD=1   use the existing target/release binaries (BENCH_PROFILE=debug: quick try of the script, no figures)
#   BENCH_SESSIONS=20 BENCH_STEPS=25 BENCH_PARALLEL=1 BENCH_TOOLS="none read-file ls shell"
#   BENCH_KEEP=1       keep the temp dir with the server logs and data dirs
set -euo pipefail
# shellcheck source=scripts/bench-lib.sh
source "$(dirname "$0")/bench-lib.sh"

SESSIONS=${BENCH_SESSIONS:-20}
STEPS=${BENCH_STEPS:-25}
PARALLEL=${BENCH_PARALLEL:-1}
TOOLS=${BENCH_TOOLS:-none read-file ls shell}
((STEPS >= 1 && STEPS < 1000)) || die "BENCH_STEPS must be 1-999 (JEAN2_LLM_MAX_STEPS is at most 1000)"

build_release
LOAD=$EXAMPLES/tool_load
[[ -x $LOAD ]] || die "the tool_load example is missing (cargo build --release --examples)"
echo "bench: $(nproc) CPUs; the load generator and the server share them" >&2
echo "uptime before: $(uptime)"
for tool in $TOOLS; do
    echo
    echo "== $tool"
    provider_port=$(free_port)
    start_jean2 "tools-$tool" "" \
        JEAN2_LLM_BASE_URL="http://127.0.0.1:$provider_port/v1" \
        JEAN2_LLM_OPENAI_API_KEY=sk-bench \
        JEAN2_LLM_MAX_STEPS=$((STEPS + 1)) \
        JEAN2_LOG=warn
    mkdir -p "$WORK/$tool"
    timeout 900 "$LOAD" --base "$J_BASE" --pid "$J_PID" --provider-port "$provider_port" \
        --work "$WORK/$tool" --tool "$tool" --sessions "$SESSIONS" --steps "$STEPS" --parallel "$PARALLEL"
    stop_pid "$J_PID"
done
echo
echo "uptime after: $(uptime)"
