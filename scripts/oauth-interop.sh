#!/usr/bin/env bash
# Prove that a standard OAuth 2.1 client library (Python Authlib), given only the issuer URL,
# discovers the endpoints and completes the PKCE and the confidential flows against the real
# binary. Needs python3 with venv; installs authlib into a throwaway venv (from PyPI) unless
# $PYTHON already has it.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --quiet
BIN=target/debug/jean2
DATA=$(mktemp -d)
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
ISSUER="http://127.0.0.1:$PORT"
EMAIL=interop@example.com
PASSWORD="interop-password-$RANDOM$RANDOM"
export JEAN2_DATA_DIR="$DATA" JEAN2_OAUTH_ENABLED=true JEAN2_LOG=debug
unset JEAN2_AUTH_TOKEN JEAN2_PUBLIC_URL

cleanup() { [[ -n "${SERVER:-}" ]] && kill "$SERVER" 2>/dev/null; wait 2>/dev/null; [[ -n "${KEEP:-}" ]] || rm -rf "$DATA"; }
trap cleanup EXIT

printf '%s\n' "$PASSWORD" | $BIN users add --email "$EMAIL" --password-stdin
PUBLIC=$($BIN apps create --name "Interop SPA" --redirect-uri http://127.0.0.1/callback --json)
CONF=$($BIN apps create --name "Interop service" --redirect-uri http://127.0.0.1/callback --confidential --json)
field() { python3 -c 'import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$1" "$2"; }

$BIN server -p "$PORT" >"$DATA/server.log" 2>&1 &
SERVER=$!
for _ in $(seq 100); do curl -fs "$ISSUER/api/health" >/dev/null && break; sleep 0.1; done

PYTHON=${PYTHON:-}
if [[ -z "$PYTHON" ]]; then
  if python3 -c 'import authlib, requests' 2>/dev/null; then PYTHON=python3; else
    python3 -m venv "$DATA/venv"
    "$DATA/venv/bin/pip" install -q authlib requests
    PYTHON="$DATA/venv/bin/python"
  fi
fi
"$PYTHON" scripts/oauth_interop.py "$ISSUER" "$EMAIL" "$PASSWORD" \
  "$(field "$PUBLIC" client_id)" "$(field "$CONF" client_id)" "$(field "$CONF" client_secret)"

# Nothing secret reaches the log, even at debug level.
for secret in "$PASSWORD" "$(field "$CONF" client_secret)" "$(field "$PUBLIC" api_key)"; do
  if grep -qF -- "$secret" "$DATA/server.log"; then
    echo "FAIL: a secret appears in the server log" >&2; exit 1
  fi
done
if grep -qE 'code=[A-Za-z0-9_-]{20}|refresh_token=[A-Za-z0-9_-]{20}' "$DATA/server.log"; then
  echo "FAIL: a code or token appears in the server log" >&2; exit 1
fi
echo "ok  no password, secret, key, code or token in the debug log ($(wc -l <"$DATA/server.log") lines)"
