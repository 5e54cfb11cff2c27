#!/usr/bin/env bash
# One language's generated stubs, end to end: builds them with client_stubs/<lang>/build.sh into
# BUILD_DIR/<lang>, starts the platform sandbox and the gateway (real processes, free loopback ports) and
# runs the language's example against them. The example must create a journey (a write with deadline,
# x-correlation-id and idempotency-key), read its state, and print the google.rpc ErrorInfo of a call
# that fails. AARTHIK_SKIP_<LANG>_STUBS=1 (GO, JAVA, TS) skips the test (exit 77, ctest's SKIP_RETURN_CODE).
# Usage: stub_example_test.sh go|java|typescript SOURCE_DIR BUILD_DIR
set -euo pipefail
lang="${1:?usage: stub_example_test.sh LANG SOURCE_DIR BUILD_DIR}"
source_dir="$(cd "$2" && pwd)"
build_dir="$(cd "$3" && pwd)"
case "$lang" in
  go) flag=AARTHIK_SKIP_GO_STUBS ;;
  java) flag=AARTHIK_SKIP_JAVA_STUBS ;;
  typescript) flag=AARTHIK_SKIP_TS_STUBS ;;
  *) echo "unknown language $lang" >&2; exit 2 ;;
esac
if [ "${!flag:-0}" = 1 ]; then
  echo "SKIP: $flag=1"
  exit 77
fi

out="$build_dir/stubs/$lang"
echo "== build: client_stubs/$lang/build.sh $out"
"$source_dir/client_stubs/$lang/build.sh" "$out"

tmp="$(mktemp -d)"
pids=()
drains=()
cleanup() {
  local i pid
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
    pid="${pids[i]}"
    kill -TERM "$pid" 2>/dev/null || continue
    wait "$pid" 2>/dev/null || true
  done
  for pid in "${drains[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT
fail() {
  echo "FAIL: $*"
  for log in "$tmp"/*.log; do echo "--- $log"; tail -n 20 "$log"; done
  exit 1
}

# Starts a server whose first stdout line is "listening HOST:PORT" (read through a FIFO: no polling) and
# sets `address`; the rest of its stdout is drained so that it never blocks on a full pipe.
address=""
start_server() {  # name, command...
  local name="$1" line="" fd
  shift
  mkfifo "$tmp/$name.fifo"
  "$@" >"$tmp/$name.fifo" 2>"$tmp/$name.log" &
  pids+=("$!")
  exec {fd}<"$tmp/$name.fifo"
  read -r -t 30 line <&"$fd" && [[ "$line" == "listening "* ]] || fail "$name did not start: '$line'"
  cat <&"$fd" >/dev/null &
  drains+=("$!")
  exec {fd}<&-
  address="${line#listening }"
}
api_key=sk_test_stubs
tenant=8b6a3eb1-ffcb-4094-9f7d-2802c2cb5a61
application=fbb1fd74-c502-4419-83f3-82a2a019fc9a
printf '%s\n' "$api_key" >"$tmp/api-key"
start_server sandbox "$build_dir/bin/aarthik-sandbox" --listen 127.0.0.1:0 --api-key "$api_key" \
  --tenant-id "$tenant" --application-id "$application" --threads 1
sandbox="$address"
start_server gateway "$build_dir/bin/aarthik-gateway" --grpc-listen 127.0.0.1:0 --http-listen 127.0.0.1:0 \
  --upstream-url "http://$sandbox" --api-key-file "$tmp/api-key" --tenant-id "$tenant" \
  --application-id "$application"
gateway="$address"
echo "== sandbox $sandbox, gateway $gateway"

case "$lang" in
  go) cmd=("$out/bin/aarthik-go-example" -gateway "$gateway") ;;
  java) cmd=(java -cp "$(cat "$out/classpath")" com.aarthik.example.Example "$gateway") ;;
  typescript) cmd=(node "$out/dist/example/example.js" "$gateway") ;;
esac
status=0
"${cmd[@]}" >"$tmp/example.txt" 2>&1 </dev/null || status=$?
cat "$tmp/example.txt"
[ "$status" -eq 0 ] || fail "the $lang example exited $status"
grep -Eq '^[a-z]+: CreateJourney OK journey [0-9a-f-]{36} ' "$tmp/example.txt" || fail "no CreateJourney line"
grep -Eq '^[a-z]+: GetJourneyState OK status [A-Z_]+' "$tmp/example.txt" || fail "no GetJourneyState line"
grep -Eq 'FAILED [A-Za-z_]+ ErrorInfo reason=[A-Z_]+ domain=[a-z.]+' "$tmp/example.txt" ||
  fail "no ErrorInfo line"
echo "PASS: $lang stubs"
