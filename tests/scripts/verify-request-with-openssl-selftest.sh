#!/usr/bin/env bash
# Self-test of tests/scripts/verify-request-with-openssl.sh on the committed
# OpenSSL fixtures (tests/fixtures/openssl): every first request of a
# transaction must be ACCEPTED, and a wrong secret, a wrong trust anchor, a
# flipped protected byte or a flipped protection byte must be REJECTED.
# Ends with "N passed, N failed"; exit 0 only when nothing failed.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SCRIPT_DIR/../.." && pwd)"
V="$SCRIPT_DIR/verify-request-with-openssl.sh"
FX="$REPO_ROOT/tests/fixtures/openssl"
PKI="$FX/pki"
SECRET="cmp-test-secret-1234"
OPENSSL="${OPENSSL:-openssl}"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/verify-request-selftest.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT

passed=0
failed=0

# expect NAME EXIT_CODE LINE_PREFIX -- ARGS...
expect() {
    local name="$1" code="$2" prefix="$3"
    shift 4
    local out rc=0
    out="$("$V" "$@" 2>"$WORK/last.err")" || rc=$?
    if [[ $rc == "$code" && "$out" == "$prefix"* ]]; then
        passed=$((passed + 1))
        echo "ok   $name: $out"
    else
        failed=$((failed + 1))
        echo "FAIL $name: expected exit $code and '$prefix...', got exit $rc '$out'"
        sed 's/^/     | /' "$WORK/last.err"
    fi
}

# flip_byte IN OUT OFFSET: copy IN to OUT with bit 0 of the byte at OFFSET inverted
flip_byte() {
    cp "$1" "$2"
    local v
    v="$(od -An -tu1 -j "$3" -N1 "$1" | tr -d ' ')"
    # shellcheck disable=SC2059
    printf "$(printf '\\%03o' $((v ^ 1)))" | dd of="$2" bs=1 seek="$3" conv=notrunc status=none
}

# offset of the last byte of the protection BIT STRING (third element of PKIMessage)
protection_last_byte() {
    "$OPENSSL" asn1parse -inform DER -in "$1" | awk '
        /:d=1 / { n++ }
        n == 3 && /:d=2 / && /BIT STRING/ {
            split($0, a, ":"); off = a[1] + 0
            match($0, /hl= *[0-9]+/); hl = substr($0, RSTART + 3, RLENGTH - 3) + 0
            match($0, / l= *[0-9]+ /); l = substr($0, RSTART + 3, RLENGTH - 4) + 0
            print off + hl + l - 1; exit
        }'
}

# offset of the last byte of the header's senderNonce ([5] OCTET STRING): protected
sender_nonce_last_byte() {
    "$OPENSSL" asn1parse -inform DER -in "$1" | awk '
        /:d=1 / { n++ }
        n == 1 && /:d=2 / && /cont \[ 5 \]/ { want = 1; next }
        want && /:d=3 / && /OCTET STRING/ {
            split($0, a, ":"); off = a[1] + 0
            match($0, /hl= *[0-9]+/); hl = substr($0, RSTART + 3, RLENGTH - 3) + 0
            match($0, / l= *[0-9]+ /); l = substr($0, RSTART + 3, RLENGTH - 4) + 0
            print off + hl + l - 1; exit
        }'
}

# a CA nobody here trusts
"$OPENSSL" req -new -x509 -config /dev/null -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$WORK/other-ca-key.pem" -subj "/CN=Other CA" -days 2 -out "$WORK/other-ca.pem" 2>/dev/null

PBM_FILES=(pbm-ir/01-ir.der implicit-confirm/01-ir.der error/01-ir.der)
SIG_FILES=(sig-ir/01-ir.der cr/01-cr.der kur/01-kur.der p10cr/01-p10cr.der rr/01-rr.der genm/01-genm.der
    poll/01-ir.der rejection/01-ir.der)

for f in "${PBM_FILES[@]}"; do
    expect "$f" 0 ACCEPTED -- --secret "$SECRET" "$FX/$f"
done
for f in "${SIG_FILES[@]}"; do
    expect "$f" 0 ACCEPTED -- --trusted "$PKI/ca-cert.pem" "$FX/$f"
done
expect "pbm-ir/01-ir.der --strict" 0 ACCEPTED -- --strict --secret "$SECRET" "$FX/pbm-ir/01-ir.der"
expect "rr/01-rr.der --strict" 0 ACCEPTED -- --strict --trusted "$PKI/ca-cert.pem" "$FX/rr/01-rr.der"

expect "pbm-ir/01-ir.der wrong secret" 1 "REJECTED " -- --secret "${SECRET}x" "$FX/pbm-ir/01-ir.der"
expect "sig-ir/01-ir.der wrong trust anchor" 1 "REJECTED " -- --trusted "$WORK/other-ca.pem" "$FX/sig-ir/01-ir.der"
expect "pbm-ir/01-ir.der checked as signature" 1 "REJECTED " -- --trusted "$PKI/ca-cert.pem" "$FX/pbm-ir/01-ir.der"
expect "sig-ir/01-ir.der checked as PBM" 1 "REJECTED " -- --secret "$SECRET" "$FX/sig-ir/01-ir.der"

for f in pbm-ir/01-ir.der sig-ir/01-ir.der genm/01-genm.der p10cr/01-p10cr.der; do
    base="${f//\//-}"
    opts=(--trusted "$PKI/ca-cert.pem")
    [[ $f == pbm-* ]] && opts=(--secret "$SECRET")
    off="$(protection_last_byte "$FX/$f")"
    flip_byte "$FX/$f" "$WORK/$base-prot.der" "$off"
    expect "$f protection byte $off flipped" 1 "REJECTED " -- "${opts[@]}" "$WORK/$base-prot.der"
    off="$(sender_nonce_last_byte "$FX/$f")"
    flip_byte "$FX/$f" "$WORK/$base-nonce.der" "$off"
    expect "$f protected byte $off (senderNonce) flipped" 1 "REJECTED " -- "${opts[@]}" "$WORK/$base-nonce.der"
done

expect "sig-ir/03-certConf.der (not a first request)" 2 "ERROR unsupported body 'certConf'" -- \
    --trusted "$PKI/ca-cert.pem" "$FX/sig-ir/03-certConf.der"
expect "poll/03-pollReq.der (not a first request)" 2 "ERROR unsupported body 'pollReq'" -- \
    --trusted "$PKI/ca-cert.pem" "$FX/poll/03-pollReq.der"
expect "no credentials" 2 "ERROR" -- "$FX/pbm-ir/01-ir.der"
expect "missing file" 2 "ERROR" -- --secret x "$WORK/nope.der"

# What does `openssl cmp -reqin` put on the wire? Capture it with a one-shot
# HTTP sink on 127.0.0.1 (needs python3; skipped without it).
reqin_wire_check() { # label file expected-outcome [der-original]
    local port rc=0
    port="$(python3 -c 'import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')"
    timeout 20 python3 -c '
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        open(sys.argv[2], "wb").write(self.rfile.read(n))
        self.send_response(500); self.end_headers()
    def log_message(self, *a): pass
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), H).handle_request()' "$port" "$WORK/wire.der" &
    local sink=$!
    for _ in $(seq 1 50); do
        ss -Hltn "sport = :$port" 2>/dev/null | grep -q LISTEN && break
        sleep 0.1
    done
    rm -f "$WORK/wire.der"
    env -u http_proxy -u HTTP_PROXY timeout 20 "$OPENSSL" cmp -config "" -batch -server "127.0.0.1:$port" \
        -path pkix/ -no_proxy 127.0.0.1 -msg_timeout 5 -cmd genm -unprotected_requests -ref x \
        -recipient /CN=x -reqin "$2" >/dev/null 2>&1 || true
    wait "$sink" 2>/dev/null || rc=$?
    local got="nothing captured"
    if [[ -f "$WORK/wire.der" ]]; then
        got="other bytes"
        cmp -s "$WORK/wire.der" "$2" && got="the file's bytes"
        [[ -n "${4:-}" ]] && cmp -s "$WORK/wire.der" "$4" && got="the DER re-encoding"
    fi
    if [[ "$got" == "$3" ]]; then
        passed=$((passed + 1))
        echo "ok   -reqin wire bytes, $1: sent $got"
    else
        failed=$((failed + 1))
        echo "FAIL -reqin wire bytes, $1: expected $3, sent $got"
    fi
}
if command -v python3 >/dev/null 2>&1 && command -v ss >/dev/null 2>&1; then
    reqin_wire_check "DER fixture sig-ir/01-ir.der" "$FX/sig-ir/01-ir.der" "the file's bytes"
    reqin_wire_check "DER fixture pbm-ir/01-ir.der" "$FX/pbm-ir/01-ir.der" "the file's bytes"
    # the same message with the outer SEQUENCE length in a 3-byte (non-DER) form
    len_hex="$(od -An -tx1 -j2 -N2 "$FX/sig-ir/01-ir.der" | tr -d ' \n')"
    {
        # shellcheck disable=SC2059
        printf "\\x30\\x83\\x00\\x${len_hex:0:2}\\x${len_hex:2:2}"
        tail -c +5 "$FX/sig-ir/01-ir.der"
    } >"$WORK/nonder-outer.der"
    reqin_wire_check "non-DER outer length" "$WORK/nonder-outer.der" "the DER re-encoding" "$FX/sig-ir/01-ir.der"
else
    echo "note: python3 or ss missing, -reqin wire check skipped"
fi

echo "$passed passed, $failed failed"
[[ $failed == 0 ]]
