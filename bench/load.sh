#!/usr/bin/env bash
# The collection load test: for each configuration, a fresh `garde serve` on
# SQLite in a temp dir (built-in example inventory), and gardeload in a
# separate process sending "Order Completed" events (~600 bytes, three
# personal properties). Prints one JSON line per run, with the server's peak
# RSS. Usage: bench/load.sh [duration]
set -euo pipefail
cd "$(dirname "$0")/.."
duration=${1:-20s}
port=${GARDE_BENCH_PORT:-18080}
run() { # conns batch
  dir=$(mktemp -d)
  ./bin/garde serve --data "$dir/data" --listen "127.0.0.1:$port" 2>"$dir/log" &
  pid=$!
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break; sleep 0.1; done
  ./bin/gardeload -url "http://127.0.0.1:$port" -conns "$1" -batch "$2" -duration "$duration" -pid "$pid" || true
  kill -TERM "$pid"; wait "$pid" || true
  rm -rf "$dir"
}
echo "# $(date -u +%FT%TZ) $(nproc) cores, $(go version | cut -d' ' -f3), duration $duration"
run 16 100
run 4 100
run 1 100
run 32 0
