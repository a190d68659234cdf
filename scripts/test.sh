#!/usr/bin/env bash
# README command 2: install what is missing and run every test: unit and property tests
# (domain, engine, app), the wasm32 build of the pure crates, integration tests (real server on
# port 0, fresh database), and end-to-end tests in headless Chromium.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PATH="$PWD/end2end/node_modules/.bin:$PATH"
# A fresh clone gains nothing from incremental artefacts; they only take disk.
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"

echo "== unit and property tests: domain, engine, app (ssr) =="
cargo test -p domain -p engine
cargo test -p app --features ssr

echo "== integration tests (server) =="
cargo test -p server

echo "== end-to-end tests: cargo leptos build, then headless Chromium against the real binary =="
# The tests start target/debug/tradewatch themselves (port 0, fresh data dir, own token), so
# `cargo leptos end-to-end` (which starts the server without arguments) is not used.
cargo leptos build
(cd end2end && mkdir -p screenshots && node --test --test-concurrency=1 tests/)
