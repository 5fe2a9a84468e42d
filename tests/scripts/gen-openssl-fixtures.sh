#!/usr/bin/env bash
# Generate real CMP (RFC 4210 / RFC 9810) messages with the OpenSSL command
# line tool, acting both as client (`openssl cmp -server ...`) and as the
# built-in HTTP mock server (`openssl cmp -port ...`).
#
# Output: tests/fixtures/openssl/<scenario>/<NN>-<body>.der
#         tests/fixtures/openssl/pki/   (test-only CA, server, client, new key)
#
# NN is the position on the wire (01 = first request, 02 = its response,
# 03 = next request, ...), <body> is the RFC 4210 PKIBody alternative name.
#
# The script is idempotent: every run regenerates the whole tree (keys,
# certificates and messages; the bytes change on every run because of fresh
# keys, nonces, transaction IDs, times and ECDSA signatures).  Nothing in the
# output tree is touched until every scenario has been produced and checked.
#
# Requirements: bash, OpenSSL 3.x with the `cmp` app (tested with 3.0.19),
# coreutils `timeout`.  Network: only 127.0.0.1 is ever contacted.
#
# Usage: tests/scripts/gen-openssl-fixtures.sh [OUTPUT_DIR]
#        (default OUTPUT_DIR: <repo>/tests/fixtures/openssl)
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SCRIPT_DIR/../.." && pwd)"
OUT_DIR="${1:-$REPO_ROOT/tests/fixtures/openssl}"

OPENSSL="${OPENSSL:-openssl}"

# Shared secret and references used for PBM (password-based MAC) protection.
SECRET="pass:cmp-test-secret-1234"
CLIENT_REF="client-ref-1234"
SERVER_REF="server-ref-5678"

CA_DN="/CN=CMP Test CA/O=cmp-rs test PKI"
SERVER_DN="/CN=CMP Test Server/O=cmp-rs test PKI"
VENDOR_DN="/CN=CMP Test Vendor Device/O=cmp-rs test PKI"
NEW_DN="/CN=CMP Test Device/O=cmp-rs test PKI"
DAYS=8000 # keeps notAfter below 2050, i.e. UTCTime in all certificates

# Per-command time bounds (seconds).
SERVER_START_TIMEOUT=15
CLIENT_TIMEOUT=60

log() { printf '[gen-openssl-fixtures] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

command -v "$OPENSSL" >/dev/null || die "openssl not found"
command -v timeout >/dev/null || die "coreutils timeout not found"
"$OPENSSL" cmp -help >/dev/null 2>&1 || die "this openssl has no 'cmp' app"
log "using $("$OPENSSL" version)"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/gen-openssl-fixtures.XXXXXX")"
SERVER_PID=""

stop_server() {
    if [[ -n "$SERVER_PID" ]]; then
        if kill -0 "$SERVER_PID" 2>/dev/null; then
            kill "$SERVER_PID" 2>/dev/null || true
            # bounded wait for it to go away
            for _ in $(seq 1 50); do
                kill -0 "$SERVER_PID" 2>/dev/null || break
                sleep 0.1
            done
            kill -9 "$SERVER_PID" 2>/dev/null || true
        fi
        wait "$SERVER_PID" 2>/dev/null || true
        SERVER_PID=""
    fi
}

cleanup() {
    local rc=$?
    stop_server
    if [[ $rc -ne 0 && -n "${KEEP_WORK_ON_FAILURE:-}" ]]; then
        log "keeping work dir $WORK"
    else
        rm -rf "$WORK"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --------------------------------------------------------------------------
# Test PKI (EC P-256 everywhere)
# --------------------------------------------------------------------------
PKI="$WORK/pki"
mkdir -p "$PKI"

cat >"$PKI/ext.cnf" <<'EOF'
[ee_ext]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
EOF

genkey() { # name
    "$OPENSSL" genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
        -pkeyopt ec_param_enc:named_curve -out "$PKI/$1-key.pem"
    "$OPENSSL" pkey -in "$PKI/$1-key.pem" -outform DER -out "$PKI/$1-key.der"
}

issue() { # name subject serial
    "$OPENSSL" req -new -config /dev/null -key "$PKI/$1-key.pem" -subj "$2" \
        -out "$PKI/$1.csr.pem"
    "$OPENSSL" x509 -req -in "$PKI/$1.csr.pem" -CA "$PKI/ca-cert.pem" \
        -CAkey "$PKI/ca-key.pem" -set_serial "$3" -days "$DAYS" -sha256 \
        -extfile "$PKI/ext.cnf" -extensions ee_ext -out "$PKI/$1-cert.pem" 2>/dev/null
    "$OPENSSL" x509 -in "$PKI/$1-cert.pem" -outform DER -out "$PKI/$1-cert.der"
}

log "generating test PKI"
genkey ca
"$OPENSSL" req -new -x509 -config /dev/null -key "$PKI/ca-key.pem" -subj "$CA_DN" \
    -set_serial 0x01 -days "$DAYS" -sha256 \
    -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -addext "subjectKeyIdentifier=hash" \
    -out "$PKI/ca-cert.pem"
"$OPENSSL" x509 -in "$PKI/ca-cert.pem" -outform DER -out "$PKI/ca-cert.der"

genkey server
issue server "$SERVER_DN" 0x1001
genkey vendor
issue vendor "$VENDOR_DN" 0x2001
genkey new
issue new "$NEW_DN" 0x3001 # the fixed cert the mock server returns
# the CSR for new-key is also what p10cr sends
"$OPENSSL" req -in "$PKI/new.csr.pem" -outform DER -out "$PKI/new.csr.der"
rm -f "$PKI/server.csr.pem" "$PKI/vendor.csr.pem"

# sanity: chain verifies
"$OPENSSL" verify -CAfile "$PKI/ca-cert.pem" \
    "$PKI/server-cert.pem" "$PKI/vendor-cert.pem" "$PKI/new-cert.pem" >/dev/null

# --------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------
free_port() {
    if command -v python3 >/dev/null; then
        python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()'
    else
        echo $((20000 + RANDOM % 40000))
    fi
}

# body name for a PKIBody context tag number (RFC 4210 / RFC 9810)
tag_to_body() {
    case "$1" in
    0) echo ir ;; 1) echo ip ;; 2) echo cr ;; 3) echo cp ;; 4) echo p10cr ;;
    5) echo popdecc ;; 6) echo popdecr ;; 7) echo kur ;; 8) echo kup ;;
    9) echo krr ;; 10) echo krp ;; 11) echo rr ;; 12) echo rp ;;
    13) echo ccr ;; 14) echo ccp ;; 15) echo ckuann ;; 16) echo cann ;;
    17) echo rann ;; 18) echo crlann ;; 19) echo pkiconf ;; 20) echo nested ;;
    21) echo genm ;; 22) echo genp ;; 23) echo error ;; 24) echo certConf ;;
    25) echo pollReq ;; 26) echo pollRep ;;
    *) echo "unknown$1" ;;
    esac
}

# Print the PKIBody name of a DER PKIMessage using `openssl asn1parse`:
# the second depth-1 element of the outer SEQUENCE must be "cont [ N ]".
body_of() { # file
    local line tag
    line="$("$OPENSSL" asn1parse -inform DER -in "$1" | awk '/:d=1 /{n++; if (n==2) {print; exit}}')"
    [[ "$line" =~ cont\ \[\ ([0-9]+)\ \] ]] || die "$1: second element of PKIMessage is not a context tag: $line"
    tag="${BASH_REMATCH[1]}"
    # the whole file must be exactly one DER element (no trailing bytes)
    local total hl l
    total=$(wc -c <"$1")
    read -r hl l < <("$OPENSSL" asn1parse -inform DER -in "$1" | head -n1 |
        sed -E 's/.*hl=([0-9]+) +l= *([0-9]+).*/\1 \2/')
    [[ $((hl + l)) -eq $total ]] || die "$1: outer SEQUENCE covers $((hl + l)) of $total bytes"
    tag_to_body "$tag"
}

start_server() { # scenario-name mock-server-args...
    local name="$1"
    shift
    local attempt
    for attempt in 1 2 3 4 5; do
        PORT="$(free_port)"
        SERVER_LOG="$WORK/logs/$name-server.log"
        mkdir -p "$WORK/logs"
        # Note: the mock listens on all interfaces (no option to restrict it
        # in OpenSSL 3.0); the client only ever connects to 127.0.0.1.
        "$OPENSSL" cmp -config "" -port "$PORT" "$@" >"$SERVER_LOG" 2>&1 &
        SERVER_PID=$!
        local waited=0
        while ((waited < SERVER_START_TIMEOUT * 10)); do
            if ! kill -0 "$SERVER_PID" 2>/dev/null; then
                break
            fi
            if grep -q '^ACCEPT ' "$SERVER_LOG" 2>/dev/null; then
                return 0
            fi
            if command -v ss >/dev/null && ss -Hltn "sport = :$PORT" 2>/dev/null | grep -q LISTEN; then
                return 0
            fi
            sleep 0.1
            waited=$((waited + 1))
        done
        log "mock server for $name did not come up on port $PORT (attempt $attempt):"
        sed 's/^/    /' "$SERVER_LOG" >&2 || true
        stop_server
    done
    die "could not start mock server for $name"
}

# run_scenario NAME EXPECT_RC "BODY BODY ..." -- SERVER ARGS -- CLIENT ARGS
#   EXPECT_RC: 0 = client must succeed, 1 = client must fail (error/rejection)
#   The expected body sequence is checked against what was captured.
run_scenario() {
    local name="$1" expect_rc="$2" expected="$3"
    shift 3
    [[ "$1" == "--" ]] || die "run_scenario: missing --"
    shift
    local -a srv=() cli=()
    while [[ $# -gt 0 && "$1" != "--" ]]; do
        srv+=("$1")
        shift
    done
    [[ $# -gt 0 ]] || die "run_scenario: missing second --"
    shift
    cli=("$@")
    # enrollment commands need somewhere to save the new certificate
    local k
    for ((k = 0; k < ${#cli[@]} - 1; k++)); do
        if [[ "${cli[k]}" == "-cmd" && "${cli[k + 1]}" =~ ^(ir|cr|kur|p10cr)$ ]]; then
            mkdir -p "$WORK/certs"
            cli+=(-certout "$WORK/certs/$name.pem")
        fi
    done

    log "scenario $name"
    local raw="$WORK/raw/$name"
    mkdir -p "$raw"
    local n_max=8 i reqs="" rsps=""
    for i in $(seq 1 $n_max); do
        reqs+="${reqs:+,}$raw/req$i.der"
        rsps+="${rsps:+,}$raw/rsp$i.der"
    done

    start_server "$name" "${srv[@]}"

    local rc=0
    timeout "$CLIENT_TIMEOUT" "$OPENSSL" cmp -config "" -batch \
        -server "127.0.0.1:$PORT" -path pkix/ \
        -msg_timeout 20 -total_timeout 50 \
        -reqout "$reqs" -rspout "$rsps" \
        "${cli[@]}" >"$WORK/logs/$name-client.log" 2>&1 || rc=$?
    stop_server

    if [[ "$expect_rc" == 0 && $rc -ne 0 ]] || [[ "$expect_rc" != 0 && $rc -eq 0 ]]; then
        log "client exit code $rc, expected $([[ $expect_rc == 0 ]] && echo 0 || echo non-zero)"
        log "client log:"
        sed 's/^/    /' "$WORK/logs/$name-client.log" >&2
        log "server log:"
        sed 's/^/    /' "$SERVER_LOG" >&2
        die "scenario $name failed"
    fi
    [[ $rc -eq 124 ]] && die "scenario $name: client timed out"

    # Interleave requests and responses into wire order and name by body.
    local dest="$WORK/out/$name" nn=0 f body got=""
    mkdir -p "$dest"
    for i in $(seq 1 $n_max); do
        for f in "$raw/req$i.der" "$raw/rsp$i.der"; do
            [[ -s "$f" ]] || continue
            nn=$((nn + 1))
            body="$(body_of "$f")"
            got+="${got:+ }$body"
            cp "$f" "$dest/$(printf '%02d' "$nn")-$body.der"
        done
    done
    if [[ "$got" != "$expected" ]]; then
        log "client log:"
        sed 's/^/    /' "$WORK/logs/$name-client.log" >&2
        die "scenario $name: expected message sequence '$expected', got '$got'"
    fi
    log "  -> $got"
}

P="$PKI"
# Mock server: PBM (shared secret) protection
SRV_PBM=(-srv_ref "$SERVER_REF" -srv_secret "$SECRET" -rsp_cert "$P/new-cert.pem")
# Mock server: signature protection with its own cert, trusts the test CA
SRV_SIG=(-srv_cert "$P/server-cert.pem" -srv_key "$P/server-key.pem"
    -srv_trusted "$P/ca-cert.pem" -rsp_cert "$P/new-cert.pem")
# Client: PBM protection
CLI_PBM=(-ref "$CLIENT_REF" -secret "$SECRET" -recipient "$CA_DN")
# Client: signature protection with the vendor cert, server authenticated via CA
CLI_SIG=(-cert "$P/vendor-cert.pem" -key "$P/vendor-key.pem" -trusted "$P/ca-cert.pem")

# --------------------------------------------------------------------------
# Scenarios
# --------------------------------------------------------------------------
run_scenario pbm-ir 0 "ir ip certConf pkiconf" -- \
    "${SRV_PBM[@]}" -rsp_capubs "$P/ca-cert.pem" -- \
    -cmd ir "${CLI_PBM[@]}" -newkey "$P/new-key.pem" -subject "$NEW_DN"

run_scenario sig-ir 0 "ir ip certConf pkiconf" -- \
    "${SRV_SIG[@]}" -rsp_extracerts "$P/ca-cert.pem" -- \
    -cmd ir "${CLI_SIG[@]}" -newkey "$P/new-key.pem" -subject "$NEW_DN" \
    -out_trusted "$P/ca-cert.pem"

run_scenario cr 0 "cr cp certConf pkiconf" -- \
    "${SRV_SIG[@]}" -- \
    -cmd cr "${CLI_SIG[@]}" -newkey "$P/new-key.pem" -subject "$NEW_DN"

run_scenario kur 0 "kur kup certConf pkiconf" -- \
    "${SRV_SIG[@]}" -- \
    -cmd kur -cert "$P/new-cert.pem" -key "$P/new-key.pem" -trusted "$P/ca-cert.pem" \
    -oldcert "$P/new-cert.pem" -newkey "$P/new-key.pem"

run_scenario p10cr 0 "p10cr cp certConf pkiconf" -- \
    "${SRV_SIG[@]}" -- \
    -cmd p10cr "${CLI_SIG[@]}" -csr "$P/new.csr.pem"

run_scenario rr 0 "rr rp" -- \
    "${SRV_SIG[@]}" -- \
    -cmd rr "${CLI_SIG[@]}" -oldcert "$P/new-cert.pem" -revreason 1

run_scenario genm 0 "genm genp" -- \
    "${SRV_SIG[@]}" -- \
    -cmd genm "${CLI_SIG[@]}" -infotype signKeyPairTypes

run_scenario poll 0 "ir ip pollReq pollRep pollReq ip certConf pkiconf" -- \
    "${SRV_SIG[@]}" -poll_count 2 -check_after 1 -- \
    -cmd ir "${CLI_SIG[@]}" -newkey "$P/new-key.pem" -subject "$NEW_DN"

run_scenario error 1 "ir error" -- \
    "${SRV_PBM[@]}" -send_error -- \
    -cmd ir "${CLI_PBM[@]}" -newkey "$P/new-key.pem" -subject "$NEW_DN"

run_scenario rejection 1 "ir ip" -- \
    "${SRV_SIG[@]}" -pkistatus 2 -failure 9 -statusstring "rejected by test mock" -- \
    -cmd ir "${CLI_SIG[@]}" -newkey "$P/new-key.pem" -subject "$NEW_DN"

run_scenario implicit-confirm 0 "ir ip" -- \
    "${SRV_PBM[@]}" -grant_implicitconf -- \
    -cmd ir "${CLI_PBM[@]}" -newkey "$P/new-key.pem" -subject "$NEW_DN" -implicit_confirm

# --------------------------------------------------------------------------
# Optional cross-check with the independent pyasn1 decoder
# --------------------------------------------------------------------------
if [[ -z "${SKIP_PYASN1_CHECK:-}" ]] && command -v python3 >/dev/null &&
    python3 -c 'import pyasn1, pyasn1_alt_modules' 2>/dev/null; then
    log "cross-checking with pyasn1 (tests/scripts/pyasn1_check.py)"
    if ! (cd "$WORK/out" && python3 "$SCRIPT_DIR/pyasn1_check.py" ./*/*.der >"$WORK/logs/pyasn1.log" 2>&1); then
        grep -v '^OK ' "$WORK/logs/pyasn1.log" >&2 || true
        die "pyasn1 cross-check failed"
    fi
else
    log "pyasn1 not available, skipping cross-check (pip install -r $SCRIPT_DIR/requirements.txt)"
fi

# --------------------------------------------------------------------------
# Install: replace generated parts of OUT_DIR (README.md etc. are kept)
# --------------------------------------------------------------------------
rm -f "$PKI/ext.cnf"
chmod 0644 "$PKI"/* # test-only material, meant to be committed
mkdir -p "$OUT_DIR"
for d in "$WORK/out"/*; do
    rm -rf "${OUT_DIR:?}/$(basename "$d")"
done
rm -rf "${OUT_DIR:?}/pki"
cp -R "$WORK/out"/. "$OUT_DIR"/
cp -R "$PKI" "$OUT_DIR/pki"

log "wrote fixtures to $OUT_DIR:"
(cd "$OUT_DIR" && find . -name '*.der' -path './*/*' ! -path './pki/*' | sort) >&2
