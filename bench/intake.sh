#!/usr/bin/env bash
# Case intake: creates per second through the JSON API at 32 concurrent clients against the
# HTTP limit (a no-op route) and the storage limit (the same rows written without HTTP), on SQLite
# and PostgreSQL (127.0.0.1:5432, trust auth; a throwaway database is made and dropped). Prints
# the table recorded in BENCHMARKS.md ("## Case intake").
# Usage: bench/intake.sh [--seconds 30] [--clients 32] [--backend sqlite|postgres|both] [--pg URL]
#        [--phases no-op,http,storage,single] [--dir FOLDER-ON-A-REAL-DISK]
set -euo pipefail
cd "$(dirname "$0")/.."
echo "$(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg), $(date -u +%FT%TZ), commit $(git rev-parse --short HEAD)" >&2
exec cargo bench --quiet -p huoyan --bench intake -- "$@"
