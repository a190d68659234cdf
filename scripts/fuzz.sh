#!/usr/bin/env bash
# Fuzzes the wire parser and every fold (fuzz/fuzz_targets/wire_parser.rs) for a set time, then
# keeps the minimised corpus in fuzz/corpus/wire_parser/ (commit what it adds: the domain test
# `fuzz_corpus` replays it in CI). Not part of CI. Usage: scripts/fuzz.sh [SECONDS, default 300]
# cargo-fuzz drives libFuzzer through unstable compiler flags; on the stable toolchain this
# project pins, RUSTC_BOOTSTRAP=1 allows them for this build only.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-300}
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
export RUSTC_BOOTSTRAP=1
cd fuzz
cargo fuzz run wire_parser corpus/wire_parser -- -max_total_time="$secs" -max_len=65536 -dict=../fuzz/wire.dict 2>&1 | tail -20
cargo fuzz cmin wire_parser corpus/wire_parser 2>&1 | tail -3
echo "corpus: $(ls corpus/wire_parser | wc -l) inputs in fuzz/corpus/wire_parser"
