#!/usr/bin/env bash
# Runs every test of the workspace, after installing what the tests need on a fresh Debian
# machine: openssl (the `openssl cmp` peer), a C compiler (the C plugins of cmp-plugin's tests),
# SoftHSM2 (the PKCS#11 token), a JDK and BouncyCastle (the second independent peer), Python 3
# with pyasn1 + pyasn1-alt-modules (the independent decoder), cargo-deny (the supply-chain
# check). Also checks formatting, dependencies and clippy, as CI does.
set -euo pipefail
cd "$(dirname "$0")/.."

apt_missing=()
command -v openssl >/dev/null 2>&1 || apt_missing+=(openssl)
command -v python3 >/dev/null 2>&1 || apt_missing+=(python3)
python3 -m pip --version >/dev/null 2>&1 || apt_missing+=(python3-pip)
command -v softhsm2-util >/dev/null 2>&1 || apt_missing+=(softhsm2)
command -v socat >/dev/null 2>&1 || apt_missing+=(socat)
# pkcs11-tool lists the daemon's token keys and their attributes (cmp-agent/tests/daemon_pkcs11.rs).
command -v pkcs11-tool >/dev/null 2>&1 || apt_missing+=(opensc)
# GNU time measures the peak RSS of the agent in the hostile-peer tests (and scripts/device-size.sh).
[ -x /usr/bin/time ] || apt_missing+=(time)
# cmp-agent's systemd unit is checked with systemd-analyze verify.
command -v systemd-analyze >/dev/null 2>&1 || apt_missing+=(systemd)
# cmp-plugin's tests compile C plugins against cmp-plugin/include/cmp-plugin.h.
command -v cc >/dev/null 2>&1 || apt_missing+=(gcc libc6-dev)
# libfuzzer-sys (the fuzz smoke run) builds libFuzzer from C++.
command -v c++ >/dev/null 2>&1 || apt_missing+=(g++)
[ -d /etc/ssl/certs ] && [ -n "$(ls -A /etc/ssl/certs 2>/dev/null)" ] || apt_missing+=(ca-certificates)
command -v javac >/dev/null 2>&1 || apt_missing+=(default-jdk-headless)
for jar in bcprov bcpkix bcutil; do
  [ -e "/usr/share/java/$jar.jar" ] || apt_missing+=("lib$jar-java")
done
if ((${#apt_missing[@]})); then
  echo "installing ${apt_missing[*]} with apt-get"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${apt_missing[@]}"
fi

if ! python3 -c 'import pyasn1, pyasn1_alt_modules.rfc9810' >/dev/null 2>&1; then
  echo "installing pyasn1 and pyasn1-alt-modules with pip"
  python3 -m pip install -q -r tests/scripts/requirements.txt ||
    python3 -m pip install -q --break-system-packages -r tests/scripts/requirements.txt
fi

# Every optional backend that the machine can run is tested.
features=(--features cmp-crypto/pkcs11,cmp-crypto/aws-lc,cmp-agent/aws-lc)

cargo fmt --all -- --check
# Supply chain first: advisories (offline snapshot), licenses, sources, duplicate versions.
./scripts/supply-chain.sh
cargo clippy --workspace --all-targets "${features[@]}" -- -D warnings
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps "${features[@]}"
cargo test --workspace "${features[@]}"
# The agent's smaller feature sets (issue: a device-sized agent) compile cleanly, and the
# smallest one's own unit tests (what a missing feature answers) pass: `--no-default-features`
# alone is minimal without inspect.
cargo clippy -p cmp-agent --all-targets --no-default-features -- -D warnings
for set in minimal device; do
  cargo clippy -p cmp-agent --all-targets --no-default-features --features "$set" -- -D warnings
done
cargo test -p cmp-agent --lib --no-default-features
# TLS with the mandatory algorithms only (the minimal agent's), against openssl s_server too.
cargo clippy -p cmp-transport-http --all-targets --no-default-features -- -D warnings
cargo test -p cmp-transport-http --no-default-features
# cmp-crypto's core alone (the minimal agent's): what a left-out part answers.
cargo clippy -p cmp-crypto --all-targets --no-default-features --features software-core -- -D warnings
cargo test -p cmp-crypto --lib --no-default-features --features software-core
# Every fuzz target for 10 s on stable (cargo-fuzz installed when missing); the corpora are
# replayed as ordinary tests above (cmp-tests' fuzz_corpora).
./scripts/fuzz-smoke.sh
