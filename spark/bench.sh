#!/usr/bin/env bash
# make bench-spark: see spark/bench.py (both APIs; single process, local[1], local[2], a 2-worker standalone cluster;
# writes the generated Spark section of benchmarks/RESULTS.md)
set -euo pipefail
cd "$(dirname "$0")/.."
exec .venv/bin/python spark/bench.py "$@"
