#!/usr/bin/env bash
# Two jean2 instances on one PostgreSQL database behind haproxy, on this machine
# (docs/scale-out.md): a throwaway PostgreSQL cluster (initdb + pg_ctl in a temporary
# directory, as the `postgres` user when run as root, since PostgreSQL refuses root), two
# `jean2 server` processes on the database, each with its data dir but one shared folder for
# workspaces and attachments (standing in for shared storage), and haproxy in front with TLS
# (a self-signed certificate) and health checks.
#
# Usage: scripts/scale-out.sh            start everything, print the URLs, wait for Ctrl-C
#        scripts/scale-out.sh --check    start, check the deployment through the proxy, stop
# Environment:
#   JEAN2_BIN=path          the jean2 binary (default: target/release/jean2, else target/debug/jean2)
#   SCALE_PORT=8750         haproxy's HTTPS port; the instances use +1 and +2, PostgreSQL +3
#   JEAN2_AUTH_TOKEN=...    the token (default: a random one, printed)
#   SCALE_KEEP=1            keep the temporary directory (logs, data) after the end
# Needs: PostgreSQL's programs (apt-get install postgresql), haproxy, openssl, curl.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PORT=${SCALE_PORT:-8750}
A_PORT=$((PORT + 1)) B_PORT=$((PORT + 2)) PG_PORT=$((PORT + 3))
WORK=$(mktemp -d "${TMPDIR:-/tmp}/jean2-scale.XXXXXX")
TOKEN=${JEAN2_AUTH_TOKEN:-$(openssl rand -hex 24)}
PIDS=()

die() { echo "scale-out: error: $*" >&2; exit 1; }
say() { echo "scale-out: $*" >&2; }

BIN=${JEAN2_BIN:-}
if [[ -z $BIN ]]; then
    for b in "$ROOT/target/release/jean2" "$ROOT/target/debug/jean2"; do
        [[ -x $b ]] && { BIN=$b; break; }
    done
fi
[[ -n $BIN && -x $BIN ]] || die "no jean2 binary: cargo build --release (or set JEAN2_BIN)"
PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
[[ -n $PG_BIN ]] || PG_BIN=$(dirname "$(command -v initdb || true)")
[[ -x $PG_BIN/initdb ]] || die "PostgreSQL is not installed (apt-get install postgresql)"
command -v haproxy >/dev/null || die "haproxy is not installed (apt-get install haproxy)"

# PostgreSQL refuses to run as root: the cluster belongs to `postgres` then.
as_pg() {
    if [[ $(id -u) -eq 0 ]]; then su postgres -s /bin/sh -c "$*"; else sh -c "$*"; fi
}

cleanup() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$pid" 2>/dev/null || true
    done
    [[ -f $WORK/pg/data/postmaster.pid ]] && as_pg "'$PG_BIN/pg_ctl' -D '$WORK/pg/data' -m fast stop" >/dev/null 2>&1 || true
    if [[ -n ${SCALE_KEEP:-} ]]; then say "kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

wait_http() { # name url
    for _ in $(seq 200); do
        curl -fsk -o /dev/null "$2" && return 0
        sleep 0.1
    done
    die "$1 did not answer at $2 (logs in $WORK)"
}

say "PostgreSQL on 127.0.0.1:$PG_PORT ($PG_BIN)"
mkdir -p "$WORK/pg"
[[ $(id -u) -eq 0 ]] && chown postgres "$WORK/pg" && chmod 755 "$WORK"
as_pg "'$PG_BIN/initdb' -D '$WORK/pg/data' -U postgres -A trust >'$WORK/pg/initdb.log' 2>&1"
as_pg "'$PG_BIN/pg_ctl' -D '$WORK/pg/data' -l '$WORK/pg/server.log' -w \
    -o \"-p $PG_PORT -k '$WORK/pg' -c listen_addresses=127.0.0.1\" start" >/dev/null
as_pg "'$PG_BIN/createdb' -h 127.0.0.1 -p $PG_PORT -U postgres jean2"
URL="postgres://postgres@127.0.0.1:$PG_PORT/jean2?sslmode=disable"

# A data dir per instance (each runs one server); their workspaces/ and attachments/ are one
# shared folder, as shared storage mounted at the same path would be.
mkdir -p "$WORK/shared/workspaces" "$WORK/shared/attachments"
for i in a b; do
    p=$A_PORT; [[ $i == b ]] && p=$B_PORT
    data=$WORK/$i
    mkdir -p "$data"
    ln -s "$WORK/shared/workspaces" "$data/workspaces"
    ln -s "$WORK/shared/attachments" "$data/attachments"
    cat >"$data/.env" <<ENV
JEAN2_DATABASE_URL=$URL
JEAN2_AUTH_TOKEN=$TOKEN
JEAN2_HOST=127.0.0.1
JEAN2_TRUSTED_PROXIES=127.0.0.1
JEAN2_PUBLIC_URL=https://localhost:$PORT
ENV
    say "jean2 instance $i on 127.0.0.1:$p"
    JEAN2_DATA_DIR=$data "$BIN" server -p "$p" >"$WORK/jean2-$i.log" 2>&1 &
    PIDS+=($!)
    wait_http "jean2 $i" "http://127.0.0.1:$p/api/health"
done

say "haproxy on https://localhost:$PORT (self-signed certificate)"
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=localhost \
    -keyout "$WORK/key.pem" -out "$WORK/cert.pem" >/dev/null 2>&1
cat "$WORK/cert.pem" "$WORK/key.pem" >"$WORK/jean2.pem"
sed -e "s|bind :443 ssl crt /etc/haproxy/jean2.pem|bind 127.0.0.1:$PORT ssl crt $WORK/jean2.pem|" \
    -e "/bind :80/d" -e "/redirect scheme https/d" \
    -e "s|127.0.0.1:8751|127.0.0.1:$A_PORT|g" -e "s|127.0.0.1:8752|127.0.0.1:$B_PORT|g" \
    "$ROOT/deploy/haproxy.cfg" >"$WORK/haproxy.cfg"
haproxy -f "$WORK/haproxy.cfg" -db >"$WORK/haproxy.log" 2>&1 &
PIDS+=($!)
wait_http haproxy "https://localhost:$PORT/api/health"

if [[ ${1:-} == --check ]]; then
    auth=(-H "Authorization: Bearer $TOKEN")
    # Round robin: consecutive requests land on a, then b; both see the same data.
    ws=$(curl -fsk "${auth[@]}" "https://localhost:$PORT/api/workspaces")
    id=$(sed -n 's/.*"id":"\([^"]*\)".*/\1/p' <<<"$ws" | head -n 1)
    [[ -n $id ]] || die "no workspace listed through the proxy: $ws"
    for _ in 1 2 3 4; do
        curl -fsk "${auth[@]}" "https://localhost:$PORT/api/workspaces" | grep -q "$id" \
            || die "an instance does not see the workspace the other made"
    done
    for p in $A_PORT $B_PORT; do
        curl -fs "${auth[@]}" "http://127.0.0.1:$p/api/workspaces" | grep -q "$id" \
            || die "instance on $p does not see the workspace"
    done
    say "check passed: both instances answer through haproxy and share the database"
    exit 0
fi

cat <<MSG
jean2 behind haproxy: https://localhost:$PORT   (self-signed certificate)
  token:      $TOKEN
  instances:  http://127.0.0.1:$A_PORT  http://127.0.0.1:$B_PORT
  database:   $URL
  logs:       $WORK   (SCALE_KEEP=1 keeps them)
Ctrl-C stops everything.
MSG
wait "${PIDS[0]}"
