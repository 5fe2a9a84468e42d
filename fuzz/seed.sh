#!/usr/bin/env bash
# Lays out the seed corpora of the fuzz targets in fuzz/corpus/<target>/ from committed files:
#   - every real `openssl cmp` message (tests/fixtures/openssl/<scenario>/NN-<body>.der);
#   - client: each scenario's responses (even NN) concatenated, so one input answers a whole
#     transaction (the harness gives the k-th request the k-th message);
#   - server: each scenario's requests (odd NN) concatenated, sent to one server in order;
#   - the regression inputs of each target (tests/fixtures/fuzz/<target>/*).
# The same rule builds the seeds that `cargo test -p cmp-tests --test fuzz_corpora` replays.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
fixtures="$root/tests/fixtures/openssl"
corpus="$root/fuzz/corpus"
for target in decode client server; do
    mkdir -p "$corpus/$target"
    for f in "$fixtures"/*/[0-9][0-9]-*.der; do
        scenario="$(basename "$(dirname "$f")")"
        cp "$f" "$corpus/$target/openssl-$scenario-$(basename "$f")"
    done
    if [ -d "$root/tests/fixtures/fuzz/$target" ]; then
        for f in "$root/tests/fixtures/fuzz/$target"/*; do
            cp "$f" "$corpus/$target/regression-$(basename "$f")"
        done
    fi
done
for dir in "$fixtures"/*/; do
    scenario="$(basename "$dir")"
    [ "$scenario" = pki ] && continue
    cat "$dir"/[0-9][02468]-*.der > "$corpus/client/scenario-$scenario-responses.der"
    cat "$dir"/[0-9][13579]-*.der > "$corpus/server/scenario-$scenario-requests.der"
done
# inspect and config: their committed seeds (tests/fixtures/fuzz/<target>/), and for inspect
# every openssl message as DER.
for target in inspect config; do
    mkdir -p "$corpus/$target"
    cp "$root/tests/fixtures/fuzz/$target"/* "$corpus/$target/"
done
cp "$fixtures"/pbm-ir/[0-9][0-9]-*.der "$corpus/inspect/"
for target in decode client server inspect config; do
    echo "fuzz/corpus/$target: $(ls "$corpus/$target" | wc -l) inputs"
done
