#!/usr/bin/env bash
# The race: cmp-load against cmp-server (shipped defaults: SQLite store, software crypto, EC
# P-256 CA key, POP verified, certConf on) and against `openssl cmp -port`, on this machine, in
# the same run. Prints both summaries and their ratio, checks that the database holds as many
# issued certificates as cmp-load saw accepted, and samples the server's memory (RSS) during
# the run.
#
#   scripts/bench-server.sh                 # 100 clients, 20 000 enrollments
#   COUNT=100000 scripts/bench-server.sh    # the memory soak of the issue
#   BUILD=0 COUNT=100000 scripts/bench-server.sh   # the binaries as built, no cargo
#   PROFILE=debug COUNT=300 MOCK_COUNT=50 WARMUP=50 scripts/bench-server.sh   # does it work?
#                                           # (debug build: no figures worth reporting)
#
# The OpenSSL mock keeps one transaction at a time (interleaved transactions fail with
# "transactionid unmatched"), so it is loaded with one client: that is its capacity. It answers
# every enrollment with its one -rsp_cert, which a correct client refuses by certConf (counted
# as rejected: a finished exchange).
set -euo pipefail
cd "$(dirname "$0")/.."

COUNT=${COUNT:-20000}
CONCURRENCY=${CONCURRENCY:-100}
# The mock's run: 2 000 enrollments (3 s) gave 432-710/s from run to run on the idle machine;
# 10 000 take about 15 s and settle it.
MOCK_COUNT=${MOCK_COUNT:-10000}
# The warm-up fills what is bounded but filled by use, so that the memory samples after it show
# growth, not caches warming: above all SQLite's page cache (2 MiB by default), which fills only
# once the database outgrows it — a few thousand enrollments (each adds about 4 KiB: the
# certificate and the transaction with its last request and response). With 500, the server's
# RSS rose 2 MiB in the first quarter of 100 000 enrollments and 0.5 MiB in the other three.
WARMUP=${WARMUP:-5000}
command -v openssl >/dev/null || { echo "openssl is needed: apt-get install -y openssl" >&2; exit 1; }

PROFILE=${PROFILE:-release}
case "$PROFILE" in
  release | debug) ;;
  *) echo "PROFILE is release or debug" >&2; exit 1 ;;
esac
# BUILD=0 runs the binaries already built (e.g. while every compiler on the machine is paused).
if [ "${BUILD:-1}" != 0 ]; then
  case "$PROFILE" in
    release) cargo build --release -q -p cmp-server ;;
    debug) cargo build -q -p cmp-server ;;
  esac
fi
target=${CARGO_TARGET_DIR:-target}
server=$target/$PROFILE/cmp-server
load=$target/$PROFILE/cmp-load
pki=tests/fixtures/openssl/pki
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

wait_for() { # file pattern
  for _ in $(seq 200); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.05; done
  echo "bench: timed out waiting for '$2' in $1" >&2; cat "$1" >&2; exit 1
}

# --- our server ---------------------------------------------------------------------------
mkdir "$work/state"
"$server" --listen http://127.0.0.1:0/pkix/ --state-dir "$work/state" \
  --secret pass:bench-secret-1234 --ref bench-ref \
  --ca-cert "$pki/ca-cert.pem" --ca-key "$pki/ca-key.pem" >"$work/server.log" 2>&1 &
spid=$!; pids+=("$spid")
wait_for "$work/server.log" "listening on"
url=$(grep -o 'http://[^ ]*' "$work/server.log" | head -1)

# Memory: RSS every 0.5 s while the load runs.
( while kill -0 "$spid" 2>/dev/null; do
    awk '/VmRSS/ {print $2}' "/proc/$spid/status" 2>/dev/null; sleep 0.5
  done ) >"$work/rss.txt" &
pids+=("$!")

echo "== warm-up: $WARMUP enrollments"
"$load" --server "$url" --secret pass:bench-secret-1234 --ref bench-ref \
  --concurrency "$CONCURRENCY" --count "$WARMUP" --format json >/dev/null
warm=$(wc -l <"$work/rss.txt")
echo "== cmp-server: $CONCURRENCY clients, $COUNT enrollments"
ours=$("$load" --server "$url" --secret pass:bench-secret-1234 --ref bench-ref \
  --concurrency "$CONCURRENCY" --count "$COUNT" --format json)
echo "$ours"
kill "$spid"; wait "$spid" 2>/dev/null || true

accepted=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["accepted"])' "$ours")
in_db=$("$server" certs list --state-dir "$work/state" | wc -l)
expected=$((accepted + WARMUP))
echo "== the database holds $in_db issued certificates; cmp-load saw $expected accepted (warm-up included)"
[ "$in_db" -eq "$expected" ] || { echo "bench: MISMATCH" >&2; exit 1; }

# --- the OpenSSL mock ---------------------------------------------------------------------
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
openssl cmp -config "" -port "$port" -srv_ref server-ref-5678 -srv_secret pass:cmp-test-secret-1234 \
  -rsp_cert "$pki/new-cert.pem" >"$work/mock.log" 2>&1 &
pids+=("$!")
wait_for "$work/mock.log" ACCEPT
echo "== openssl cmp -port: 1 client, $MOCK_COUNT enrollments"
mock=$("$load" --server "http://127.0.0.1:$port/pkix/" --secret pass:cmp-test-secret-1234 \
  --ref client-ref-1234 --concurrency 1 --count "$MOCK_COUNT" --format json)
echo "$mock"

python3 - "$ours" "$mock" "$work/rss.txt" "$warm" <<'PY'
import json, sys
ours, mock = json.loads(sys.argv[1]), json.loads(sys.argv[2])
rss = [int(x) for x in open(sys.argv[3]).read().split()]
warm = int(sys.argv[4])
print(f"cmp-server: {ours['per_second']:.0f} enrollments/s, p99 {ours['p99_ms']:.1f} ms, "
      f"{ours['failed']} failed")
print(f"openssl mock: {mock['per_second']:.0f} enrollments/s, p99 {mock['p99_ms']:.1f} ms, "
      f"{mock['failed']} failed")
print(f"ratio cmp-server / openssl mock: {ours['per_second'] / mock['per_second']:.2f}x")
after = rss[warm:] or rss
if after:
    print(f"server RSS after warm-up: first {after[0] / 1024:.1f} MiB, last {after[-1] / 1024:.1f} MiB, "
          f"max {max(after) / 1024:.1f} MiB, last/first {after[-1] / after[0]:.2f}")
    quarters = [after[min(len(after) - 1, len(after) * q // 4)] / 1024 for q in range(5)]
    print("server RSS at 0/25/50/75/100 % of the run: " + " ".join(f"{m:.1f}" for m in quarters) + " MiB")
PY
