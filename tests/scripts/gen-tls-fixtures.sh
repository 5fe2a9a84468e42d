#!/usr/bin/env bash
# Generates the TLS test PKI in tests/fixtures/tls (test-only keys; valid until 2056):
#   ca.pem / ca-key.pem           the TLS test CA
#   server.pem / server-key.pem   CN=localhost, SAN DNS:localhost, IP:127.0.0.1, serverAuth
#   client.pem / client-key.pem   CN=cmp-test-client, clientAuth
#   other-ca.pem                  an unrelated CA (for "untrusted" tests)
set -euo pipefail
out="$(cd "$(dirname "$0")/../fixtures/tls" && pwd)"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
days=10950
key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }

key ca-key.pem
openssl req -x509 -new -key ca-key.pem -subj "/O=cmp-rs test/CN=cmp-rs TLS test CA" -days $days \
  -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign -out ca.pem

issue() { # name subject ext
  key "$1-key.pem"
  openssl req -new -key "$1-key.pem" -subj "$2" -out "$1.csr"
  printf '%s\n' "$3" > "$1.ext"
  openssl x509 -req -in "$1.csr" -CA ca.pem -CAkey ca-key.pem -CAcreateserial -days $days \
    -extfile "$1.ext" -out "$1.pem" 2>/dev/null
}
issue server "/O=cmp-rs test/CN=localhost" \
  "subjectAltName=DNS:localhost,IP:127.0.0.1
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth"
issue client "/O=cmp-rs test/CN=cmp-test-client" \
  "basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=clientAuth"

key other-ca-key.pem
openssl req -x509 -new -key other-ca-key.pem -subj "/CN=unrelated CA" -days $days \
  -addext basicConstraints=critical,CA:TRUE -out other-ca.pem

cp ca.pem ca-key.pem server.pem server-key.pem client.pem client-key.pem other-ca.pem "$out/"
echo "TLS fixtures written to $out"
