#!/usr/bin/env bash
# Roster engine against OR-Tools CP-SAT: builds a venv with ortools under the cargo target dir,
# builds the bench binary and prints the comparison table (markdown) and the re-plan figures.
# Usage: bench/roster.sh [--cpsat-seconds N] [--quick] ...   (arguments go to roster-bench)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
target="${CARGO_TARGET_DIR:-$root/target}"
venv="$target/bench-venv"
if ! "$venv/bin/python" -c "import ortools" 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --upgrade pip
  "$venv/bin/pip" install --quiet ortools
fi
echo "ortools $("$venv/bin/python" -c 'import ortools; print(ortools.__version__)'), $(nproc) cores, $(date -u +%FT%TZ)" >&2
cd "$root"
cargo build --quiet -p huoyan-core --release --bin roster-bench
exec "$target/release/roster-bench" --python "$venv/bin/python" "$@"
