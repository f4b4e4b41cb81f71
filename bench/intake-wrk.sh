#!/usr/bin/env bash
# Case intake driven from another process, as the issue measured it: `huoyan demo` serves a fresh
# database and wrk (Debian's package) POSTs /api/v1/cases as the demo supervisor, a distinct
# Idempotency-Key each, at each number of connections in turn; then the audit chain is verified.
# Usage: bench/intake-wrk.sh [--db sqlite|postgres] [--seconds 10] [--connections "32 128 512"]
#        [--bin PATH-TO-huoyan] (default: the release build, made first)
set -euo pipefail
cd "$(dirname "$0")/.."
backend=postgres seconds=10 connections="32 128 512" bin=""
pg_admin=${HUOYAN_TEST_PG:-postgres://postgres@127.0.0.1:5432/test}
while [ $# -gt 0 ]; do
  case "$1" in
    --db) backend=$2; shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    --connections) connections=$2; shift 2 ;;
    --bin) bin=$2; shift 2 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
command -v wrk >/dev/null || apt-get install -y wrk >/dev/null
if [ -z "$bin" ]; then
  cargo build --quiet --release -p huoyan
  bin=${CARGO_TARGET_DIR:-target}/release/huoyan
fi
work=$(mktemp -d /var/tmp/huoyan-wrk.XXXXXX)
key=$work/audit.key
if [ "$backend" = postgres ]; then
  name=huoyan_wrk_$$
  psql "$pg_admin" -qc "CREATE DATABASE $name"
  db=${pg_admin%/*}/$name
else
  db=$work/huoyan.db
fi
port=$((20000 + $$ % 10000))
"$bin" demo --db "$db" --listen 127.0.0.1:$port --audit-key "$key" >"$work/server.log" 2>&1 &
server=$!
cleanup() {
  kill $server 2>/dev/null || true
  wait $server 2>/dev/null || true
  [ "$backend" = postgres ] && psql "$pg_admin" -qc "DROP DATABASE IF EXISTS $name" || true
  rm -rf "$work"
}
trap cleanup EXIT
for _ in $(seq 600); do
  curl -sf "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
  sleep 0.5
done
token=$(curl -sf "http://127.0.0.1:$port/api/v1/auth/token" -H 'Content-Type: application/json' \
  -d '{"username":"supervisor","password":"huoyan-demo"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
compound=$(curl -sf "http://127.0.0.1:$port/api/v1/cases?limit=1" -H "Authorization: Bearer $token" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["items"][0]["compound_id"])')
echo "$(nproc) cores, $backend, $("$bin" --version 2>/dev/null || echo huoyan), $(date -u +%FT%TZ), commit $(git rev-parse --short HEAD)"
sent=0
for c in $connections; do
  printf '%s connections: ' "$c"
  line=$(TOKEN=$token COMPOUND=$compound wrk -t2 -c"$c" -d"${seconds}s" --timeout 10s \
    -s bench/intake-wrk.lua "http://127.0.0.1:$port" | grep '^wrk:')
  echo "$line"
  sent=$((sent + $(echo "$line" | awk '{print $2}')))
done
kill $server; wait $server 2>/dev/null || true
# Every answered request must have filed a case of its own (a replayed key files none); requests
# still in flight when wrk stopped may have filed one more each.
count="SELECT COUNT(*) FROM cases WHERE description = 'wrk 东门岗无人值守'"
if [ "$backend" = postgres ]; then
  filed=$(psql "$db" -Atc "$count")
else
  filed=$(python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute(sys.argv[2]).fetchone()[0])' "$db" "$count")
fi
echo "$sent requests answered, $filed cases filed"
if [ "$filed" -lt "$sent" ]; then
  echo "fewer cases than requests: keys were replayed, the rates above are not of intake" >&2
  exit 1
fi
"$bin" audit verify --db "$db" --audit-key "$key" | tail -1
