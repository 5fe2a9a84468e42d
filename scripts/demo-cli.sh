#!/usr/bin/env bash
# The one-shot commands against a real CA on loopback (the main job, ./scripts/demo.sh, runs
# `cmp-agent demo`). Builds and starts cmp-server (an EC P-256 CA generated
# at start, its state in a temporary --state-dir, HTTP and TCP listeners on 127.0.0.1), then
# with cmp-agent: ir over HTTP (PBM-protected, a new EC key), kur over TCP (signed with the new
# certificate, a new key), rr of the first certificate over HTTP (signed with it); shows the
# issued certificates, the server's `certs list` and its audit lines. Stops the server at the
# end (SIGTERM). Needs only cargo and openssl (Debian's).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v openssl >/dev/null || { echo "openssl is needed: apt-get install -y openssl" >&2; exit 1; }
cargo build -q -p cmp-agent -p cmp-server
agent=target/debug/cmp-agent
server=target/debug/cmp-server
work=$(mktemp -d)
server_pid=
cleanup() {
  if [ -n "$server_pid" ]; then kill -TERM "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

secret=pass:demo-secret-0815
"$server" --listen http://127.0.0.1:0/pkix/ --listen tcp://127.0.0.1:0 \
  --secret "$secret" --ref demo-device-ref --ca-subject "CN=cmp-server Demo CA" \
  --state-dir "$work/state" >"$work/listening" 2>"$work/server.log" &
server_pid=$!
for _ in $(seq 300); do
  [ "$(wc -l <"$work/listening")" -ge 2 ] && break
  kill -0 "$server_pid" 2>/dev/null || break
  sleep 0.1
done
http=$(sed -n 's/^listening on \(http:.*\)$/\1/p' "$work/listening")
tcp=$(sed -n 's/^listening on \(tcp:.*\)$/\1/p' "$work/listening")
if [ -z "$http" ] || [ -z "$tcp" ]; then
  echo "cmp-server did not start:" >&2; cat "$work/server.log" >&2; exit 1
fi
echo "== cmp-server listens on $http and $tcp"

echo "== ir over HTTP (PBM), a new EC P-256 key"
"$agent" ir --server "$http" --secret "$secret" --ref demo-device-ref \
  --newkey gen:ec:P-256 --newkeyout "$work/key.pem" --subject "/CN=Demo Device/O=cmp-rs demo" \
  --certout "$work/cert.pem" --chainout "$work/chain.pem"
echo "== kur over TCP, signed with the new certificate, another new key"
"$agent" kur --server "$tcp" --cert "$work/cert.pem" --key "$work/key.pem" --trusted "$work/chain.pem" \
  --newkey gen:ec:P-256 --newkeyout "$work/key2.pem" --certout "$work/cert2.pem"
echo "== rr over HTTP of the first certificate, signed with it"
"$agent" rr --server "$http" --cert "$work/cert.pem" --key "$work/key.pem" --trusted "$work/chain.pem" \
  --revreason 4

for c in cert.pem cert2.pem; do
  echo "== $c"
  openssl x509 -in "$work/$c" -noout -subject -issuer -serial -enddate
done
echo "== cmp-server certs list"
"$server" certs list --state-dir "$work/state"
echo "== the server's audit lines"
grep ' audit: ' "$work/server.log" | sed 's/^[^ ]* *INFO audit: /  /'
