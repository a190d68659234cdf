//! Market and execution models of the paper engine. Documented in `docs/methodology.md`.
use chrono::Duration;
use rand::Rng;
use rand_distr::{Distribution, LogNormal};
use rust_decimal::Decimal;
use rust_decimal::prelude::{FromPrimitive, ToPrimitive};

use crate::data::AssetClass;

/// Quote derived from a close: the data carries closes only, so bid/ask come from a spread model.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Quote {
    pub bid: Decimal,
    pub ask: Decimal,
    pub mid: Decimal,
}

/// Spread model: equities 2 bps of the price (1 bp each side, at least 0.0001);
/// EURUSD 0.6 pip (0.00006) in all.
pub fn quote(class: AssetClass, close: Decimal) -> Quote {
    let (half, dp) = match class {
        AssetClass::Equity => ((close * Decimal::new(1, 4)).max(Decimal::new(1, 4)), 4),
        AssetClass::Fx => (Decimal::new(3, 5), 6),
    };
    let bid = (close - half).round_dp(dp).max(Decimal::new(1, dp));
    let ask = (close + half).round_dp(dp);
    Quote { bid, ask, mid: close }
}

/// Price impact in bps of a market order: `k x sqrt(notional / 1,000,000 USD)`, k = 5 bps for
/// equities and 1 bp for EURUSD (a deep market).
/// The model is the console's own (`domain::analytics::impact_model_bps`), so the execution
/// reports compare fills with exactly what the engine assumed.
pub fn impact_bps(class: AssetClass, notional: f64) -> f64 {
    domain::analytics::impact_model_bps(class == AssetClass::Fx, notional)
}

/// Fill price of a marketable order: the far touch plus impact, rounded to the price grid.
pub fn fill_price(class: AssetClass, q: Quote, buy: bool, notional: f64) -> Decimal {
    let impact = Decimal::from_f64(impact_bps(class, notional) / 10_000.0).unwrap_or_default() * q.mid;
    let dp = match class {
        AssetClass::Equity => 4,
        AssetClass::Fx => 6,
    };
    if buy { (q.ask + impact).round_dp(dp) } else { (q.bid - impact).round_dp(dp).max(Decimal::new(1, dp)) }
}

/// Commission: equities 0.5 bps of notional, FX none (paid in the spread).
pub fn fee(class: AssetClass, notional: Decimal) -> Decimal {
    match class {
        AssetClass::Equity => (notional * Decimal::new(5, 5)).round_dp(2),
        AssetClass::Fx => Decimal::ZERO,
    }
}

/// Log-normal latency of one pipeline step, given its median and log-space sigma.
#[derive(Debug, Clone, Copy)]
pub struct Latency {
    dist: LogNormal<f64>,
}

impl Latency {
    pub fn new(median_ms: f64, sigma: f64) -> Self {
        let dist = LogNormal::new(median_ms.max(0.001).ln(), sigma.max(0.0))
            .unwrap_or_else(|_| LogNormal::new(0.0, 0.0).unwrap_or_else(|_| unreachable!()));
        Self { dist }
    }
    pub fn sample(&self, rng: &mut impl Rng) -> Duration {
        let ms = self.dist.sample(rng).min(60_000.0);
        Duration::microseconds((ms * 1000.0) as i64)
    }
}

/// The pipeline's latency model: signal -> risk check -> order -> ack -> fill.
#[derive(Debug, Clone, Copy)]
pub struct LatencyModel {
    pub risk_check: Latency,
    pub order: Latency,
    pub ack: Latency,
    pub fill: Latency,
}

impl Default for LatencyModel {
    fn default() -> Self {
        Self {
            risk_check: Latency::new(2.0, 0.4),
            order: Latency::new(25.0, 0.5),
            ack: Latency::new(4.0, 0.5),
            fill: Latency::new(40.0, 0.7),
        }
    }
}

pub fn to_f64(d: Decimal) -> f64 {
    d.to_f64().unwrap_or(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use std::str::FromStr;

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap_or_default()
    }

    #[test]
    fn quotes_straddle_the_close() {
        let q = quote(AssetClass::Equity, d("150.00"));
        assert_eq!((q.bid, q.ask), (d("149.985"), d("150.015")));
        let fx = quote(AssetClass::Fx, d("1.07219"));
        assert_eq!((fx.bid, fx.ask), (d("1.07216"), d("1.07222")));
    }

    #[test]
    fn buys_pay_more_than_the_ask_and_sells_get_less_than_the_bid() {
        let q = quote(AssetClass::Equity, d("100"));
        assert!(fill_price(AssetClass::Equity, q, true, 250_000.0) > q.ask);
        assert!(fill_price(AssetClass::Equity, q, false, 250_000.0) < q.bid);
    }

    #[test]
    fn latency_median_is_near_its_parameter() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let l = Latency::new(25.0, 0.5);
        let mut xs: Vec<i64> = (0..2001).map(|_| l.sample(&mut rng).num_microseconds().unwrap_or(0)).collect();
        xs.sort_unstable();
        let median_ms = xs[1000] as f64 / 1000.0;
        assert!((20.0..30.0).contains(&median_ms), "{median_ms}");
    }
}
