#!/usr/bin/env bash
# API change safety: `buf breaking` (FILE rules, from buf.yaml) finds no change in proto/ that would break
# callers' generated code against the released API, proto/api-image.binpb; and it does catch such changes:
# on a temporary copy of the protos, a renumbered field and a removed RPC must each fail the check.
# Usage: buf_breaking_test.sh <repo root>
set -euo pipefail
root="$(cd "${1:?usage: buf_breaking_test.sh <repo root>}" && pwd)"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

echo "== buf breaking against proto/api-image.binpb"
"$root/scripts/buf" breaking || { echo "FAIL: the protos break callers of the released API (above)" >&2; exit 1; }

# A copy of what scripts/buf needs, so that the mutations never touch the repo (and stage in $tmp).
copy() {
  rm -rf "$tmp/repo" && mkdir -p "$tmp/repo/scripts"
  cp "$root/scripts/buf" "$tmp/repo/scripts/"
  cp "$root/buf.yaml" "$tmp/repo/"
  cp -r "$root/proto" "$tmp/repo/"
  ln -s "$root/tools" "$tmp/repo/tools"
}
expect_breaking() {  # description, expected output pattern
  local status=0
  "$tmp/repo/scripts/buf" breaking >"$tmp/out.txt" 2>&1 || status=$?
  cat "$tmp/out.txt"
  if [ "$status" -eq 0 ]; then echo "FAIL: buf breaking accepted $1" >&2; exit 1; fi
  grep -q "$2" "$tmp/out.txt" || { echo "FAIL: no '$2' in buf breaking's report of $1" >&2; exit 1; }
  echo "ok: $1 caught"
}
journeys=proto/aarthik/headless/v1/journeys.proto

echo "== a renumbered field must fail"
copy
sed -i '/^message GetJourneyStateRequest {/,/^}/ s/string journey_id = 2 /string journey_id = 3 /' "$tmp/repo/$journeys"
grep -A6 '^message GetJourneyStateRequest {' "$tmp/repo/$journeys" | grep -q 'journey_id = 3' || {
  echo "FAIL: the mutation did not apply" >&2; exit 1; }
expect_breaking "GetJourneyStateRequest.journey_id renumbered 2 -> 3" 'GetJourneyStateRequest'

echo "== a removed RPC must fail"
copy
sed -i '/^  rpc ResumeJourney(/,/^  }/d' "$tmp/repo/$journeys"
expect_breaking "JourneysService.ResumeJourney removed" 'ResumeJourney'
echo "PASS"
