//! The weekly research report's content: numbers and tables, no rendering. One computation feeds
//! the page (`/reports/{week}`), the HTML and PDF files and the API, so they cannot disagree.
//!
//! A week is an ISO week of market time (Monday to Sunday, UTC dates of the events' `ts`). What is
//! "as of the week's end" is computed from the log up to that Sunday: PnL, returns, Sharpe,
//! drawdown, VaR, the week's closed trades and compliance issues. What the console only keeps as
//! it stands now is labelled so in the report ("at generation"): the execution-cost breakdown,
//! exposure, concentration, limit utilisation and the regime table.
use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate, TimeDelta};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::analytics::{Attribution, Bucket, SlippageReport};
use crate::compliance::{Issue, IssueState, LimitRow};
use crate::metrics::{ClosedTrade, MetricSet, TradeStats};
use crate::regime::RegimeReport;
use crate::risk::RiskReport;
use crate::series::Point;

/// A limit used at or above this share (percent) is named in the recommendations.
pub const LIMIT_WARN_PCT: f64 = 80.0;
/// An instrument's execution cost this many bps above the fund's average counts as high.
pub const COST_MARGIN_BPS: f64 = 5.0;

/// The ISO week of a date as `YYYY-Www` (e.g. `2024-W43`).
pub fn week_id(day: NaiveDate) -> String {
    let w = day.iso_week();
    format!("{}-W{:02}", w.year(), w.week())
}

/// The Monday of an ISO week `YYYY-Www`.
pub fn parse_week(id: &str) -> Option<NaiveDate> {
    let (y, w) = id.split_once("-W")?;
    let (y, w) = (y.parse::<i32>().ok()?, w.parse::<u32>().ok()?);
    NaiveDate::from_isoywd_opt(y, w, chrono::Weekday::Mon)
}

/// The Monday of the week `day` is in.
pub fn monday_of(day: NaiveDate) -> NaiveDate {
    day - TimeDelta::days(i64::from(day.weekday().num_days_from_monday()))
}

/// Where the numbers came from: the log's head when the report was computed, and the signed
/// checkpoint that covers it, where one exists.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Provenance {
    pub head_seq: u64,
    pub head_hash: String,
    pub checkpoint_seq: Option<u64>,
    pub checkpoint_size: Option<u64>,
    pub checkpoint_root: Option<String>,
}

/// What the report is computed from (all of it read under one fold lock).
pub struct Inputs<'a> {
    pub fund: &'a str,
    pub monday: NaiveDate,
    /// Starting capital, USD.
    pub capital: Decimal,
    /// Equity at each day's close (market time), ascending.
    pub daily_equity: &'a [(NaiveDate, Decimal)],
    /// The S&P 500's daily returns, by date.
    pub benchmark: Option<&'a BTreeMap<NaiveDate, f64>>,
    pub trades: &'a [ClosedTrade],
    pub execution: &'a SlippageReport,
    pub risk: &'a RiskReport,
    pub limits: &'a [LimitRow],
    pub regimes: &'a RegimeReport,
    pub issues: &'a [Issue],
    pub provenance: Provenance,
    /// PnL of closed round trips by factor (MTUM, QUAL, SIZE, USMV, VLUE, residual), since
    /// inception (`None`: the factor data is unavailable).
    pub factors: Option<&'a crate::analytics::FactorAttribution>,
    /// Fill rate and pipeline latency since inception.
    pub fills: FillStats,
}

/// How orders got filled: the share that filled and how long the pipeline took.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FillStats {
    /// Orders filled / orders that reached a final status.
    pub fill_rate: Option<f64>,
    /// Signal to order and order to fill, p50 / p95 / p99 in ms.
    pub latency: crate::projection::LatencyView,
}

/// A closed trade as the summary lists it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TradeLine {
    pub instrument: String,
    pub side: String,
    pub opened: NaiveDate,
    pub closed: NaiveDate,
    /// Realized PnL net of fees, USD.
    pub pnl: Decimal,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// The last trading day of the week in the log.
    pub last_day: Option<NaiveDate>,
    pub equity_end: Option<Decimal>,
    /// PnL (change of equity, USD, exact) over the week, the month and the year to the week's
    /// last day, and since inception.
    pub week_pnl: Decimal,
    pub mtd_pnl: Decimal,
    pub ytd_pnl: Decimal,
    pub inception_pnl: Decimal,
    /// The same as returns (fractions), compounded from the daily closes.
    pub week_return: Option<f64>,
    pub mtd_return: Option<f64>,
    pub ytd_return: Option<f64>,
    /// Since inception to the week's end, from daily returns (see docs/methodology.md).
    pub metrics: MetricSet,
    pub week_trades: TradeStats,
    pub best: Vec<TradeLine>,
    pub worst: Vec<TradeLine>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ExecutionRow {
    pub instrument: String,
    pub fills: u64,
    pub notional: Decimal,
    /// Costs in bps of notional (positive: a cost).
    pub spread_bps: Option<f64>,
    pub impact_bps: Option<f64>,
    pub timing_bps: Option<f64>,
    pub total_bps: Option<f64>,
    /// The paper engine's impact model for the same fills (bps), beside the realized impact.
    #[serde(default)]
    pub model_impact_bps: Option<f64>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RiskSection {
    /// Historical, one day, of daily returns up to the week's end (fractions, positive = loss).
    pub var_95: Option<f64>,
    pub var_99: Option<f64>,
    pub cvar_95: Option<f64>,
    /// At generation.
    pub gross: Decimal,
    pub net: Decimal,
    pub leverage: Option<f64>,
    pub hhi: Option<f64>,
    pub top1: Option<f64>,
    /// Limits at generation, most used first.
    pub limits: Vec<LimitLine>,
    pub correlation_instruments: Vec<String>,
    pub correlation: Vec<Vec<Option<f64>>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LimitLine {
    pub scope: String,
    pub limit: String,
    pub value: f64,
    pub max: f64,
    pub unit: String,
    pub utilisation_pct: f64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RegimeLine {
    pub dimension: String,
    pub regime: String,
    pub days: u64,
    pub cumulative_return: f64,
    pub sharpe: Option<f64>,
    pub benchmark_cumulative_return: f64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ComplianceSection {
    pub opened: u64,
    pub breaches: u64,
    /// Opened this week and closed (resolved, waived or cleared) by its end.
    pub closed: u64,
    /// Opened this week and still needing a person at generation.
    pub open_now: u64,
    /// Opened this week, by rule.
    pub by_rule: Vec<(String, u64)>,
}

/// A recommendation and the figure behind it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Recommendation {
    pub text: String,
    pub evidence: String,
}

/// One week's report.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct WeeklyReport {
    pub fund: String,
    /// `YYYY-Www`.
    pub week: String,
    pub monday: NaiveDate,
    pub sunday: NaiveDate,
    pub provenance: Provenance,
    pub summary: Summary,
    /// Trades closed this week, by instrument, hour (UTC) and weekday.
    pub attribution: Attribution,
    /// Since inception, by instrument.
    pub attribution_inception: Vec<Bucket>,
    /// Since inception, at generation, by factor then `residual`.
    #[serde(default)]
    pub attribution_factors: Vec<Bucket>,
    pub execution_total: ExecutionRow,
    pub execution: Vec<ExecutionRow>,
    /// Since inception, at generation.
    #[serde(default)]
    pub fills: FillStats,
    pub risk: RiskSection,
    pub regimes: Vec<RegimeLine>,
    pub compliance: ComplianceSection,
    pub recommendations: Vec<Recommendation>,
    /// Equity at each day's close up to the week's end (USD), for the chart.
    pub equity: Vec<Point>,
    /// Drawdown below the running peak at each close (<= 0).
    pub drawdown: Vec<Point>,
    /// The daily returns up to the week's end, for the distribution chart.
    pub returns: Vec<f64>,
}


fn to_f64(d: Decimal) -> f64 {
    rust_decimal::prelude::ToPrimitive::to_f64(&d).unwrap_or(0.0)
}

/// Equity at the last close before `day`, or the capital before the first.
fn close_before(days: &[(NaiveDate, Decimal)], day: NaiveDate, capital: Decimal) -> Decimal {
    days.iter().rev().find(|(d, _)| *d < day).map(|(_, e)| *e).unwrap_or(capital)
}

fn change(from: Decimal, to: Decimal) -> (Decimal, Option<f64>) {
    let pnl = to - from;
    let ret = if from > Decimal::ZERO { Some(to_f64(pnl) / to_f64(from)) } else { None };
    (pnl, ret)
}

fn bps(cost: Decimal, notional: Decimal) -> Option<f64> {
    if notional <= Decimal::ZERO {
        return None;
    }
    Some(to_f64(cost) / to_f64(notional) * 10_000.0)
}

fn execution_row(instrument: &str, c: &crate::analytics::CostParts) -> ExecutionRow {
    ExecutionRow {
        instrument: instrument.to_string(),
        fills: c.fills,
        notional: c.notional,
        spread_bps: bps(c.spread, c.notional),
        impact_bps: bps(c.impact, c.notional),
        timing_bps: bps(c.timing, c.notional),
        total_bps: bps(c.total(), c.notional),
        model_impact_bps: bps(c.model_impact, c.notional),
    }
}

fn trade_line(t: &ClosedTrade) -> TradeLine {
    TradeLine { instrument: t.instrument.clone(), side: if t.long { "long".into() } else { "short".into() }, opened: t.opened.date_naive(), closed: t.closed.date_naive(), pnl: t.pnl }
}

fn pct(x: f64) -> String {
    format!("{:.1}%", x * 100.0)
}

/// Computes the report of the week starting `inputs.monday`.
pub fn build(inputs: &Inputs<'_>) -> WeeklyReport {
    let monday = monday_of(inputs.monday);
    let sunday = monday + TimeDelta::days(6);
    let upto: Vec<(NaiveDate, Decimal)> = inputs.daily_equity.iter().filter(|(d, _)| *d <= sunday).copied().collect();
    let last = upto.last().copied();
    let end = last.map(|(_, e)| e).unwrap_or(inputs.capital);
    let last_day = last.map(|(d, _)| d).filter(|d| *d >= monday);
    let month_start = NaiveDate::from_ymd_opt(sunday.year(), sunday.month(), 1).unwrap_or(monday);
    let year_start = NaiveDate::from_ymd_opt(sunday.year(), 1, 1).unwrap_or(monday);
    let (week_pnl, week_return) = change(close_before(&upto, monday, inputs.capital), end);
    let (mtd_pnl, mtd_return) = change(close_before(&upto, month_start, inputs.capital), end);
    let (ytd_pnl, ytd_return) = change(close_before(&upto, year_start, inputs.capital), end);
    let inception_pnl = end - inputs.capital;

    // Daily returns up to the week's end, as the performance page computes them.
    let (dates, returns) = crate::metrics::daily_returns(upto.iter().map(|(d, e)| (*d, to_f64(*e))));
    let metrics = match inputs.benchmark {
        Some(b) => MetricSet::compute_against(&dates, &returns, b, 252.0),
        None => MetricSet::compute(&dates, &returns, None, 252.0),
    };

    let week_trades: Vec<ClosedTrade> = inputs.trades.iter().filter(|t| (monday..=sunday).contains(&t.closed.date_naive())).cloned().collect();
    let mut ranked = week_trades.clone();
    ranked.sort_by(|a, b| b.pnl.cmp(&a.pnl).then_with(|| a.closed.cmp(&b.closed)));
    let best: Vec<TradeLine> = ranked.iter().filter(|t| t.pnl > Decimal::ZERO).take(3).map(trade_line).collect();
    let worst: Vec<TradeLine> = ranked.iter().rev().filter(|t| t.pnl < Decimal::ZERO).take(3).map(trade_line).collect();
    let attribution = Attribution::compute(&week_trades);
    let inception: Vec<ClosedTrade> = inputs.trades.iter().filter(|t| t.closed.date_naive() <= sunday).cloned().collect();
    let attribution_inception = Attribution::compute(&inception).by_instrument;

    let execution_total = execution_row("all", &inputs.execution.total);
    let execution: Vec<ExecutionRow> = inputs.execution.by_instrument.iter().map(|(i, c)| execution_row(i, c)).collect();

    let mut limits: Vec<LimitLine> = inputs
        .limits
        .iter()
        .map(|l| LimitLine {
            scope: match &l.scope_id {
                Some(id) => format!("{} {id}", l.scope.as_str()),
                None => l.scope.as_str().to_string(),
            },
            limit: l.limit_name.clone(),
            value: l.value,
            max: l.limit,
            unit: l.unit.clone(),
            utilisation_pct: l.utilisation_pct,
        })
        .collect();
    limits.sort_by(|a, b| b.utilisation_pct.total_cmp(&a.utilisation_pct).then_with(|| a.scope.cmp(&b.scope)));
    let risk = RiskSection {
        var_95: metrics.var_95,
        var_99: metrics.var_99,
        cvar_95: metrics.cvar_95,
        gross: inputs.risk.gross,
        net: inputs.risk.net,
        leverage: inputs.risk.leverage,
        hhi: inputs.risk.concentration.hhi,
        top1: inputs.risk.concentration.top1,
        limits,
        correlation_instruments: inputs.risk.correlation.instruments.clone(),
        correlation: inputs.risk.correlation.matrix.clone(),
    };
    let regimes = inputs
        .regimes
        .stats
        .iter()
        .map(|s| RegimeLine { dimension: s.dimension.clone(), regime: s.regime.clone(), days: s.days, cumulative_return: s.cumulative_return, sharpe: s.sharpe, benchmark_cumulative_return: s.benchmark_cumulative_return })
        .collect();

    let in_week: Vec<&Issue> = inputs.issues.iter().filter(|i| (monday..=sunday).contains(&i.opened_at.date_naive())).collect();
    let mut by_rule: BTreeMap<String, u64> = BTreeMap::new();
    for i in &in_week {
        *by_rule.entry(i.rule.clone()).or_default() += 1;
    }
    let compliance = ComplianceSection {
        opened: in_week.len() as u64,
        breaches: in_week.iter().filter(|i| i.severity == crate::event::Severity::Critical).count() as u64,
        closed: in_week.iter().filter(|i| i.closed_at.is_some_and(|c| c.date_naive() <= sunday)).count() as u64,
        open_now: in_week.iter().filter(|i| matches!(i.state, IssueState::Open | IssueState::Acknowledged | IssueState::WaiverPending)).count() as u64,
        by_rule: by_rule.into_iter().collect(),
    };

    let mut peak = f64::MIN;
    let equity: Vec<Point> = upto.iter().map(|(d, e)| Point { t: crate::series::day_ms(*d), v: to_f64(*e) }).collect();
    let drawdown = equity
        .iter()
        .map(|p| {
            peak = peak.max(p.v);
            Point { t: p.t, v: if peak > 0.0 { p.v / peak - 1.0 } else { 0.0 } }
        })
        .collect();

    let mut report = WeeklyReport {
        fund: inputs.fund.to_string(),
        week: week_id(monday),
        monday,
        sunday,
        provenance: inputs.provenance.clone(),
        summary: Summary {
            last_day,
            equity_end: last.map(|(_, e)| e),
            week_pnl,
            mtd_pnl,
            ytd_pnl,
            inception_pnl,
            week_return,
            mtd_return,
            ytd_return,
            metrics,
            week_trades: TradeStats::compute(&week_trades),
            best,
            worst,
        },
        attribution,
        attribution_inception,
        attribution_factors: inputs.factors.map(|f| f.by_factor.clone()).unwrap_or_default(),
        execution_total,
        execution,
        fills: inputs.fills.clone(),
        risk,
        regimes,
        compliance,
        recommendations: Vec::new(),
        equity,
        drawdown,
        returns,
    };
    report.recommendations = recommendations(&report);
    report
}

/// Rule-based recommendations, each citing its figure; never free prose.
pub fn recommendations(r: &WeeklyReport) -> Vec<Recommendation> {
    let mut out = Vec::new();
    let pnl_of: BTreeMap<&str, Decimal> = r.attribution_inception.iter().map(|b| (b.key.as_str(), b.pnl)).collect();
    let average = r.execution_total.total_bps;
    for row in &r.execution {
        let (Some(cost), Some(avg)) = (row.total_bps, average) else { continue };
        let pnl = pnl_of.get(row.instrument.as_str()).copied().unwrap_or_default();
        if pnl < Decimal::ZERO && cost > avg + COST_MARGIN_BPS {
            out.push(Recommendation {
                text: format!("Review trading in {}: it loses money and costs more to trade than the rest of the book.", row.instrument),
                evidence: format!("realized PnL since inception {} USD; execution cost {cost:.1} bps against the fund's {avg:.1} bps ({} fills)", pnl.round_dp(2), row.fills),
            });
        }
    }
    for l in r.risk.limits.iter().filter(|l| l.utilisation_pct >= LIMIT_WARN_PCT) {
        out.push(Recommendation {
            text: format!("The {} limit of {} is at {:.1}% of its maximum: reduce the exposure or review the limit with risk.", l.limit, l.scope, l.utilisation_pct),
            evidence: format!("{:.2} of {:.2} {} (warning level {LIMIT_WARN_PCT:.0}%)", l.value, l.max, l.unit),
        });
    }
    // A regime where the fund loses while the benchmark gains.
    for g in r.regimes.iter().filter(|g| g.days >= 20 && g.cumulative_return < 0.0 && g.benchmark_cumulative_return > 0.0) {
        out.push(Recommendation {
            text: format!("The strategies lose in the {} regime '{}' while the market gains: review their behaviour in it.", g.dimension, g.regime),
            evidence: format!("fund {} against the S&P 500's {} over {} days", pct(g.cumulative_return), pct(g.benchmark_cumulative_return), g.days),
        });
    }
    if r.compliance.open_now > 0 {
        out.push(Recommendation {
            text: "Close the week's open compliance issues.".into(),
            evidence: format!("{} of the {} issues opened this week still need a person", r.compliance.open_now, r.compliance.opened),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analytics::CostParts;
    use chrono::{DateTime, Utc};

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("date")
    }
    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).expect("time").with_timezone(&Utc)
    }
    fn dec(s: &str) -> Decimal {
        s.parse().expect("decimal")
    }
    fn trade(instrument: &str, pnl: &str, closed: &str) -> ClosedTrade {
        ClosedTrade { instrument: instrument.into(), pnl: dec(pnl), opened: t("2024-10-01T15:59:00Z"), closed: t(closed), long: true, notional: dec("10000"), exposures: BTreeMap::new() }
    }

    fn inputs<'a>(equity: &'a [(NaiveDate, Decimal)], trades: &'a [ClosedTrade], execution: &'a SlippageReport, risk: &'a RiskReport, regimes: &'a RegimeReport) -> Inputs<'a> {
        Inputs {
            fund: "Test fund",
            monday: d("2024-10-23"),
            capital: dec("1000000"),
            daily_equity: equity,
            benchmark: None,
            trades,
            execution,
            risk,
            limits: &[],
            regimes,
            issues: &[],
            provenance: Provenance::default(),
            factors: None,
            fills: FillStats::default(),
        }
    }

    #[test]
    fn weeks_are_iso_weeks() {
        assert_eq!(week_id(d("2024-10-23")), "2024-W43");
        assert_eq!(parse_week("2024-W43"), Some(d("2024-10-21")));
        assert_eq!(week_id(d("2024-12-30")), "2025-W01");
        assert_eq!(parse_week("2024-W99"), None);
        assert_eq!(parse_week("garbage"), None);
        assert_eq!(monday_of(d("2024-10-27")), d("2024-10-21"));
    }

    #[test]
    fn pnl_is_the_exact_change_of_equity_over_the_week_month_and_year() {
        let equity = [
            (d("2024-09-30"), dec("1000100.10")),
            (d("2024-10-18"), dec("1000200.20")),
            (d("2024-10-21"), dec("1000300.30")),
            (d("2024-10-25"), dec("1000150.05")),
            (d("2024-10-28"), dec("999999.99")),
        ];
        let (execution, risk, regimes) = (SlippageReport::default(), RiskReport::default(), RegimeReport::default());
        let trades = [trade("AAPL", "120.50", "2024-10-22T15:59:00Z"), trade("MSFT", "-80.25", "2024-10-24T15:59:00Z"), trade("NVDA", "10", "2024-10-29T15:59:00Z")];
        let r = build(&inputs(&equity, &trades, &execution, &risk, &regimes));
        assert_eq!(r.week, "2024-W43");
        assert_eq!(r.summary.last_day, Some(d("2024-10-25")));
        assert_eq!(r.summary.week_pnl, dec("-50.15"), "the Friday close against the previous Friday's");
        assert_eq!(r.summary.mtd_pnl, dec("49.95"), "against September's last close");
        assert_eq!(r.summary.ytd_pnl, dec("150.05"), "against the capital: no close before the year");
        assert_eq!(r.summary.inception_pnl, dec("150.05"));
        assert_eq!(r.summary.week_trades.trades, 2, "the trade closed the next week is not in it");
        assert_eq!(r.summary.best[0].instrument, "AAPL");
        assert_eq!(r.summary.worst[0].pnl, dec("-80.25"));
        assert_eq!(r.equity.len(), 4, "nothing after the week's end");
        assert!(r.drawdown.iter().all(|p| p.v <= 0.0));
        assert_eq!(r.returns.len(), 3, "between consecutive closes");
    }

    #[test]
    fn an_empty_log_gives_an_empty_report_not_a_panic() {
        let (execution, risk, regimes) = (SlippageReport::default(), RiskReport::default(), RegimeReport::default());
        let r = build(&inputs(&[], &[], &execution, &risk, &regimes));
        assert_eq!(r.summary.week_pnl, Decimal::ZERO);
        assert_eq!(r.summary.week_return, Some(0.0));
        assert_eq!(r.summary.metrics.sharpe, None, "undefined under 2 returns");
        assert!(r.recommendations.is_empty());
    }

    #[test]
    fn recommendations_cite_the_figure_behind_them() {
        let equity = [(d("2024-10-21"), dec("1000000"))];
        let mut execution = SlippageReport::default();
        let cheap = CostParts { spread: dec("10"), notional: dec("100000"), fills: 10, ..Default::default() };
        let dear = CostParts { spread: dec("300"), notional: dec("100000"), fills: 4, ..Default::default() };
        execution.total = CostParts { spread: dec("310"), notional: dec("200000"), fills: 14, ..Default::default() };
        execution.by_instrument.insert("AAPL".into(), cheap);
        execution.by_instrument.insert("TSLA".into(), dear);
        let (risk, regimes) = (RiskReport::default(), RegimeReport::default());
        let trades = [trade("TSLA", "-500", "2024-10-22T15:59:00Z"), trade("AAPL", "-20", "2024-10-22T15:59:00Z")];
        let r = build(&inputs(&equity, &trades, &execution, &risk, &regimes));
        assert_eq!(r.recommendations.len(), 1, "{:?}", r.recommendations);
        assert!(r.recommendations[0].text.contains("TSLA"));
        assert!(r.recommendations[0].evidence.contains("30.0 bps against the fund's 15.5 bps"), "{}", r.recommendations[0].evidence);
    }
}
