#!/usr/bin/env bash
# Benchmarks cmp-crypto's backends (software, and aws-lc unless FEATURES is emptied) with
# criterion, runs `openssl speed` for the same algorithms, and prints a table of time per
# operation with the ratio ours/openssl.
#
#   scripts/bench-crypto.sh                      # software + aws-lc
#   FEATURES= scripts/bench-crypto.sh            # software only
#   scripts/bench-crypto.sh --measurement-time 5 # extra arguments go to criterion
#
# Environment: FEATURES (default aws-lc), OPENSSL_SECONDS (default 2), CRITERION_HOME (default:
# a fresh temporary directory, so no stale result from an earlier run is read).
# Needs cargo, openssl and python3. About 1.5 minutes of measuring once the benchmark is built
# (the first `cargo bench` builds the workspace in release mode: several minutes).
set -euo pipefail
cd "$(dirname "$0")/.."

for tool in cargo openssl python3; do
  command -v "$tool" >/dev/null 2>&1 || {
    echo "bench-crypto: $tool is needed" >&2
    exit 1
  }
done

FEATURES=${FEATURES-aws-lc}
OPENSSL_SECONDS=${OPENSSL_SECONDS:-2}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export CRITERION_HOME=${CRITERION_HOME:-$work/criterion}

feature_args=()
[ -n "$FEATURES" ] && feature_args=(--features "$FEATURES")

echo "== criterion (cmp-crypto, features: ${FEATURES:-none}) =="
cargo bench -p cmp-crypto "${feature_args[@]}" --bench crypto -- --noplot "$@" | tee "$work/criterion.log"

# The message the MAC benchmarks protect has a 1 112-byte ProtectedPart; openssl's MACs are
# timed on a buffer of that size.
PP_BYTES=1112
speed() { openssl speed -mr -elapsed -seconds "$OPENSSL_SECONDS" "$@" 2>/dev/null; }
echo "== openssl speed ($(openssl version)) =="
speed ecdsap256 rsa2048 ed25519 >"$work/openssl-pk.txt"
speed -bytes 32 -evp sha256 >"$work/openssl-sha256.txt"
speed -bytes "$PP_BYTES" -hmac sha1 >"$work/openssl-hmac-sha1.txt"
speed -bytes "$PP_BYTES" -hmac sha256 >"$work/openssl-hmac-sha256.txt"

python3 - "$work" "$CRITERION_HOME" "$PP_BYTES" <<'EOF'
import glob, json, os, re, subprocess, sys, time

work, crit_home, pp_bytes = sys.argv[1], sys.argv[2], int(sys.argv[3])

# criterion: every benchmark's new/benchmark.json names it (group_id/function_id); the sibling
# estimates.json has the statistics, in nanoseconds. The median is used: it is the least
# disturbed by other load on the machine.
ours = {}
for meta_path in glob.glob(os.path.join(crit_home, "**", "new", "benchmark.json"), recursive=True):
    with open(meta_path) as f:
        meta = json.load(f)
    est_path = os.path.join(os.path.dirname(meta_path), "estimates.json")
    if not os.path.exists(est_path):
        continue
    with open(est_path) as f:
        est = json.load(f)
    ours[(meta["group_id"], meta["function_id"])] = est["median"]["point_estimate"] * 1e-9
if not ours:
    sys.exit(f"bench-crypto: no criterion results under {crit_home}")

def read(name):
    with open(os.path.join(work, name)) as f:
        return f.read()

# openssl -mr lines: "+F2:idx:bits:sign/s:verify/s" (RSA), "+F4:..." (ECDSA),
# "+F6:idx:bits:name:sign/s:verify/s" (EdDSA), "+F:idx:name:bytes/s..." (hashes, MACs).
pk = read("openssl-pk.txt")
def per_op(pattern, text, group):
    m = re.search(pattern, text, re.M)
    if not m:
        sys.exit(f"bench-crypto: openssl speed printed no line matching {pattern!r}")
    return 1.0 / float(m.group(group))
ossl = {
    "rsa2048_sign": per_op(r"^\+F2:\d+:2048:([\d.]+):([\d.]+)", pk, 1),
    "rsa2048_verify": per_op(r"^\+F2:\d+:2048:([\d.]+):([\d.]+)", pk, 2),
    "ecdsa_p256_sign": per_op(r"^\+F4:\d+:256:([\d.]+):([\d.]+)", pk, 1),
    "ecdsa_p256_verify": per_op(r"^\+F4:\d+:256:([\d.]+):([\d.]+)", pk, 2),
    "ed25519_sign": per_op(r"^\+F6:\d+:\d+:Ed25519:([\d.]+):([\d.]+)", pk, 1),
    "ed25519_verify": per_op(r"^\+F6:\d+:\d+:Ed25519:([\d.]+):([\d.]+)", pk, 2),
}

def bytes_op(name, size):
    m = re.search(r"^\+F:\d+:[^:]+:([\d.]+)", read(name), re.M)
    if not m:
        sys.exit(f"bench-crypto: no result in {name}")
    return size / float(m.group(1))
sha256_32 = bytes_op("openssl-sha256.txt", 32)
hmac_sha1 = bytes_op("openssl-hmac-sha1.txt", pp_bytes)
hmac_sha256 = bytes_op("openssl-hmac-sha256.txt", pp_bytes)

# PBKDF2-HMAC-SHA256: one `openssl kdf` with many iterations, less one with a single one (the
# process start), scaled to 10 000 iterations; the best of three.
def kdf(iterations):
    best = None
    for _ in range(3):
        t0 = time.perf_counter()
        subprocess.run(["openssl", "kdf", "-keylen", "32", "-kdfopt", "digest:SHA256",
                        "-kdfopt", "pass:cmp-test-secret-1234", "-kdfopt", "hexsalt:00112233445566778899aabbccddeeff",
                        "-kdfopt", f"iter:{iterations}", "PBKDF2"],
                       check=True, stdout=subprocess.DEVNULL)
        t = time.perf_counter() - t0
        best = t if best is None else min(best, t)
    return best
pbkdf2_10k = (kdf(1_000_000) - kdf(1)) / 100

# A protect+verify is two MAC computations: PBM = n digests of ~32 bytes, then HMAC-SHA1 over
# the ProtectedPart; PBMAC1 = PBKDF2 then HMAC-SHA256.
ossl["pbm_500"] = 2 * (500 * sha256_32 + hmac_sha1)
ossl["pbm_10000"] = 2 * (10_000 * sha256_32 + hmac_sha1)
ossl["pbmac1_10000"] = 2 * (pbkdf2_10k + hmac_sha256)

rows = [
    ("pbm_500", "PBM protect+verify, 500 it. (*)"),
    ("pbm_10000", "PBM protect+verify, 10 000 it. (*)"),
    ("pbmac1_10000", "PBMAC1 protect+verify, 10 000 it. (*)"),
    ("ecdsa_p256_sign", "ECDSA P-256 sign"),
    ("ecdsa_p256_verify", "ECDSA P-256 verify"),
    ("rsa2048_sign", "RSA-2048 sign (PKCS#1 v1.5 SHA-256)"),
    ("rsa2048_verify", "RSA-2048 verify (PKCS#1 v1.5 SHA-256)"),
    ("ed25519_sign", "Ed25519 sign"),
    ("ed25519_verify", "Ed25519 verify"),
]

def fmt(t):
    if t is None:
        return "-"
    for unit, scale in (("s", 1), ("ms", 1e-3), ("µs", 1e-6)):
        if t >= scale:
            return f"{t / scale:.3g} {unit}"
    return f"{t / 1e-9:.3g} ns"

def ratio(a, b):
    return "-" if a is None or b is None else f"{a / b:.2f}"

header = ("operation", "ours (software)", "ours (aws-lc)", "openssl", "sw/openssl", "aws-lc/openssl")
table = [header]
for key, label in rows:
    sw, aws, o = ours.get((key, "software")), ours.get((key, "aws-lc")), ossl.get(key)
    table.append((label, fmt(sw), fmt(aws), fmt(o), ratio(sw, o), ratio(aws, o)))
widths = [max(len(r[i]) for r in table) for i in range(len(header))]
print()
print("Time per operation (criterion median; openssl speed -elapsed). Ratio > 1: slower than openssl.")
for i, r in enumerate(table):
    print("  ".join(c.ljust(w) if j == 0 else c.rjust(w) for j, (c, w) in enumerate(zip(r, widths))))
    if i == 0:
        print("  ".join("-" * w for w in widths))
print()
print(f"(*) ours: protect_with_mac + verify_mac on a real ip message ({pp_bytes}-byte ProtectedPart),")
print("    including the message's DER encoding; openssl: an estimate from its primitives for the")
print(f"    same two MAC computations (PBM: n x SHA-256 of 32 bytes + HMAC-SHA1 of {pp_bytes} bytes;")
print(f"    PBMAC1: `openssl kdf PBKDF2` SHA-256 + HMAC-SHA256 of {pp_bytes} bytes), no encoding.")
print("    Signatures: ours sign/verify 32 bytes through the provider API (verification parses the")
print("    SubjectPublicKeyInfo each time); openssl speed signs a short pre-hashed buffer.")
EOF
