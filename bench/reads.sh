#!/usr/bin/env bash
# Case reads at city scale: median and p99 of sequential requests and requests/s at 32 clients for
# each hot read route (the case list with each filter, the group's board, a unit's inbox, figures,
# figures.xlsx, the Open311 list, the export) on SQLite and PostgreSQL (127.0.0.1:5432, trust
# auth), with the server's memory during one export. Prints one markdown table per backend.
# Generating a million cases takes many minutes: name the databases to keep and reuse them, e.g.
#   bench/reads.sh --cases 1000000 --sqlite /var/tmp/huoyan-1m.db \
#     --pg postgres://postgres@127.0.0.1:5432/huoyan_1m --keep
# then the same command again (a database that holds data is reused, not loaded).
# Usage: bench/reads.sh [--cases N] [--sqlite PATH] [--pg URL] [--pg-admin URL]
#        [--backend sqlite|postgres|both] [--keep] [--seconds 5] [--clients 32] [--requests 20]
#        [--only PATH-PART,...] [--dir FOLDER-ON-A-REAL-DISK] [--nodelay]
set -euo pipefail
cd "$(dirname "$0")/.."
echo "$(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg), $(date -u +%FT%TZ), commit $(git rev-parse --short HEAD)" >&2
exec cargo bench --quiet -p huoyan --bench reads -- "$@"
