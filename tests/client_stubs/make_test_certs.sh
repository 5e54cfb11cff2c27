#!/usr/bin/env bash
# Creates a throw-away CA, a server certificate for `gateway.test` / 127.0.0.1 and a client certificate,
# all signed by that CA, for the helper's TLS and mutual-TLS tests. Never use these anywhere else.
# Usage: make_test_certs.sh <out dir>
set -euo pipefail
out="${1:?usage: make_test_certs.sh <out dir>}"
mkdir -p "$out"
cd "$out"
rm -f ./*.pem ./*.srl ./*.csr ./*.ext
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=Aarthik test CA" \
  -keyout ca.key.pem -out ca.pem 2>/dev/null
issue() {  # name, subject CN, extensions
  openssl req -newkey rsa:2048 -nodes -subj "/CN=$2" -keyout "$1.key.pem" -out "$1.csr" 2>/dev/null
  printf '%s\n' "$3" > "$1.ext"
  openssl x509 -req -in "$1.csr" -CA ca.pem -CAkey ca.key.pem -CAcreateserial -days 2 \
    -extfile "$1.ext" -out "$1.pem" 2>/dev/null
}
issue server gateway.test "subjectAltName=DNS:gateway.test,IP:127.0.0.1
extendedKeyUsage=serverAuth"
issue client loans-service "extendedKeyUsage=clientAuth"
rm -f ./*.csr ./*.ext ./*.srl
ls "$out"/ca.pem "$out"/server.pem "$out"/server.key.pem "$out"/client.pem "$out"/client.key.pem >/dev/null
echo "test certificates in $out"
