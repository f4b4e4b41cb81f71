#!/usr/bin/env bash
# Drone telemetry: 200 simulated vehicles at 10 Hz over UDP into the MAVLink link, the ingest rate
# and the delay from a datagram to its position on the live map's event stream, then a flood for
# the ceiling. Prints the table recorded in BENCHMARKS.md ("## Drone telemetry").
# Usage: bench/telemetry.sh [--seconds 20] [--vehicles 200] [--hz 10]
set -euo pipefail
cd "$(dirname "$0")/.."
echo "$(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg), $(date -u +%FT%TZ), commit $(git rev-parse --short HEAD)" >&2
exec cargo bench --quiet -p huoyan --bench telemetry -- "$@"
