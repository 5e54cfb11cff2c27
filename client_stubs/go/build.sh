#!/usr/bin/env bash
# Builds the Go stubs offline from Debian's Go sources (golang-go, golang-google-protobuf-dev,
# golang-google-grpc-dev; GOPATH mode, no module downloads):
#   1. protoc-gen-go and protoc-gen-go-grpc into OUT/bin (once; Go's build cache lives in OUT/cache);
#   2. the generated packages for every API proto plus google/api and google/rpc into
#      OUT/src/aarthiklabs.com/gateway/client_stubs/go/... (one Go package per proto package, import
#      paths from each file's go_package);
#   3. the helper package aarthikclient (committed, client_stubs/go/aarthikclient/) beside them;
#   4. `go vet` of everything and the example binary OUT/bin/aarthik-go-example.
# Usage: client_stubs/go/build.sh OUT_DIR      (CMake target aarthik_go_stubs runs it with build/go)
# Use:   GO111MODULE=off GOPATH=OUT_DIR:/usr/share/gocode go build your/package
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
out="$(mkdir -p "${1:?usage: build.sh OUT_DIR}" && cd "$1" && pwd)"
googleapis=/usr/share/gocode/src/github.com/gogo/googleapis
prefix=aarthiklabs.com/gateway/client_stubs/go
for need in go protoc; do
  command -v "$need" >/dev/null || { echo "go stubs: $need not found: run scripts/setup" >&2; exit 2; }
done

export GO111MODULE=off GOPROXY=off GOFLAGS= GOPATH="$out:/usr/share/gocode" GOCACHE="$out/cache"
mkdir -p "$out/bin"
if [ ! -x "$out/bin/protoc-gen-go" ] || [ ! -x "$out/bin/protoc-gen-go-grpc" ]; then
  go build -o "$out/bin/protoc-gen-go" google.golang.org/protobuf/cmd/protoc-gen-go
  go build -o "$out/bin/protoc-gen-go-grpc" google.golang.org/grpc/cmd/protoc-gen-go-grpc
fi

# Debian's googleapis protos carry gogo's go_package ("rpc", "api"): map them to packages of ours,
# laid out like google.golang.org/genproto (whose Debian copy predates protobuf-go's API v2).
map="Mgoogle/rpc/status.proto=$prefix/google/rpc/status;status"
map+=",Mgoogle/rpc/error_details.proto=$prefix/google/rpc/errdetails;errdetails"
map+=",Mgoogle/rpc/code.proto=$prefix/google/rpc/code;code"
map+=",Mgoogle/api/http.proto=$prefix/google/api/annotations;annotations"
map+=",Mgoogle/api/annotations.proto=$prefix/google/api/annotations;annotations"
gen="$out/src/$prefix"
rm -rf "$gen" && mkdir -p "$gen"
mapfile -t protos < <(cd "$root/proto" && find aarthik -name '*.proto' | sort)
protoc -I "$root/proto" -I "$googleapis" -I /usr/include \
  --plugin=protoc-gen-go="$out/bin/protoc-gen-go" --plugin=protoc-gen-go-grpc="$out/bin/protoc-gen-go-grpc" \
  --go_out="$out/src" --go_opt="$map" --go-grpc_out="$out/src" --go-grpc_opt="$map" \
  "${protos[@]}" google/rpc/status.proto google/rpc/error_details.proto google/rpc/code.proto \
  google/api/http.proto google/api/annotations.proto
cp -r "$here/aarthikclient" "$here/example" "$gen/"

cd "$gen"
go vet ./...
go build -o "$out/bin/aarthik-go-example" "$prefix/example"
echo "go stubs: $(find "$gen" -name '*.pb.go' | wc -l) generated files in $gen; example $out/bin/aarthik-go-example"
