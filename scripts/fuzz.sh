#!/usr/bin/env bash
# Fuzzing by properties (issue 12, item 18): runs the parser properties of
# tests/api/hardening/properties.rs — the Authorization header and query token, the `.env`
# loader, the WebSocket client-message decoder, the OAuth form, Basic and PKCE parsers, the
# logged-URL scrubber, the SSE decoder with the chunk parser, and Retry-After — with many more
# cases than the normal test suite (256 each), each property bounded by a time budget.
#
# Usage: scripts/fuzz.sh [cases=20000] [seconds_per_property=120]
#   A failure prints the smallest input proptest found, and stores its seed under
#   tests/api/hardening/*.proptest-regressions so the normal suite replays it from then on.
set -euo pipefail
cd "$(dirname "$0")/.."
cases="${1:-20000}"
budget_ms=$(( ${2:-120} * 1000 ))
cargo test --locked --test api --no-run
# Each property is bounded by the shell's `timeout`: one still running then counts as passed
# with the cases it got through (it says so).
status=0
for property in $(cargo test --locked --test api hardening::properties -- --list 2>/dev/null \
    | sed -n 's/^\(hardening::properties::[a-z0-9_]*\): test$/\1/p'); do
  echo "== $property ($cases cases, at most $(( budget_ms / 1000 )) s)"
  set +e
  PROPTEST_CASES="$cases" timeout "$(( budget_ms / 1000 ))" \
    cargo test --locked --quiet --test api "$property" -- --exact
  code=$?
  set -e
  case "$code" in
    0) ;;
    124) echo "   (time budget reached before $cases cases; no failure so far)" ;;
    *) status=1 ;;
  esac
done
exit "$status"
