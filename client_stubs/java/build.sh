#!/usr/bin/env bash
# Builds the Java stubs offline with Debian's tool chain only (no Maven/Gradle): protoc's java_out plus
# protoc-gen-grpc-java 1.41 (protobuf-compiler-grpc-java-plugin) for every API proto and the google/api
# and google/rpc protos, compiled with javac against the runtime jars of libprotobuf-java and
# libgrpc-java (with their Debian dependencies: netty, guava, perfmark, gson) and packaged, with the
# helper com.aarthik.client.AarthikClient (client_stubs/java/src/), as OUT/aarthik-client.jar.
# The example is compiled into OUT/example-classes; OUT/classpath holds the classpath that runs it.
# Skips the work when the jar is newer than every input.
# Usage: client_stubs/java/build.sh OUT_DIR      (CMake target aarthik_java_stubs runs it with build/stubs/java)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
out="$(mkdir -p "${1:?usage: build.sh OUT_DIR}" && cd "$1" && pwd)"
googleapis=/usr/share/gocode/src/github.com/gogo/googleapis
plugin=/usr/bin/grpc_java_plugin
for need in protoc javac jar "$plugin"; do
  command -v "$need" >/dev/null || { echo "java stubs: $need not found: run scripts/setup" >&2; exit 2; }
done

# The runtime: protobuf-java, grpc-java and what grpc-netty needs at run time. The generated service
# classes carry @javax.annotation.Generated (geronimo-annotation; JDK 11+ dropped javax.annotation).
jars=(protobuf grpc-api grpc-context grpc-core grpc-netty grpc-protobuf grpc-protobuf-lite grpc-stub guava
  perfmark-api gson geronimo-annotation-1.3-spec netty-buffer netty-codec netty-codec-http netty-codec-http2
  netty-codec-socks netty-common netty-handler netty-handler-proxy netty-resolver netty-transport)
runtime=""
for name in "${jars[@]}"; do
  [ -f "/usr/share/java/$name.jar" ] || { echo "java stubs: /usr/share/java/$name.jar missing: run scripts/setup" >&2; exit 2; }
  runtime+="${runtime:+:}/usr/share/java/$name.jar"
done
jarfile="$out/aarthik-client.jar"
printf '%s\n' "$jarfile:$out/example-classes:$runtime" >"$out/classpath"

if [ -f "$jarfile" ] && [ -z "$(find "$root/proto" "$here" -newer "$jarfile" -type f -print -quit)" ]; then
  echo "java stubs: $jarfile is up to date"
  exit 0
fi
rm -rf "$out/gen" "$out/classes" "$out/example-classes" && mkdir -p "$out/gen" "$out/classes" "$out/example-classes"
mapfile -t protos < <(cd "$root/proto" && find aarthik -name '*.proto' | sort)
protoc -I "$root/proto" -I "$googleapis" -I /usr/include --plugin=protoc-gen-grpc-java="$plugin" \
  --java_out="$out/gen" --grpc-java_out="$out/gen" \
  "${protos[@]}" google/rpc/status.proto google/rpc/error_details.proto google/rpc/code.proto \
  google/api/http.proto google/api/annotations.proto
find "$out/gen" "$here/src" -name '*.java' >"$out/sources.txt"
javac --release 11 -nowarn -encoding UTF-8 -cp "$runtime" -d "$out/classes" @"$out/sources.txt"
jar --create --file "$jarfile.tmp" -C "$out/classes" .
mv "$jarfile.tmp" "$jarfile"
javac --release 11 -encoding UTF-8 -cp "$jarfile:$runtime" -d "$out/example-classes" \
  "$here/example/com/aarthik/example/Example.java"
echo "java stubs: $(wc -l <"$out/sources.txt") sources in $jarfile; run the example with" \
  "java -cp \"\$(cat $out/classpath)\" com.aarthik.example.Example HOST:PORT"
