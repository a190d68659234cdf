#!/usr/bin/env bash
# Issue 11 §3 alone, in a few minutes: the raw insert of the load's rows (examples/raw_insert.rs)
# and the console's ingest of the same events over HTTP (examples/load.rs, phase 1), side by
# side on one machine, and their ratio; also the console's and the load tool's CPU per event and
# the console's mean durable write per batch. scripts/load.sh measures the same and then the
# pages, the live stream, the approval timeouts and the restart (about 20 minutes).
#   scripts/ingest-ratio.sh [EVENTS=1000000] [sqlite|postgres]
# The load tool's knobs apply: LOAD_IN_FLIGHT (default 2) and LOAD_PREBUILT, here 1 by default
# (request bodies built before the clock, as raw_insert builds its rows outside the timed insert;
# LOAD_PREBUILT=0 builds them while posting, on the same 2 cores as the console) and BIN_DIR
# (below).
set -euo pipefail
cd "$(dirname "$0")/.."
events=${1:-1000000}
backend=${2:-sqlite}
export LOAD_PREBUILT=${LOAD_PREBUILT:-1}
# BIN_DIR: measure binaries built elsewhere (tradewatch, load, raw_insert side by side in one
# directory), e.g. two commits interleaved on one machine; otherwise this checkout's release build.
if [ -n "${BIN_DIR:-}" ]; then
  B=$BIN_DIR/tradewatch; L=$BIN_DIR/load; R=$BIN_DIR/raw_insert
else
  cargo build --release -q -p server --bin tradewatch --example load --example raw_insert
  B=target/release/tradewatch; L=target/release/examples/load; R=target/release/examples/raw_insert
fi
D=$(mktemp -d /tmp/tradewatch-ratio-XXXX); port=3101
unset DATABASE_URL
case $backend in
  sqlite) store=(--data-dir "$D/console"); raw_store=$D/raw ;;
  postgres)
    PGS=${TRADEWATCH_LOAD_POSTGRES:-postgres://postgres@127.0.0.1:5432/test}
    for db in tw_ratio_$$ tw_rawr_$$; do psql -q "$PGS" -c "CREATE DATABASE $db"; done
    export DATABASE_URL=${PGS%/*}/tw_ratio_$$
    store=(--database-url "$DATABASE_URL"); raw_store=${PGS%/*}/tw_rawr_$$ ;;
  *) echo "backend: sqlite or postgres" >&2; exit 2 ;;
esac
pid=0
cleanup() {
  kill $pid 2>/dev/null || true
  while kill -0 $pid 2>/dev/null; do sleep 0.05; done
  if [ "$backend" = postgres ]; then for db in tw_ratio_$$ tw_rawr_$$; do psql -q "$PGS" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)"; done; fi
  rm -rf "$D"
}
trap cleanup EXIT
echo "== $backend, $events events; machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); commit $(git rev-parse --short HEAD)$(git diff --quiet || echo '+changes')${BIN_DIR:+, binaries from $BIN_DIR}"
RAW_PER_TRANSACTION=1000 "$R" "$raw_store" "$events" | tee "$D/raw.out"
IT=$($B token create "${store[@]}" --name ratio-ingest --scope ingest | tail -1)
RT=$($B token create "${store[@]}" --name ratio-read --scope read | tail -1)
MT=$($B token create "${store[@]}" --name ratio-metrics --scope metrics | tail -1)
RUST_LOG=warn $B serve --addr 127.0.0.1:$port --data-dir "$D/console" &
pid=$!
for _ in $(seq 100); do curl -fs http://127.0.0.1:$port/healthz >/dev/null 2>&1 && break; sleep 0.2; done
# Phase 1 (ingest) is all this needs: the tool is stopped once it has printed its rate.
$L http://127.0.0.1:$port "$IT" "$RT" "$events" > "$D/load.out" 2>&1 &
lp=$!
until grep -q '= [0-9]* events/s' "$D/load.out" 2>/dev/null || ! kill -0 $lp 2>/dev/null; do sleep 0.5; done
kill $lp 2>/dev/null || true
# The durable write of a batch (the store's transaction and commit) is the serial stage the
# folds of the next batch overlap: its mean, from the console's own histogram (a diagnostic: a
# failed scrape leaves the line out rather than end the run before its figures).
{ curl -fs -H "authorization: Bearer $MT" http://127.0.0.1:$port/metrics | awk '/^tradewatch_ingest_append_duration_seconds_sum/ { s = $2 } /^tradewatch_ingest_append_duration_seconds_count/ { n = $2 } END { if (n > 0) printf "== durable write per batch: %.2f ms mean over %d batches\n", s / n * 1000, n }'; } || true
echo "== console resident memory after the ingest: $(( $(ps -o rss= -p $pid) / 1024 )) MB"
# CPU time is steadier than the rate on a machine whose speed moves within the hour.
echo "== console CPU time, start-up and ingest: $(awk -v hz="$(getconf CLK_TCK)" -v n="$events" '{ s = ($14 + $15) / hz; printf "%.1f s, %.1f us per event", s, s / n * 1e6 }' /proc/$pid/stat)"
grep -v '^ *$' "$D/load.out" | grep -B100 -m1 '= [0-9]* events/s'
http=$(grep -o '= [0-9]* events/s' "$D/load.out" | head -1 | tr -dc 0-9)
raw=$(grep -o '= [0-9]* rows/s' "$D/raw.out" | tr -dc 0-9)
echo "== $backend: ingest over HTTP $http events/s (LOAD_IN_FLIGHT=${LOAD_IN_FLIGHT:-2} LOAD_PREBUILT=$LOAD_PREBUILT), raw insert $raw rows/s: $(awk -v h="$http" -v r="$raw" 'BEGIN { printf "%.3f", h / r }') of the limit"
