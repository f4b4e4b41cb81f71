#!/usr/bin/env sh
# Coverage engine benchmark (issue #4): plans the generated compound, community and city zone sets
# and Daqing's district polygons, and prints the table recorded in BENCHMARKS.md
# ("## Coverage engine"). Set COVERAGE_BENCH_VERBOSE=1 for each drone's load.
set -eu
cd "$(dirname "$0")/.."
exec cargo run --quiet -p huoyan-core --release --bin coverage-bench -- "$@"
