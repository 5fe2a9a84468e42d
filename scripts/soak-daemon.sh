#!/usr/bin/env bash
# The daemon's soak: COUNT enrollments in ONE `cmp-agent run` process against cmp-server (both
# release builds, on loopback, the CA's state in SQLite). The agent keeps IDENTITIES
# certificates of VALIDITY seconds each, renewed (kur, a new key, certConf/pkiConf) when 90 %
# of their life remains, so it renews continuously. Prints the enrollments, the rate, the
# agent's memory (RSS) sampled every SAMPLE seconds and the ratio last/first after the warm-up
# (the first WARMUP enrollments), and checks that the CA's database holds exactly as many
# certificates as the agent logged issued, and that every identity ends installed. Also prints
# the agent's CPU time per enrollment after the warm-up (user + system, from /proc/PID/stat)
# and, with SYSCALLS=1, its fsync/fdatasync/openat/rename calls per enrollment during the
# measured part (strace -c attached after the warm-up; slows the agent, so the rate and CPU
# figures of such a run are not comparable).
#
#   scripts/soak-daemon.sh                        # 2 000 enrollments (quick check)
#   COUNT=100000 scripts/soak-daemon.sh           # the soak of issue 13
#   CARGO_TARGET_DIR=/work/bench-target-daemon COUNT=100000 scripts/soak-daemon.sh
#   PROFILE=debug COUNT=300 IDENTITIES=20 scripts/soak-daemon.sh   # does the script work?
#   TMPDIR=/dev/shm/soak COUNT=100000 scripts/soak-daemon.sh   # state on tmpfs: memory, not fsync
#
# Exit 1 when a check fails or the ratio is above 1.1.
set -euo pipefail
cd "$(dirname "$0")/.."

COUNT=${COUNT:-2000}
IDENTITIES=${IDENTITIES:-200}
VALIDITY=${VALIDITY:-30}
SAMPLE=${SAMPLE:-5}
WARMUP=${WARMUP:-$(( COUNT / 10 > 3 * IDENTITIES ? COUNT / 10 : 3 * IDENTITIES ))}
command -v python3 >/dev/null || { echo "python3 is needed: apt-get install -y python3" >&2; exit 1; }
[ "$WARMUP" -lt "$COUNT" ] || { echo "soak: COUNT ($COUNT) must exceed WARMUP ($WARMUP)" >&2; exit 1; }

PROFILE=${PROFILE:-release}
case "${BUILD:-1}:$PROFILE" in
  0:*) ;; # BUILD=0: the binaries already in $CARGO_TARGET_DIR/$PROFILE
  *:release) cargo build --release -q -p cmp-agent -p cmp-server ;;
  *:debug) cargo build -q -p cmp-agent -p cmp-server ;;
  *) echo "PROFILE is release or debug" >&2; exit 1 ;;
esac
target=${CARGO_TARGET_DIR:-target}
agent=$target/$PROFILE/cmp-agent
server=$target/$PROFILE/cmp-server
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

mkdir "$work/ca"
"$server" --listen http://127.0.0.1:0/pkix/ --state-dir "$work/ca" \
  --secret pass:soak-secret-1234 --ref soak-ref --ca-subject "CN=Soak CA" \
  --log-level warn >"$work/server.out" 2>"$work/server.log" &
pids+=("$!")
for _ in $(seq 200); do grep -q "listening on" "$work/server.out" 2>/dev/null && break; sleep 0.05; done
url=$(grep -o 'http://[^ ]*' "$work/server.out" | head -1)
[ -n "$url" ] || { echo "soak: cmp-server did not start" >&2; cat "$work/server.log" >&2; exit 1; }

{
  cat <<EOF
[daemon]
state_dir = "$work/state"
servers = ["$url"]
renew_before = "90%"
retry_min = "1s"
retry_max = "5s"
check_interval = "1s"
EOF
  for i in $(seq -w 1 "$IDENTITIES"); do
    cat <<EOF

[[certificate]]
name = "soak-$i"
subject = "/CN=soak-$i.example/O=cmp-rs soak"
secret = "pass:soak-secret-1234"
ref = "soak-ref"
validity = "${VALIDITY}s"
EOF
  done
} >"$work/agent.toml"

echo "== cmp-agent run: $IDENTITIES identities, ${VALIDITY} s certificates renewed at 10 % of their life, until the CA has issued $COUNT"
env -u CMP_AGENT_CONFIG -u CMP_AGENT_FAILPOINT -u CMP_AGENT_CLOCK_OFFSET "$agent" --config "$work/agent.toml" run --log-level info 2>"$work/agent.log" &
apid=$!; pids+=("$apid")

if [ "${SYSCALLS:-0}" = 1 ]; then
  command -v strace >/dev/null || { echo "SYSCALLS=1 needs strace: apt-get install -y strace" >&2; exit 1; }
fi
python3 - "$apid" "$work/ca/cmp-server.sqlite" "$COUNT" "$WARMUP" "$SAMPLE" "$work/ratio" "${SYSCALLS:-0}" "$work/strace" <<'PY'
import os, signal, sqlite3, subprocess, sys, time
pid, db, count, warmup, every = int(sys.argv[1]), sys.argv[2], *map(int, sys.argv[3:6])
ratio_file, syscalls, strace_out = sys.argv[6], sys.argv[7] == "1", sys.argv[8]
tick = os.sysconf("SC_CLK_TCK")

def cpu():
    """The agent's (user, system) CPU seconds."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) / tick, int(fields[12]) / tick

def issued():
    if not os.path.exists(db):
        return 0
    try:
        c = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
        try:
            return c.execute("SELECT COUNT(*) FROM certificates").fetchone()[0]
        finally:
            c.close()
    except sqlite3.Error:
        return 0

def rss_kib():
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise SystemExit("soak: no VmRSS")

t0 = time.monotonic()
samples, warm = [], None
while True:
    time.sleep(every)
    if not os.path.exists(f"/proc/{pid}"):
        raise SystemExit("soak: cmp-agent run exited early (see its log)")
    n, r, t = issued(), rss_kib(), time.monotonic() - t0
    print(f"  {t:7.0f} s  {n:7d} issued  RSS {r / 1024:6.1f} MiB", flush=True)
    if warm is None and n >= warmup:
        warm = (t, n)
        warm_cpu = cpu()
        tracer = None
        if syscalls:
            tracer = subprocess.Popen(["strace", "-f", "-c", "-qq", "-o", strace_out,
                                       "-e", "trace=fsync,fdatasync,openat,rename,renameat,renameat2",
                                       "-p", str(pid)])
    if warm is not None:
        samples.append(r)
    if n >= count:
        break
t, n = time.monotonic() - t0, issued()
end_cpu = cpu()
if tracer is not None:
    n_traced = issued()
    tracer.send_signal(signal.SIGINT)
    tracer.wait()
wt, wn = warm
rate = (n - wn) / (t - wt) if t > wt else float("nan")
print(f"== {n} enrollments in {t:.0f} s: {n / t:.1f}/s overall, {rate:.1f}/s after the warm-up")
user, system = end_cpu[0] - warm_cpu[0], end_cpu[1] - warm_cpu[1]
per = max(n - wn, 1)
print(f"== agent CPU after the warm-up: {1000 * (user + system) / per:.2f} ms per enrollment "
      f"({1000 * user / per:.2f} user, {1000 * system / per:.2f} system; {n - wn} enrollments)")
if tracer is not None:
    print(f"== agent system calls per enrollment after the warm-up (strace -c, {n_traced - wn} enrollments):")
    for line in open(strace_out).read().splitlines():
        parts = line.split()
        if len(parts) >= 5 and parts[-1] in ("fsync", "fdatasync", "openat", "rename", "renameat", "renameat2"):
            print(f"     {parts[-1]:10s} {int(parts[3]) / max(n_traced - wn, 1):7.2f}")
print(f"== RSS after the warm-up ({len(samples)} samples, every {every} s): first {samples[0] / 1024:.1f} MiB, "
      f"max {max(samples) / 1024:.1f} MiB, last {samples[-1] / 1024:.1f} MiB, "
      f"last/first {samples[-1] / samples[0]:.3f}")
open(ratio_file, "w").write(f"{samples[-1] / samples[0]:.3f}\n")
PY

# SIGTERM: the transaction in flight finishes (stop_timeout), nothing is left half done.
kill -TERM "$apid"; wait "$apid" || { echo "soak: cmp-agent run exited with $?" >&2; exit 1; }
in_db=$(python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("SELECT COUNT(*) FROM certificates").fetchone()[0])' "$work/ca/cmp-server.sqlite")
logged=$(grep -c ': issued ' "$work/agent.log" || true)
installed=$(grep -c ': installed in ' "$work/agent.log" || true)
failures=$(grep -c ' WARN \| ERROR ' "$work/agent.log" || true)
echo "== the CA's database holds $in_db certificates; the agent logged $logged issued, $installed installed; $failures warnings/errors"
[ "$in_db" -eq "$logged" ] && [ "$logged" -eq "$installed" ] \
  || { echo "soak: MISMATCH" >&2; grep ' WARN \| ERROR ' "$work/agent.log" | tail -5 >&2; exit 1; }
missing=0
for i in $(seq -w 1 "$IDENTITIES"); do
  [ -s "$work/state/store/soak-$i/current/cert.pem" ] || missing=$((missing + 1))
done
[ "$missing" -eq 0 ] || { echo "soak: $missing identities without an installed certificate" >&2; exit 1; }
left=$(find "$work/state" -name '*.pending.pem' -o -name '*.pending.uri' -o -name staged -o -name transaction.bin | wc -l)
[ "$left" -eq 0 ] || { echo "soak: $left pending keys, staged generations or saved transactions left" >&2; exit 1; }
echo "== every identity installed; nothing pending, staged or saved left"
ratio=$(cat "$work/ratio")
python3 -c 'import sys; sys.exit(0 if float(sys.argv[1]) <= 1.1 else 1)' "$ratio" \
  || { echo "soak: RSS grew: last/first $ratio > 1.1" >&2; exit 1; }
echo "== RSS last/first $ratio <= 1.1"
