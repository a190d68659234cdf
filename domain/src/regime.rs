//! Market regimes, read from the benchmark (the S&P 500 index) day by day, and the fund's
//! performance by regime and around regime changes. Each regime names its method:
//!
//! - **trend / mean-reverting**: Kaufman's efficiency ratio of the index over `er_window` days,
//!   `|P_t - P_{t-n}| / sum |P_i - P_{i-1}|`; trend when `>= er_trend`.
//! - **high / low volatility**: the index's realized volatility over `vol_window` days (sample
//!   std of daily returns x sqrt(252)), ranked against its own values over the previous
//!   `vol_lookback` days; high when the percentile rank is `>= vol_high_rank`.
//! - **risk-on / risk-off**: the index's drawdown below its running peak; risk-off at or below
//!   `risk_off_drawdown`.
//!
//! A day is labelled with data up to and including its close; a day without an index close
//! (a weekend, a holiday) takes the last close's labels if at most [`MAX_STALE_DAYS`] old. Days
//! before a window is full have no label and are left out of the by-regime figures (they are counted as `unlabelled`
//! in the PnL split, which therefore still sums to the total).
use std::collections::BTreeMap;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::analytics::Bucket;
use crate::metrics::{self, ClosedTrade, TRADING_DAYS};

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RegimeParams {
    pub er_window: usize,
    pub er_trend: f64,
    pub vol_window: usize,
    pub vol_lookback: usize,
    pub vol_high_rank: f64,
    pub risk_off_drawdown: f64,
    /// Days of fund returns before and after a regime change in the event study.
    pub days_before: usize,
    pub days_after: usize,
}

impl Default for RegimeParams {
    fn default() -> Self {
        Self { er_window: 20, er_trend: 0.3, vol_window: 20, vol_lookback: 252, vol_high_rank: 0.75, risk_off_drawdown: -0.10, days_before: 5, days_after: 10 }
    }
}

/// A day without an index close takes the regime of the last close at most this many calendar
/// days before it.
pub const MAX_STALE_DAYS: i64 = 5;

/// The three ways of reading the market, in a fixed order.
pub const DIMENSIONS: [&str; 3] = ["trend", "volatility", "risk"];

/// One day's labels, by [`DIMENSIONS`] (`None` before the method's window is full).
pub type Labels = [Option<&'static str>; 3];

/// The method of each dimension, for labels and footnotes.
pub fn method(dimension: &str, p: &RegimeParams) -> String {
    match dimension {
        "trend" => format!("efficiency ratio of the S&P 500 over {} days; trend when >= {}", p.er_window, p.er_trend),
        "volatility" => format!(
            "{}-day realized volatility of the S&P 500, percentile rank over the previous {} days; high when >= {:.0}%",
            p.vol_window,
            p.vol_lookback,
            p.vol_high_rank * 100.0
        ),
        _ => format!("drawdown of the S&P 500 below its running peak; risk-off at or below {:.0}%", p.risk_off_drawdown * 100.0),
    }
}

/// Labels each date of the benchmark's simple daily returns (dates ascending).
pub fn classify(benchmark: &BTreeMap<NaiveDate, f64>, p: &RegimeParams) -> BTreeMap<NaiveDate, Labels> {
    let (dates, returns): (Vec<NaiveDate>, Vec<f64>) = benchmark.iter().map(|(d, r)| (*d, *r)).unzip();
    // Index level, 1 before the first return.
    let mut level = Vec::with_capacity(returns.len() + 1);
    level.push(1.0);
    for r in &returns {
        let last = level.last().copied().unwrap_or(1.0);
        level.push(last * (1.0 + r));
    }
    let mut vols: Vec<Option<f64>> = Vec::with_capacity(returns.len());
    let mut peak = 1.0f64;
    let mut out = BTreeMap::new();
    for (i, d) in dates.iter().enumerate() {
        let li = i + 1; // index of today's close in `level`
        let trend = (li >= p.er_window).then(|| {
            let path: f64 = (li - p.er_window..li).map(|j| (level[j + 1] - level[j]).abs()).sum();
            let er = if path > 0.0 { (level[li] - level[li - p.er_window]).abs() / path } else { 0.0 };
            if er >= p.er_trend { "trend" } else { "mean-reverting" }
        });
        let vol = (i + 1 >= p.vol_window).then(|| metrics::std_dev(&returns[i + 1 - p.vol_window..=i]).map(|s| s * TRADING_DAYS.sqrt())).flatten();
        vols.push(vol);
        let volatility = vol.and_then(|v| {
            let past: Vec<f64> = vols[i.saturating_sub(p.vol_lookback)..i].iter().flatten().copied().collect();
            (past.len() >= p.vol_lookback / 2).then(|| {
                let rank = past.iter().filter(|x| **x < v).count() as f64 / past.len() as f64;
                if rank >= p.vol_high_rank { "high" } else { "low" }
            })
        });
        peak = peak.max(level[li]);
        let risk = Some(if level[li] / peak - 1.0 <= p.risk_off_drawdown { "risk-off" } else { "risk-on" });
        out.insert(*d, [trend, volatility, risk]);
    }
    out
}

/// The fund over the days of one regime (per-period figures of daily returns).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct RegimeStats {
    pub dimension: String,
    pub regime: String,
    pub days: u64,
    /// Share of the labelled days of this dimension.
    pub share_of_days: f64,
    /// Daily returns of these days compounded.
    pub cumulative_return: f64,
    pub mean_daily_return: Option<f64>,
    pub annual_volatility: Option<f64>,
    pub sharpe: Option<f64>,
    /// Share of these days with a positive return.
    pub positive_days: Option<f64>,
    /// S&P 500 daily returns of the same days, compounded.
    pub benchmark_cumulative_return: f64,
}

/// The fund's cumulative return around changes into one regime, averaged over the changes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct TransitionStats {
    pub dimension: String,
    pub from: String,
    pub to: String,
    /// Changes with a full window of fund returns around them.
    pub count: u64,
    /// Mean compounded return over the `days_before` days before the change.
    pub mean_before: Option<f64>,
    /// Mean compounded return from the day of the change over `days_after` days.
    pub mean_after: Option<f64>,
    /// Mean wealth relative to the close before the change, for offsets `-days_before..=days_after-1`
    /// (offset 0 is the day of the change): `(offset, W(offset) / W(-1) - 1)`.
    pub path: Vec<(i64, f64)>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct RegimeReport {
    pub params: Option<RegimeParams>,
    /// The last date of the benchmark: later days have no regime.
    pub benchmark_last: Option<NaiveDate>,
    /// (dimension, method) in [`DIMENSIONS`] order.
    pub methods: Vec<(String, String)>,
    /// The labels of the last fund date, by dimension.
    pub current: Vec<(String, String)>,
    pub stats: Vec<RegimeStats>,
    pub transitions: Vec<TransitionStats>,
    /// Realized PnL of closed trades by the regime of their closing day, per dimension; each
    /// sums to the total exactly (`unlabelled` holds days without a label).
    pub pnl: Vec<(String, Vec<Bucket>)>,
    /// Labelled spans for the timeline: (dimension, regime, first date, last date).
    pub spans: Vec<(String, String, NaiveDate, NaiveDate)>,
}

fn compound(rs: impl IntoIterator<Item = f64>) -> f64 {
    rs.into_iter().fold(1.0, |w, r| w * (1.0 + r)) - 1.0
}

impl RegimeReport {
    /// The fund's daily returns (`dates` ascending) and closed trades against the regimes of
    /// the benchmark.
    pub fn compute(dates: &[NaiveDate], returns: &[f64], trades: &[ClosedTrade], benchmark: &BTreeMap<NaiveDate, f64>, p: &RegimeParams) -> RegimeReport {
        Self::compute_with(dates, returns, trades, benchmark, &classify(benchmark, p), p)
    }

    /// As [`RegimeReport::compute`], with the benchmark's labels already made by [`classify`]
    /// (they depend only on the benchmark and the parameters, so callers may keep them).
    pub fn compute_with(dates: &[NaiveDate], returns: &[f64], trades: &[ClosedTrade], benchmark: &BTreeMap<NaiveDate, f64>, labels: &BTreeMap<NaiveDate, Labels>, p: &RegimeParams) -> RegimeReport {
        // As of the latest index close at most `MAX_STALE_DAYS` before (weekends and holidays
        // take the last trading day's regime; days past the index's end have none).
        let label_of = |d: &NaiveDate, k: usize| labels.range(..=*d).next_back().filter(|(ld, _)| (*d - **ld).num_days() <= MAX_STALE_DAYS).and_then(|(_, l)| l[k]);
        let mut report = RegimeReport { params: Some(*p), benchmark_last: benchmark.keys().next_back().copied(), ..Default::default() };
        for (k, dim) in DIMENSIONS.iter().enumerate() {
            report.methods.push((dim.to_string(), method(dim, p)));
            if let Some(l) = dates.last().and_then(|d| label_of(d, k)) {
                report.current.push((dim.to_string(), l.to_string()));
            }
            // By regime.
            let mut groups: BTreeMap<&str, (Vec<f64>, Vec<f64>)> = BTreeMap::new();
            for (d, r) in dates.iter().zip(returns) {
                if let Some(l) = label_of(d, k) {
                    let g = groups.entry(l).or_default();
                    g.0.push(*r);
                    g.1.push(benchmark.get(d).copied().unwrap_or(0.0));
                }
            }
            let labelled: usize = groups.values().map(|g| g.0.len()).sum();
            for (regime, (rs, bs)) in &groups {
                report.stats.push(RegimeStats {
                    dimension: dim.to_string(),
                    regime: regime.to_string(),
                    days: rs.len() as u64,
                    share_of_days: rs.len() as f64 / labelled.max(1) as f64,
                    cumulative_return: compound(rs.iter().copied()),
                    mean_daily_return: metrics::mean(rs),
                    annual_volatility: metrics::std_dev(rs).map(|s| s * TRADING_DAYS.sqrt()),
                    sharpe: metrics::sharpe(rs, TRADING_DAYS),
                    positive_days: (!rs.is_empty()).then(|| rs.iter().filter(|r| **r > 0.0).count() as f64 / rs.len() as f64),
                    benchmark_cumulative_return: compound(bs.iter().copied()),
                });
            }
            // Around changes, on the fund's own dates.
            let mut events: BTreeMap<(&str, &str), Vec<Vec<f64>>> = BTreeMap::new();
            let mut prev: Option<&str> = None;
            for (i, d) in dates.iter().enumerate() {
                let Some(l) = label_of(d, k) else { continue };
                if let Some(from) = prev.filter(|f| *f != l)
                    && i >= p.days_before
                    && i + p.days_after <= returns.len()
                {
                    events.entry((from, l)).or_default().push(returns[i - p.days_before..i + p.days_after].to_vec());
                }
                prev = Some(l);
            }
            for ((from, to), windows) in events {
                let n = windows.len() as f64;
                let before: Vec<f64> = windows.iter().map(|w| compound(w[..p.days_before].iter().copied())).collect();
                let after: Vec<f64> = windows.iter().map(|w| compound(w[p.days_before..].iter().copied())).collect();
                let path = (0..p.days_before + p.days_after)
                    .map(|j| {
                        let mean = windows
                            .iter()
                            .map(|w| {
                                let w_pre = compound(w[..p.days_before].iter().copied()) + 1.0;
                                (compound(w[..=j].iter().copied()) + 1.0) / w_pre - 1.0
                            })
                            .sum::<f64>()
                            / n;
                        (j as i64 - p.days_before as i64, mean)
                    })
                    .collect();
                report.transitions.push(TransitionStats {
                    dimension: dim.to_string(),
                    from: from.to_string(),
                    to: to.to_string(),
                    count: windows.len() as u64,
                    mean_before: metrics::mean(&before),
                    mean_after: metrics::mean(&after),
                    path,
                });
            }
            // Realized PnL by the regime of the closing day.
            let mut pnl: BTreeMap<&str, (Decimal, u64)> = BTreeMap::new();
            for t in trades {
                let e = pnl.entry(label_of(&t.closed.date_naive(), k).unwrap_or("unlabelled")).or_insert((Decimal::ZERO, 0));
                e.0 += t.pnl;
                e.1 += 1;
            }
            report.pnl.push((dim.to_string(), pnl.into_iter().map(|(key, (pnl, trades))| Bucket { key: key.to_string(), pnl, trades }).collect()));
            // Spans over the fund's dates.
            let mut span: Option<(&str, NaiveDate, NaiveDate)> = None;
            for d in dates {
                let l = label_of(d, k);
                match (&mut span, l) {
                    (Some((cur, _, end)), Some(l)) if *cur == l => *end = *d,
                    (_, l) => {
                        if let Some((cur, start, end)) = span.take() {
                            report.spans.push((dim.to_string(), cur.to_string(), start, end));
                        }
                        span = l.map(|l| (l, *d, *d));
                    }
                }
            }
            if let Some((cur, start, end)) = span {
                report.spans.push((dim.to_string(), cur.to_string(), start, end));
            }
        }
        report
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn days(n: usize) -> Vec<NaiveDate> {
        let d0 = NaiveDate::from_ymd_opt(2020, 1, 1).unwrap_or_default();
        (0..n).map(|i| d0 + chrono::Duration::days(i as i64)).collect()
    }

    #[test]
    fn a_steady_climb_is_a_trend_and_a_zigzag_is_not() {
        let p = RegimeParams::default();
        let d = days(60);
        let up: BTreeMap<NaiveDate, f64> = d.iter().map(|d| (*d, 0.01)).collect();
        let zig: BTreeMap<NaiveDate, f64> = d.iter().enumerate().map(|(i, d)| (*d, if i % 2 == 0 { 0.01 } else { -0.01 })).collect();
        let last = |m: &BTreeMap<NaiveDate, Labels>| m.values().last().copied().unwrap_or([None; 3]);
        assert_eq!(last(&classify(&up, &p))[0], Some("trend"));
        assert_eq!(last(&classify(&zig, &p))[0], Some("mean-reverting"));
        assert_eq!(classify(&up, &p)[&d[p.er_window - 2]][0], None, "no label before the window is full");
    }

    #[test]
    fn a_ten_percent_fall_is_risk_off_and_a_calm_market_turning_wild_is_high_volatility() {
        let p = RegimeParams::default();
        let d = days(400);
        // 300 calm days (+-0.2%), then 100 wild days (+-3%) drifting down.
        let b: BTreeMap<NaiveDate, f64> = d.iter().enumerate().map(|(i, d)| (*d, if i < 300 { if i % 2 == 0 { 0.002 } else { -0.002 } } else if i % 2 == 0 { 0.03 } else { -0.035 })).collect();
        let l = classify(&b, &p);
        assert_eq!(l[&d[250]], [Some("mean-reverting"), Some("low"), Some("risk-on")]);
        assert_eq!(l[&d[330]][1], Some("high"));
        assert_eq!(l[&d[399]][2], Some("risk-off"));
        let returns: Vec<f64> = d.iter().map(|_| 0.001).collect();
        let r = RegimeReport::compute(&d, &returns, &[], &b, &p);
        let risk_off = r.stats.iter().find(|s| s.dimension == "risk" && s.regime == "risk-off");
        assert!(risk_off.is_some_and(|s| s.days > 0 && s.cumulative_return > 0.0));
        let into_off = r.transitions.iter().find(|t| t.dimension == "risk" && t.to == "risk-off");
        assert!(into_off.is_some_and(|t| t.count >= 1 && t.path.len() == p.days_before + p.days_after), "{:?}", r.transitions);
        // Constant 0.1% a day: 10 days after compound to 1.001^10 - 1.
        assert!(into_off.and_then(|t| t.mean_after).is_some_and(|x| (x - (1.001f64.powi(10) - 1.0)).abs() < 1e-12));
        assert!(r.spans.iter().any(|s| s.0 == "volatility" && s.1 == "high"));
        // A fund day after the index's last close takes its regime for 5 days, then none.
        let after = [d[399] + chrono::Duration::days(2), d[399] + chrono::Duration::days(9)];
        let r = RegimeReport::compute(&after, &[0.01, 0.01], &[], &b, &p);
        assert_eq!(r.stats.iter().filter(|s| s.dimension == "risk").map(|s| s.days).sum::<u64>(), 1);
    }

    proptest! {
        #[test]
        fn pnl_by_regime_sums_to_the_total_and_days_to_the_labelled_days(
            bench in prop::collection::vec(-0.04f64..0.04, 30..300),
            pnl in prop::collection::vec((-100_000i64..100_000, 0usize..300), 0..60),
        ) {
            let p = RegimeParams::default();
            let d = days(bench.len());
            let b: BTreeMap<NaiveDate, f64> = d.iter().copied().zip(bench.iter().copied()).collect();
            let trades: Vec<ClosedTrade> = pnl.iter().map(|(c, day)| ClosedTrade {
                pnl: Decimal::new(*c, 2),
                closed: (d[0] + chrono::Duration::days(*day as i64)).and_hms_opt(20, 0, 0).unwrap_or_default().and_utc(),
                ..Default::default()
            }).collect();
            let total: Decimal = trades.iter().map(|t| t.pnl).sum();
            let r = RegimeReport::compute(&d, &bench, &trades, &b, &p);
            for (dim, buckets) in &r.pnl {
                prop_assert_eq!(buckets.iter().map(|b| b.pnl).sum::<Decimal>(), total, "{}", dim);
            }
            let labels = classify(&b, &p);
            for (k, dim) in DIMENSIONS.iter().enumerate() {
                let labelled = labels.values().filter(|l| l[k].is_some()).count() as u64;
                prop_assert_eq!(r.stats.iter().filter(|s| s.dimension == *dim).map(|s| s.days).sum::<u64>(), labelled);
            }
        }
    }
}
