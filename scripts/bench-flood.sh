#!/usr/bin/env bash
# The MAC flood figure, release build: 16 HTTP connections send maximal-iteration MAC requests
# (PBMAC1, 1 000 000 PBKDF2 iterations, the most the server accepts) as fast as they are
# answered, while 4 signature-protected clients enroll 8 times each (ir + certConf); the same
# clients first enroll without the flood, for comparison. Prints the signed clients' p50/p99
# with and without the flood, and how the flood was answered: systemUnavail at once beyond the
# derivation pool's queue (1 thread, 2 places here), badMessageCheck after a full derivation
# for the admitted ones (the flood does not know the secret).
#
# It runs cmp-server/tests/mac_flood.rs (which asserts the behaviour) in release mode and
# prints the figures it measured. The issue's target: signed clients' p99 under 100 ms.
#
#   CARGO_TARGET_DIR=/work/bench-target scripts/bench-flood.sh
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(cargo test --release -q -p cmp-server --test mac_flood -- --nocapture 2>&1) || {
  echo "$out" >&2
  echo "bench-flood: the flood test failed" >&2
  exit 1
}
echo "$out" | grep -E '^(signed enrollments|flood:)'
p99=$(echo "$out" | sed -n 's/^signed enrollments (ir + certConf) under the MAC flood:.* p99=\([^ ]*\).*/\1/p')
echo "signed clients' p99 under the flood: $p99 (target: under 100ms)"
