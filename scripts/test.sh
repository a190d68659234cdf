#!/usr/bin/env bash
# README command 2: install what is missing and run every test: unit and property tests
# (domain, engine, app), integration tests (real server on port 0, fresh database), and
# end-to-end tests in headless Chromium. Prints how long each step took.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/end2end/node_modules/.bin:$PATH"
# A fresh clone gains nothing from incremental artefacts; they only take disk.
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"

started=$SECONDS
step() { # step NAME COMMAND...: runs it and prints its time
  local name=$1; shift
  echo "== $name =="
  local t=$SECONDS
  "$@"
  echo "== $name: $((SECONDS - t)) s (total $((SECONDS - started)) s) =="
}

step "set-up (installs only what is missing)" bash scripts/setup.sh --test
step "unit and property tests: domain, charts, engine" cargo test -p domain -p charts -p engine
step "unit tests: app (ssr)" cargo test -p app --features ssr
step "integration tests (server)" cargo test -p server
# The end-to-end tests start target/debug/tradewatch themselves (port 0, fresh data dir).
step "build the site for the browser tests" bash scripts/build-site.sh
step "end-to-end tests in headless Chromium" bash -c 'cd end2end && mkdir -p screenshots && node --test --test-concurrency=1 tests/'
echo "== all tests passed in $((SECONDS - started)) s =="
