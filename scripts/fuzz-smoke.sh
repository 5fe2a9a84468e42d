#!/usr/bin/env bash
# Smoke-runs every fuzz target of fuzz/ for a few seconds on a stable toolchain: installs
# cargo-fuzz when missing (cargo install --locked), lays out the seed corpora (fuzz/seed.sh),
# builds the targets without a sanitizer (-s none, which needs no nightly) and runs each for
# FUZZ_SECONDS (default 10) seconds. Fails on the first crash, panic, timeout or OOM; libFuzzer
# leaves the input in fuzz/artifacts/<target>/ (make it a regression input in
# tests/fixtures/fuzz/<target>/, replayed by `cargo test -p cmp-tests --test fuzz_corpora`).
#
#   scripts/fuzz-smoke.sh                 # every target, 10 s each
#   FUZZ_SECONDS=300 scripts/fuzz-smoke.sh decode   # one target, a longer run
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${FUZZ_SECONDS:-10}"
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    targets=(decode client server inspect config)
fi

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "== installing cargo-fuzz (cargo install --locked cargo-fuzz)"
    start=$(date +%s)
    cargo install --locked cargo-fuzz
    echo "== cargo-fuzz installed in $(( $(date +%s) - start )) s"
fi

# libFuzzer is built from C++ sources by libfuzzer-sys.
if ! command -v c++ >/dev/null 2>&1; then
    echo "error: no C++ compiler (c++): libfuzzer-sys needs one (apt-get install g++)" >&2
    exit 1
fi

fuzz/seed.sh

log_dir="fuzz/target/smoke-logs"
mkdir -p "$log_dir"
start=$(date +%s)
echo "== building the fuzz targets (stable, no sanitizer)"
if ! cargo fuzz build -s none >"$log_dir/build.log" 2>&1; then
    tail -n 30 "$log_dir/build.log" >&2
    echo "error: cargo fuzz build -s none failed (full log: $log_dir/build.log)" >&2
    exit 1
fi
echo "== built in $(( $(date +%s) - start )) s"

for target in "${targets[@]}"; do
    echo "== $target: ${seconds} s"
    # -rss_limit_mb: an input that needs more than 512 MiB is an OOM finding;
    # -timeout: one input running longer than 10 s is a timeout finding.
    status=0
    # -close_fd_mask=1: inspect and config print what a person would read.
    cargo fuzz run -s none "$target" -- -close_fd_mask=1 \
        -max_total_time="$seconds" -rss_limit_mb=512 -timeout=10 -print_final_stats=1 \
        >"$log_dir/$target.log" 2>&1 || status=$?
    grep -a -E '^#[0-9]+[[:space:]]+(INITED|DONE)|^stat::(number_of_executed_units|peak_rss_mb)' \
        "$log_dir/$target.log" || true
    if [ "$status" -ne 0 ]; then
        grep -a -E 'panicked|SUMMARY|ERROR|Test unit written|Crash|timeout|out-of-memory' \
            "$log_dir/$target.log" | head -n 20 >&2 || true
        echo "error: fuzz target $target failed (log: $log_dir/$target.log, input in" \
            "fuzz/artifacts/$target/)" >&2
        exit 1
    fi
done
echo "== fuzz smoke run passed: ${targets[*]}"
