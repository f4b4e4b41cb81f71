#!/usr/bin/env bash
# The case list's search on the real server over HTTP: starts `huoyan serve` on DB, waits until the
# search index is complete (a database written before it is indexed by the server's backfill job;
# the time it took is printed), signs in as the demo group and, for each search, sends one warm-up
# and N requests of GET /api/v1/cases?limit=50&q=… with curl; prints the median and the maximum.
# Compare two binaries on one database by running it once with each (a binary without the index
# has no mark to wait for: name it with --no-index).
# Usage: bench/search.sh BIN DB AUDIT-KEY [N] [--no-index]   (DB: a SQLite file or a postgres:// URL)
set -euo pipefail
bin=$1; db=$2; key=$3; n=${4:-20}; wait_index=${5:-}; port=18482; url=http://127.0.0.1:$port
mark() {
  case "$db" in
    postgres://*|postgresql://*) psql "$db" -Atc "SELECT upto - through FROM case_search_backfill" ;;
    *) sqlite3 "$db" "SELECT upto - through FROM case_search_backfill" ;;
  esac
}
started=$(date +%s.%N)
"$bin" --db "$db" --audit-key "$key" serve --listen 127.0.0.1:$port >/tmp/search-server.log 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
for _ in $(seq 1 600); do curl -fs "$url/healthz" >/dev/null 2>&1 && break; sleep 0.5; done
if [ "$wait_index" != --no-index ]; then
  while [ "$(mark)" != 0 ]; do sleep 2; done
  echo "index complete $(echo "$(date +%s.%N) - $started" | bc) s after the server started"
  grep -o 'search index: .*' /tmp/search-server.log | tail -1 || true
fi
token=$(curl -fs -H 'content-type: application/json' -d '{"username":"group","password":"huoyan-demo"}' \
  "$url/api/v1/auth/token" | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
for q in 饕餮 兰德 景程 蔬菜 '蔬菜 饕餮' 楼; do
  enc=$(python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1]))' "$q")
  list="$url/api/v1/cases?limit=50&q=$enc"
  total=$(curl -fs -H "authorization: Bearer $token" "$list" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(str(d["total"]) + ("+" if d.get("total_capped") else ""))')
  for _ in $(seq 1 "$n"); do
    curl -fs -o /dev/null -w '%{time_total}\n' -H "authorization: Bearer $token" "$list"
  done | sort -n | awk -v q="$q" -v t="$total" '{a[NR]=$1} END {printf "q=%s (%s cases): median %.1f ms, max %.1f ms\n", q, t, a[int(NR/2)+1]*1000, a[NR]*1000}'
done
