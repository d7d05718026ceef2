#!/usr/bin/env bash
# Chat streaming benchmark (issue 4 part 9): builds jean2 and the load example in release,
# then streams SESSIONS replies of CHUNKS chunks at once through a real server process.
# Usage: scripts/bench-chat.sh [sessions=50] [chunks=2000]
set -euo pipefail
cd "$(dirname "$0")/.."
sessions="${1:-50}"
chunks="${2:-2000}"
cargo build --release --bin jean2 --example chat_load
target_dir="$(cargo metadata --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')"
"$target_dir/release/examples/chat_load" "$target_dir/release/jean2" "$sessions" "$chunks"
