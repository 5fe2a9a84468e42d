#!/usr/bin/env bash
# Let OpenSSL's CMP mock server (`openssl cmp -port`) check the protection of a
# CMP request that someone else produced.
#
# Usage:
#   verify-request-with-openssl.sh --secret TEXT FILE.der          PBM-protected request
#   verify-request-with-openssl.sh --trusted CA.pem FILE.der       signature-protected request
# Options:
#   --untrusted CERTS.pem   intermediate certificates for the signer's chain
#   --rsp-cert CERT.pem     certificate the mock returns / expects as old cert in
#                           kur and rr (default: tests/fixtures/openssl/pki/new-cert.pem)
#   --strict                also REJECT when the mock accepted the protection
#                           but answered with an error message (e.g. "unexpected pvno")
#   --keep                  keep the work directory (logs, response) and print its path
#
# stdout, exactly one line:
#   ACCEPTED                          exit 0: the mock verified the protection
#   REJECTED <openssl's reason>       exit 1: the mock refused the request
#   ERROR <reason>                    exit 2: usage error, unsupported body type,
#                                     infrastructure failure (no verdict)
# Details go to stderr. See tests/java/README.md for what exactly is checked.
#
# The mock listens on all interfaces (OpenSSL 3.0 cannot restrict it); the
# client only ever connects to 127.0.0.1. The mock handles one message
# (-max_msgs 1) and every wait is bounded.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SCRIPT_DIR/../.." && pwd)"
PKI="${CMP_TEST_PKI:-$REPO_ROOT/tests/fixtures/openssl/pki}"
OPENSSL="${OPENSSL:-openssl}"

SERVER_START_TIMEOUT=10 # seconds until the mock must be listening
CLIENT_TIMEOUT=40       # hard limit for the client process
SERVER_EXIT_TIMEOUT=5   # after the client is done

say() { printf 'verify-request-with-openssl: %s\n' "$*" >&2; }
verdict_error() {
    say "$*"
    echo "ERROR $*"
    exit 2
}

SECRET=""
HAVE_SECRET=0
TRUSTED=""
UNTRUSTED=""
RSP_CERT="$PKI/new-cert.pem"
STRICT=0
KEEP=0
FILE=""
while [[ $# -gt 0 ]]; do
    case "$1" in
    --secret)
        [[ $# -ge 2 ]] || verdict_error "--secret needs a value"
        SECRET="$2"
        HAVE_SECRET=1
        shift 2
        ;;
    --trusted)
        [[ $# -ge 2 ]] || verdict_error "--trusted needs a value"
        TRUSTED="$2"
        shift 2
        ;;
    --untrusted)
        [[ $# -ge 2 ]] || verdict_error "--untrusted needs a value"
        UNTRUSTED="$2"
        shift 2
        ;;
    --rsp-cert)
        [[ $# -ge 2 ]] || verdict_error "--rsp-cert needs a value"
        RSP_CERT="$2"
        shift 2
        ;;
    --strict)
        STRICT=1
        shift
        ;;
    --keep)
        KEEP=1
        shift
        ;;
    -h | --help)
        sed -n '2,25p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
        exit 0
        ;;
    -*) verdict_error "unknown option $1" ;;
    *)
        [[ -z "$FILE" ]] || verdict_error "more than one FILE given"
        FILE="$1"
        shift
        ;;
    esac
done
[[ -n "$FILE" ]] || verdict_error "usage: $0 --secret TEXT | --trusted CA.pem [--strict] FILE.der"
[[ $HAVE_SECRET == 1 || -n "$TRUSTED" ]] || verdict_error "give --secret TEXT and/or --trusted CA.pem"
[[ -r "$FILE" ]] || verdict_error "cannot read $FILE"
for f in "$TRUSTED" "$UNTRUSTED" "$RSP_CERT"; do
    [[ -z "$f" || -r "$f" ]] || verdict_error "cannot read $f"
done
if [[ -n "$TRUSTED" ]]; then
    for f in "$PKI/server-cert.pem" "$PKI/server-key.pem"; do
        [[ -r "$f" ]] || verdict_error "cannot read $f (the mock's signing identity)"
    done
fi
command -v "$OPENSSL" >/dev/null || verdict_error "openssl not found (Debian package openssl)"
command -v timeout >/dev/null || verdict_error "timeout not found (Debian package coreutils)"
"$OPENSSL" cmp -help >/dev/null 2>&1 || verdict_error "this openssl has no 'cmp' app (need OpenSSL >= 3.0)"

# ---------------------------------------------------------------- body type
# The 3.0 mock looks at the protection only after its transaction checks. A
# request that does not start a transaction (certConf, pollReq, ...) is
# refused with "unexpected pkibody" before the protection is examined, and
# `-reqin` re-protects any request after the first one with the client's own
# credentials, so such messages cannot be checked this way.
body_name() {
    case "$1" in
    0) echo ir ;; 1) echo ip ;; 2) echo cr ;; 3) echo cp ;; 4) echo p10cr ;;
    5) echo popdecc ;; 6) echo popdecr ;; 7) echo kur ;; 8) echo kup ;;
    9) echo krr ;; 10) echo krp ;; 11) echo rr ;; 12) echo rp ;;
    13) echo ccr ;; 14) echo ccp ;; 15) echo ckuann ;; 16) echo cann ;;
    17) echo rann ;; 18) echo crlann ;; 19) echo pkiconf ;; 20) echo nested ;;
    21) echo genm ;; 22) echo genp ;; 23) echo error ;; 24) echo certConf ;;
    25) echo pollReq ;; 26) echo pollRep ;; *) echo "body$1" ;;
    esac
}
BODY_LINE="$("$OPENSSL" asn1parse -inform DER -in "$FILE" 2>/dev/null | awk '/:d=1 /{n++; if (n==2) {print; exit}}' || true)"
if [[ "$BODY_LINE" =~ cont\ \[\ ([0-9]+)\ \] ]]; then
    BODY_TAG="${BASH_REMATCH[1]}"
    BODY="$(body_name "$BODY_TAG")"
    case "$BODY" in
    ir | cr | p10cr | kur | rr | genm | error) ;;
    *)
        verdict_error "unsupported body '$BODY': the OpenSSL 3.0 mock checks protection only on a request that starts a transaction (ir, cr, p10cr, kur, rr, genm, error); use tests/java/run.sh verify for this one"
        ;;
    esac
else
    BODY="unknown"
    say "openssl asn1parse cannot find the PKIBody tag; sending the file anyway"
fi

# protectionAlg as openssl names it (e.g. "password based MAC", "PBMAC1",
# "ecdsa-with-SHA256"): the first OBJECT inside the header's [1]
PROT_ALG="$("$OPENSSL" asn1parse -inform DER -in "$FILE" 2>/dev/null | awk '
    /:d=1 / { n++ }
    n == 1 && /:d=2 / { inalg = ($0 ~ /cont \[ 1 \]/) }
    n == 1 && inalg && /OBJECT/ { sub(/^.*:/, ""); sub(/ +$/, ""); print; exit }' || true)"

# ---------------------------------------------------------------- setup
WORK="$(mktemp -d "${TMPDIR:-/tmp}/verify-request-with-openssl.XXXXXX")"
SERVER_PID=""

stop_server() {
    if [[ -n "$SERVER_PID" ]]; then
        local i
        for ((i = 0; i < SERVER_EXIT_TIMEOUT * 10; i++)); do
            kill -0 "$SERVER_PID" 2>/dev/null || break
            sleep 0.1
        done
        if kill -0 "$SERVER_PID" 2>/dev/null; then
            kill "$SERVER_PID" 2>/dev/null || true
            for ((i = 0; i < 30; i++)); do
                kill -0 "$SERVER_PID" 2>/dev/null || break
                sleep 0.1
            done
            kill -9 "$SERVER_PID" 2>/dev/null || true
        fi
        wait "$SERVER_PID" 2>/dev/null || true
        SERVER_PID=""
    fi
}
# shellcheck disable=SC2317 # invoked by the EXIT trap
cleanup() {
    local rc=$?
    # no grace period when interrupted: the mock is still waiting for a request
    if [[ -n "$SERVER_PID" ]]; then
        kill "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    if [[ $KEEP == 1 ]]; then
        say "work directory kept: $WORK"
    else
        rm -rf "$WORK"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
    if command -v python3 >/dev/null 2>&1; then
        python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()' && return 0
    fi
    local p
    for _ in $(seq 1 50); do
        p=$((20000 + RANDOM % 40000))
        if ! ss -Hltn "sport = :$p" 2>/dev/null | grep -q .; then
            echo "$p"
            return 0
        fi
    done
    echo $((20000 + RANDOM % 40000))
}

SRV_ARGS=(-config "" -max_msgs 1 -verbosity 7 -rsp_cert "$RSP_CERT")
if [[ $HAVE_SECRET == 1 ]]; then
    SRV_ARGS+=(-srv_ref verify-request-with-openssl -srv_secret "pass:$SECRET")
fi
if [[ -n "$TRUSTED" ]]; then
    SRV_ARGS+=(-srv_cert "$PKI/server-cert.pem" -srv_key "$PKI/server-key.pem" -srv_trusted "$TRUSTED")
    [[ -z "$UNTRUSTED" ]] || SRV_ARGS+=(-srv_untrusted "$UNTRUSTED")
fi

SRV_LOG="$WORK/server.log"
CLI_LOG="$WORK/client.log"
RSP="$WORK/response.der"
PORT=""
started=0
for attempt in 1 2 3 4 5; do
    PORT="$(free_port)"
    "$OPENSSL" cmp -port "$PORT" "${SRV_ARGS[@]}" >"$SRV_LOG" 2>&1 &
    SERVER_PID=$!
    for ((i = 0; i < SERVER_START_TIMEOUT * 10; i++)); do
        kill -0 "$SERVER_PID" 2>/dev/null || break
        if grep -q '^ACCEPT ' "$SRV_LOG" 2>/dev/null; then
            started=1
            break
        fi
        sleep 0.1
    done
    [[ $started == 1 ]] && break
    say "mock server did not come up on port $PORT (attempt $attempt): $(tr '\n' ' ' <"$SRV_LOG")"
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=""
done
[[ $started == 1 ]] || verdict_error "could not start the OpenSSL mock server"

# ---------------------------------------------------------------- send
# -cmd genm needs no enrollment options. -reqin replaces the request the
# client built with the file's message; the first request of a transaction is
# sent as parsed from the file (re-encoded: DER input goes out byte-identical).
# The client has no credentials, so it cannot and need not judge the response.
CLIENT_RC=0
env -u http_proxy -u HTTP_PROXY -u https_proxy -u HTTPS_PROXY \
    timeout "$CLIENT_TIMEOUT" "$OPENSSL" cmp -config "" -batch \
    -server "127.0.0.1:$PORT" -path pkix/ -no_proxy 127.0.0.1 \
    -msg_timeout 20 -total_timeout 30 \
    -cmd genm -unprotected_requests -ref verify-request-with-openssl -recipient "/CN=verify-request-with-openssl" \
    -reqin "$FILE" -rspout "$RSP" -verbosity 7 >"$CLI_LOG" 2>&1 || CLIENT_RC=$?
stop_server

# ---------------------------------------------------------------- judge
# one line: the first line of each "CMP error:"/"CMP warning:" entry, without
# the prefix, duplicates removed
errors_of() { # log [after-pattern [kinds]]
    awk -v after="${2:-}" -v kinds="${3:-error|warning}" '
        after != "" && !seen_after { if (index($0, after)) seen_after = 1; next }
        $0 ~ ("CMP (" kinds "):") {
            sub(/^.*CMP (error|warning): */, "")
            if (!($0 in dup)) { dup[$0] = 1; out = out (out == "" ? "" : "; ") $0 }
        }
        END { print out }' "$1" | tr -s ' \t' ' ' | cut -c1-400
}
rsp_body() {
    [[ -s "$RSP" ]] || return 0
    local line
    line="$("$OPENSSL" asn1parse -inform DER -in "$RSP" 2>/dev/null | awk '/:d=1 /{n++; if (n==2) {print; exit}}' || true)"
    [[ "$line" =~ cont\ \[\ ([0-9]+)\ \] ]] && body_name "${BASH_REMATCH[1]}"
}

if grep -q 'cannot read PKIMessage from file' "$CLI_LOG"; then
    reason="$(grep -vE 'will not authenticate server|transfer error' "$CLI_LOG" >"$WORK/client-errors.log" || true
        errors_of "$WORK/client-errors.log")"
    say "client log:"
    sed 's/^/    /' "$CLI_LOG" >&2
    echo "REJECTED openssl cannot decode the request: $reason"
    exit 1
fi
if ! grep -q '^CMP DEBUG: received ' "$SRV_LOG"; then
    say "client exit code $CLIENT_RC; client log:"
    sed 's/^/    /' "$CLI_LOG" >&2
    say "server log:"
    sed 's/^/    /' "$SRV_LOG" >&2
    verdict_error "the mock server did not receive the request: $(errors_of "$CLI_LOG")"
fi
RSP_BODY="$(rsp_body || true)"
say "request body $BODY, protectionAlg ${PROT_ALG:-?}; mock answered ${RSP_BODY:-nothing}"

if grep -qE 'CMP error: (error validating protection|missing protection)' "$SRV_LOG"; then
    if [[ "$PROT_ALG" == PBMAC1 ]] && ! grep -q 'PBM-based' "$SRV_LOG"; then
        say "server log:"
        sed 's/^/    /' "$SRV_LOG" >&2
        verdict_error "$("$OPENSSL" version | cut -d' ' -f1-2) cannot check PBMAC1 protection (its CMP code knows only PasswordBasedMac and signatures); use tests/java/run.sh verify --secret"
    fi
    reason="$(errors_of "$SRV_LOG" 'CMP DEBUG: received ')"
    say "server log:"
    sed 's/^/    /' "$SRV_LOG" >&2
    echo "REJECTED ${reason:-protection not accepted}"
    exit 1
fi
if ! grep -q 'CMP DEBUG: validating CMP message' "$SRV_LOG"; then
    reason="$(errors_of "$SRV_LOG" 'CMP DEBUG: received ')"
    say "server log:"
    sed 's/^/    /' "$SRV_LOG" >&2
    echo "REJECTED refused before the protection check: ${reason:-no reason logged}"
    exit 1
fi
# The protection was verified. Anything the mock objected to afterwards
# (pvno, transaction, body content) is reported, and fails only with --strict.
if [[ "$RSP_BODY" == error || -z "$RSP_BODY" ]]; then
    after="$(errors_of "$SRV_LOG" 'validating CMP message' error)"
    say "protection accepted, but then the mock answered ${RSP_BODY:-nothing}: ${after:-no reason logged}"
    if [[ $STRICT == 1 ]]; then
        echo "REJECTED protection accepted, but the mock answered ${RSP_BODY:-nothing}: ${after:-no reason logged}"
        exit 1
    fi
fi
echo "ACCEPTED"
exit 0
