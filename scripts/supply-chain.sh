#!/usr/bin/env bash
# Supply-chain check: cargo-deny over every dependency (advisories, licenses, sources, bans),
# offline, against the RustSec advisory-database snapshot in ../shared/advisory-db.bundle
# (the machines cannot reach the database's home; see ../shared/advisory-db.md).
# Installs cargo-deny with `cargo install --locked` when it is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v cargo-deny >/dev/null 2>&1; then
  echo "installing cargo-deny with cargo install --locked"
  cargo install --locked --quiet cargo-deny
fi

bundle=${ADVISORY_DB_BUNDLE:-../shared/advisory-db.bundle}
[ -f "$bundle" ] || { echo "supply-chain: no advisory database snapshot at $bundle" >&2; exit 1; }
# cargo-deny looks in db-path (deny.toml) for a folder named after the default URL's hash.
db=target/advisory-dbs/advisory-db-3157b0e258782691
want=$(git bundle list-heads "$bundle" | awk 'NR==1 {print $1}')
have=$(git -C "$db" rev-parse HEAD 2>/dev/null || true)
if [ "$want" != "$have" ]; then
  rm -rf "$db"
  mkdir -p "$(dirname "$db")"
  git clone -q "$bundle" "$db"
fi

# cargo-deny runs offline (the advisory database is the snapshot): the crates it reads the
# metadata of are fetched first, from crates.io, exactly as Cargo.lock pins them.
cargo fetch --locked --quiet
cargo deny --offline --locked --all-features check advisories licenses sources bans
