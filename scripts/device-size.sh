#!/usr/bin/env bash
# The device-sized agent: builds cmp-agent with `--profile device` (fat LTO, one codegen unit,
# optimised for size but for the crypto crates, stripped, unwinding kept) for the feature sets
# device and default, and with `--profile device-minimal` (the same, aborting on panic: no
# plugin to catch one) for minimal, and prints, next to the
# same figures for `openssl`:
#   - the stripped size (openssl: the binary + the libcrypto and libssl it loads, found by ldd);
#   - peak RSS (GNU time's %M, what `/usr/bin/time -v` prints), CPU (user+sys from the rusage
#     of the client process alone, and the two apart) and minor page faults (rusage) — medians
#     of RUNS runs, the clients interleaved so that each sees the same drift of the machine's
#     speed — of one `ir` with PBM and implicit confirmation against the `openssl cmp -port`
#     mock on 127.0.0.1;
#   - the instructions of one such ir under `valgrind --tool=callgrind` (stable on a shared
#     machine, unlike CPU time).
# Usage: scripts/device-size.sh [RUNS]   (default 15). DEVICE_AGENT=PATH measures that binary
# instead of building (e.g. a copy kept from before a change). Needs openssl, valgrind and GNU
# time. Device targets are ARM; this measures the x86-64 build of this machine.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-15}
for tool in openssl valgrind python3; do
  command -v "$tool" >/dev/null || { echo "device-size.sh needs $tool (apt-get install $tool)" >&2; exit 1; }
done
[ -x /usr/bin/time ] || { echo "device-size.sh needs GNU time (apt-get install time)" >&2; exit 1; }

# Feature sets: `minimal` (http + tcp + software crypto), `device` (minimal + pkcs11 + dynamic
# plugins + the daemon, no demo) and the default build (device + demo), unless BUILDS narrows
# them (e.g. BUILDS="minimal device").
builds=()
if [ -n "${DEVICE_AGENT:-}" ]; then
  builds=("given:")
else
  for name in ${BUILDS:-minimal device default}; do
    case "$name" in
      default) builds+=("default:--profile device") ;;
      minimal) builds+=("$name:--no-default-features --features minimal --profile device-minimal") ;;
      device) builds+=("$name:--no-default-features --features device --profile device") ;;
      *) echo "device-size.sh: unknown build $name (minimal, device, default)" >&2; exit 1 ;;
    esac
  done
fi
for b in "${builds[@]}"; do
  [ -n "${DEVICE_AGENT:-}" ] && break
  name=${b%%:*} flags=${b#*:}
  # Other feature sets in their own target directories: they would overwrite one another.
  dir=target
  [ "$name" = default ] || dir="target/features-$name"
  # shellcheck disable=SC2086 # flags is a word list
  cargo build -q -p cmp-agent $flags --target-dir "$dir"
done

exec python3 - "$runs" "${builds[@]}" <<'PY'
import os, re, shutil, socket, statistics, subprocess, sys, tempfile, time

runs = int(sys.argv[1])
builds = [b.split(":", 1)[0] for b in sys.argv[2:]]
pki = "tests/fixtures/openssl/pki"
work = tempfile.mkdtemp(prefix="device-size-")
env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
subject = "/CN=CMP Test Device/O=cmp-rs test PKI"
recipient = "/CN=CMP Test CA/O=cmp-rs test PKI"

def free_port():
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]; s.close(); return p

def mock():
    port = free_port()
    log = open(os.path.join(work, f"mock-{port}.log"), "w")
    # The mock listens on all interfaces (OpenSSL 3.0); the clients use 127.0.0.1 only.
    p = subprocess.Popen(["openssl", "cmp", "-config", "", "-port", str(port),
                          "-srv_ref", "server-ref-5678", "-srv_secret", "pass:cmp-test-secret-1234",
                          "-rsp_cert", f"{pki}/new-cert.pem", "-grant_implicitconf"],
                         stdout=log, stderr=log, env=env)
    for _ in range(100):
        if "ACCEPT" in open(log.name).read():
            return p, port
        time.sleep(0.1)
    p.kill(); sys.exit("the mock did not start")

def ours(agent, port):
    return [agent, "ir", "--server", f"http://127.0.0.1:{port}/pkix/", "--secret", "pass:cmp-test-secret-1234",
            "--ref", "client-ref-1234", "--recipient", recipient, "--newkey", f"{pki}/new-key.pem",
            "--subject", subject, "--certout", os.path.join(work, "ours.pem"), "-q", "--implicit-confirm"]

def theirs(port):
    return ["openssl", "cmp", "-config", "", "-batch", "-cmd", "ir", "-server", f"127.0.0.1:{port}", "-path", "pkix/",
            "-secret", "pass:cmp-test-secret-1234", "-ref", "client-ref-1234", "-recipient", recipient,
            "-newkey", f"{pki}/new-key.pem", "-subject", subject, "-certout", os.path.join(work, "theirs.pem"),
            "-implicit_confirm"]

def timed(cmd):
    """(peak RSS KiB, CPU s, user s, sys s, minor page faults) of one client, from two runs.
    The RSS is GNU time's %M: the kernel's maxrss of a process forked from python would count
    python's pages before exec. The CPU and faults are the rusage of the client process itself,
    started directly (posix_spawn: no python code runs in the child): GNU time's own fork, exec
    and wait cost about 0.8 ms here, which would be counted to both clients and blur the ratio."""
    out = os.path.join(work, "time.txt")
    p = subprocess.Popen(["/usr/bin/time", "-f", "%M", "-o", out] + cmd,
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    err = p.communicate()[1].decode()
    if p.returncode != 0:
        sys.exit(f"{cmd[0]} failed: {err}")
    rss = int(open(out).read().split()[-1])
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
                         close_fds=False)
    _, status, ru = os.wait4(p.pid, 0)
    if status != 0:
        sys.exit(f"{cmd[0]} failed (exit status {status})")
    return (rss, ru.ru_utime + ru.ru_stime, ru.ru_utime, ru.ru_stime, ru.ru_minflt)

def instructions(cmd):
    out = os.path.join(work, "callgrind.out")
    r = subprocess.run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}"] + cmd,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    if r.returncode != 0:
        sys.exit(f"callgrind of {cmd[0]} failed: {r.stderr.decode()[-2000:]}")
    for line in open(out):
        if line.startswith(("summary:", "totals:")):
            return int(line.split()[1])
    sys.exit("no instruction total in the callgrind output")

def openssl_size():
    exe = shutil.which("openssl")
    files = [os.path.realpath(exe)]
    for line in subprocess.run(["ldd", exe], capture_output=True, text=True).stdout.splitlines():
        m = re.search(r"=>\s*(\S*lib(?:crypto|ssl)\.so\S*)", line)
        if m:
            files.append(os.path.realpath(m.group(1)))
    return sum(os.path.getsize(f) for f in files), [os.path.basename(f) for f in files]

proc, port = mock()
try:
    agents = []
    for name in builds:
        agent = {"default": "target/device/cmp-agent", "given": os.environ.get("DEVICE_AGENT", ""),
                 "minimal": "target/features-minimal/device-minimal/cmp-agent"}.get(
            name, f"target/features-{name}/device/cmp-agent")
        agents.append((name, agent))
    clients = [(f"cmp-agent ({name})", ours(agent, port)) for name, agent in agents]
    clients.append(("openssl cmp", theirs(port)))
    for _, cmd in clients:
        timed(cmd)  # warm-up
    # Interleaved (each client once per round): the machine's speed drifts over a run, and
    # every client sees the same drift.
    samples = {label: [] for label, _ in clients}
    for _ in range(runs):
        for label, cmd in clients:
            samples[label].append(timed(cmd))
    size, parts = openssl_size()
    sizes = {f"cmp-agent ({name})": os.path.getsize(agent) for name, agent in agents}
    sizes["openssl cmp"] = size
    rows = [(label, sizes[label], samples[label], instructions(cmd)) for label, cmd in clients]
finally:
    proc.kill()

print(f"one PBM ir with implicit confirmation against the openssl mock; medians of {runs} runs, interleaved")
print(f"{'client':<26} {'size MB':>8} {'peak RSS MiB':>13} {'CPU ms':>8} {'user':>6} {'sys':>6} "
      f"{'faults':>7} {'instructions':>14}")
figures = {}
for label, size, samples, instr in rows:
    rss = statistics.median(s[0] for s in samples) / 1024
    cpu, user, sys_ = (statistics.median(s[i] for s in samples) * 1000 for i in (1, 2, 3))
    faults = statistics.median(s[4] for s in samples)
    figures[label] = (size, rss, cpu, instr)
    print(f"{label:<26} {size / 1e6:8.2f} {rss:13.2f} {cpu:8.1f} {user:6.1f} {sys_:6.1f} "
          f"{faults:7.0f} {instr:14,}")
print(f"(openssl size: {' + '.join(parts)}; CPU, user and sys in ms; faults: minor page faults)")
print(f"load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
o = figures["openssl cmp"]
for label, (size, rss, cpu, instr) in figures.items():
    if label != "openssl cmp":
        print(f"{label}: CPU {cpu / o[2]:.2f}x openssl's, "
              f"instructions {instr / o[3]:.2f}x, size {size / o[0]:.2f}x, peak RSS {rss / o[1]:.2f}x")
PY
