#!/usr/bin/env bash
# Measures `occasionali dev`: time from launch to the gateway reporting SERVING (every backend
# up), and the resident memory of the whole cluster (one process) when idle.
# Usage: tests/bench/startup.sh [path/to/occasionali]   (default: a release build)
set -euo pipefail
cd "$(dirname "$0")/../.."
bin=${1:-}
if [ -z "$bin" ]; then
  cargo build --release --locked -p occasionali >/dev/null
  bin=target/release/occasionali
fi
runs=${RUNS:-5}
for i in $(seq 1 "$runs"); do
  data=$(mktemp -d)
  start=$(date +%s%N)
  "$bin" --data-dir "$data" dev >"$data/log" 2>&1 &
  pid=$!
  until grpcurl -plaintext 127.0.0.1:50051 grpc.health.v1.Health/Check 2>/dev/null | grep -q SERVING; do sleep 0.01; done
  ready=$(( ($(date +%s%N) - start) / 1000000 ))
  sleep 3
  rss=$(awk '/VmRSS/{print $2}' /proc/$pid/status)
  echo "run $i: serving after ${ready} ms (fresh data dir, migrations included); idle RSS $((rss / 1024)) MiB"
  kill $pid; wait $pid 2>/dev/null || true
  rm -rf "$data"
done
