//! Post-trade analytics: PnL attribution of closed round trips (by instrument, holding horizon,
//! hour of day and day of week of the close). Every breakdown sums to the total exactly: the
//! amounts are decimals and each trade falls in exactly one bucket of each breakdown.
use std::collections::BTreeMap;

use chrono::{Datelike, Timelike};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::metrics::ClosedTrade;

/// One bucket of a breakdown: its PnL (net of fees, USD) and number of trades.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Bucket {
    pub key: String,
    pub pnl: Decimal,
    pub trades: u64,
}

/// Realized PnL of closed round trips, and the same total broken down four ways.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Attribution {
    pub total: Decimal,
    pub trades: u64,
    pub by_instrument: Vec<Bucket>,
    /// Holding time buckets: `< 1 h`, `1-24 h`, `1-5 d`, `5-20 d`, `>= 20 d`.
    pub by_horizon: Vec<Bucket>,
    /// Hour (UTC) of the closing fill, `00`..`23`.
    pub by_hour: Vec<Bucket>,
    /// Day of week (UTC) of the closing fill, `Mon`..`Sun`.
    pub by_weekday: Vec<Bucket>,
}

/// The horizon bucket of a holding time in seconds, with a sort prefix.
pub fn horizon_bucket(secs: i64) -> &'static str {
    match secs {
        s if s < 3_600 => "1: < 1 h",
        s if s < 86_400 => "2: 1-24 h",
        s if s < 5 * 86_400 => "3: 1-5 d",
        s if s < 20 * 86_400 => "4: 5-20 d",
        _ => "5: >= 20 d",
    }
}

const WEEKDAYS: [&str; 7] = ["1 Mon", "2 Tue", "3 Wed", "4 Thu", "5 Fri", "6 Sat", "7 Sun"];

impl Attribution {
    pub fn compute(trades: &[ClosedTrade]) -> Attribution {
        let mut maps: [BTreeMap<String, (Decimal, u64)>; 4] = Default::default();
        let mut total = Decimal::ZERO;
        for t in trades {
            total += t.pnl;
            let keys = [
                t.instrument.clone(),
                horizon_bucket((t.closed - t.opened).num_seconds()).to_string(),
                format!("{:02}", t.closed.hour()),
                WEEKDAYS[t.closed.weekday().num_days_from_monday() as usize].to_string(),
            ];
            for (map, key) in maps.iter_mut().zip(keys) {
                let e = map.entry(key).or_insert((Decimal::ZERO, 0));
                e.0 += t.pnl;
                e.1 += 1;
            }
        }
        let buckets = |m: &BTreeMap<String, (Decimal, u64)>| m.iter().map(|(k, (pnl, n))| Bucket { key: k.clone(), pnl: *pnl, trades: *n }).collect::<Vec<_>>();
        Attribution {
            total,
            trades: trades.len() as u64,
            by_instrument: buckets(&maps[0]),
            by_horizon: buckets(&maps[1]),
            by_hour: buckets(&maps[2]),
            by_weekday: buckets(&maps[3]),
        }
    }

    pub fn breakdowns(&self) -> [(&'static str, &[Bucket]); 4] {
        [("instrument", &self.by_instrument), ("holding horizon", &self.by_horizon), ("hour of close (UTC)", &self.by_hour), ("day of close (UTC)", &self.by_weekday)]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn every_breakdown_sums_to_the_total_exactly(
            trades in prop::collection::vec((0usize..4, -1_000_000i64..1_000_000, 0i64..40 * 86_400, 0i64..400 * 86_400), 0..200)
        ) {
            let t0 = chrono::DateTime::from_timestamp(1_500_000_000, 0).unwrap_or_default();
            let list: Vec<ClosedTrade> = trades.iter().map(|(i, cents, held, start)| {
                let opened = t0 + chrono::Duration::seconds(*start);
                ClosedTrade { instrument: ["AAPL", "MSFT", "EURUSD", "XOM"][*i].into(), pnl: Decimal::new(*cents, 2), opened, closed: opened + chrono::Duration::seconds(*held) }
            }).collect();
            let a = Attribution::compute(&list);
            prop_assert_eq!(a.total, list.iter().map(|t| t.pnl).sum::<Decimal>());
            for (name, buckets) in a.breakdowns() {
                prop_assert_eq!(buckets.iter().map(|b| b.pnl).sum::<Decimal>(), a.total, "{}", name);
                prop_assert_eq!(buckets.iter().map(|b| b.trades).sum::<u64>(), a.trades, "{}", name);
            }
        }
    }

    #[test]
    fn horizons_fall_in_named_buckets() {
        assert_eq!(horizon_bucket(59 * 60), "1: < 1 h");
        assert_eq!(horizon_bucket(3_600), "2: 1-24 h");
        assert_eq!(horizon_bucket(2 * 86_400), "3: 1-5 d");
        assert_eq!(horizon_bucket(30 * 86_400), "5: >= 20 d");
    }
}
