//! The investor track record: monthly, annual and since-inception returns, gross and net of
//! fees, with volatility, Sharpe and drawdown, against the S&P 500, in the style of a GIPS
//! composite presentation. Pure: the caller passes the book's daily equity and the index.
//!
//! - **Valuation**: the book's equity at the last event of each UTC day of market time
//!   ([`crate::projection::Projection::daily_equity`]); the first day's return is against the
//!   starting capital. The book has no external cash flows, so the daily returns are
//!   time-weighted returns, geometrically linked into months, years and the whole record.
//! - **Gross of fees**: after trading costs (commissions, spread and impact are in the fills)
//!   and before management and performance fees.
//! - **Net of fees**: gross less a model fee schedule ([`FeeSchedule`]): the management fee
//!   accrues by calendar day (annual rate / 365 for each day since the previous valuation) and
//!   the performance fee is taken at each month end on the net asset value above its
//!   high-water mark, which then moves up to it.
//! - **Annualised** figures only for records of at least one year (GIPS: periods under a year
//!   are not annualised); `None` otherwise.
use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate};
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use serde::{Deserialize, Serialize};

use crate::metrics::{self, MetricSet, TRADING_DAYS};
use crate::series::Point;

/// The fee terms the net returns are computed under (fractions: 0.02 = 2%).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct FeeSchedule {
    /// Management fee per year, accrued by calendar day (1/365 of it a day).
    pub management: f64,
    /// Performance fee: the share of the net gain above the high-water mark, taken monthly.
    pub performance: f64,
}

impl Default for FeeSchedule {
    /// "2 and 20".
    fn default() -> Self {
        FeeSchedule { management: 0.02, performance: 0.20 }
    }
}

impl FeeSchedule {
    /// Fractions within [0, 1), finite.
    pub fn is_valid(&self) -> bool {
        [self.management, self.performance].iter().all(|x| x.is_finite() && (0.0..1.0).contains(x))
    }
}

/// One calendar month: compounded returns (fractions), `None` where there was no return.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MonthRow {
    pub year: i32,
    /// 1-12.
    pub month: u32,
    pub gross: f64,
    pub net: f64,
    /// The S&P 500 over the same calendar month (only the days inside the record).
    pub benchmark: Option<f64>,
}

/// One calendar year of the record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct YearRow {
    pub year: i32,
    pub gross: f64,
    pub net: f64,
    pub benchmark: Option<f64>,
    /// The record starts after the year's first week or ends before its last week: the figure
    /// is for part of the year (year to date for the current one).
    pub partial: bool,
}

/// Whole-record figures of one series.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Summary {
    /// `prod(1 + r) - 1`.
    pub cumulative: Option<f64>,
    /// `(1 + cumulative)^(252 / n) - 1`, only for a record of at least 365 calendar days.
    pub annualised: Option<f64>,
    /// `std(r, ddof=1) * sqrt(252)`.
    pub volatility: Option<f64>,
    /// Annualised Sharpe of daily returns, sqrt(252), risk-free 0 (empyrical `sharpe_ratio`).
    pub sharpe: Option<f64>,
    /// Deepest fall from a running peak, <= 0.
    pub max_drawdown: Option<f64>,
}

impl Summary {
    fn of(m: &MetricSet, annualise: bool) -> Summary {
        Summary {
            cumulative: m.cumulative_return,
            annualised: if annualise { m.cagr } else { None },
            volatility: m.annual_volatility,
            sharpe: m.sharpe,
            max_drawdown: m.max_drawdown,
        }
    }
}

/// The track record as the investor portal shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct TrackRecord {
    /// First and last valuation dates.
    pub start: Option<NaiveDate>,
    pub end: Option<NaiveDate>,
    /// Daily returns in the record.
    pub days: usize,
    pub currency: String,
    pub capital: Decimal,
    /// Equity at the last valuation (net of trading costs, before fees).
    pub equity: Decimal,
    pub fees: Option<FeeSchedule>,
    pub months: Vec<MonthRow>,
    pub years: Vec<YearRow>,
    pub gross: Summary,
    pub net: Summary,
    /// `None` without the bundled index.
    pub benchmark: Option<Summary>,
    /// Drawdown of the gross and of the benchmark's wealth, one point per day (fractions <= 0).
    pub drawdown: Vec<Point>,
    pub benchmark_drawdown: Vec<Point>,
}

/// Net-of-fee daily returns of `gross` on `dates` under `fees` (see the module's doc).
pub fn net_returns(dates: &[NaiveDate], gross: &[f64], fees: &FeeSchedule) -> Vec<f64> {
    let per_day = fees.management / 365.0;
    let (mut nav, mut high_water) = (1.0_f64, 1.0_f64);
    let mut out = Vec::with_capacity(gross.len());
    for (i, (d, g)) in dates.iter().zip(gross).enumerate() {
        let before = nav;
        // Calendar days since the previous valuation (one for the first): a weekend accrues
        // on Monday, and a market open every day accrues no more than one open five days.
        let days = i.checked_sub(1).and_then(|p| dates.get(p)).map(|p| (*d - *p).num_days().max(0)).unwrap_or(1) as f64;
        nav *= (1.0 + g) * (1.0 - per_day * days).max(0.0);
        let month_end = dates.get(i + 1).is_none_or(|n| (n.year(), n.month()) != (d.year(), d.month()));
        if month_end && nav > high_water {
            nav -= fees.performance * (nav - high_water);
            high_water = nav;
        }
        let r = if before > 0.0 { nav / before - 1.0 } else { 0.0 };
        out.push(if r.is_finite() { r } else { 0.0 });
    }
    out
}


fn drawdown_points(dates: &[NaiveDate], returns: &[f64]) -> Vec<Point> {
    let mut wealth = Vec::with_capacity(returns.len() + 1);
    wealth.push(1.0);
    let mut w = 1.0;
    for r in returns {
        w *= 1.0 + r;
        wealth.push(w);
    }
    // drawdowns() has one value per wealth point; the first is the base (0).
    metrics::drawdowns(&wealth).into_iter().skip(1).zip(dates).map(|(v, d)| Point { t: crate::series::day_ms(*d), v }).collect()
}

fn partial(year: i32, start: NaiveDate, end: NaiveDate) -> bool {
    let days_in_year = if NaiveDate::from_ymd_opt(year, 12, 31).is_some_and(|d| d.ordinal() == 366) { 366 } else { 365 };
    (year == start.year() && start.ordinal() > 7) || (year == end.year() && end.ordinal() + 7 < days_in_year)
}

/// The track record of the book's `daily_equity` (date ascending, USD) from `capital`,
/// against `benchmark` (the index's simple daily returns by date).
pub fn build(daily_equity: &[(NaiveDate, Decimal)], capital: Decimal, fees: FeeSchedule, benchmark: Option<&BTreeMap<NaiveDate, f64>>) -> TrackRecord {
    let mut record = TrackRecord { currency: "USD".into(), capital, equity: capital, fees: fees.is_valid().then_some(fees), ..TrackRecord::default() };
    let (Some(first), Some(last)) = (daily_equity.first(), daily_equity.last()) else {
        return record;
    };
    record.equity = last.1;
    // The first day's return is against the starting capital.
    let base = (first.0.pred_opt().unwrap_or(first.0), capital.to_f64().unwrap_or(0.0));
    let closes = std::iter::once(base).chain(daily_equity.iter().map(|(d, e)| (*d, e.to_f64().unwrap_or(0.0))));
    let (dates, gross) = metrics::daily_returns(closes);
    let (Some(start), Some(end)) = (dates.first().copied(), dates.last().copied()) else {
        return record;
    };
    let net = match record.fees {
        Some(f) => net_returns(&dates, &gross, &f),
        None => gross.clone(),
    };
    let annualise = (end - start).num_days() >= 365;
    let gm = MetricSet::compute(&dates, &gross, None, TRADING_DAYS);
    let nm = MetricSet::compute(&dates, &net, None, TRADING_DAYS);
    record.start = Some(start);
    record.end = Some(end);
    record.days = dates.len();
    record.gross = Summary::of(&gm, annualise);
    record.net = Summary::of(&nm, annualise);
    record.drawdown = drawdown_points(&dates, &gross);

    // The index over the record's calendar span.
    let bench: Option<(Vec<NaiveDate>, Vec<f64>)> = benchmark.map(|b| b.range(start..=end).map(|(d, r)| (*d, *r)).unzip());
    let bm = bench.as_ref().filter(|(d, _)| !d.is_empty()).map(|(d, r)| MetricSet::compute(d, r, None, TRADING_DAYS));
    record.benchmark = bm.as_ref().map(|m| Summary::of(m, annualise));
    if let Some((d, r)) = &bench {
        record.benchmark_drawdown = drawdown_points(d, r);
    }
    let bench_months: BTreeMap<(i32, u32), f64> =
        bm.iter().flat_map(|m| &m.monthly_returns).filter_map(|p| Some(((p.year, p.month?), p.ret))).collect();
    let bench_years: BTreeMap<i32, f64> = bm.iter().flat_map(|m| &m.yearly_returns).map(|p| (p.year, p.ret)).collect();
    let net_months: BTreeMap<(i32, u32), f64> = nm.monthly_returns.iter().filter_map(|p| Some(((p.year, p.month?), p.ret))).collect();
    let net_years: BTreeMap<i32, f64> = nm.yearly_returns.iter().map(|p| (p.year, p.ret)).collect();
    record.months = gm
        .monthly_returns
        .iter()
        .filter_map(|p| {
            let month = p.month?;
            Some(MonthRow {
                year: p.year,
                month,
                gross: p.ret,
                net: net_months.get(&(p.year, month)).copied().unwrap_or(p.ret),
                benchmark: bench_months.get(&(p.year, month)).copied(),
            })
        })
        .collect();
    record.years = gm
        .yearly_returns
        .iter()
        .map(|p| YearRow {
            year: p.year,
            gross: p.ret,
            net: net_years.get(&p.year).copied().unwrap_or(p.ret),
            benchmark: bench_years.get(&p.year).copied(),
            partial: partial(p.year, start, end),
        })
        .collect();
    record
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dec(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn empty_book_has_no_figures() {
        let r = build(&[], dec("1000"), FeeSchedule::default(), None);
        assert_eq!((r.days, r.start, r.gross.cumulative), (0, None, None));
        assert_eq!(r.equity, dec("1000"));
    }

    #[test]
    fn first_return_is_against_capital_and_months_compound() {
        let eq = [(d(2024, 1, 30), dec("1010")), (d(2024, 1, 31), dec("1030.2")), (d(2024, 2, 1), dec("1009.596"))];
        let r = build(&eq, dec("1000"), FeeSchedule { management: 0.0, performance: 0.0 }, None);
        assert_eq!(r.days, 3);
        assert_eq!(r.start, Some(d(2024, 1, 30)));
        // January: 1000 -> 1030.2; February: 1030.2 -> 1009.596 (-2%).
        assert!((r.months[0].gross - 0.0302).abs() < 1e-12, "{:?}", r.months);
        assert!((r.months[1].gross + 0.02).abs() < 1e-12);
        assert_eq!(r.months[0].net, r.months[0].gross);
        assert!((r.gross.cumulative.unwrap() - 0.009596).abs() < 1e-12);
        // Under a year: not annualised.
        assert_eq!(r.gross.annualised, None);
        // The drawdown after the peak of 1030.2: 1009.596 / 1030.2 - 1 = -2%.
        assert!((r.drawdown.last().unwrap().v + 0.02).abs() < 1e-12);
        assert!(r.years[0].partial);
    }

    #[test]
    fn management_fee_accrues_daily_and_performance_fee_only_above_the_high_water_mark() {
        let dates = [d(2024, 1, 30), d(2024, 1, 31), d(2024, 2, 1), d(2024, 2, 29)];
        let fees = FeeSchedule { management: 0.0365, performance: 0.2 };
        // No gross return: only the management fee, 0.01% a calendar day (28 days to Feb 29).
        let flat = net_returns(&dates, &[0.0; 4], &fees);
        assert!(flat[..3].iter().all(|r| (r + 0.0001).abs() < 1e-12), "{flat:?}");
        assert!((flat[3] + 0.0028).abs() < 1e-12, "{flat:?}");
        // +10% in January: at the month end, 20% of the gain over the mark of 1.0 is taken.
        let net = net_returns(&dates, &[0.10, 0.0, -0.05, 0.05], &FeeSchedule { management: 0.0, performance: 0.2 });
        assert!((net[0] - 0.10).abs() < 1e-12);
        assert!((net[1] - (1.08 / 1.10 - 1.0)).abs() < 1e-12, "{net:?}");
        // February: 1.08 -> 1.026 -> 1.0773, under the new mark of 1.08: no fee.
        assert!((net[3] - 0.05).abs() < 1e-12);
        // A performance fee never makes a month's net return above its gross.
        assert!(net.iter().zip([0.10, 0.0, -0.05, 0.05]).all(|(n, g)| *n <= g + 1e-15));
    }

    #[test]
    fn annualises_a_year_or_more_and_compares_with_the_index() {
        let mut eq = Vec::new();
        let mut bench = BTreeMap::new();
        let mut e = dec("1000000");
        let mut day = d(2020, 1, 2);
        while day <= d(2021, 6, 30) {
            if day.weekday().num_days_from_monday() < 5 {
                e += dec("100");
                eq.push((day, e));
                bench.insert(day, 0.0002);
            }
            day = day.succ_opt().unwrap();
        }
        let r = build(&eq, dec("1000000"), FeeSchedule::default(), Some(&bench));
        assert!(r.gross.annualised.is_some() && r.benchmark.as_ref().unwrap().annualised.is_some());
        assert!(r.net.cumulative.unwrap() < r.gross.cumulative.unwrap());
        assert_eq!(r.years.len(), 2);
        assert!(!r.years[0].partial && r.years[1].partial);
        assert_eq!(r.months.len(), 18);
        assert!(r.months.iter().all(|m| m.benchmark.is_some()));
        // A rising line has no drawdown.
        assert_eq!(r.gross.max_drawdown, Some(0.0));
        assert!(r.drawdown.iter().all(|p| p.v == 0.0));
    }

    #[test]
    fn invalid_fees_give_no_net_adjustment() {
        let eq = [(d(2024, 1, 30), dec("1010"))];
        let r = build(&eq, dec("1000"), FeeSchedule { management: f64::NAN, performance: 0.2 }, None);
        assert_eq!(r.fees, None);
        assert_eq!(r.months[0].net, r.months[0].gross);
    }
}
