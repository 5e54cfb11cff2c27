#!/usr/bin/env bash
# The demo client (client_stubs/examples) against a sandbox and a gateway started here: it must exit 0,
# and its transcript must show the disbursed headless journey, the Hybrid hosted URL, platform
# request IDs and live events: the sandbox's signed web-hooks reach the gateway's HTTP listener (shared
# secret, SubscribeWebhooks) and the client prints them from WatchJourneyEvents.
# Usage: demo_test.sh BIN_DIR
set -euo pipefail
bin="$1"
readonly time_scale=20
readonly api_key="sk_test_demo_test"
readonly tenant_id="8b6a3eb1-ffcb-4094-9f7d-2802c2cb5a61"
readonly application_id="fbb1fd74-c502-4419-83f3-82a2a019fc9a"
tmp="$(mktemp -d)"
server_pids=()
drain_pids=()
cleanup() {
  local pid i
  for ((i = ${#server_pids[@]} - 1; i >= 0; i--)); do
    pid="${server_pids[i]}"
    kill -TERM "$pid" 2>/dev/null || continue
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  for pid in "${drain_pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT

fail() {
  echo "FAIL: $*"
  for log in "$tmp"/*.log; do echo "--- $log (last lines)"; tail -n 20 "$log"; done
  exit 1
}

# Each server prints "listening HOST:PORT" first (and the gateway "http HOST:PORT" second); a FIFO
# lets us wait for those lines without sleeping.
listen_address=""
http_address=""
start_server() {  # [--http] name, command...
  local want_http=0 name line="" http_line="" fd
  if [ "$1" = --http ]; then want_http=1; shift; fi
  name="$1"
  shift
  mkfifo "$tmp/$name.fifo"
  "$@" >"$tmp/$name.fifo" 2>"$tmp/$name.log" &
  server_pids+=("$!")
  exec {fd}<"$tmp/$name.fifo"
  read -r -t 30 line <&"$fd" || true
  [[ "$line" == "listening "* ]] || fail "$name did not start (first stdout line: '$line')"
  if [ "$want_http" = 1 ]; then
    read -r -t 30 http_line <&"$fd" || true
    [[ "$http_line" == "http "* ]] || fail "$name: no HTTP listener (second stdout line: '$http_line')"
  fi
  cat <&"$fd" >"$tmp/$name.stdout" &
  drain_pids+=("$!")
  exec {fd}<&-
  listen_address="${line#listening }"
  http_address="${http_line#http }"
}

echo "whsec_demo_test_secret" >"$tmp/webhook-secret"
start_server sandbox "$bin/aarthik-sandbox" --listen 127.0.0.1:0 --api-key "$api_key" \
  --time-scale "$time_scale" --threads 2 --webhook-secret-file "$tmp/webhook-secret" \
  --tenant-id "$tenant_id" --application-id "$application_id"
echo "$api_key" >"$tmp/key"
start_server --http gateway "$bin/aarthik-gateway" --grpc-listen 127.0.0.1:0 \
  --http-listen 127.0.0.1:0 --webhook-secret-file "$tmp/webhook-secret" \
  --upstream-url "http://$listen_address" --api-key-file "$tmp/key" \
  --tenant-id "$tenant_id" --application-id "$application_id"
gateway="$listen_address"

status=0
"$bin/aarthik-demo-client" --gateway "$gateway" --poll-scale "$time_scale" --timeout 60s \
  --webhook-url "http://$http_address/webhooks/aarthik" \
  >"$tmp/transcript.txt" 2>"$tmp/client-stderr.log" || status=$?
cat "$tmp/transcript.txt"
[ "$status" -eq 0 ] || fail "aarthik-demo-client exited $status: $(cat "$tmp/client-stderr.log")"

grep -q 'GetJourneyState .*OK  *DISBURSED' "$tmp/transcript.txt" || fail "no DISBURSED journey state"
grep -q 'RefreshLoanStatus .*OK .*ACCEPTED' "$tmp/transcript.txt" || fail "no post-disbursal status"
grep -q 'ProceedOffer .*REFUSED .*FAILED_PRECONDITION OFFER_LOCK_CONFLICT' "$tmp/transcript.txt" ||
  fail "no refused second ProceedOffer"
grep -q 'GetHostedUrl .*OK .*hosted URL https://' "$tmp/transcript.txt" || fail "no hosted URL line"
grep -q ' req_[0-9A-Z]\{26\} ' "$tmp/transcript.txt" || fail "no platform request ID (req_...)"
grep -q 'SubscribeWebhooks .*OK .*deliveries enabled to http://' "$tmp/transcript.txt" ||
  fail "no SubscribeWebhooks line"
journey="$(sed -n 's/.*CreateJourney .*OK  *journey \([^ ]*\) .*/\1/p' "$tmp/transcript.txt" | head -n 1)"
[ -n "$journey" ] || fail "no journey ID in the CreateJourney line"
grep -q "⇢ event [^ ][^ ]* journey.snapshot [A-Z_]* (journey $journey), trigger " \
  "$tmp/transcript.txt" || fail "no live event line for the headless journey $journey"
grep -q 'WatchJourneyEvents streams closed' "$tmp/transcript.txt" || fail "event streams not closed"
grep -q 'UnsubscribeWebhooks .*OK .*deliveries off' "$tmp/transcript.txt" ||
  fail "no UnsubscribeWebhooks line"
# Tokens appear as prefixes only, and hosted URLs without their #bt_ fragment.
if grep -Eq 'st_test_[A-Za-z0-9]|rt_test_|bt_test_' "$tmp/transcript.txt"; then
  fail "the transcript shows a token"
fi
echo "demo client: OK"
