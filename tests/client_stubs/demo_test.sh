#!/usr/bin/env bash
# The README's demo command, scripts/demo, exactly as a user runs it (minus package setup; the build
# tree is the test's): it must exit 0, and its transcript must show the disbursed headless journey,
# the Hybrid hosted URL, platform request IDs and live events (the sandbox's signed web-hooks reach
# the gateway's HTTP listener and the client prints them from WatchJourneyEvents).
# Usage: demo_test.sh SOURCE_DIR BUILD_DIR
set -euo pipefail
source_dir="$1"
build_dir="$2"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

fail() {
  echo "FAIL: $*"
  exit 1
}

status=0
AARTHIK_BUILD_DIR="$build_dir" AARTHIK_DEMO_SKIP_SETUP=1 "$source_dir/scripts/demo" --timeout 60s \
  >"$tmp/transcript.txt" 2>&1 </dev/null || status=$?
cat "$tmp/transcript.txt"
[ "$status" -eq 0 ] || fail "scripts/demo exited $status"

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
