#!/usr/bin/env bash
# The main job: `cmp-agent demo` — our CA (cmp-server, SQLite state in a temporary directory)
# on 127.0.0.1, and the agent enrolling against it step by step: ir with PBM over HTTP, kur
# over TCP, genm caCerts, rr, and the renewal daemon keeping a short-lived certificate valid.
# Needs only cargo. `scripts/demo-cli.sh` does the same one-shot steps with the two command
# lines, the way an operator would type them.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build -q -p cmp-agent
exec target/debug/cmp-agent demo "$@"
