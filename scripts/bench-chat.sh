#!/usr/bin/env bash
# Chat streaming benchmark (issue 4 part 9): builds jean2 and the load example in release,
# then streams SESSIONS replies of CHUNKS chunks at once through a real server process, each
# watched by a resumed WebSocket client. Runs twice: the provider bursting as fast as it can
# (throughput; latency there is mostly waiting behind earlier chunks), then paced at one chunk
# per INTERVAL µs per session (the latency the server adds per chunk).
# Usage: scripts/bench-chat.sh [sessions=50] [chunks=2000] [interval_us=1000]
set -euo pipefail
cd "$(dirname "$0")/.."
sessions="${1:-50}"
chunks="${2:-2000}"
interval="${3:-1000}"
cargo build --release --bin jean2 --example chat_load
target_dir="$(cargo metadata --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')"
echo "== burst: the provider emits every chunk as fast as it can"
"$target_dir/release/examples/chat_load" "$target_dir/release/jean2" "$sessions" "$chunks" 0
echo "== paced: one chunk every ${interval} µs per session"
"$target_dir/release/examples/chat_load" "$target_dir/release/jean2" "$sessions" "$chunks" "$interval"
