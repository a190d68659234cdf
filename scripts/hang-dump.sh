#!/usr/bin/env bash
# Hunts the intermittent hang (README, "Known limits"): builds the API tests with tokio's task
# dumps compiled in, runs the whole suite up to RUNS times (default 40) and stops at the first run
# where a test's console is still running after 40 s; that test has then written every task of its
# runtime, with the `.await` each one waits in, to /tmp/taskdump-<test>.txt.
#
#   bash scripts/hang-dump.sh [RUNS]
#
# On this machine (2 cores) the suite hung 3 times in 51 runs of ~32 s (12-06). Its own target directory
# (target/taskdump): other RUSTFLAGS would rebuild the main one. The first build takes ~10 min.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-40}
# Environment RUSTFLAGS replace .cargo/config.toml's, so erase_components is repeated here.
export RUSTFLAGS="--cfg erase_components --cfg tokio_unstable --cfg tokio_taskdump"
export CARGO_TARGET_DIR=target/taskdump
cargo test -p server --features tokio/taskdump --test api --no-run
bin=$(ls -t target/taskdump/debug/deps/api-* | grep -v '\.d$' | head -1)
rm -f /tmp/taskdump-*.txt
for i in $(seq 1 "$runs"); do
  start=$SECONDS
  # The tests run from the package's directory, as under cargo test.
  (cd server && timeout -s INT 120 "../$bin" > /tmp/hang-dump-run.log 2>&1) || true
  if ls /tmp/taskdump-*.txt > /dev/null 2>&1; then
    echo "run $i: a test was still running after 40 s; its runtime's tasks:"
    ls /tmp/taskdump-*.txt
    grep 'running for over' /tmp/hang-dump-run.log || true
    exit 0
  fi
  echo "run $i: $(grep -h 'test result' /tmp/hang-dump-run.log || echo 'no result') ($((SECONDS - start)) s)"
done
echo "no hang in $runs runs"
