#!/usr/bin/env bash
# Reproduces every gateway figure in docs/benchmarks.md ("Gateway"): builds the gateway, the sandbox
# and the load generator in BUILD_DIR, then runs bench/gateway/run.py (scenarios a-e, 3 runs each,
# medians, the concurrency plot docs/gateway-concurrency.png, a perf profile and a callgrind profile).
# Results: bench/gateway/results/<date>-<time>/{raw.jsonl,summary.json,perf-*,callgrind-*}.
#
# Usage: bench/gateway/run.sh [BUILD_DIR] [run.py options...]
#   bench/gateway/run.sh                         # build-bench, everything
#   bench/gateway/run.sh build-bench --only a,d --runs 1
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD_DIR=${1:-build-bench}
shift || true
if [ ! -f "$BUILD_DIR/build.ninja" ]; then
  cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
ninja -C "$BUILD_DIR" -j2 aarthik-gateway aarthik-sandbox aarthik-grpc-load >&2
exec /usr/bin/python3 bench/gateway/run.py --build "$BUILD_DIR" "$@"
