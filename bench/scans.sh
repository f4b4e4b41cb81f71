#!/usr/bin/env bash
# Scan ingest: durable scans per second through POST /api/v1/testing/scans, one scan a request
# from 512 keep-alive connections, against the HTTP limit (a no-op route) and the storage limit
# (the same rows in batches of 1,000), then an open-loop overload at ten times the rate, on SQLite
# and PostgreSQL (127.0.0.1:5432, trust auth; a throwaway database is made and dropped). Prints the
# table recorded in BENCHMARKS.md ("## Scan ingest").
# Usage: bench/scans.sh [--seconds 30] [--clients 512] [--backend sqlite|postgres|both]
#        [--phases no-op,http,storage,overload,replay] [--replay 2800000] [--dir FOLDER-ON-A-REAL-DISK]
set -euo pipefail
cd "$(dirname "$0")/.."
echo "$(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg), $(date -u +%FT%TZ), commit $(git rev-parse --short HEAD)" >&2
# Both ends of every connection are in this process: the overload phase's 8,192 connections need
# more descriptors than the usual soft limit.
ulimit -n "$(ulimit -Hn)"
exec cargo bench --quiet -p huoyan --bench scans -- "$@"
