#!/usr/bin/env bash
# Proves the AarthikClient CMake package works for a separate project: installs the client component of a
# built tree into a temporary prefix, checks the installed layout, configures and builds
# tests/client_stubs/consumer against that prefix only, and runs it.
# Usage: consumer_test.sh <build dir> <consumer source dir>
set -euo pipefail
build="${1:?usage: consumer_test.sh <build dir> <consumer source dir>}"
consumer="${2:?usage: consumer_test.sh <build dir> <consumer source dir>}"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
prefix="$tmp/prefix"

echo "== cmake --install (component aarthik_client) into $prefix"
cmake --install "$build" --component aarthik_client --prefix "$prefix" >"$tmp/install.log" || {
  cat "$tmp/install.log" >&2; echo "FAIL: install" >&2; exit 1; }

for f in include/aarthik/client/client.h include/aarthik/client/channel.h \
         include/aarthik/client/call_options.h \
         include/aarthik/headless/v1/journeys.grpc.pb.h include/aarthik/headless/v1/journeys.pb.h \
         include/aarthik/gateway/v1/options.pb.h include/google/rpc/status.pb.h \
         include/google/api/annotations.pb.h \
         lib/libaarthik_api.a lib/libaarthik_client.a \
         lib/cmake/AarthikClient/AarthikClientConfig.cmake \
         lib/cmake/AarthikClient/AarthikClientConfigVersion.cmake \
         lib/cmake/AarthikClient/AarthikClientTargets.cmake \
         share/aarthik/proto/aarthik/headless/v1/journeys.proto; do
  [ -e "$prefix/$f" ] || { echo "FAIL: not installed: $f" >&2; find "$prefix" -maxdepth 3 >&2; exit 1; }
done
# Nothing from the build tree may leak into the installed package.
if grep -rl -- "$(cd "$build" && pwd)" "$prefix/lib/cmake" >/dev/null; then
  echo "FAIL: installed CMake files reference the build tree" >&2; exit 1
fi

echo "== configure and build the consumer against the prefix"
launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
# A sanitized build tree installs sanitized static libraries: the consumer must link the same runtime.
sanitize=()
case "$(sed -n 's/^AARTHIK_SANITIZE:STRING=//p' "$build/CMakeCache.txt")" in
  address) sanitize=(-DCMAKE_CXX_FLAGS=-fsanitize=address,undefined -DCMAKE_EXE_LINKER_FLAGS=-fsanitize=address,undefined) ;;
  thread) sanitize=(-DCMAKE_CXX_FLAGS=-fsanitize=thread -DCMAKE_EXE_LINKER_FLAGS=-fsanitize=thread) ;;
esac
cmake -S "$consumer" -B "$tmp/build" -G Ninja -DCMAKE_BUILD_TYPE=Release "${sanitize[@]}" \
      -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_FIND_PACKAGE_NO_PACKAGE_REGISTRY=ON "${launcher[@]}" \
      >"$tmp/configure.log" 2>&1 || { cat "$tmp/configure.log" >&2; echo "FAIL: configure" >&2; exit 1; }
grep -q "^AarthikClient_DIR:PATH=$prefix/lib/cmake/AarthikClient$" "$tmp/build/CMakeCache.txt" || {
  grep AarthikClient_DIR "$tmp/build/CMakeCache.txt" >&2; echo "FAIL: package not found in prefix" >&2; exit 1; }
cmake --build "$tmp/build" >"$tmp/build.log" 2>&1 || {
  cat "$tmp/build.log" >&2; echo "FAIL: build" >&2; exit 1; }

echo "== run"
"$tmp/build/consumer"
