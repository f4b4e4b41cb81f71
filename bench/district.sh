#!/usr/bin/env bash
# The case list filtered by each district, on the real server over HTTP: starts `huoyan serve` on
# DB, signs in as the demo group and, for each district, sends one warm-up and 20 requests of
# GET /api/v1/cases?limit=50&region_id=D with curl; prints the median and the 90th percentile.
# Compare two binaries on one database by running it once with each.
# Usage: bench/district.sh BIN DB AUDIT-KEY   (DB: a SQLite file or a postgres:// URL)
set -euo pipefail
bin=$1; db=$2; key=$3; port=18481; url=http://127.0.0.1:$port
case "$db" in
  postgres://*|postgresql://*) districts=$(psql "$db" -Atc "SELECT id FROM regions WHERE level = 'district' ORDER BY id") ;;
  *) districts=$(sqlite3 "$db" "SELECT id FROM regions WHERE level = 'district' ORDER BY id") ;;
esac
"$bin" --db "$db" --audit-key "$key" serve --listen 127.0.0.1:$port >/tmp/district-server.log 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
for _ in $(seq 1 600); do curl -fs "$url/healthz" >/dev/null 2>&1 && break; sleep 0.5; done
token=$(curl -fs -H 'content-type: application/json' -d '{"username":"group","password":"huoyan-demo"}' \
  "$url/api/v1/auth/token" | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
for d in $districts; do
  list="$url/api/v1/cases?limit=50&region_id=$d"
  curl -fs -o /dev/null -H "authorization: Bearer $token" "$list"
  for _ in $(seq 1 20); do
    curl -fs -o /dev/null -w '%{time_total}\n' -H "authorization: Bearer $token" "$list"
  done | sort -n | awk -v d="$d" '{a[NR]=$1} END {printf "district %s: median %.1f ms, p90 %.1f ms\n", d, a[int(NR/2)+1]*1000, a[int(NR*0.9)]*1000}'
done
