#!/usr/bin/env bash
# On-call path: `buf curl` through server reflection lists the gateway's services and calls RPCs, including
# an error with details. Runs the real sandbox and gateway.
# Usage: buf_curl_test.sh BIN_DIR BUF
set -euo pipefail
bin="$1"
buf="$2"
tmp="$(mktemp -d)"
cleanup() {
  kill $(jobs -p) 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT

# Each server prints "listening HOST:PORT" first; a FIFO lets us wait for that line without sleeping.
start() {  # name, command...
  local name="$1"; shift
  mkfifo "$tmp/$name.out"
  "$@" >"$tmp/$name.out" 2>"$tmp/$name.log" &
}
start sandbox "$bin/aarthik-sandbox" --listen 127.0.0.1:0 --api-key sk_test_buf --threads 1
exec 3<"$tmp/sandbox.out"
read -r -t 20 line <&3
sandbox="${line#listening }"
echo sk_test_buf >"$tmp/key"
start gateway "$bin/aarthik-gateway" --grpc-listen 127.0.0.1:0 --http-listen 127.0.0.1:0 --upstream-url "http://$sandbox" \
  --api-key-file "$tmp/key"
exec 4<"$tmp/gateway.out"
read -r -t 20 line <&4
gateway="http://${line#listening }"
curl_grpc() { "$buf" curl --protocol grpc --http2-prior-knowledge "$@"; }

services="$(curl_grpc --list-services "$gateway")"
for service in aarthik.headless.v1.SessionsService aarthik.headless.v1.JourneysService \
  aarthik.headless.v1.ProfileService aarthik.headless.v1.OffersService aarthik.headless.v1.StepsService \
  aarthik.headless.v1.AccountAggregatorService aarthik.headless.v1.PostDisbursalService \
  aarthik.hybrid.v1.HybridService aarthik.hosted.v1.HostedService aarthik.webhooks.v1.WebhookSubscriptionService; do
  grep -qx "$service" <<<"$services" || { echo "reflection does not list $service"; exit 1; }
done
# 40 platform RPCs plus the gateway's own event streams.
[ "$(curl_grpc --list-methods "$gateway" 2>/dev/null | grep '^aarthik\.' | grep -vc '^aarthik\.events\.')" -eq 40 ] ||
  { echo "expected 40 platform methods"; exit 1; }
grep -qx aarthik.events.v1.JourneyEventsService <<<"$services" || { echo "events service not listed"; exit 1; }

curl_grpc -d '{"session": {"borrowerExternalID": "CUST_BUF", "journeyType": "JOURNEY_TYPE_PERSONAL_LOAN"}}' \
  "$gateway/aarthik.headless.v1.SessionsService/CreateSession" >"$tmp/session.json"
jq -e '.sessionToken | startswith("st_test_")' "$tmp/session.json" >/dev/null
jq -e 'has("refreshToken") | not' "$tmp/session.json" >/dev/null

curl_grpc -d '{"borrower_external_id": "CUST_BUF", "journey": {"type": "JOURNEY_TYPE_PERSONAL_LOAN"}}' \
  "$gateway/aarthik.headless.v1.JourneysService/CreateJourney" >"$tmp/journey.json"
journey="$(jq -r '.journey.journeyID' "$tmp/journey.json")"
curl_grpc -d "{\"borrower_external_id\": \"CUST_BUF\", \"journey_id\": \"$journey\"}" \
  "$gateway/aarthik.headless.v1.JourneysService/GetJourneyState" >"$tmp/state.json"
jq -e '.state.status == "JOURNEY_LIFECYCLE_STATUS_STARTED"' "$tmp/state.json" >/dev/null

if curl_grpc -d '{"borrower_external_id": "CUST_BUF", "journey_id": "nope"}' \
  "$gateway/aarthik.headless.v1.JourneysService/GetJourneyState" >"$tmp/error.json" 2>&1; then
  echo "a malformed journey_id was accepted"; exit 1
fi
grep -q '"code": "invalid_argument"' "$tmp/error.json"
grep -q 'google.rpc.BadRequest' "$tmp/error.json"
echo "buf curl through reflection: OK"
