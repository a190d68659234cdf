"""Reference values for Tradewatch's performance metrics, from empyrical-reloaded (pinned) and,
where empyrical has no function, from numpy / scipy / pandas with the formula written out.

Regenerate (nothing else downloads; PyPI only):
    python3 -m venv /tmp/pyref && /tmp/pyref/bin/pip install -r scripts/reference/requirements.txt
    /tmp/pyref/bin/python scripts/reference/metrics_fixtures.py > domain/tests/fixtures/metrics_reference.json

Series (all from the bundled data/, simple daily close-to-close returns):
  - aapl:       AAPL alone, 1990-2022 (8,312 returns)
  - equal_weight: the 20 stocks, equal weight rebalanced daily (mean of the 20 returns)
  - xom_2014:   XOM from 2014, a shorter series with a deep drawdown
  - replay:     the replay's own equity (domain/tests/fixtures/replay_equity_returns.csv, made by
                `cargo run -p engine --example replay_returns`; an engine test checks it is still
                what the replay makes), on the S&P 500's dates
Benchmark: the S&P 500 index (data/sp500_index.csv.gz), same dates.

Also `regimes`: the S&P 500's regime labels per date (trend / mean-reverting by the 20-day
efficiency ratio >= 0.3; high / low volatility by the percentile rank of the 20-day realized
volatility among the previous 252 days' values, >= 75%, from 126 of them; risk-off at a
drawdown <= -10%), computed here with pandas rolling windows, for `domain::regime::classify`.

Also `correlation`: pandas `DataFrame.pct_change(fill_method=None).corr()` (Pearson, pairwise
complete) of the 20 stocks' daily closes, for `domain::risk::Correlation` (engine test).
"""
import json
import sys

import empyrical as ep
import numpy as np
import pandas as pd
from scipy import stats

ANN = 252


def series():
    px = pd.read_csv("data/sp500_dataset.csv.gz", index_col="Date", parse_dates=True)
    ix = pd.read_csv("data/sp500_index.csv.gz", index_col="Date", parse_dates=True)["SP500"]
    r = px.pct_change().iloc[1:]
    b = ix.pct_change().iloc[1:]
    replay = pd.read_csv("domain/tests/fixtures/replay_equity_returns.csv", index_col="date", parse_dates=True)["return"]
    return {
        "aapl": (r["AAPL"], b),
        "equal_weight": (r.mean(axis=1), b),
        "xom_2014": (r["XOM"].loc["2014-01-01":], b.loc["2014-01-01":]),
        "replay": (replay, b),
    }


def drawdown_details(r):
    wealth = np.concatenate([[1.0], np.cumprod(1 + r.values)])
    peak = np.maximum.accumulate(wealth)
    dd = wealth / peak - 1
    return dd[1:]


def gaussian(r, level):
    mu, sd = r.mean(), r.std(ddof=1)
    z = stats.norm.ppf(1 - level)
    var = mu + z * sd
    cvar = mu - sd * stats.norm.pdf(z) / (1 - level)
    return var, cvar


def compute(r, b):
    r, b = r.align(b, join="inner")
    dd = drawdown_details(r)
    monthly = ep.aggregate_returns(r, "monthly")
    yearly = ep.aggregate_returns(r, "yearly")
    active = r - b
    out = {
        "n": len(r),
        "returns": [[d.strftime("%Y-%m-%d"), float(x)] for d, x in r.items()],
        "benchmark": [float(x) for x in b.values],
        "cumulative_return": ep.cum_returns_final(r),
        "cagr": ep.cagr(r),
        "annual_volatility": ep.annual_volatility(r),
        "sharpe": ep.sharpe_ratio(r),
        "sortino": ep.sortino_ratio(r),
        "downside_risk": ep.downside_risk(r),
        "calmar": ep.calmar_ratio(r),
        "omega": ep.omega_ratio(r),
        "max_drawdown": ep.max_drawdown(r),
        # Ulcer index (Martin 1987): root mean square of the drawdowns (fractions, not %), one per
        # return.
        "ulcer_index": float(np.sqrt(np.mean(dd ** 2))),
        "var_95": ep.value_at_risk(r, 0.05),
        "var_99": ep.value_at_risk(r, 0.01),
        "cvar_95": ep.conditional_value_at_risk(r, 0.05),
        "cvar_99": ep.conditional_value_at_risk(r, 0.01),
        "var_95_gaussian": gaussian(r, 0.95)[0],
        "cvar_95_gaussian": gaussian(r, 0.95)[1],
        "var_99_gaussian": gaussian(r, 0.99)[0],
        "cvar_99_gaussian": gaussian(r, 0.99)[1],
        # pandas: bias-adjusted sample skewness (G1) and excess kurtosis (G2), as quantstats.
        "skew": float(r.skew()),
        "kurtosis": float(r.kurt()),
        "tail_ratio": ep.tail_ratio(r),
        "best_day": float(r.max()),
        "worst_day": float(r.min()),
        "best_month": float(monthly.max()),
        "worst_month": float(monthly.min()),
        "monthly_returns": [[int(y), int(m), float(v)] for (y, m), v in monthly.items()],
        "yearly_returns": [[int(y), float(v)] for y, v in yearly.items()],
        "alpha": ep.alpha(r, b),
        "beta": ep.beta(r, b),
        "correlation": float(np.corrcoef(r.values, b.values)[0, 1]),
        # Annualised: empyrical excess_sharpe (mean / sample std of active returns) * sqrt(252).
        "information_ratio": ep.excess_sharpe(r, b) * np.sqrt(ANN),
        "tracking_error": float(active.std(ddof=1) * np.sqrt(ANN)),
        "rolling_window": 126,
        "rolling_sharpe_last": float(ep.roll_sharpe_ratio(r, 126).iloc[-1]),
        "rolling_volatility_last": float(ep.roll_annual_volatility(r, 126).iloc[-1]),
        "rolling_beta_last": float(ep.roll_beta(r, b, 126).iloc[-1]),
        "rolling_sharpe_count": int(ep.roll_sharpe_ratio(r, 126).shape[0]),
    }
    return {k: (float(v) if isinstance(v, (np.floating, float)) else v) for k, v in out.items()}


def regimes():
    ix = pd.read_csv("data/sp500_index.csv.gz", index_col="Date", parse_dates=True)["SP500"]
    r = ix.pct_change().iloc[1:]
    level = pd.Series(np.concatenate([[1.0], np.cumprod(1 + r.values)]))
    er = (level.diff(20).abs() / level.diff().abs().rolling(20).sum()).iloc[1:].values
    vol = (r.rolling(20).std(ddof=1) * np.sqrt(ANN)).values
    dd = (level / level.cummax() - 1).iloc[1:].values
    labels = []
    for i in range(len(r)):
        trend = None if np.isnan(er[i]) else ("trend" if er[i] >= 0.3 else "mean-reverting")
        v = vol[i]
        past = vol[max(0, i - 252):i]
        past = past[~np.isnan(past)]
        volatility = None
        if not np.isnan(v) and len(past) >= 126:
            volatility = "high" if (past < v).sum() / len(past) >= 0.75 else "low"
        risk = "risk-off" if dd[i] <= -0.10 else "risk-on"
        labels.append([trend, volatility, risk])
    return {"dates": [d.strftime("%Y-%m-%d") for d in r.index], "labels": labels}


def main():
    versions = {"empyrical-reloaded": ep.__version__, "numpy": np.__version__, "pandas": pd.__version__, "scipy": __import__("scipy").__version__}
    data = {name: compute(r, b) for name, (r, b) in series().items()}
    px = pd.read_csv("data/sp500_dataset.csv.gz", index_col="Date", parse_dates=True)
    corr = px.pct_change(fill_method=None).corr()
    correlation = {"instruments": list(corr.columns), "matrix": [[float(x) for x in row] for row in corr.values]}
    json.dump({"generated_by": "scripts/reference/metrics_fixtures.py", "versions": versions, "series": data, "correlation": correlation, "regimes": regimes()}, sys.stdout, indent=None, separators=(",", ":"))


if __name__ == "__main__":
    main()
