#!/usr/bin/env bash
# Measures the alerts on the bundled data (README, "Alerts and monitoring"): a release build of
# `tradewatch`, then `tradewatch alert-quality` (a clean replay and one with injected anomalies
# through a fresh in-process console). Extra arguments go to it (--from, --to, --market-data).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -p server --bin tradewatch
exec target/release/tradewatch alert-quality "$@"
