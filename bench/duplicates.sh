#!/usr/bin/env sh
# Duplicate proposer benchmark (issue #17): one new report against 5,000 open cases, and reading
# the queue into profiles; prints the table recorded in BENCHMARKS.md ("## Duplicate proposer").
set -eu
cd "$(dirname "$0")/.."
exec cargo run --quiet -p huoyan-core --release --bin duplicates-bench -- "$@"
