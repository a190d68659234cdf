#!/usr/bin/env bash
# The load run behind the README's figures: a release console on a fresh data dir, 1,000,000
# events over HTTP (every entry of the load's automation waits for a person, so 142,857 approvals
# are pending right after), then the live stream, every page and the lineage query timed while
# they are still pending, then the console's resident memory, and again after the timeouts.
# First, the limit it is measured against: the same rows inserted straight into a fresh store of
# the same backend, 1,000 per transaction (examples/raw_insert.rs); the ratio is printed last.
#   scripts/load.sh [EVENTS=1000000] [sqlite|postgres]   (builds the release site first; loopback only)
# postgres: fresh databases on TRADEWATCH_LOAD_POSTGRES (default the machine's
# postgres://postgres@127.0.0.1:5432/test server), dropped at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
events=${1:-1000000}
backend=${2:-sqlite}
export PATH="$PWD/end2end/node_modules/.bin:$PATH"
bash scripts/setup.sh
bash scripts/build-site.sh --release
cargo build --release -p server --example load --example raw_insert
B=target/release/tradewatch; L=target/release/examples/load
D=$(mktemp -d /tmp/tradewatch-load-XXXX); port=3100
OUT=$D/load.out
unset DATABASE_URL
case $backend in
  sqlite) store=(--data-dir "$D/console"); raw_store=$D/raw; count() { sqlite3 "$D/console/tradewatch.db" 'SELECT COUNT(*) FROM events' 2>/dev/null || echo '?'; } ;;
  postgres)
    PGS=${TRADEWATCH_LOAD_POSTGRES:-postgres://postgres@127.0.0.1:5432/test}
    for db in tw_load_$$ tw_raw_$$; do psql -q "$PGS" -c "CREATE DATABASE $db"; done
    export DATABASE_URL=${PGS%/*}/tw_load_$$
    store=(--database-url "$DATABASE_URL"); raw_store=${PGS%/*}/tw_raw_$$
    count() { psql "$DATABASE_URL" -Atc 'SELECT COUNT(*) FROM events'; } ;;
  *) echo "backend: sqlite or postgres" >&2; exit 2 ;;
esac
cleanup() {
  kill $pid 2>/dev/null || true
  while kill -0 $pid 2>/dev/null; do sleep 0.05; done
  if [ "$backend" = postgres ]; then for db in tw_load_$$ tw_raw_$$; do psql -q "$PGS" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)"; done; fi
  rm -rf "$D"
}
pid=0
trap cleanup EXIT
echo "== backend: $backend"
RAW_PER_TRANSACTION=1000 target/release/examples/raw_insert "$raw_store" "$events" | tee "$D/raw.out"
IT=$($B token create "${store[@]}" --name load-ingest --scope ingest | tail -1)
RT=$($B token create "${store[@]}" --name load-read --scope read | tail -1)
echo "load-risk-password-1" | $B user add "${store[@]}" --username loadrisk --role risk >/dev/null
LEPTOS_SITE_ROOT=target/site RUST_LOG=warn,server::console::snapshot=info $B serve --addr 127.0.0.1:$port --data-dir "$D/console" &
pid=$!
for _ in $(seq 50); do curl -fs http://127.0.0.1:$port/healthz >/dev/null 2>&1 && break; sleep 0.2; done
rss() { echo "$(( $(ps -o rss= -p $pid) / 1024 )) MB"; }
echo "== machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(free -g | awk '/Mem:/{print $2}') GB"
echo "== resident memory at start: $(rss)"
export TW_USER=loadrisk TW_PASSWORD=load-risk-password-1
$L http://127.0.0.1:$port "$IT" "$RT" "$events" | tee "$OUT"
echo "== resident memory after ingest and the timed reads: $(rss)"
echo "== waiting for the approval timeouts (300 s after the last entry) ..."
sleep 310
echo "== resident memory after the timeouts: $(rss)"
$L http://127.0.0.1:$port "$IT" "$RT" 0
echo "== resident memory at the end: $(rss)"
# Start-up on the full log: stop the console (it writes a fold snapshot as it stops), start it
# again, time until it answers /readyz (the console logs how it rebuilt its folds).
ts=$(date +%s.%N)
kill $pid
# Until the old process is gone (it finishes open requests, then writes its snapshot).
while kill -0 $pid 2>/dev/null; do sleep 0.05; done
echo "== the console stopped in $(echo "$(date +%s.%N) - $ts" | bc) s"
t0=$(date +%s.%N)
LEPTOS_SITE_ROOT=target/site RUST_LOG=warn,server::console::snapshot=info $B serve --addr 127.0.0.1:$port --data-dir "$D/console" &
pid=$!
until curl -fs http://127.0.0.1:$port/readyz >/dev/null 2>&1; do sleep 0.05; done
# The time first: counting the events scans the whole table (seconds at 1M events).
ready=$(echo "$(date +%s.%N) - $t0" | bc)
echo "== restart on the full log ($(count) events): ready in $ready s, resident $(rss)"
http=$(grep -o '= [0-9]* events/s' "$OUT" | head -1 | tr -dc 0-9)
raw=$(grep -o '= [0-9]* rows/s' "$D/raw.out" | tr -dc 0-9)
echo "== $backend: ingest over HTTP $http events/s, raw insert $raw rows/s: $(awk -v h="$http" -v r="$raw" 'BEGIN { printf "%.3f", h / r }') of the limit"
