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

# hang_guard LIMIT COMMAND...: runs a server test command; if it still runs after LIMIT seconds
# it is the known intermittent hang (README, "Known limits": an in-process console that stops
# answering one request, about one full run in eight): the stacks of the test binaries are
# printed for the record (gdb, where installed), they are killed and the command runs again, up
# to three times in all (two hangs in a row were seen on 2026-12-07). Only a hang is retried; a
# failing test fails the step at once.
hang_guard() {
  local limit=$1; shift
  local attempt pid waited
  for attempt in 1 2 3; do
    "$@" &
    pid=$!
    waited=0
    while kill -0 "$pid" 2>/dev/null && [ "$waited" -lt "$limit" ]; do sleep 2; waited=$((waited + 2)); done
    if ! kill -0 "$pid" 2>/dev/null; then
      wait "$pid"
      return
    fi
    echo "!! HANG: still running after ${limit} s (attempt $attempt of 3); the test binaries' stacks follow" >&2
    for p in $(pgrep -f 'target/debug/deps/(api|crash|server)-' || true); do
      if command -v gdb >/dev/null; then timeout 60 gdb -p "$p" -batch -ex 'thread apply all bt 30' 2>&1 | grep -E '^#|^Thread' | cut -c1-200 | head -300 >&2 || true; fi
    done
    pkill -f 'target/debug/deps/(api|crash|server)-' || true
    kill "$pid" 2>/dev/null || true
    wait "$pid" || true
  done
  echo "!! HANG three times in a row: failing the step" >&2
  return 1
}

step "set-up (installs only what is missing)" bash scripts/setup.sh --test
step "unit and property tests: domain, charts, engine, reports" cargo test -p domain -p charts -p engine -p reports
step "unit tests: app (ssr)" cargo test -p app --features ssr
# The server's suite runs on each storage backend: SQLite (default), then PostgreSQL, where
# every test creates its own database on the machine's server (dropped before and after; IF
# EXISTS, since a test still running elsewhere on the server, e.g. a second checkout's suite, drops
# its own between the listing and the drop: a fresh clone's run once failed on that).
export TRADEWATCH_TEST_POSTGRES="${TRADEWATCH_TEST_POSTGRES:-postgres://postgres@127.0.0.1:5432/test}"
drop_test_databases() {
  psql "$TRADEWATCH_TEST_POSTGRES" -Atc "SELECT datname FROM pg_database WHERE datname LIKE 'tw\_test\_%'" |
    while read -r db; do psql -q "$TRADEWATCH_TEST_POSTGRES" -c "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)"; done
}
drop_test_databases
# The server's tests are compiled first, outside the hang guard (about 10 minutes cold), so its
# limits cover only the runs: each suite takes under 2 minutes here (32-52 s on SQLite, 38-62 s
# on PostgreSQL), so a hang is called at 5 minutes and costs that, not 40.
step "build the server's tests" cargo test -p server --no-run
step "integration and storage tests (server, SQLite)" hang_guard 300 cargo test -p server
step "integration and storage tests (server, PostgreSQL)" hang_guard 300 env TRADEWATCH_TEST_BACKEND=postgres cargo test -p server --test api --test crash
drop_test_databases
# The end-to-end tests start target/debug/tradewatch themselves (port 0, fresh data dir): the
# binary the server tests above built (with the same code), so only the browser bundle is built.
step "build the site for the browser tests" env TRADEWATCH_SITE_NO_BIN=1 bash scripts/build-site.sh
step "end-to-end tests in headless Chromium" bash -c 'cd end2end && mkdir -p screenshots && node --test --test-concurrency=1 tests/'
echo "== all tests passed in $((SECONDS - started)) s =="
