//! Performance and risk statistics on return and equity series (`f64`: statistics, not money).
//!
//! Conventions follow empyrical (empyrical-reloaded 0.7.1, the reference the tests compare with,
//! see `domain/tests/metrics_reference.rs`): simple periodic returns, sample standard deviation
//! (ddof = 1), annualisation by `periods_per_year` (252 for daily), risk-free rate 0. Where
//! empyrical has no function the convention is stated on the field of [`MetricSet`].
use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};
use crate::series::Point;
use statrs::distribution::{Continuous, ContinuousCDF, Normal};

/// Trading days in a year, for annualising daily figures.
pub const TRADING_DAYS: f64 = 252.0;

/// Simple returns `x[i] / x[i-1] - 1` of a positive series; pairs with a non-positive base are skipped.
pub fn simple_returns(series: &[f64]) -> Vec<f64> {
    series.windows(2).filter(|w| w[0] > 0.0).map(|w| w[1] / w[0] - 1.0).collect()
}

/// Denominator floors below which a ratio is undefined (`None`, shown as "—"), not a huge number:
/// - a per-period standard deviation (Sharpe, Sortino's downside risk, tracking error for the
///   information ratio, the rolling Sharpe): [`STD_FLOOR`];
/// - a per-period variance (beta) or product of deviations (correlation): [`VAR_FLOOR`];
/// - a drawdown (Calmar), a sum of losing returns (Omega), the 5th percentile (tail ratio):
///   [`RETURN_FLOOR`];
/// - money in USD (profit factor, payoff ratio, the KPIs' profit retention): [`MONEY_FLOOR`].
pub const STD_FLOOR: f64 = 1e-10;
pub const VAR_FLOOR: f64 = 1e-20;
pub const RETURN_FLOOR: f64 = 1e-9;
pub const MONEY_FLOOR: f64 = 0.01;

/// `num / den`, or `None` when `|den|` is below `floor` or the result is not finite.
pub fn ratio(num: f64, den: f64, floor: f64) -> Option<f64> {
    if !(den.abs() >= floor) {
        return None;
    }
    finite(num / den)
}

pub fn mean(xs: &[f64]) -> Option<f64> {
    (!xs.is_empty()).then(|| xs.iter().sum::<f64>() / xs.len() as f64)
}

/// Sample standard deviation (ddof = 1); `None` for fewer than 2 values.
pub fn std_dev(xs: &[f64]) -> Option<f64> {
    if xs.len() < 2 {
        return None;
    }
    let m = mean(xs)?;
    let var = xs.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (xs.len() as f64 - 1.0);
    Some(var.sqrt())
}

/// Annualised Sharpe ratio of periodic returns: `mean / std * sqrt(periods_per_year)`, risk-free 0.
/// Same as empyrical `sharpe_ratio`. `None` for fewer than 2 returns or a standard deviation
/// under [`STD_FLOOR`].
pub fn sharpe(returns: &[f64], periods_per_year: f64) -> Option<f64> {
    let sd = std_dev(returns)?;
    ratio(mean(returns)?, sd, STD_FLOOR).map(|x| x * periods_per_year.sqrt())
}

/// Drawdown at each point: `x / running_peak - 1`, always `<= 0`.
pub fn drawdowns(equity: &[f64]) -> Vec<f64> {
    let mut peak = f64::NEG_INFINITY;
    equity
        .iter()
        .map(|&x| {
            peak = peak.max(x);
            if peak > 0.0 { (x / peak - 1.0).min(0.0) } else { 0.0 }
        })
        .collect()
}

/// Deepest drawdown, a fraction `<= 0` (0 for an empty or never-falling series).
pub fn max_drawdown(equity: &[f64]) -> f64 {
    drawdowns(equity).into_iter().fold(0.0, f64::min)
}

/// Gross profit / gross loss (both positive numbers, USD). `None` for losses under [`MONEY_FLOOR`].
pub fn profit_factor(gross_profit: f64, gross_loss: f64) -> Option<f64> {
    ratio(gross_profit, gross_loss, MONEY_FLOOR)
}


/// Window of the rolling figures, in periods (126 trading days: six months).
pub const ROLLING_WINDOW: usize = 126;

/// A drawdown episode: from the peak before it to the recovery of that peak.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DrawdownEpisode {
    /// Depth at the trough, a fraction <= 0.
    pub depth: f64,
    /// Date of the peak (the close the drawdown is measured from).
    pub start: NaiveDate,
    pub trough: NaiveDate,
    /// First date back at (or above) the peak; `None` while not recovered.
    pub recovery: Option<NaiveDate>,
    /// Calendar days from the peak to the recovery (or to the last date, if not recovered).
    pub duration_days: i64,
}

/// Return of one calendar month (`month` 1-12) or year (`month` = None), compounded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PeriodReturn {
    pub year: i32,
    pub month: Option<u32>,
    #[serde(rename = "return")]
    pub ret: f64,
}

/// The full per-period metric set of a return series (fractions, not %: 0.12 = 12%). Every
/// figure is `None` when it is undefined for the series (too short, no dispersion, no losses).
/// All are **per period** figures (from daily returns), not per trade.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct MetricSet {
    /// Number of returns.
    pub periods: usize,
    pub start: Option<NaiveDate>,
    pub end: Option<NaiveDate>,
    /// `prod(1 + r) - 1` (empyrical `cum_returns_final`).
    pub cumulative_return: Option<f64>,
    /// `(1 + cumulative)^(252 / n) - 1` (empyrical `cagr` / `annual_return`).
    pub cagr: Option<f64>,
    /// `std(r, ddof=1) * sqrt(252)` (empyrical `annual_volatility`).
    pub annual_volatility: Option<f64>,
    /// `mean(r) / std(r, ddof=1) * sqrt(252)` (empyrical `sharpe_ratio`).
    pub sharpe: Option<f64>,
    /// `mean(r) * 252 / downside_risk` (empyrical `sortino_ratio`, required return 0).
    pub sortino: Option<f64>,
    /// `sqrt(mean(min(r, 0)^2)) * sqrt(252)` (empyrical `downside_risk`).
    pub downside_risk: Option<f64>,
    /// `cagr / |max_drawdown|` (empyrical `calmar_ratio`).
    pub calmar: Option<f64>,
    /// Sum of gains over sum of losses, threshold 0 (empyrical `omega_ratio`).
    pub omega: Option<f64>,
    /// Deepest fall of the compounded wealth from its running peak, <= 0 (empyrical `max_drawdown`).
    pub max_drawdown: Option<f64>,
    pub max_drawdown_episode: Option<DrawdownEpisode>,
    /// The drawdown that lasted longest (calendar days, peak to recovery or to the end).
    pub longest_drawdown: Option<DrawdownEpisode>,
    /// Ulcer index (Martin): `sqrt(mean(drawdown^2))`, drawdowns as fractions, one per return.
    pub ulcer_index: Option<f64>,
    /// Historical VaR: the 5th / 1st percentile of returns, linear interpolation (empyrical
    /// `value_at_risk`; numpy `percentile`). Negative = a loss.
    pub var_95: Option<f64>,
    pub var_99: Option<f64>,
    /// Historical CVaR (expected shortfall): mean of the returns at or below the VaR cut
    /// (empyrical `conditional_value_at_risk`).
    pub cvar_95: Option<f64>,
    pub cvar_99: Option<f64>,
    /// Gaussian VaR: `mean + z * std(ddof=1)`, `z` the normal quantile of 5% / 1%.
    pub var_95_gaussian: Option<f64>,
    pub var_99_gaussian: Option<f64>,
    /// Gaussian CVaR: `mean - std * pdf(z) / (1 - level)`.
    pub cvar_95_gaussian: Option<f64>,
    pub cvar_99_gaussian: Option<f64>,
    /// Bias-adjusted sample skewness G1 (pandas `skew`, as quantstats).
    pub skew: Option<f64>,
    /// Bias-adjusted sample excess kurtosis G2 (pandas `kurt`, as quantstats; normal = 0).
    pub kurtosis: Option<f64>,
    /// `|95th percentile| / |5th percentile|` (empyrical `tail_ratio`).
    pub tail_ratio: Option<f64>,
    pub best_day: Option<f64>,
    pub worst_day: Option<f64>,
    /// Best / worst calendar month, compounded (empyrical `aggregate_returns(.., 'monthly')`).
    pub best_month: Option<f64>,
    pub worst_month: Option<f64>,
    pub monthly_returns: Vec<PeriodReturn>,
    pub yearly_returns: Vec<PeriodReturn>,
    /// Against the benchmark (same dates): annualised alpha `(1 + mean(r - beta * b))^252 - 1`
    /// (empyrical `alpha`).
    pub alpha: Option<f64>,
    /// `cov(r, b) / var(b)` (empyrical `beta`).
    pub beta: Option<f64>,
    /// Pearson correlation of `r` and `b`.
    pub correlation: Option<f64>,
    /// Annualised information ratio: `mean(r - b) / std(r - b, ddof=1) * sqrt(252)` (empyrical
    /// `excess_sharpe` times `sqrt(252)`).
    pub information_ratio: Option<f64>,
    /// `std(r - b, ddof=1) * sqrt(252)`.
    pub tracking_error: Option<f64>,
    /// Returns that had a benchmark return on the same date (the benchmark figures use these).
    pub benchmark_periods: Option<usize>,
}

/// Rolling figures over [`ROLLING_WINDOW`] periods, one value per period from the window's end
/// (`None` before a full window): Sharpe, annualised volatility, beta.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Rolling {
    pub window: usize,
    pub sharpe: Vec<Option<f64>>,
    pub volatility: Vec<Option<f64>>,
    pub beta: Vec<Option<f64>>,
}

fn finite(x: f64) -> Option<f64> {
    x.is_finite().then_some(x)
}

/// numpy `percentile` with linear interpolation, on sorted values; `q` in 0..=1.
pub fn percentile_sorted(sorted: &[f64], q: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = q * (sorted.len() - 1) as f64;
    let lo = rank.floor() as usize;
    let hi = (lo + 1).min(sorted.len() - 1);
    Some(sorted[lo] + (sorted[hi] - sorted[lo]) * (rank - lo as f64))
}

/// Historical CVaR as empyrical: the mean of the `floor((n - 1) * cutoff) + 1` smallest returns.
fn cvar_sorted(sorted: &[f64], cutoff: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let k = ((sorted.len() - 1) as f64 * cutoff) as usize + 1;
    mean(&sorted[..k])
}

/// Beta of `r` on `b` as empyrical: `mean((b - mean b) * r) / mean((b - mean b)^2)`.
fn beta_of(r: &[f64], b: &[f64]) -> Option<f64> {
    let mb = mean(b)?;
    let (mut cov, mut var) = (0.0, 0.0);
    for (x, y) in r.iter().zip(b) {
        let d = y - mb;
        cov += d * x;
        var += d * d;
    }
    let n = r.len().max(1) as f64;
    ratio(cov / n, var / n, VAR_FLOOR)
}

fn gaussian_tail(mu: f64, sd: f64, level: f64) -> Option<(f64, f64)> {
    let n = Normal::new(0.0, 1.0).ok()?;
    let z = n.inverse_cdf(1.0 - level);
    Some((mu + z * sd, mu - sd * n.pdf(z) / (1.0 - level)))
}

/// Drawdown episodes of the compounded wealth of `returns` (anchored at 1 before the first).
fn episodes(dates: &[NaiveDate], returns: &[f64]) -> (Vec<f64>, Vec<DrawdownEpisode>) {
    let mut dd = Vec::with_capacity(returns.len());
    let mut out = Vec::new();
    let (mut wealth, mut peak) = (1.0f64, 1.0f64);
    // (peak index into dates, trough index, depth)
    let mut open: Option<(usize, usize, f64)> = None;
    let mut peak_at = 0usize;
    for (i, r) in returns.iter().enumerate() {
        wealth *= 1.0 + r;
        if wealth >= peak {
            peak = wealth;
            if let Some((p, t, depth)) = open.take() {
                out.push(DrawdownEpisode { depth, start: dates[p], trough: dates[t], recovery: Some(dates[i]), duration_days: (dates[i] - dates[p]).num_days() });
            }
            peak_at = i;
            dd.push(0.0);
        } else {
            let d = wealth / peak - 1.0;
            dd.push(d);
            match &mut open {
                Some((_, t, depth)) if d < *depth => {
                    *t = i;
                    *depth = d;
                }
                Some(_) => {}
                None => open = Some((peak_at, i, d)),
            }
        }
    }
    if let (Some((p, t, depth)), Some(last)) = (open, dates.last()) {
        out.push(DrawdownEpisode { depth, start: dates[p], trough: dates[t], recovery: None, duration_days: (*last - dates[p]).num_days() });
    }
    (dd, out)
}

/// Compounds returns by calendar month and by year.
fn aggregate(dates: &[NaiveDate], returns: &[f64]) -> (Vec<PeriodReturn>, Vec<PeriodReturn>) {
    let mut months: BTreeMap<(i32, u32), f64> = BTreeMap::new();
    let mut years: BTreeMap<i32, f64> = BTreeMap::new();
    for (d, r) in dates.iter().zip(returns) {
        *months.entry((d.year(), d.month())).or_insert(1.0) *= 1.0 + r;
        *years.entry(d.year()).or_insert(1.0) *= 1.0 + r;
    }
    (
        months.into_iter().map(|((year, m), g)| PeriodReturn { year, month: Some(m), ret: g - 1.0 }).collect(),
        years.into_iter().map(|(year, g)| PeriodReturn { year, month: None, ret: g - 1.0 }).collect(),
    )
}

impl MetricSet {
    /// The metric set of `returns`, with the benchmark figures (alpha, beta, correlation,
    /// information ratio, tracking error) computed on the dates the benchmark also has.
    /// `benchmark_periods` says how many that was.
    pub fn compute_against(dates: &[NaiveDate], returns: &[f64], benchmark: &BTreeMap<NaiveDate, f64>, periods_per_year: f64) -> MetricSet {
        let mut m = MetricSet::compute(dates, returns, None, periods_per_year);
        let (mut d, mut r, mut b) = (Vec::new(), Vec::new(), Vec::new());
        for (date, x) in dates.iter().zip(returns) {
            if let Some(y) = benchmark.get(date) {
                d.push(*date);
                r.push(*x);
                b.push(*y);
            }
        }
        let aligned = MetricSet::compute(&d, &r, Some(&b), periods_per_year);
        m.benchmark_periods = Some(d.len());
        (m.alpha, m.beta, m.correlation, m.information_ratio, m.tracking_error) =
            (aligned.alpha, aligned.beta, aligned.correlation, aligned.information_ratio, aligned.tracking_error);
        m
    }

    /// The metric set of simple periodic `returns` on `dates` (same length, ascending), against
    /// an optional `benchmark` of returns on the same dates. `periods_per_year`: 252 for daily.
    pub fn compute(dates: &[NaiveDate], returns: &[f64], benchmark: Option<&[f64]>, periods_per_year: f64) -> MetricSet {
        let n = returns.len().min(dates.len());
        let (dates, r) = (&dates[..n], &returns[..n]);
        let mut m = MetricSet { periods: n, start: dates.first().copied(), end: dates.last().copied(), ..MetricSet::default() };
        if n == 0 {
            return m;
        }
        let ann = periods_per_year;
        let mu = mean(r).unwrap_or(0.0);
        let growth: f64 = r.iter().map(|x| 1.0 + x).product();
        m.cumulative_return = finite(growth - 1.0);
        m.cagr = finite(growth.powf(ann / n as f64) - 1.0);
        let sd = std_dev(r);
        m.annual_volatility = sd.map(|s| s * ann.sqrt());
        m.sharpe = sharpe(r, ann);
        let downside = (r.iter().map(|x| x.min(0.0).powi(2)).sum::<f64>() / n as f64).sqrt() * ann.sqrt();
        m.downside_risk = Some(downside);
        m.sortino = if n >= 2 { ratio(mu * ann, downside, STD_FLOOR * ann.sqrt()) } else { None };
        let (gains, losses) = r.iter().fold((0.0, 0.0), |(g, l), x| if *x > 0.0 { (g + x, l) } else { (g, l - x) });
        m.omega = if n >= 2 { ratio(gains, losses, RETURN_FLOOR) } else { None };

        let (dd, eps) = episodes(dates, r);
        let max_dd = dd.iter().copied().fold(0.0, f64::min);
        m.max_drawdown = Some(max_dd);
        m.calmar = m.cagr.and_then(|c| ratio(c, max_dd.abs(), RETURN_FLOOR));
        m.max_drawdown_episode = eps.iter().min_by(|a, b| a.depth.total_cmp(&b.depth)).cloned();
        m.longest_drawdown = eps.iter().max_by_key(|e| e.duration_days).cloned();
        m.ulcer_index = finite((dd.iter().map(|d| d * d).sum::<f64>() / n as f64).sqrt());

        let mut sorted = r.to_vec();
        sorted.sort_by(f64::total_cmp);
        m.var_95 = percentile_sorted(&sorted, 0.05);
        m.var_99 = percentile_sorted(&sorted, 0.01);
        m.cvar_95 = cvar_sorted(&sorted, 0.05);
        m.cvar_99 = cvar_sorted(&sorted, 0.01);
        if let Some(sd) = sd {
            if let Some((v, c)) = gaussian_tail(mu, sd, 0.95) {
                (m.var_95_gaussian, m.cvar_95_gaussian) = (Some(v), Some(c));
            }
            if let Some((v, c)) = gaussian_tail(mu, sd, 0.99) {
                (m.var_99_gaussian, m.cvar_99_gaussian) = (Some(v), Some(c));
            }
        }
        let p95 = percentile_sorted(&sorted, 0.95).unwrap_or(0.0);
        let p05 = percentile_sorted(&sorted, 0.05).unwrap_or(0.0);
        m.tail_ratio = ratio(p95.abs(), p05.abs(), RETURN_FLOOR);
        m.best_day = sorted.last().copied();
        m.worst_day = sorted.first().copied();

        // Central moments for skew and kurtosis (pandas' bias-adjusted estimators).
        let nf = n as f64;
        let (mut s2, mut s3, mut s4) = (0.0, 0.0, 0.0);
        for x in r {
            let d = x - mu;
            let d2 = d * d;
            s2 += d2;
            s3 += d2 * d;
            s4 += d2 * d2;
        }
        if n >= 3 && s2 > 0.0 {
            let (m2, m3) = (s2 / nf, s3 / nf);
            m.skew = finite((nf * (nf - 1.0)).sqrt() / (nf - 2.0) * m3 / m2.powf(1.5));
        }
        if n >= 4 && s2 > 0.0 {
            let adj = 3.0 * (nf - 1.0).powi(2) / ((nf - 2.0) * (nf - 3.0));
            m.kurtosis = finite(nf * (nf + 1.0) * (nf - 1.0) * s4 / ((nf - 2.0) * (nf - 3.0) * s2 * s2) - adj);
        }

        let (months, years) = aggregate(dates, r);
        m.best_month = months.iter().map(|p| p.ret).max_by(f64::total_cmp);
        m.worst_month = months.iter().map(|p| p.ret).min_by(f64::total_cmp);
        m.monthly_returns = months;
        m.yearly_returns = years;

        if let Some(b) = benchmark.filter(|b| b.len() >= n && n >= 2) {
            let b = &b[..n];
            m.benchmark_periods = Some(n);
            let beta = beta_of(r, b);
            m.beta = beta;
            m.alpha = beta.and_then(|beta| mean(&r.iter().zip(b).map(|(x, y)| x - beta * y).collect::<Vec<_>>())).map(|a| (1.0 + a).powf(ann) - 1.0).and_then(finite);
            let active: Vec<f64> = r.iter().zip(b).map(|(x, y)| x - y).collect();
            let te = std_dev(&active);
            m.tracking_error = te.map(|t| t * ann.sqrt());
            m.information_ratio = te.and_then(|t| mean(&active).and_then(|a| ratio(a, t, STD_FLOOR))).map(|x| x * ann.sqrt());
            let (sb, sr) = (std_dev(b), sd);
            m.correlation = match (sb, sr) {
                (Some(sb), Some(sr)) => {
                    let mb = mean(b).unwrap_or(0.0);
                    let cov = r.iter().zip(b).map(|(x, y)| (x - mu) * (y - mb)).sum::<f64>() / (nf - 1.0);
                    ratio(cov, sb * sr, VAR_FLOOR)
                }
                _ => None,
            };
        }
        m
    }
}

impl Rolling {
    /// Rolling Sharpe, volatility and beta over `window` periods (beta only with a benchmark),
    /// in one pass with running sums (O(n), not O(n * window)).
    pub fn compute(returns: &[f64], benchmark: Option<&[f64]>, window: usize, periods_per_year: f64) -> Rolling {
        let n = returns.len();
        let b = benchmark.filter(|b| b.len() >= n);
        let mut out = Rolling { window, sharpe: Vec::with_capacity(n), volatility: Vec::with_capacity(n), beta: Vec::with_capacity(n) };
        let w = window as f64;
        let (mut sr, mut srr, mut sb, mut sbb, mut srb) = (0.0, 0.0, 0.0, 0.0, 0.0);
        for i in 0..n {
            let (x, y) = (returns[i], b.map(|b| b[i]).unwrap_or(0.0));
            sr += x;
            srr += x * x;
            sb += y;
            sbb += y * y;
            srb += x * y;
            if i >= window {
                let (ox, oy) = (returns[i - window], b.map(|b| b[i - window]).unwrap_or(0.0));
                sr -= ox;
                srr -= ox * ox;
                sb -= oy;
                sbb -= oy * oy;
                srb -= ox * oy;
            }
            if i + 1 < window || window < 2 {
                out.sharpe.push(None);
                out.volatility.push(None);
                out.beta.push(None);
                continue;
            }
            let mean = sr / w;
            let var = ((srr - sr * mean) / (w - 1.0)).max(0.0);
            let sd = var.sqrt();
            out.volatility.push(Some(sd * periods_per_year.sqrt()));
            out.sharpe.push(ratio(mean, sd, STD_FLOOR).map(|x| x * periods_per_year.sqrt()));
            let var_b = sbb - sb * sb / w;
            out.beta.push(b.and_then(|_| ratio((srb - sr * sb / w) / w, var_b / w, VAR_FLOOR)));
        }
        out
    }
}

/// Most points a Performance chart is drawn with (evenly spaced, the last one kept).
pub const CHART_POINTS: usize = 2_000;
/// Most returns the Performance page's histogram is drawn from (an even sample beyond it).
pub const DISTRIBUTION_SAMPLE: usize = 5_000;

/// Everything the Performance page draws, from daily returns and a benchmark by date.
pub fn performance_view(dates: &[NaiveDate], returns: &[f64], benchmark: Option<&BTreeMap<NaiveDate, f64>>, trades: TradeStats) -> PerformanceView {
    let times: Vec<i64> = dates.iter().map(|d| d.and_hms_opt(21, 0, 0).map(|t| t.and_utc().timestamp_millis()).unwrap_or_default()).collect();
    performance_view_at(dates, &times, returns, benchmark, trades, TRADING_DAYS)
}

/// [`performance_view`] for any periodic returns: `times` (ms) place each return on the charts,
/// `periods_per_year` annualises (252 for daily returns).
pub fn performance_view_at(dates: &[NaiveDate], times: &[i64], returns: &[f64], benchmark: Option<&BTreeMap<NaiveDate, f64>>, trades: TradeStats, periods_per_year: f64) -> PerformanceView {
    let metrics = match benchmark {
        Some(b) => MetricSet::compute_against(dates, returns, b, periods_per_year),
        None => MetricSet::compute(dates, returns, None, periods_per_year),
    };
    let (mut g, mut gb, mut peak) = (1.0f64, 1.0f64, 1.0f64);
    let (mut growth, mut benchmark_growth, mut underwater) = (Vec::new(), Vec::new(), Vec::new());
    let aligned: Vec<f64> = dates.iter().map(|d| benchmark.and_then(|b| b.get(d)).copied().unwrap_or(0.0)).collect();
    for ((d, t), r) in dates.iter().zip(times).zip(returns) {
        g *= 1.0 + r;
        peak = peak.max(g);
        growth.push(Point { t: *t, v: g - 1.0 });
        underwater.push(Point { t: *t, v: g / peak - 1.0 });
        if let Some(y) = benchmark.and_then(|b| b.get(d)) {
            gb *= 1.0 + y;
            benchmark_growth.push(Point { t: *t, v: gb - 1.0 });
        }
    }
    let rolling = Rolling::compute(returns, benchmark.map(|_| aligned.as_slice()), ROLLING_WINDOW, periods_per_year);
    // Charts get at most CHART_POINTS points each and the histogram an even sample of
    // DISTRIBUTION_SAMPLE returns (a native-interval series can hold hundreds of thousands);
    // the figures use every return.
    let chart = |pts: Vec<Point>| crate::series::downsample(&pts, CHART_POINTS);
    let points = |v: &[Option<f64>]| chart(times.iter().zip(v).filter_map(|(t, x)| x.map(|x| Point { t: *t, v: x })).collect::<Vec<_>>());
    let step = returns.len().div_ceil(DISTRIBUTION_SAMPLE).max(1);
    PerformanceView {
        interval: "daily".into(),
        periods_per_year,
        metrics,
        growth: chart(growth),
        benchmark_growth: chart(benchmark_growth),
        underwater: chart(underwater),
        rolling_window: ROLLING_WINDOW,
        rolling_sharpe: points(&rolling.sharpe),
        rolling_volatility: points(&rolling.volatility),
        rolling_beta: points(&rolling.beta),
        returns: returns.iter().step_by(step).copied().collect(),
        trades,
    }
}

/// Simple returns between consecutive equity points (the native bar interval: one point per
/// distinct market timestamp), dated by the later point's UTC day, and the observed periods per
/// year, `returns / span in years` (365.25-day years) to annualise them; `None` for fewer than
/// two returns or a zero span.
pub fn native_returns(points: &[Point], from: Option<NaiveDate>, to: Option<NaiveDate>) -> NativeReturns {
    let day = |t: i64| chrono::DateTime::from_timestamp_millis(t).map(|x| x.date_naive()).unwrap_or_default();
    let pts: Vec<&Point> = points.iter().filter(|p| from.is_none_or(|f| day(p.t) >= f) && to.is_none_or(|t| day(p.t) <= t)).collect();
    let (mut dates, mut times, mut rets) = (Vec::new(), Vec::new(), Vec::new());
    for w in pts.windows(2) {
        if w[0].v > 0.0 {
            dates.push(day(w[1].t));
            times.push(w[1].t);
            rets.push(w[1].v / w[0].v - 1.0);
        }
    }
    let span_years = match (pts.first(), pts.last()) {
        (Some(a), Some(b)) => (b.t - a.t) as f64 / (365.25 * 86_400_000.0),
        _ => 0.0,
    };
    let per_year = (rets.len() >= 2 && span_years > 0.0).then(|| rets.len() as f64 / span_years);
    NativeReturns { dates, times, returns: rets, per_year }
}

/// Returns at the native bar interval (see [`native_returns`]).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct NativeReturns {
    pub dates: Vec<NaiveDate>,
    /// Milliseconds of each return's later point.
    pub times: Vec<i64>,
    pub returns: Vec<f64>,
    pub per_year: Option<f64>,
}

/// Simple returns day over day of daily closes (date ascending); the first day has no return.
pub fn daily_returns(closes: impl IntoIterator<Item = (NaiveDate, f64)>) -> (Vec<NaiveDate>, Vec<f64>) {
    let (mut dates, mut rets) = (Vec::new(), Vec::new());
    let mut prev: Option<f64> = None;
    for (d, v) in closes {
        if let Some(p) = prev.filter(|p| *p > 0.0) {
            dates.push(d);
            rets.push(v / p - 1.0);
        }
        prev = Some(v);
    }
    (dates, rets)
}

/// One closed round trip of an instrument (flat to flat, or to a flip), net of its fees.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct ClosedTrade {
    pub instrument: String,
    pub pnl: rust_decimal::Decimal,
    pub opened: chrono::DateTime<chrono::Utc>,
    pub closed: chrono::DateTime<chrono::Utc>,
    /// A long position (false: short).
    #[serde(default)]
    pub long: bool,
    /// Absolute notional at cost held when the closing fill came (USD).
    #[serde(default)]
    pub notional: rust_decimal::Decimal,
    /// Factor exposures (betas) of the signal that opened it, by lower-case factor name.
    #[serde(default)]
    pub exposures: BTreeMap<String, f64>,
}

/// **Per-trade** figures of closed round trips (money exact, in USD). Not per period: a
/// strategy can win most days and lose on most trades, or the reverse.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct TradeStats {
    pub trades: u64,
    /// Trades with PnL > 0 / < 0 (breakeven trades count in `trades` only).
    pub wins: u64,
    pub losses: u64,
    /// `wins / trades`.
    pub hit_rate: Option<f64>,
    /// Gross profit / gross loss.
    pub profit_factor: Option<f64>,
    /// Average win / |average loss|.
    pub payoff_ratio: Option<f64>,
    /// Mean PnL per trade, USD: `hit_rate * average_win + (1 - hit_rate) * average_loss` when
    /// nothing breaks even.
    pub expectancy: Option<rust_decimal::Decimal>,
    pub average_win: Option<rust_decimal::Decimal>,
    /// Negative (a loss), USD.
    pub average_loss: Option<rust_decimal::Decimal>,
    pub max_consecutive_wins: u64,
    pub max_consecutive_losses: u64,
    /// Mean time from opening to closing, seconds.
    pub average_holding_secs: Option<f64>,
}

impl TradeStats {
    pub fn compute(trades: &[ClosedTrade]) -> TradeStats {
        use rust_decimal::Decimal;
        use rust_decimal::prelude::ToPrimitive;
        let mut s = TradeStats { trades: trades.len() as u64, ..TradeStats::default() };
        if trades.is_empty() {
            return s;
        }
        let (mut gross_win, mut gross_loss, mut total) = (Decimal::ZERO, Decimal::ZERO, Decimal::ZERO);
        let (mut run_w, mut run_l) = (0u64, 0u64);
        let mut held = 0.0;
        for t in trades {
            total += t.pnl;
            held += (t.closed - t.opened).num_milliseconds() as f64 / 1000.0;
            if t.pnl > Decimal::ZERO {
                s.wins += 1;
                gross_win += t.pnl;
                run_w += 1;
                run_l = 0;
            } else if t.pnl < Decimal::ZERO {
                s.losses += 1;
                gross_loss -= t.pnl;
                run_l += 1;
                run_w = 0;
            } else {
                (run_w, run_l) = (0, 0);
            }
            s.max_consecutive_wins = s.max_consecutive_wins.max(run_w);
            s.max_consecutive_losses = s.max_consecutive_losses.max(run_l);
        }
        let n = Decimal::from(s.trades);
        s.hit_rate = Some(s.wins as f64 / s.trades as f64);
        s.profit_factor = match (gross_win.to_f64(), gross_loss.to_f64()) {
            (Some(w), Some(l)) => profit_factor(w, l),
            _ => None,
        };
        s.average_win = (s.wins > 0).then(|| gross_win / Decimal::from(s.wins));
        s.average_loss = (s.losses > 0).then(|| -gross_loss / Decimal::from(s.losses));
        s.payoff_ratio = match (s.average_win.and_then(|w| w.to_f64()), s.average_loss.and_then(|l| l.to_f64())) {
            (Some(w), Some(l)) => ratio(w, -l, MONEY_FLOOR),
            _ => None,
        };
        s.expectancy = Some(total / n);
        s.average_holding_secs = Some(held / s.trades as f64);
        s
    }
}

/// The Performance page: the metric set of the daily equity returns against the S&P 500, and
/// the series its charts draw (daily points at 21:00 UTC; fractions, not %).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct PerformanceView {
    /// `daily` or `native` (returns between consecutive market timestamps).
    pub interval: String,
    /// Periods per year used to annualise (252 for daily; observed for native).
    pub periods_per_year: f64,
    pub metrics: crate::metrics::MetricSet,
    /// Cumulative return of the fund since the first day.
    pub growth: Vec<Point>,
    /// Cumulative return of the S&P 500 index over the same dates (where it has them).
    pub benchmark_growth: Vec<Point>,
    /// Drawdown of the fund below its running peak (<= 0).
    pub underwater: Vec<Point>,
    pub rolling_window: usize,
    pub rolling_sharpe: Vec<Point>,
    pub rolling_volatility: Vec<Point>,
    pub rolling_beta: Vec<Point>,
    /// The returns for the distribution chart (every one up to 5,000, an even sample beyond).
    pub returns: Vec<f64>,
    /// Per-trade figures of the closed round trips.
    pub trades: crate::metrics::TradeStats,
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn native_returns_follow_the_points_and_annualise_by_their_frequency() {
            let h = 3_600_000;
        // One point an hour for 3 days: 71 returns over 71 hours.
        let pts: Vec<Point> = (0..72).map(|i| Point { t: 1_700_000_000_000 + i * h, v: 1_000_000.0 + (i % 5) as f64 * 100.0 }).collect();
        let n = native_returns(&pts, None, None);
        assert_eq!((n.dates.len(), n.returns.len(), n.times[0]), (71, 71, pts[1].t));
        assert!((n.returns[0] - 100.0 / 1_000_000.0).abs() < 1e-15);
        assert!(n.per_year.is_some_and(|p| (p - 365.25 * 24.0).abs() < 1e-6), "{:?}", n.per_year);
        assert_eq!(native_returns(&pts[..2], None, None).per_year, None, "one return is not a series");
    }

    #[test]
    fn sharpe_matches_a_hand_computation() {
        // mean 0.01, sample sd of [0.01, 0.02, 0.0] = 0.01 -> 1 * sqrt(252)
        let s = sharpe(&[0.01, 0.02, 0.0], TRADING_DAYS).unwrap_or_default();
        assert!((s - 252f64.sqrt()).abs() < 1e-12);
        assert_eq!(sharpe(&[0.01], TRADING_DAYS), None);
        assert_eq!(sharpe(&[0.01, 0.01], TRADING_DAYS), None);
    }

    #[test]
    fn drawdown_of_a_known_path() {
        let dd = drawdowns(&[100.0, 120.0, 90.0, 130.0]);
        assert_eq!(dd, vec![0.0, 0.0, -0.25, 0.0]);
        assert_eq!(max_drawdown(&[100.0, 120.0, 90.0, 130.0]), -0.25);
    }

    #[test]
    fn drawdown_episodes_name_peak_trough_and_recovery() {
        let d = |day: u32| NaiveDate::from_ymd_opt(2024, 1, day).unwrap_or_default();
        let dates: Vec<NaiveDate> = (1..=6).map(d).collect();
        // wealth: 1.1, 0.99, 0.88, 1.1, 1.21, 1.089
        let r = [0.1, -0.1, -1.0 / 9.0, 0.25, 0.1, -0.1];
        let m = MetricSet::compute(&dates, &r, None, TRADING_DAYS);
        let e = m.max_drawdown_episode.clone().unwrap_or_else(|| panic!("an episode"));
        assert!((e.depth + 0.2).abs() < 1e-12);
        assert_eq!((e.start, e.trough, e.recovery, e.duration_days), (d(1), d(3), Some(d(4)), 3));
        assert_eq!(m.longest_drawdown, Some(e), "3 days beat the open 1-day drawdown at the end");
        assert_eq!(m.monthly_returns.len(), 1);
        assert!((m.monthly_returns[0].ret - (1.089 - 1.0)).abs() < 1e-12);
        assert!(MetricSet::compute(&[], &[], None, TRADING_DAYS).sharpe.is_none());
    }

    #[test]
    fn benchmark_figures_use_the_shared_dates_only() {
        let d = |day: u32| NaiveDate::from_ymd_opt(2024, 1, day).unwrap_or_default();
        let dates = [d(2), d(3), d(4), d(6)];
        let r = [0.01, -0.02, 0.015, 0.03];
        let bench: BTreeMap<NaiveDate, f64> = [(d(2), 0.005), (d(3), -0.01), (d(4), 0.0075)].into_iter().collect();
        let m = MetricSet::compute_against(&dates, &r, &bench, TRADING_DAYS);
        assert_eq!((m.periods, m.benchmark_periods), (4, Some(3)));
        assert!(m.beta.is_some_and(|b| (b - 2.0).abs() < 1e-12), "r = 2 b on the shared dates: {:?}", m.beta);
        assert!(m.correlation.is_some_and(|c| (c - 1.0).abs() < 1e-12));
    }

    #[test]
    fn per_trade_figures_of_a_known_list() {
        use rust_decimal::Decimal;
        let t0 = chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap_or_default();
        let trade = |pnl: i64, hours: i64| ClosedTrade { instrument: "AAPL".into(), pnl: Decimal::from(pnl), opened: t0, closed: t0 + chrono::Duration::hours(hours), ..Default::default() };
        let s = TradeStats::compute(&[trade(100, 1), trade(50, 2), trade(-30, 3), trade(-10, 4), trade(-20, 5), trade(0, 1), trade(60, 2)]);
        assert_eq!((s.trades, s.wins, s.losses), (7, 3, 3));
        assert_eq!((s.max_consecutive_wins, s.max_consecutive_losses), (2, 3));
        assert_eq!(s.hit_rate, Some(3.0 / 7.0));
        assert_eq!(s.profit_factor, Some(210.0 / 60.0));
        assert_eq!((s.average_win, s.average_loss), (Some(Decimal::from(70)), Some(Decimal::from(-20))));
        assert_eq!(s.payoff_ratio, Some(3.5));
        assert_eq!(s.expectancy, Some(Decimal::from(150) / Decimal::from(7)));
        assert_eq!(s.average_holding_secs, Some(18.0 * 3600.0 / 7.0));
        assert_eq!(TradeStats::compute(&[]).hit_rate, None);
    }

    proptest! {
        #[test]
        fn var_is_never_above_cvar_tail_mean_and_max_drawdown_is_never_positive(xs in prop::collection::vec(-0.5f64..0.5, 2..300)) {
            let dates: Vec<NaiveDate> = (0..xs.len() as i64).map(|i| NaiveDate::from_ymd_opt(2020, 1, 1).unwrap_or_default() + chrono::Duration::days(i)).collect();
            let m = MetricSet::compute(&dates, &xs, Some(&xs), TRADING_DAYS);
            prop_assert!(m.max_drawdown.unwrap_or(0.0) <= 0.0);
            if let (Some(v), Some(c)) = (m.var_95, m.cvar_95) { prop_assert!(c <= v + 1e-12); }
            if let Some(b) = m.beta { prop_assert!((b - 1.0).abs() < 1e-9, "beta on itself is 1"); }
        }
    }

    proptest! {
        #[test]
        fn drawdown_is_never_positive(xs in prop::collection::vec(0.01f64..1e9, 0..200)) {
            for d in drawdowns(&xs) {
                prop_assert!(d <= 0.0);
                prop_assert!(d >= -1.0);
            }
        }
    }

    /// Every ratio figure of the metric set: undefined below its floor, never a huge number.
    fn ratios(m: &MetricSet) -> [(&'static str, Option<f64>); 8] {
        [("sharpe", m.sharpe), ("sortino", m.sortino), ("calmar", m.calmar), ("omega", m.omega), ("tail_ratio", m.tail_ratio),
         ("information_ratio", m.information_ratio), ("beta", m.beta), ("correlation", m.correlation)]
    }

    #[test]
    fn near_constant_returns_give_undefined_ratios_not_huge_ones() {
        // A flat book with float noise in its returns: every std, drawdown and loss is ~1e-17.
        let xs: Vec<f64> = (0..60).map(|i| if i % 2 == 0 { 1e-17 } else { -1e-17 }).collect();
        let dates: Vec<NaiveDate> = (0..60).map(|i| NaiveDate::from_ymd_opt(2020, 1, 1).unwrap_or_default() + chrono::Duration::days(i)).collect();
        let m = MetricSet::compute(&dates, &xs, Some(&xs), TRADING_DAYS);
        for (name, v) in ratios(&m) {
            assert_eq!(v, None, "{name} over a near-zero denominator");
        }
        assert_eq!(sharpe(&[0.01, 0.01, 0.01 + 1e-16], TRADING_DAYS), None);
        assert_eq!(profit_factor(100.0, 0.001), None, "a tenth of a cent of losses");
        assert_eq!(ratio(1.0, 0.0, MONEY_FLOOR), None);
        assert_eq!(ratio(1.0, f64::NAN, MONEY_FLOOR), None);
        assert_eq!(ratio(1.0, 2.0, MONEY_FLOOR), Some(0.5));
    }

    proptest! {
        #[test]
        fn every_ratio_is_undefined_or_of_sane_size(
            level in -0.01f64..0.01,
            noise in prop::collection::vec(-1e-6f64..1e-6, 2..120),
            scale in prop_oneof![Just(0.0), Just(1e-16), Just(1e-12), Just(1e-8), Just(1.0)],
        ) {
            // Returns near a constant level, with noise scaled from nothing to a normal day's.
            let xs: Vec<f64> = noise.iter().map(|e| level + e * scale).collect();
            let dates: Vec<NaiveDate> = (0..xs.len() as i64).map(|i| NaiveDate::from_ymd_opt(2020, 1, 1).unwrap_or_default() + chrono::Duration::days(i)).collect();
            let bench: Vec<f64> = noise.iter().rev().map(|e| e * scale).collect();
            let m = MetricSet::compute(&dates, &xs, Some(&bench), TRADING_DAYS);
            for (name, v) in ratios(&m) {
                if let Some(x) = v {
                    prop_assert!(x.is_finite() && x.abs() < 1e12, "{name} = {x} for returns {xs:?}");
                }
            }
            let rolling = Rolling::compute(&xs, Some(&bench), 20.min(xs.len()), TRADING_DAYS);
            for x in rolling.sharpe.iter().chain(&rolling.beta).flatten() {
                prop_assert!(x.is_finite() && x.abs() < 1e12, "rolling {x}");
            }
        }
    }
}
