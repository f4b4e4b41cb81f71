#!/usr/bin/env bash
# The case generator (`huoyan demo --cases N`): cases per second step by step through the
# application's functions against many rows to a statement (`cases::bulk`), on SQLite and
# PostgreSQL (127.0.0.1:5432, trust auth; throwaway databases). Prints the table recorded in
# BENCHMARKS.md ("The generator, batched").
# Usage: bench/generator.sh [--cases 20000] [--backend sqlite|postgres|both] [--pg URL] [--dir FOLDER]
set -euo pipefail
cd "$(dirname "$0")/.."
echo "$(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg), $(date -u +%FT%TZ), commit $(git rev-parse --short HEAD)" >&2
exec cargo bench --quiet -p huoyan --bench generator -- "$@"
