//! Risk of the book: correlation of instrument returns, concentration, and gross / net
//! exposure and leverage over time. Exposures are money (exact decimals); ratios are `f64`.
use std::collections::HashMap;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use serde::{Deserialize, Serialize};


/// Pairs of daily returns below which a correlation is not shown.
pub const MIN_PAIRS: usize = 20;

/// Instruments in the correlation matrix: the open positions by absolute notional, then the
/// instruments with the most days of marks (a readable heatmap, and bounded work per page).
pub const CORRELATION_INSTRUMENTS: usize = 25;

/// Concentration of the open positions by absolute notional at the marks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Concentration {
    pub positions: u64,
    /// Herfindahl-Hirschman index: sum of squared weights `w_i = |notional_i| / gross`, from
    /// `1 / positions` (equal weights) to 1 (one position).
    pub hhi: Option<f64>,
    /// `1 / hhi`: the number of equal positions with the same concentration.
    pub effective_positions: Option<f64>,
    /// Share of gross exposure in the largest 1, 3 and 5 positions.
    pub top1: Option<f64>,
    pub top3: Option<f64>,
    pub top5: Option<f64>,
}

impl Concentration {
    /// From absolute notionals, in any order.
    pub fn of(notionals: &[Decimal]) -> Concentration {
        let mut notionals = notionals.to_vec();
        notionals.sort_by(|a, b| b.cmp(a));
        let gross: Decimal = notionals.iter().sum();
        if gross.is_zero() {
            return Concentration { positions: notionals.len() as u64, ..Default::default() };
        }
        let w: Vec<f64> = notionals.iter().map(|n| (n / gross).to_f64().unwrap_or(0.0)).collect();
        let hhi: f64 = w.iter().map(|x| x * x).sum();
        let top = |n: usize| Some(w.iter().take(n).sum::<f64>());
        Concentration { positions: notionals.len() as u64, hhi: Some(hhi), effective_positions: (hhi > 0.0).then(|| 1.0 / hhi), top1: top(1), top3: top(3), top5: top(5) }
    }
}

/// The book at one day's close.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct ExposurePoint {
    pub date: NaiveDate,
    pub gross: Decimal,
    pub net: Decimal,
    pub equity: Decimal,
    /// `gross / equity`.
    pub leverage: Option<f64>,
    pub hhi: Option<f64>,
}

impl From<&DayExposure> for ExposurePoint {
    fn from(d: &DayExposure) -> Self {
        ExposurePoint {
            date: d.date,
            gross: d.gross.round_dp(2),
            net: d.net.round_dp(2),
            equity: d.equity.round_dp(2),
            leverage: (d.equity > Decimal::ZERO).then(|| (d.gross / d.equity).to_f64()).flatten(),
            hhi: d.hhi,
        }
    }
}

/// Pearson correlation of daily returns, pairwise over the dates both instruments have (as
/// pandas `DataFrame.pct_change().corr()` on a frame of daily closes); `None` below
/// [`MIN_PAIRS`] pairs or for a constant series.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Correlation {
    pub instruments: Vec<String>,
    pub matrix: Vec<Vec<Option<f64>>>,
    /// Returns per instrument.
    pub observations: Vec<u64>,
    pub first: Option<NaiveDate>,
    pub last: Option<NaiveDate>,
}

/// Daily simple returns of a daily close series on a calendar (dates ascending): the return on
/// `calendar[i]` is against the close of `calendar[i - 1]` only when the instrument has both (no
/// gaps bridged, like pandas' `pct_change(fill_method=None)` on a frame indexed by every date any
/// instrument has).
fn returns_on(closes: &[(NaiveDate, f64)], calendar: &[NaiveDate]) -> Vec<Option<f64>> {
    let mut close: Vec<Option<f64>> = vec![None; calendar.len()];
    for (d, c) in closes {
        if let Ok(i) = calendar.binary_search(d) {
            close[i] = Some(*c);
        }
    }
    (0..calendar.len())
        .map(|i| match (i.checked_sub(1).and_then(|j| close[j]), close[i]) {
            (Some(a), Some(b)) if a != 0.0 => Some(b / a - 1.0),
            _ => None,
        })
        .collect()
}

/// Pearson correlation of paired values (sample moments; `None` for fewer than `MIN_PAIRS`
/// pairs or a constant side).
pub fn pearson(pairs: &[(f64, f64)]) -> Option<f64> {
    if pairs.len() < MIN_PAIRS {
        return None;
    }
    let n = pairs.len() as f64;
    let (mx, my) = (pairs.iter().map(|p| p.0).sum::<f64>() / n, pairs.iter().map(|p| p.1).sum::<f64>() / n);
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (x, y) in pairs {
        sxy += (x - mx) * (y - my);
        sxx += (x - mx) * (x - mx);
        syy += (y - my) * (y - my);
    }
    let c = sxy / (sxx * syy).sqrt();
    c.is_finite().then_some(c.clamp(-1.0, 1.0))
}

impl Correlation {
    /// From each instrument's daily closes (dates ascending), on or after `from` when given.
    pub fn compute<S: std::hash::BuildHasher>(closes: &HashMap<String, Vec<(NaiveDate, f64)>, S>, from: Option<NaiveDate>) -> Correlation {
        let mut instruments: Vec<String> = closes.keys().cloned().collect();
        instruments.sort();
        let mut calendar: Vec<NaiveDate> = closes.values().flat_map(|v| v.iter().map(|x| x.0)).filter(|d| from.is_none_or(|f| *d >= f)).collect();
        calendar.sort();
        calendar.dedup();
        let returns: Vec<Vec<Option<f64>>> = instruments.iter().map(|i| returns_on(&closes[i], &calendar)).collect();
        let n = instruments.len();
        let mut matrix = vec![vec![None; n]; n];
        let mut pairs: Vec<(f64, f64)> = Vec::with_capacity(calendar.len());
        for a in 0..n {
            for b in a..n {
                pairs.clear();
                pairs.extend(returns[a].iter().zip(&returns[b]).filter_map(|(x, y)| Some(((*x)?, (*y)?))));
                let c = if a == b { (pairs.len() >= MIN_PAIRS).then_some(1.0) } else { pearson(&pairs) };
                matrix[a][b] = c;
                matrix[b][a] = c;
            }
        }
        Correlation { observations: returns.iter().map(|r| r.iter().flatten().count() as u64).collect(), instruments, matrix, first: calendar.first().copied(), last: calendar.last().copied() }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct RiskReport {
    pub as_of: Option<NaiveDate>,
    pub gross: Decimal,
    pub net: Decimal,
    pub equity: Decimal,
    pub leverage: Option<f64>,
    pub concentration: Concentration,
    /// Largest positions by absolute notional: (instrument, signed notional USD, weight of gross).
    pub largest: Vec<(String, Decimal, f64)>,
    pub exposure: Vec<ExposurePoint>,
    pub correlation: Correlation,
}

/// The instruments of the correlation matrix (see [`CORRELATION_INSTRUMENTS`]).
fn correlation_subset<S: std::hash::BuildHasher>(held: &[(String, Decimal)], closes: &HashMap<String, Vec<(NaiveDate, f64)>, S>) -> HashMap<String, Vec<(NaiveDate, f64)>> {
    let mut names: Vec<&String> = held.iter().map(|(i, _)| i).filter(|i| closes.contains_key(*i)).take(CORRELATION_INSTRUMENTS).collect();
    if names.len() < CORRELATION_INSTRUMENTS {
        let mut rest: Vec<(&String, usize)> = closes.iter().filter(|(i, _)| !names.contains(i)).map(|(i, v)| (i, v.len())).collect();
        rest.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        names.extend(rest.into_iter().map(|(i, _)| i).take(CORRELATION_INSTRUMENTS - names.len()));
    }
    names.into_iter().filter_map(|i| closes.get(i).map(|v| (i.clone(), v.clone()))).collect()
}

impl RiskReport {
    pub fn compute<S: std::hash::BuildHasher>(days: &[DayExposure], positions: &[(String, Decimal)], closes: &HashMap<String, Vec<(NaiveDate, f64)>, S>) -> RiskReport {
        let exposure: Vec<ExposurePoint> = days.iter().map(ExposurePoint::from).collect();
        let now = exposure.last().cloned().unwrap_or_default();
        let mut sorted: Vec<(String, Decimal)> = positions.iter().filter(|(_, x)| !x.is_zero()).cloned().collect();
        sorted.sort_by(|a, b| b.1.abs().cmp(&a.1.abs()).then(a.0.cmp(&b.0)));
        let notionals: Vec<Decimal> = sorted.iter().map(|(_, x)| x.abs()).collect();
        let gross: Decimal = notionals.iter().sum();
        RiskReport {
            as_of: exposure.last().map(|e| e.date),
            gross: now.gross,
            net: now.net,
            equity: now.equity,
            leverage: now.leverage,
            concentration: Concentration::of(&notionals),
            largest: sorted.iter().take(10).map(|(i, x)| (i.clone(), x.round_dp(2), if gross.is_zero() { 0.0 } else { (x.abs() / gross).to_f64().unwrap_or(0.0) })).collect(),
            exposure,
            correlation: Correlation::compute(&correlation_subset(&sorted, closes), None),
        }
    }
}

/// End-of-day exposure of the book (market time), recorded when the next day's first market
/// snapshot arrives (the current day is read live).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DayExposure {
    pub date: NaiveDate,
    /// Sum of |quantity x mark| over positions, USD.
    pub gross: Decimal,
    /// Sum of quantity x mark, USD (long minus short).
    pub net: Decimal,
    pub equity: Decimal,
    /// Herfindahl index of the positions' absolute notionals (see `risk::Concentration`).
    pub hhi: Option<f64>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn dec(x: i64) -> Decimal {
        Decimal::from(x)
    }

    #[test]
    fn herfindahl_and_top_shares() {
        let c = Concentration::of(&[dec(50), dec(30), dec(20)]);
        assert!((c.hhi.unwrap_or(0.0) - 0.38).abs() < 1e-12, "0.25 + 0.09 + 0.04");
        assert!((c.effective_positions.unwrap_or(0.0) - 1.0 / 0.38).abs() < 1e-12);
        assert_eq!((c.top1, c.top3), (Some(0.5), Some(1.0)));
        assert_eq!(Concentration::of(&[]).hhi, None);
    }

    #[test]
    fn the_matrix_takes_held_positions_first_then_the_longest_histories() {
        let d0 = NaiveDate::from_ymd_opt(2021, 1, 1).unwrap_or_default();
        let closes: HashMap<String, Vec<(NaiveDate, f64)>> =
            (0..40).map(|i| (format!("I{i:02}"), (0..(10 + i)).map(|k| (d0 + chrono::Duration::days(k as i64), 100.0 + k as f64)).collect())).collect();
        let held = vec![("I00".to_string(), dec(-5)), ("I01".to_string(), dec(3))];
        let mut names: Vec<String> = correlation_subset(&held, &closes).into_keys().collect();
        names.sort();
        assert_eq!(names.len(), CORRELATION_INSTRUMENTS);
        assert!(names.contains(&"I00".to_string()) && names.contains(&"I01".to_string()), "held positions first");
        assert!(names.contains(&"I39".to_string()) && !names.contains(&"I02".to_string()), "then the longest histories");
    }

    #[test]
    fn correlation_is_pairwise_over_common_dates() {
        let d0 = NaiveDate::from_ymd_opt(2021, 1, 1).unwrap_or_default();
        let day = |i: i64| d0 + chrono::Duration::days(i);
        let a: Vec<(NaiveDate, f64)> = (0..60).map(|i| (day(i), 100.0 + ((i * 7) % 11) as f64)).collect();
        // b moves exactly with a; c exactly against it (in returns); d has too few dates.
        let b: Vec<(NaiveDate, f64)> = a.iter().map(|(d, x)| (*d, x * 2.0)).collect();
        let mut c = vec![(day(0), 100.0)];
        for w in a.windows(2) {
            let last = c.last().map(|x| x.1).unwrap_or(100.0);
            c.push((w[1].0, last * (1.0 - (w[1].1 / w[0].1 - 1.0))));
        }
        let e: Vec<(NaiveDate, f64)> = a.iter().take(10).copied().collect();
        let m = HashMap::from([("A".to_string(), a), ("B".to_string(), b), ("C".to_string(), c), ("D".to_string(), e)]);
        let r = Correlation::compute(&m, None);
        assert_eq!(r.instruments, vec!["A", "B", "C", "D"]);
        assert!(r.matrix[0][1].is_some_and(|x| (x - 1.0).abs() < 1e-12));
        assert!(r.matrix[0][2].is_some_and(|x| (x + 1.0).abs() < 1e-12));
        assert_eq!(r.matrix[0][3], None, "9 pairs are too few");
        assert_eq!(r.matrix[1][0], r.matrix[0][1]);
    }

    proptest! {
        #[test]
        fn hhi_lies_between_one_over_n_and_one(xs in prop::collection::vec(1i64..1_000_000_000, 1..50)) {
            let mut n: Vec<Decimal> = xs.iter().map(|x| Decimal::new(*x, 2)).collect();
            n.sort_by(|a, b| b.cmp(a));
            let c = Concentration::of(&n);
            let h = c.hhi.unwrap_or(-1.0);
            prop_assert!(h >= 1.0 / n.len() as f64 - 1e-12 && h <= 1.0 + 1e-12);
            prop_assert!(c.top1 <= c.top3 && c.top3 <= c.top5);
        }

        #[test]
        fn correlations_are_symmetric_and_within_one(xs in prop::collection::vec((1.0f64..200.0, 1.0f64..200.0), 25..80)) {
            let d0 = NaiveDate::from_ymd_opt(2021, 1, 1).unwrap_or_default();
            let day = |i: usize| d0 + chrono::Duration::days(i as i64);
            let m = HashMap::from([
                ("A".to_string(), xs.iter().enumerate().map(|(i, x)| (day(i), x.0)).collect::<Vec<_>>()),
                ("B".to_string(), xs.iter().enumerate().map(|(i, x)| (day(i), x.1)).collect::<Vec<_>>()),
            ]);
            let r = Correlation::compute(&m, None);
            prop_assert_eq!(r.matrix[0][1], r.matrix[1][0]);
            prop_assert!(r.matrix[0][1].is_none_or(|c| (-1.0..=1.0).contains(&c)));
        }
    }
}
