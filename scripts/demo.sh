#!/usr/bin/env bash
# README command 1: install what is missing, build the release console, and run it with the
# paper engine replaying the bundled real market data. Open http://127.0.0.1:3000.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PATH="$PWD/end2end/node_modules/.bin:$PATH"
bash scripts/build-site.sh --release
export LEPTOS_SITE_ROOT="$PWD/target/site"
exec target/release/tradewatch serve --demo --addr "${TRADEWATCH_ADDR:-127.0.0.1:3000}" --data-dir "${TRADEWATCH_DATA_DIR:-./tradewatch-data}" "$@"
