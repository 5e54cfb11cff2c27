#!/usr/bin/env bash
# buf checks of the API protos: `buf lint` (STANDARD rules, from buf.yaml) is clean, the built image holds
# exactly 40 RPCs with a google.api.http rule (platform-api.md §3.0), each also carrying
# (aarthik.gateway.v1.route), and every service and RPC of the aarthik.* packages has a leading comment
# (source info is not in the C++ generated pool, so comments are checked here, on buf's image).
# Usage: buf_test.sh <repo root>
set -euo pipefail
root="${1:?usage: buf_test.sh <repo root>}"
command -v jq >/dev/null || { echo "FAIL: jq not installed (scripts/setup)" >&2; exit 1; }
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
fail=0

echo "== buf lint"
if ! "$root/scripts/buf" lint; then
  echo "FAIL: buf lint reported findings" >&2
  fail=1
fi

echo "== buf build"
"$root/scripts/buf" build -o "$tmp/image.json"
image="$tmp/image.json"

api='[.file[] | select(.package // "" | startswith("aarthik."))]'
http_rpcs=$(jq "$api | [.[].service[]?.method[]? | select(.options[\"[google.api.http]\"] != null)] | length" "$image")
route_rpcs=$(jq "$api | [.[].service[]?.method[]? | select(.options[\"[aarthik.gateway.v1.route]\"] != null)] | length" "$image")
both_rpcs=$(jq "$api | [.[].service[]?.method[]? | select(.options[\"[google.api.http]\"] != null and .options[\"[aarthik.gateway.v1.route]\"] != null)] | length" "$image")
echo "RPCs with google.api.http: $http_rpcs; with route options: $route_rpcs; with both: $both_rpcs"
if [ "$http_rpcs" -ne 40 ] || [ "$both_rpcs" -ne 40 ] || [ "$route_rpcs" -ne 40 ]; then
  echo "FAIL: expected exactly 40 RPCs with both google.api.http and aarthik.gateway.v1.route" >&2
  fail=1
fi

# (method, path) pairs must be unique.
dups=$(jq -r "$api | [.[].service[]?.method[]? | .options[\"[google.api.http]\"] // empty
  | to_entries[] | select(.key | IN(\"get\",\"post\",\"put\",\"patch\",\"delete\")) | \"\(.key) \(.value)\"]
  | group_by(.) | map(select(length > 1) | .[0]) | .[]" "$image")
if [ -n "$dups" ]; then
  echo "FAIL: (method, path) declared more than once:" >&2
  echo "$dups" >&2
  fail=1
fi

# Leading comments: services are at SourceCodeInfo path [6, s], methods at [6, s, 2, m].
missing=$(jq -r "$api | .[] | . as \$f
  | ([.sourceCodeInfo.location[]? | select((.leadingComments // \"\") | test(\"[^[:space:]]\"))
      | .path | map(tostring) | join(\".\")]) as \$commented
  | (.service // []) | to_entries[] | .key as \$s | .value as \$svc
  | ( (if ([\"6\", (\$s|tostring)] | join(\".\")) as \$p | \$commented | index(\$p) then empty
         else \"\(\$f.name): service \(\$svc.name)\" end),
      ((\$svc.method // []) | to_entries[] | .key as \$m
        | if ([\"6\", (\$s|tostring), \"2\", (\$m|tostring)] | join(\".\")) as \$p | \$commented | index(\$p)
          then empty else \"\(\$f.name): rpc \(\$svc.name).\(.value.name)\" end) )" "$image")
services=$(jq "$api | [.[].service[]?] | length" "$image")
echo "services in aarthik.*: $services"
if [ -n "$missing" ]; then
  echo "FAIL: no leading comment on:" >&2
  echo "$missing" >&2
  fail=1
fi

[ "$fail" -eq 0 ] && echo "PASS"
exit "$fail"
