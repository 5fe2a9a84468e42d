#!/usr/bin/env bash
# Benchmark: `cmp-agent ir` against `openssl cmp -cmd ir`, same OpenSSL mock CA on loopback,
# PBM-protected; once with implicit confirmation granted, once with certConf/pkiConf.
# Prints per-process CPU (user+sys) and wall time, medians of RUNS runs, and ratios
# ours/openssl. Usage: scripts/bench-agent.sh [RUNS]   (default 15)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-15}
cargo build -q --release -p cmp-agent
exec python3 - "$runs" <<'PY'
import os, resource, socket, statistics, subprocess, sys, tempfile, time

runs = int(sys.argv[1])
pki = "tests/fixtures/openssl/pki"
agent = "target/release/cmp-agent"
work = tempfile.mkdtemp()

def free_port():
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]; s.close(); return p

def mock(extra):
    port = free_port()
    log = open(os.path.join(work, f"mock-{port}.log"), "w")
    # The mock listens on all interfaces (OpenSSL 3.0); the clients use 127.0.0.1 only.
    p = subprocess.Popen(["openssl", "cmp", "-config", "", "-port", str(port),
                          "-srv_ref", "server-ref-5678", "-srv_secret", "pass:cmp-test-secret-1234",
                          "-rsp_cert", f"{pki}/new-cert.pem"] + extra, stdout=log, stderr=log)
    for _ in range(100):
        if "ACCEPT" in open(log.name).read():
            return p, port
        time.sleep(0.1)
    p.kill(); sys.exit("the mock did not start")

def measure(cmd):
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    r = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if r.returncode != 0:
        sys.exit(f"{cmd[0]} failed: {r.stderr.decode()}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return cpu, wall

subject = "/CN=CMP Test Device/O=cmp-rs test PKI"
recipient = "/CN=CMP Test CA/O=cmp-rs test PKI"

def ours(port, implicit):
    cmd = [agent, "ir", "--server", f"http://127.0.0.1:{port}/pkix/", "--secret", "pass:cmp-test-secret-1234",
           "--ref", "client-ref-1234", "--recipient", recipient, "--newkey", f"{pki}/new-key.pem",
           "--subject", subject, "--certout", os.path.join(work, "ours.pem"), "-q"]
    return cmd + (["--implicit-confirm"] if implicit else [])

def theirs(port, implicit):
    cmd = ["openssl", "cmp", "-config", "", "-batch", "-cmd", "ir", "-server", f"127.0.0.1:{port}", "-path", "pkix/",
           "-secret", "pass:cmp-test-secret-1234", "-ref", "client-ref-1234", "-recipient", recipient,
           "-newkey", f"{pki}/new-key.pem", "-subject", subject, "-certout", os.path.join(work, "theirs.pem")]
    return cmd + (["-implicit_confirm"] if implicit else [])

print(f"{'scenario':<22} {'client':<10} {'CPU ms':>8} {'wall ms':>8}")
for name, implicit, extra in [("implicit confirm", True, ["-grant_implicitconf"]), ("certConf/pkiConf", False, [])]:
    proc, port = mock(extra)
    try:
        res = {}
        for label, make in [("cmp-agent", ours), ("openssl", theirs)]:
            measure(make(port, implicit))  # warm-up
            samples = [measure(make(port, implicit)) for _ in range(runs)]
            cpu = statistics.median(s[0] for s in samples) * 1000
            wall = statistics.median(s[1] for s in samples) * 1000
            res[label] = (cpu, wall)
            print(f"{name:<22} {label:<10} {cpu:8.2f} {wall:8.2f}")
        (oc, ow), (tc, tw) = res["cmp-agent"], res["openssl"]
        print(f"{name:<22} {'ratio':<10} {oc/tc:8.2f} {ow/tw:8.2f}   (ours/openssl, medians of {runs})")
    finally:
        proc.kill()
PY
