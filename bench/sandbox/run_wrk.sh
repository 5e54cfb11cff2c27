#!/usr/bin/env bash
# Sandbox throughput: starts aarthik-sandbox on a free port, mints a borrower session, creates a
# journey, then runs wrk against GET /api/v1/headless/journeys/{id}/state with a valid token.
# Usage: bench/sandbox/run_wrk.sh [BUILD_DIR] [DURATION] [CONNECTIONS] [WRK_THREADS]
set -euo pipefail
BUILD_DIR=${1:-build}
DURATION=${2:-10s}
CONNECTIONS=${3:-64}
WRK_THREADS=${4:-2}
BIN="$BUILD_DIR/bin/aarthik-sandbox"
OUT=$(mktemp)
"$BIN" --listen 127.0.0.1:0 --threads 2 >"$OUT" 2>/dev/null &
PID=$!
trap 'kill "$PID" 2>/dev/null; wait "$PID" 2>/dev/null; rm -f "$OUT"' EXIT
for _ in $(seq 100); do [ -s "$OUT" ] && break; sleep 0.05; done
ADDR=$(head -1 "$OUT" | cut -d' ' -f2)
json() { /usr/bin/python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }
TOKEN=$(curl -s -X POST "http://$ADDR/api/v1/headless/sessions" -H 'Authorization: Bearer sk_test_sandbox' \
  -H 'Idempotency-Key: bench-session' -d '{"borrowerExternalID":"BENCH_1"}' | json "['data']['sessionToken']")
JOURNEY=$(curl -s -X POST "http://$ADDR/api/v1/headless/journeys" -H "Authorization: Bearer $TOKEN" \
  -H 'Idempotency-Key: bench-journey' -d '{"type":"PERSONAL_LOAN"}' | json "['data']['journeyID']")
URL="http://$ADDR/api/v1/headless/journeys/$JOURNEY/state"
curl -s -o /dev/null -w 'sanity: HTTP %{http_code}\n' -H "Authorization: Bearer $TOKEN" "$URL"
echo "wrk -t$WRK_THREADS -c$CONNECTIONS -d$DURATION -H 'Authorization: Bearer <st_test_...>' $URL"
wrk -t"$WRK_THREADS" -c"$CONNECTIONS" -d"$DURATION" -H "Authorization: Bearer $TOKEN" "$URL"
