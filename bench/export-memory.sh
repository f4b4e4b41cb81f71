#!/usr/bin/env bash
# The server's memory during one full case export, measured on the real binary from outside:
# starts `huoyan serve` on DB, signs in as the demo commander, downloads
# /api/v1/cases/export.xlsx and samples the server's VmRSS every 10 ms before, during and
# after. Compare two binaries on one database by running it once with each.
# Usage: bench/export-memory.sh --bin PATH --db SQLITE-FILE-OR-POSTGRES-URL --audit-key FILE [--port 18480]
set -euo pipefail
bin=; db=; key=; port=18480
while [ $# -gt 0 ]; do
  case "$1" in
    --bin) bin=$2; shift 2 ;;
    --db) db=$2; shift 2 ;;
    --audit-key) key=$2; shift 2 ;;
    --port) port=$2; shift 2 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
[ -n "$bin" ] && [ -n "$db" ] && [ -n "$key" ] || { echo "need --bin, --db and --audit-key" >&2; exit 2; }
url="http://127.0.0.1:$port"
"$bin" --db "$db" --audit-key "$key" serve --listen "127.0.0.1:$port" >/tmp/export-memory-server.log 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
for _ in $(seq 1 600); do curl -fs "$url/healthz" >/dev/null 2>&1 && break; sleep 0.5; done
rss() { awk '/VmRSS/ {print $2}' "/proc/$server/status"; }
token=$(curl -fs -H 'content-type: application/json' \
  -d '{"username":"commander","password":"huoyan-demo"}' "$url/api/v1/auth/token" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
sleep 1
base=$(rss)
peak=$base
start=$(date +%s.%N)
curl -fs -H "authorization: Bearer $token" -o /tmp/export-memory.xlsx "$url/api/v1/cases/export.xlsx" &
fetch=$!
while kill -0 $fetch 2>/dev/null; do
  now=$(rss); [ "$now" -gt "$peak" ] && peak=$now
  sleep 0.01
done
wait $fetch
end=$(date +%s.%N)
after=$(rss)
printf '%s: export of %s bytes in %.1f s; VmRSS %.1f MB before, peak %.1f MB (+%.1f), %.1f MB after\n' \
  "$("$bin" --version 2>/dev/null || basename "$bin")" "$(stat -c %s /tmp/export-memory.xlsx)" \
  "$(echo "$end - $start" | bc)" "$(echo "$base/1024" | bc -l)" "$(echo "$peak/1024" | bc -l)" \
  "$(echo "($peak-$base)/1024" | bc -l)" "$(echo "$after/1024" | bc -l)"
