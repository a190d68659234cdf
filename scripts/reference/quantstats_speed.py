"""QuantStats' full HTML tear sheet on the S&P 500 index's daily returns (data/sp500_index.csv.gz):
the figure `scripts/report_speed.sh` compares Tradewatch's weekly report (HTML + PDF) with.
Prints one JSON line: the median of RUNS runs (default 3)."""
import json
import os
import sys
import tempfile
import time
import warnings

import pandas as pd
import quantstats as qs

warnings.filterwarnings("ignore")
path = sys.argv[1] if len(sys.argv) > 1 else "data/sp500_index.csv.gz"
closes = pd.read_csv(path, parse_dates=["Date"], index_col="Date")["SP500"]
returns = closes.pct_change().dropna()
runs = int(os.environ.get("RUNS", "3"))
times = []
with tempfile.TemporaryDirectory() as d:
    for i in range(runs):
        started = time.perf_counter()
        qs.reports.html(returns, output=os.path.join(d, f"r{i}.html"), title="S&P 500 as a fund")
        times.append(time.perf_counter() - started)
times.sort()
print(json.dumps({"returns": len(returns), "runs": runs, "median_s": round(times[len(times) // 2], 4), "quantstats": qs.__version__}))
