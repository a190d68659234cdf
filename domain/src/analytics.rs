//! Post-trade analytics: PnL attribution of closed round trips (by instrument, holding horizon,
//! hour of day and day of week of the close). Every breakdown sums to the total exactly: the
//! amounts are decimals and each trade falls in exactly one bucket of each breakdown.
use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate, Timelike};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::event::{Body, Event, OrderStatus};
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

/// The factor ETFs whose returns factor attribution uses, as lower-case feature suffixes
/// (`beta_mtum` ...): iShares MSCI USA Momentum, Quality, Size, Min Vol, Value.
pub const FACTORS: [&str; 5] = ["mtum", "qual", "size", "usmv", "vlue"];

/// Daily factor returns as a wealth index per factor, for compounding over any span of dates.
#[derive(Debug, Clone, Default)]
pub struct FactorReturns {
    dates: Vec<NaiveDate>,
    /// `wealth[k][i]`: growth of 1 in factor k from before the first date to the close of date i.
    wealth: Vec<[f64; 5]>,
}

impl FactorReturns {
    /// From simple daily returns per date, in the order of [`FACTORS`].
    pub fn from_daily(rows: impl IntoIterator<Item = (NaiveDate, [f64; 5])>) -> Self {
        let mut rows: Vec<(NaiveDate, [f64; 5])> = rows.into_iter().collect();
        rows.sort_by_key(|r| r.0);
        let mut w = [1.0; 5];
        let (mut dates, mut wealth) = (Vec::with_capacity(rows.len()), Vec::with_capacity(rows.len()));
        for (d, r) in rows {
            for k in 0..5 {
                w[k] *= 1.0 + r[k];
            }
            dates.push(d);
            wealth.push(w);
        }
        Self { dates, wealth }
    }

    fn wealth_at(&self, d: NaiveDate) -> [f64; 5] {
        match self.dates.partition_point(|x| *x <= d) {
            0 => [1.0; 5],
            i => self.wealth[i - 1],
        }
    }

    /// Compounded return of each factor from the close of `from` to the close of `to` (0 within
    /// a day, or outside the data).
    pub fn between(&self, from: NaiveDate, to: NaiveDate) -> [f64; 5] {
        let (a, b) = (self.wealth_at(from), self.wealth_at(to));
        std::array::from_fn(|k| if a[k] > 0.0 { b[k] / a[k] - 1.0 } else { 0.0 })
    }

    pub fn is_empty(&self) -> bool {
        self.dates.is_empty()
    }
}

/// Realized PnL of closed trades split into factor contributions and a residual.
///
/// Per trade, factor k contributes `direction x notional x beta_k x F_k`, with `beta_k` the
/// `beta_<factor>` feature of the signal that opened the position, `notional` the position at
/// cost when it closed, `direction` +1 long / -1 short and `F_k` the factor's compounded return
/// from the close of the opening day to the close of the closing day; rounded to the cent. The
/// residual is the trade's PnL minus its factor contributions, so every trade, and the total,
/// adds up exactly. Trades without exposures are all residual.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct FactorAttribution {
    pub total: Decimal,
    pub trades: u64,
    /// Trades whose opening signal carried at least one factor exposure.
    pub trades_with_exposures: u64,
    /// One bucket per factor (upper-case ETF ticker) and `residual`, in that order.
    pub by_factor: Vec<Bucket>,
    /// The last date with factor returns: later moves are not attributed (residual).
    pub factors_last: Option<NaiveDate>,
}

impl FactorAttribution {
    pub fn compute(trades: &[ClosedTrade], factors: &FactorReturns) -> FactorAttribution {
        let mut parts = [Decimal::ZERO; 5];
        let mut counted = [0u64; 5];
        let (mut total, mut residual, mut with) = (Decimal::ZERO, Decimal::ZERO, 0u64);
        for t in trades {
            total += t.pnl;
            let f = factors.between(t.opened.date_naive(), t.closed.date_naive());
            let sign = if t.long { Decimal::ONE } else { Decimal::NEGATIVE_ONE };
            let mut explained = Decimal::ZERO;
            let mut any = false;
            for (k, name) in FACTORS.iter().enumerate() {
                let Some(beta) = t.exposures.get(*name) else { continue };
                any = true;
                let c = Decimal::from_f64_retain(beta * f[k]).map(|x| (sign * t.notional * x).round_dp(2)).unwrap_or_default();
                parts[k] += c;
                counted[k] += 1;
                explained += c;
            }
            with += u64::from(any);
            residual += t.pnl - explained;
        }
        let mut by_factor: Vec<Bucket> = FACTORS.iter().zip(parts).zip(counted).map(|((n, pnl), c)| Bucket { key: n.to_uppercase(), pnl, trades: c }).collect();
        by_factor.push(Bucket { key: "residual".into(), pnl: residual, trades: trades.len() as u64 });
        FactorAttribution { total, trades: trades.len() as u64, trades_with_exposures: with, by_factor, factors_last: factors.dates.last().copied() }
    }
}

/// Execution cost of fills against the decision price (the mid when the signal came), split so
/// the parts add up exactly (USD, positive = a cost):
/// `timing = s * (mid_at_order - mid_at_signal) * q`, `spread = s * (touch_at_order - mid_at_order) * q`
/// (half the spread: the ask for a buy, the bid for a sell), `impact = s * (fill - touch_at_order) * q`,
/// with `s` = +1 buy / -1 sell and `q` the filled quantity; and per order
/// `opportunity = s * (mid_at_end - mid_at_signal) * unfilled`, at the order's final status.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct CostParts {
    pub timing: Decimal,
    pub spread: Decimal,
    pub impact: Decimal,
    pub opportunity: Decimal,
    /// Filled notional (USD), the base of the bps figures.
    pub notional: Decimal,
    pub fills: u64,
    /// What the paper engine's impact model expects for these fills (USD, see
    /// [`impact_model_bps`]): the realized `impact` set against its expectation.
    #[serde(default)]
    pub model_impact: Decimal,
}

/// The paper engine's market-impact model (docs/methodology.md, "The paper engine's models"):
/// `k x sqrt(notional / 1,000,000 USD)` bps of a market order's notional, k = 5 for equities and
/// 1 for a currency pair (a deep market). The engine fills with it; the execution reports set
/// each fill's realized impact against it.
pub fn impact_model_bps(currency_pair: bool, notional_usd: f64) -> f64 {
    let k = if currency_pair { 1.0 } else { 5.0 };
    k * (notional_usd.max(0.0) / 1_000_000.0).sqrt()
}

/// An instrument named as a pair of ISO currencies (`EURUSD`): the impact model's deep market.
pub fn is_currency_pair(instrument: &str) -> bool {
    const CURRENCIES: [&str; 10] = ["USD", "EUR", "GBP", "JPY", "CHF", "AUD", "CAD", "NZD", "SEK", "NOK"];
    instrument.len() == 6 && instrument.is_char_boundary(3) && CURRENCIES.contains(&&instrument[..3]) && CURRENCIES.contains(&&instrument[3..])
}

impl CostParts {
    pub fn total(&self) -> Decimal {
        self.timing + self.spread + self.impact + self.opportunity
    }

    /// A part in bps of the filled notional.
    pub fn bps(&self, part: Decimal) -> Option<f64> {
        use rust_decimal::prelude::ToPrimitive;
        (!self.notional.is_zero()).then(|| (part / self.notional * Decimal::from(10_000)).to_f64()).flatten()
    }

    fn add(&mut self, o: &CostParts) {
        self.timing += o.timing;
        self.spread += o.spread;
        self.impact += o.impact;
        self.opportunity += o.opportunity;
        self.notional += o.notional;
        self.fills += o.fills;
        self.model_impact += o.model_impact;
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct SlippageReport {
    pub total: CostParts,
    pub by_instrument: BTreeMap<String, CostParts>,
    pub by_order_type: BTreeMap<String, CostParts>,
    pub by_liquidity: BTreeMap<String, CostParts>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct OrderInfo {
    instrument: String,
    sign: Decimal,
    quantity: Decimal,
    filled: Decimal,
    order_type: crate::event::OrderType,
    decision: Option<Decimal>,
    arrival: Option<(Decimal, Decimal)>,
    done: bool,
}

/// The slippage decomposition as a fold over the log.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Slippage {
    quotes: crate::hash::HashMap<String, (Decimal, Decimal, Decimal)>,
    /// The mid when each recent signal arrived (its decision price; see [`crate::recent::SIGNALS_KEPT`]).
    signal_mid: crate::recent::Recent<Decimal>,
    /// Orders not yet final (the book says when one is).
    orders: crate::hash::HashMap<String, OrderInfo>,
    report: SlippageReport,
}

impl Slippage {
    /// Folds one event in; for a fill with a decision price and a quote, its cost parts (USD,
    /// positive = a cost), as the export lists them.
    pub fn apply(&mut self, event: &Event) -> Option<CostParts> {
        match &event.body {
            Body::MarketSnapshot(m) => {
                crate::upsert(&mut self.quotes, m.instrument.as_str(), (m.bid, m.ask, m.mid));
            }
            Body::Signal(s) => {
                if let Some((_, _, mid)) = self.quotes.get(s.instrument.as_str()) {
                    self.signal_mid.insert(s.signal_id.as_str().to_string(), *mid);
                }
            }
            Body::Order(o) => {
                let id = o.order_id.as_str().to_string();
                if !self.orders.contains_key(&id) {
                    let quote = self.quotes.get(o.instrument.as_str()).copied();
                    let sign = o.side.sign();
                    let decision = o.signal_id.as_ref().and_then(|s| self.signal_mid.get(s.as_str()).copied()).or(quote.map(|q| q.2));
                    // The touch the order meets: the ask for a buy, the bid for a sell.
                    let arrival = quote.map(|(bid, ask, mid)| (mid, if sign.is_sign_positive() { ask } else { bid }));
                    self.orders.insert(
                        id.clone(),
                        OrderInfo { instrument: o.instrument.as_str().to_string(), sign, quantity: o.quantity, filled: Decimal::ZERO, order_type: o.order_type, decision, arrival, done: false },
                    );
                }
                if o.status.is_terminal() {
                    self.finish(&id, o.status);
                }
            }
            Body::Fill(f) => {
                let info = self.orders.get_mut(f.order_id.as_str())?;
                info.filled += f.quantity;
                let (Some(decision), Some((mid, touch))) = (info.decision, info.arrival) else { return None };
                let (s, q) = (info.sign, f.quantity);
                let notional = f.price * q;
                let expected_bps = impact_model_bps(is_currency_pair(&info.instrument), rust_decimal::prelude::ToPrimitive::to_f64(&notional).unwrap_or(0.0));
                let part = CostParts {
                    timing: s * (mid - decision) * q,
                    spread: s * (touch - mid) * q,
                    impact: s * (f.price - touch) * q,
                    opportunity: Decimal::ZERO,
                    notional,
                    fills: 1,
                    model_impact: Decimal::from_f64_retain(expected_bps / 10_000.0).and_then(|b| notional.checked_mul(b)).map(|x| x.round_dp(6)).unwrap_or_default(),
                };
                let (instrument, order_type) = (info.instrument.clone(), info.order_type);
                self.book(&instrument, order_type.as_str(), f.liquidity.as_str(), &part);
                return Some(part);
            }
            _ => {}
        }
        None
    }

    /// Drops a final order's state (a replay outside the folds, which the book tells instead).
    pub fn forget(&mut self, order_id: &str) {
        self.orders.remove(order_id);
    }

    /// An order reached a final status: what it did not fill costs the move since the decision.
    fn finish(&mut self, order_id: &str, status: OrderStatus) {
        let Some(info) = self.orders.get_mut(order_id) else { return };
        if info.done {
            return;
        }
        info.done = true;
        let unfilled = (info.quantity - info.filled).max(Decimal::ZERO);
        if status == OrderStatus::Filled || unfilled.is_zero() {
            return;
        }
        let (Some(decision), Some((_, _, now))) = (info.decision, self.quotes.get(&info.instrument).copied()) else { return };
        let part = CostParts { opportunity: info.sign * (now - decision) * unfilled, ..CostParts::default() };
        let (instrument, order_type) = (info.instrument.clone(), info.order_type);
        self.book(&instrument, order_type.as_str(), "unfilled", &part);
    }

    fn book(&mut self, instrument: &str, order_type: &str, liquidity: &str, part: &CostParts) {
        let r = &mut self.report;
        r.total.add(part);
        r.by_instrument.entry(instrument.to_string()).or_default().add(part);
        r.by_order_type.entry(order_type.to_string()).or_default().add(part);
        r.by_liquidity.entry(liquidity.to_string()).or_default().add(part);
    }

    pub fn report(&self) -> &SlippageReport {
        &self.report
    }
}

impl Slippage {
    /// Orders this fold keeps state for (not yet final).
    pub fn orders_kept(&self) -> usize {
        self.orders.len()
    }
}

impl crate::fold::Fold for Slippage {
    fn name(&self) -> &'static str {
        "slippage"
    }
    fn apply(&mut self, s: &crate::fold::Stored<'_>, book: &crate::projection::Projection) {
        Slippage::apply(self, s.event);
        if let Some(id) = book.finalised() {
            self.orders.remove(id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_impact_model_is_the_paper_engines_and_knows_a_currency_pair() {
        assert!((impact_model_bps(false, 1_000_000.0) - 5.0).abs() < 1e-12);
        assert!((impact_model_bps(true, 4_000_000.0) - 2.0).abs() < 1e-12);
        assert_eq!(impact_model_bps(false, -5.0), 0.0);
        assert!(is_currency_pair("EURUSD") && is_currency_pair("USDJPY"));
        for not_a_pair in ["AAPL", "BTCUSD", "EURUSDT", "éURUSD", ""] {
            assert!(!is_currency_pair(not_a_pair), "{not_a_pair}");
        }
    }

    proptest! {
        #[test]
        fn every_breakdown_sums_to_the_total_exactly(
            trades in prop::collection::vec((0usize..4, -1_000_000i64..1_000_000, 0i64..40 * 86_400, 0i64..400 * 86_400), 0..200)
        ) {
            let t0 = chrono::DateTime::from_timestamp(1_500_000_000, 0).unwrap_or_default();
            let list: Vec<ClosedTrade> = trades.iter().map(|(i, cents, held, start)| {
                let opened = t0 + chrono::Duration::seconds(*start);
                ClosedTrade { instrument: ["AAPL", "MSFT", "EURUSD", "XOM"][*i].into(), pnl: Decimal::new(*cents, 2), opened, closed: opened + chrono::Duration::seconds(*held), ..Default::default() }
            }).collect();
            let a = Attribution::compute(&list);
            prop_assert_eq!(a.total, list.iter().map(|t| t.pnl).sum::<Decimal>());
            for (name, buckets) in a.breakdowns() {
                prop_assert_eq!(buckets.iter().map(|b| b.pnl).sum::<Decimal>(), a.total, "{}", name);
                prop_assert_eq!(buckets.iter().map(|b| b.trades).sum::<u64>(), a.trades, "{}", name);
            }
        }
    }

    proptest! {
        #[test]
        fn factor_contributions_and_residual_sum_to_the_total_exactly(
            trades in prop::collection::vec((-1_000_000i64..1_000_000, 0i64..30, 0i64..300, any::<bool>(), 1i64..10_000_000, prop::collection::vec(-3.0f64..3.0, 5), any::<bool>()), 0..100),
            rets in prop::collection::vec(prop::collection::vec(-0.05f64..0.05, 5), 1..400),
        ) {
            let d0 = NaiveDate::from_ymd_opt(2020, 1, 1).unwrap_or_default();
            let factors = FactorReturns::from_daily(rets.iter().enumerate().map(|(i, r)| (d0 + chrono::Duration::days(i as i64), [r[0], r[1], r[2], r[3], r[4]])));
            let t0 = d0.and_hms_opt(15, 0, 0).unwrap_or_default().and_utc();
            let list: Vec<ClosedTrade> = trades.iter().map(|(cents, held, start, long, notional, betas, has)| ClosedTrade {
                instrument: "AAPL".into(),
                pnl: Decimal::new(*cents, 2),
                opened: t0 + chrono::Duration::days(*start),
                closed: t0 + chrono::Duration::days(start + held),
                long: *long,
                notional: Decimal::new(*notional, 2),
                exposures: if *has { FACTORS.iter().zip(betas).map(|(k, b)| (k.to_string(), *b)).collect() } else { BTreeMap::new() },
            }).collect();
            let a = FactorAttribution::compute(&list, &factors);
            prop_assert_eq!(a.total, list.iter().map(|t| t.pnl).sum::<Decimal>());
            prop_assert_eq!(a.by_factor.iter().map(|b| b.pnl).sum::<Decimal>(), a.total);
            prop_assert_eq!(a.by_factor.len(), 6);
        }
    }

    #[test]
    fn a_factor_contributes_beta_times_its_return_over_the_holding_span() {
        let d = |day: u32| NaiveDate::from_ymd_opt(2024, 3, day).unwrap_or_default();
        // MTUM +10% on the 4th and +10% on the 5th; the rest flat.
        let factors = FactorReturns::from_daily([(d(1), [0.0; 5]), (d(4), [0.1, 0.0, 0.0, 0.0, 0.0]), (d(5), [0.1, 0.0, 0.0, 0.0, 0.0])]);
        let at = |day: u32| d(day).and_hms_opt(16, 0, 0).unwrap_or_default().and_utc();
        let trade = ClosedTrade {
            instrument: "AAPL".into(),
            pnl: Decimal::from(3_000),
            opened: at(1),
            closed: at(5),
            long: true,
            notional: Decimal::from(10_000),
            exposures: BTreeMap::from([("mtum".to_string(), 1.5), ("qual".to_string(), 0.5)]),
        };
        let a = FactorAttribution::compute(std::slice::from_ref(&trade), &factors);
        let get = |k: &str| a.by_factor.iter().find(|b| b.key == k).map(|b| b.pnl).unwrap_or_default();
        // 10,000 x 1.5 x (1.1 x 1.1 - 1) = 3,150.
        assert_eq!(get("MTUM"), Decimal::from(3_150));
        assert_eq!(get("QUAL"), Decimal::ZERO);
        assert_eq!(get("residual"), Decimal::from(-150));
        assert_eq!(a.trades_with_exposures, 1);
        let short = ClosedTrade { long: false, ..trade };
        let b = FactorAttribution::compute(&[short], &factors);
        assert_eq!(b.by_factor[0].pnl, Decimal::from(-3_150), "a short loses what the factor gains");
        assert_eq!(factors.between(d(5), d(5)), [0.0; 5], "no factor return within a day");
    }

    fn ev(json: &str) -> Event {
        Event::parse_json(json, chrono::DateTime::from_timestamp(1_800_000_000, 0).unwrap_or_default()).unwrap_or_else(|e| panic!("{e}: {json}"))
    }

    #[test]
    fn slippage_parts_add_up_to_fill_minus_decision_price() {
        let mut s = Slippage::default();
        for line in [
            r#"{"event_id":"1","kind":"market_snapshot","ts":"2024-01-02T15:00:00Z","instrument":"AAPL","bid":"99.9","ask":"100.1","mid":"100","last":"100","volume":"1"}"#,
            r#"{"event_id":"2","kind":"signal","ts":"2024-01-02T15:00:01Z","signal_id":"s","automation_id":"a","instrument":"AAPL","intent":"entry","signal_type":"m","side":"buy","strength":1,"features":{},"model_version":"v","prediction":0,"confidence":1}"#,
            r#"{"event_id":"3","kind":"market_snapshot","ts":"2024-01-02T15:00:02Z","instrument":"AAPL","bid":"100.0","ask":"100.4","mid":"100.2","last":"100.2","volume":"1"}"#,
            r#"{"event_id":"4","kind":"order","ts":"2024-01-02T15:00:03Z","order_id":"o","signal_id":"s","instrument":"AAPL","side":"buy","quantity":"10","order_type":"limit","limit_price":"100.6","status":"submitted"}"#,
            r#"{"event_id":"5","kind":"fill","ts":"2024-01-02T15:00:04Z","fill_id":"f","order_id":"o","quantity":"6","price":"100.5","fee":"0","fee_currency":"USD","liquidity":"taker"}"#,
            r#"{"event_id":"6","kind":"market_snapshot","ts":"2024-01-02T15:00:05Z","instrument":"AAPL","bid":"100.8","ask":"101.2","mid":"101","last":"101","volume":"1"}"#,
            r#"{"event_id":"7","kind":"order","ts":"2024-01-02T15:00:06Z","order_id":"o","signal_id":"s","instrument":"AAPL","side":"buy","quantity":"10","order_type":"limit","limit_price":"100.6","status":"cancelled"}"#,
        ] {
            s.apply(&ev(line));
        }
        let t = &s.report().total;
        let d = |x: &str| x.parse::<Decimal>().unwrap_or_default();
        assert_eq!((t.timing, t.spread, t.impact, t.opportunity), (d("1.2"), d("1.2"), d("0.6"), d("4.0")));
        assert_eq!(t.total(), d("7.0"), "executed (100.5 - 100) * 6 = 3.0 plus 4 unfilled * (101 - 100)");
        assert_eq!(s.report().by_liquidity.keys().collect::<Vec<_>>(), vec!["taker", "unfilled"]);
        assert_eq!(s.report().by_order_type["limit"].total(), t.total());
    }

    #[test]
    fn horizons_fall_in_named_buckets() {
        assert_eq!(horizon_bucket(59 * 60), "1: < 1 h");
        assert_eq!(horizon_bucket(3_600), "2: 1-24 h");
        assert_eq!(horizon_bucket(2 * 86_400), "3: 1-5 d");
        assert_eq!(horizon_bucket(30 * 86_400), "5: >= 20 d");
    }
}
