#!/usr/bin/env bash
# The weekly report's speed against QuantStats, side by side in one run, on the same returns:
# the S&P 500 index's daily closes since 1990 (8,312 returns). Tradewatch: build + HTML + PDF
# (release build); QuantStats: reports.html (from PyPI, in a venv under target/). Prints both and
# the ratio.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=target/quantstats-venv
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c "import quantstats" 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q quantstats==0.0.86
fi
cargo build -q --release -p reports --example speed
ours=$(RUNS=${RUNS:-5} target/release/examples/speed data/sp500_index.csv.gz)
theirs=$("$venv/bin/python" scripts/reference/quantstats_speed.py data/sp500_index.csv.gz)
echo "tradewatch (build + HTML + PDF): $ours"
echo "quantstats reports.html:         $theirs"
python3 - "$ours" "$theirs" <<'PY'
import json, sys
a, b = json.loads(sys.argv[1]), json.loads(sys.argv[2])
print(f"ratio: QuantStats takes {b['median_s'] / a['median_s']:.0f}x as long ({b['median_s']:.2f} s against {a['median_s'] * 1000:.0f} ms)")
PY
