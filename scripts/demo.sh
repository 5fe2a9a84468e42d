#!/usr/bin/env bash
# The main job, until the built-in reference CA exists: a real enrollment on loopback.
# Starts the OpenSSL mock CA (`openssl cmp -port`, with the committed test PKI), enrolls with
# `cmp-agent ir` (PBM-protected, certConf/pkiConf), then shows the exchanged messages with
# `cmp-agent inspect`. Needs only openssl (Debian's) and cargo.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v openssl >/dev/null || { echo "openssl is needed: apt-get install -y openssl" >&2; exit 1; }
cargo build -q -p cmp-agent
agent=target/debug/cmp-agent
pki=tests/fixtures/openssl/pki
work=$(mktemp -d)
mock_pid=
cleanup() { [ -n "$mock_pid" ] && kill "$mock_pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null || echo 18080)
# The mock listens on all interfaces (OpenSSL 3.0 cannot restrict it); we connect to 127.0.0.1 only.
openssl cmp -config "" -port "$port" -srv_ref server-ref-5678 -srv_secret pass:cmp-test-secret-1234 \
  -rsp_cert "$pki/new-cert.pem" >"$work/mock.log" 2>&1 &
mock_pid=$!
for _ in $(seq 100); do grep -q ACCEPT "$work/mock.log" 2>/dev/null && break; sleep 0.1; done
echo "== enrolling against the OpenSSL mock CA on 127.0.0.1:$port"
"$agent" ir --server "http://127.0.0.1:$port/pkix/" \
  --secret pass:cmp-test-secret-1234 --ref client-ref-1234 --recipient "/CN=CMP Test CA/O=cmp-rs test PKI" \
  --newkey "$pki/new-key.pem" --subject "/CN=CMP Test Device/O=cmp-rs test PKI" \
  --certout "$work/cert.pem" --reqout "$work/req" --rspout "$work/rsp"
echo "== the new certificate"
openssl x509 -in "$work/cert.pem" -noout -subject -issuer -serial -enddate
echo "== the ip, its protection checked with the shared secret"
"$agent" inspect --secret pass:cmp-test-secret-1234 "$work/rsp/01-ip.der"
