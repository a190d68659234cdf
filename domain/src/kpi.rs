//! Exit-quality KPIs: how well exits work. A fold over the event log (signals, orders, fills,
//! market snapshots, operator responses); definitions in `docs/methodology.md`, "Exit quality".
//!
//! - **SLAR** (stop-loss avoidance rate): of closed trades that had a stop-loss, the share closed
//!   by an exit signal that came before the mid crossed the stop.
//! - **PRR** (profit retention ratio): realized price gain over the best unrealized price gain
//!   (maximum favourable excursion of the mid), quantity-weighted, over trades with a positive
//!   excursion.
//! - **TTDR** (true transition detection rate) / **FER** (false exit rate): of exits with an open
//!   position, the share after which the mid first moved `threshold` *against* the closed
//!   position (confirmed) / first moved `threshold` further *in its favour* (false), within
//!   `horizon`. Exits whose horizon has not passed and crossed neither are not counted yet.
//! - **ERT** (exit reaction time): from an exit signal to the first reaction, an operator
//!   response (its `response_ms`, measured by the console) or an order for the signal (order
//!   time minus signal time, the engine's clock); median and p95.
//! - **EAW%** (exit within acceptable window): share of exit signals reacted to within their
//!   `response_window_secs` (or `default_window_secs`); no reaction counts as outside.
use std::collections::BTreeMap;

use crate::hash::HashMap;

use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use rust_decimal::prelude::ToPrimitive;
use serde::{Deserialize, Serialize};

use crate::event::{Body, Event, Intent, Side};
use crate::metrics::percentile_sorted;
use crate::recent::Recent;

/// Parameters of the KPIs (from config later; these are the defaults).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct KpiParams {
    /// Move of the mid that confirms or falsifies an exit, as a fraction (0.01 = 1%).
    pub threshold: f64,
    /// How long after an exit its confirmation is looked for, seconds (of the source clock).
    pub horizon_secs: i64,
    /// Window for exits that do not carry `response_window_secs`, seconds.
    pub default_window_secs: u32,
}

impl Default for KpiParams {
    fn default() -> Self {
        Self { threshold: 0.01, horizon_secs: 5 * 86_400, default_window_secs: 300 }
    }
}

/// The KPIs over a set of exits and trades; `None` where the denominator is zero.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct KpiValues {
    pub slar: Option<f64>,
    pub prr: Option<f64>,
    pub ttdr: Option<f64>,
    pub fer: Option<f64>,
    pub ert_median_ms: Option<f64>,
    pub ert_p95_ms: Option<f64>,
    pub eaw: Option<f64>,
    /// Denominators: exit signals, closed trades with a stop (SLAR), exits judged (TTDR, FER).
    pub exits: u64,
    pub trades_with_stop: u64,
    pub exits_judged: u64,
}

/// Overall values and one row per ISO week (Monday) of the exit signals' time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct KpiReport {
    pub params: Option<KpiParams>,
    pub overall: KpiValues,
    pub weekly: Vec<(NaiveDate, KpiValues)>,
}

/// One exit signal behind a week's TTDR, FER, ERT and EAW%.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExitRow {
    pub signal_id: String,
    pub instrument: String,
    pub ts: DateTime<Utc>,
    pub reaction_ms: Option<i64>,
    pub window_ms: i64,
    pub within_window: bool,
    /// The stop had been crossed before this exit came.
    pub after_stop: bool,
    /// `confirmed`, `false exit`, `neither move`, `pending` or `no open position`.
    pub verdict: String,
}

/// One closed trade behind a week's SLAR and PRR (price gains in USD, quantity-weighted).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KpiTradeRow {
    pub instrument: String,
    pub opened: DateTime<Utc>,
    pub closed: DateTime<Utc>,
    pub exit_signal: Option<String>,
    /// `avoided`, `hit first` or `no stop`.
    pub stop: String,
    pub realized_gain: f64,
    pub best_gain: f64,
    pub retention: Option<f64>,
}

/// The exits and trades behind one week of the KPIs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct KpiWeek {
    pub week: NaiveDate,
    pub exits: Vec<ExitRow>,
    pub trades: Vec<KpiTradeRow>,
}

/// What became of one exit signal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Exit {
    signal_id: String,
    instrument: String,
    ts: DateTime<Utc>,
    window_ms: i64,
    reaction_ms: Option<i64>,
    /// +1 for a long position being exited, -1 for a short; `None` without an open position.
    direction: Option<f64>,
    mid: Option<f64>,
    /// Some(true) confirmed, Some(false) false exit, None not decided yet.
    verdict: Option<bool>,
    /// The mid crossed the stop before this exit came.
    after_stop: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Open {
    direction: f64,
    quantity: f64,
    closing: f64,
    entry_notional: f64,
    exit_notional: f64,
    stop: Option<f64>,
    best: f64,
    stop_hit: bool,
    exit_signal: Option<String>,
    opened: DateTime<Utc>,
}

/// A closed trade as the KPIs see it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Closed {
    week: NaiveDate,
    instrument: String,
    opened: DateTime<Utc>,
    closed: DateTime<Utc>,
    exit_signal: Option<String>,
    /// Closed by an exit signal that came before the stop was crossed; `None` without a stop.
    avoided_stop: Option<bool>,
    /// (realized price gain, maximum favourable price gain), quantity-weighted.
    retention: (f64, f64),
}

/// What the KPI fold keeps of an order.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct OrderRef {
    signal: String,
    side: Side,
    instrument: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ExitKpis {
    params: KpiParams,
    /// Each recent entry signal's stop (see [`crate::recent::SIGNALS_KEPT`]).
    stops: Recent<Option<f64>>,
    exit_index: HashMap<String, usize>,
    /// Each order's signal, side and instrument, while the order is not final.
    orders: HashMap<String, OrderRef>,
    open: HashMap<String, Open>,
    mids: HashMap<String, f64>,
    exits: Vec<Exit>,
    /// Exits still watched for confirmation, by instrument: indexes into `exits`.
    watching: HashMap<String, Vec<usize>>,
    closed: Vec<Closed>,
}

fn week_of(ts: DateTime<Utc>) -> NaiveDate {
    let d = ts.date_naive();
    d - Duration::days(i64::from(d.weekday().num_days_from_monday()))
}

impl ExitKpis {
    pub fn new(params: KpiParams) -> Self {
        Self { params, ..Self::default() }
    }

    pub fn apply(&mut self, event: &Event) {
        let ts = event.ts;
        match &event.body {
            Body::MarketSnapshot(m) => {
                let Some(mid) = m.mid.to_f64() else { return };
                let instrument = m.instrument.as_str();
                crate::upsert(&mut self.mids, instrument, mid);
                if let Some(o) = self.open.get_mut(instrument) {
                    o.best = if o.direction > 0.0 { o.best.max(mid) } else { o.best.min(mid) };
                    if o.exit_signal.is_none() && o.stop.is_some_and(|s| (mid - s) * o.direction <= 0.0) {
                        o.stop_hit = true;
                    }
                }
                self.judge(instrument, ts, mid);
            }
            Body::Signal(s) => {
                let id = s.signal_id.as_str().to_string();
                match s.intent {
                    Intent::Entry => {
                        self.stops.insert(id, s.stop_loss.and_then(|d| d.to_f64()));
                    }
                    Intent::Exit => {
                        let instrument = s.instrument.as_str();
                        let open = self.open.get_mut(instrument);
                        let direction = open.as_ref().map(|o| o.direction);
                        let after_stop = open.as_ref().is_some_and(|o| o.stop_hit);
                        if let Some(o) = open
                            && o.exit_signal.is_none()
                        {
                            o.exit_signal = Some(id.clone());
                        }
                        let window = s.response_window_secs.unwrap_or(self.params.default_window_secs);
                        self.exit_index.insert(id, self.exits.len());
                        let mid = self.mids.get(instrument).copied();
                        if direction.is_some() && mid.is_some() {
                            self.watching.entry(instrument.to_string()).or_default().push(self.exits.len());
                        }
                        self.exits.push(Exit { signal_id: s.signal_id.as_str().to_string(), instrument: instrument.to_string(), ts, window_ms: i64::from(window) * 1000, reaction_ms: None, direction, mid, verdict: None, after_stop });
                    }
                }
            }
            Body::OperatorResponse(r) => {
                if let (Some(i), Some(ms)) = (self.exit_index.get(r.signal_id.as_str()), r.response_ms) {
                    let e = &mut self.exits[*i];
                    let ms = ms as i64;
                    e.reaction_ms = Some(e.reaction_ms.map_or(ms, |x| x.min(ms)));
                }
            }
            Body::Order(o) => {
                let Some(signal) = o.signal_id.as_ref().map(|s| s.as_str().to_string()) else { return };
                let order = OrderRef { signal: signal.clone(), side: o.side, instrument: o.instrument.as_str().to_string() };
                if self.orders.insert(o.order_id.as_str().to_string(), order).is_none()
                    && let Some(i) = self.exit_index.get(&signal)
                {
                    let e = &mut self.exits[*i];
                    let ms = (ts - e.ts).num_milliseconds().max(0);
                    e.reaction_ms = Some(e.reaction_ms.map_or(ms, |x| x.min(ms)));
                }
            }
            Body::Fill(f) => self.on_fill(ts, f.order_id.as_str(), f.quantity.to_f64().unwrap_or(0.0), f.price.to_f64().unwrap_or(0.0)),
            _ => {}
        }
    }

    fn on_fill(&mut self, ts: DateTime<Utc>, order_id: &str, qty: f64, price: f64) {
        let Some(OrderRef { signal, side, instrument }) = self.orders.get(order_id).cloned() else { return };
        let sign = side.sign().to_f64().unwrap_or(1.0);
        match self.open.get_mut(&instrument) {
            None => {
                let stop = self.stops.get(&signal).copied().flatten();
                self.open.insert(
                    instrument,
                    Open { direction: sign, quantity: qty, closing: 0.0, entry_notional: qty * price, exit_notional: 0.0, stop, best: price, stop_hit: false, exit_signal: None, opened: ts },
                );
            }
            Some(o) if o.direction == sign => {
                o.quantity += qty;
                o.entry_notional += qty * price;
            }
            Some(o) => {
                let q = qty.min(o.quantity - o.closing);
                o.closing += q;
                o.exit_notional += q * price;
                if o.closing + 1e-12 >= o.quantity {
                    let entry = o.entry_notional / o.quantity;
                    let exit = o.exit_notional / o.quantity;
                    let realized = (exit - entry) * o.direction * o.quantity;
                    let best = ((o.best - entry) * o.direction).max(0.0) * o.quantity;
                    let by_signal = o.exit_signal.is_some() && !o.stop_hit;
                    self.closed.push(Closed {
                        week: week_of(ts),
                        instrument: instrument.clone(),
                        opened: o.opened,
                        closed: ts,
                        exit_signal: o.exit_signal.clone(),
                        avoided_stop: o.stop.map(|_| by_signal), retention: (realized, best) });
                    self.open.remove(&instrument);
                }
            }
        }
    }

    /// Decides watched exits of `instrument` on a new mid.
    fn judge(&mut self, instrument: &str, ts: DateTime<Utc>, mid: f64) {
        let Some(list) = self.watching.get_mut(instrument) else { return };
        let (threshold, horizon) = (self.params.threshold, Duration::seconds(self.params.horizon_secs));
        let exits = &mut self.exits;
        list.retain(|&i| {
            let e = &mut exits[i];
            let (Some(d), Some(m0)) = (e.direction, e.mid) else { return false };
            if ts > e.ts + horizon {
                return false; // the horizon passed with neither move: judged, as neither
            }
            let moved = (mid / m0 - 1.0) * d; // > 0: in the closed position's favour
            if moved <= -threshold {
                e.verdict = Some(true);
                false
            } else if moved >= threshold {
                e.verdict = Some(false);
                false
            } else {
                true
            }
        });
    }

    /// What lies behind one week's KPIs: its exit signals and the trades closed in it.
    pub fn week(&self, week: NaiveDate, now: DateTime<Utc>) -> KpiWeek {
        let horizon = Duration::seconds(self.params.horizon_secs);
        let exits = self
            .exits
            .iter()
            .filter(|e| week_of(e.ts) == week)
            .map(|e| ExitRow {
                signal_id: e.signal_id.clone(),
                instrument: e.instrument.clone(),
                ts: e.ts,
                reaction_ms: e.reaction_ms,
                window_ms: e.window_ms,
                within_window: e.reaction_ms.is_some_and(|r| r <= e.window_ms),
                after_stop: e.after_stop,
                verdict: match (e.direction.zip(e.mid), e.verdict) {
                    (None, _) => "no open position",
                    (_, Some(true)) => "confirmed",
                    (_, Some(false)) => "false exit",
                    (_, None) if now > e.ts + horizon => "neither move",
                    _ => "pending",
                }
                .to_string(),
            })
            .collect();
        let trades = self
            .closed
            .iter()
            .filter(|c| c.week == week)
            .map(|c| KpiTradeRow {
                instrument: c.instrument.clone(),
                opened: c.opened,
                closed: c.closed,
                exit_signal: c.exit_signal.clone(),
                stop: match c.avoided_stop {
                    None => "no stop",
                    Some(true) => "avoided",
                    Some(false) => "hit first",
                }
                .to_string(),
                realized_gain: c.retention.0,
                best_gain: c.retention.1,
                retention: crate::metrics::ratio(c.retention.0, c.retention.1, crate::metrics::MONEY_FLOOR),
            })
            .collect();
        KpiWeek { week, exits, trades }
    }

    /// The KPIs at source time `now` (exits whose horizon passed undecided count as judged).
    pub fn report(&self, now: DateTime<Utc>) -> KpiReport {
        let horizon = Duration::seconds(self.params.horizon_secs);
        let mut weeks: BTreeMap<NaiveDate, (Vec<&Exit>, Vec<&Closed>)> = BTreeMap::new();
        for e in &self.exits {
            weeks.entry(week_of(e.ts)).or_default().0.push(e);
        }
        for c in &self.closed {
            weeks.entry(c.week).or_default().1.push(c);
        }
        let values = |exits: &[&Exit], closed: &[&Closed]| -> KpiValues {
            let mut v = KpiValues { exits: exits.len() as u64, ..KpiValues::default() };
            let judged: Vec<&&Exit> = exits.iter().filter(|e| e.direction.is_some() && e.mid.is_some() && (e.verdict.is_some() || now > e.ts + horizon)).collect();
            v.exits_judged = judged.len() as u64;
            if !judged.is_empty() {
                let n = judged.len() as f64;
                v.ttdr = Some(judged.iter().filter(|e| e.verdict == Some(true)).count() as f64 / n);
                v.fer = Some(judged.iter().filter(|e| e.verdict == Some(false)).count() as f64 / n);
            }
            let mut reactions: Vec<f64> = exits.iter().filter_map(|e| e.reaction_ms).map(|x| x as f64).collect();
            reactions.sort_by(f64::total_cmp);
            v.ert_median_ms = percentile_sorted(&reactions, 0.5);
            v.ert_p95_ms = percentile_sorted(&reactions, 0.95);
            if !exits.is_empty() {
                v.eaw = Some(exits.iter().filter(|e| e.reaction_ms.is_some_and(|r| r <= e.window_ms)).count() as f64 / exits.len() as f64);
            }
            let with_stop: Vec<bool> = closed.iter().filter_map(|c| c.avoided_stop).collect();
            v.trades_with_stop = with_stop.len() as u64;
            if !with_stop.is_empty() {
                v.slar = Some(with_stop.iter().filter(|a| **a).count() as f64 / with_stop.len() as f64);
            }
            let (gain, best) = closed.iter().filter(|c| c.retention.1 > 0.0).fold((0.0, 0.0), |(g, b), c| (g + c.retention.0, b + c.retention.1));
            // Undefined under a cent of best gain: a ratio over float noise is not a figure.
            v.prr = crate::metrics::ratio(gain, best, crate::metrics::MONEY_FLOOR);
            v
        };
        let all_exits: Vec<&Exit> = self.exits.iter().collect();
        let all_closed: Vec<&Closed> = self.closed.iter().collect();
        KpiReport {
            params: Some(self.params),
            overall: values(&all_exits, &all_closed),
            weekly: weeks.into_iter().map(|(w, (e, c))| (w, values(&e, &c))).collect(),
        }
    }
}

impl ExitKpis {
    /// Orders this fold keeps state for (not yet final).
    pub fn orders_kept(&self) -> usize {
        self.orders.len()
    }
}

impl crate::fold::Fold for ExitKpis {
    fn name(&self) -> &'static str {
        "kpis"
    }
    fn apply(&mut self, s: &crate::fold::Stored<'_>, book: &crate::projection::Projection) {
        ExitKpis::apply(self, s.event);
        if let Some(id) = book.finalised() {
            self.orders.remove(id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: i64 = 1_700_000_000_000;

    fn at(min: i64) -> String {
        DateTime::from_timestamp_millis(T0 + min * 60_000).unwrap_or_default().to_rfc3339()
    }

    fn ev(json: String) -> Event {
        Event::parse_json(&json, DateTime::from_timestamp_millis(T0 + 10 * 86_400_000).unwrap_or_default()).unwrap_or_else(|e| panic!("{e}: {json}"))
    }

    fn mid(id: &str, min: i64, px: f64) -> Event {
        ev(format!(r#"{{"event_id":"{id}","kind":"market_snapshot","ts":"{}","instrument":"AAPL","bid":{px},"ask":{px},"mid":{px},"last":{px},"volume":1}}"#, at(min)))
    }

    fn signal(id: &str, min: i64, intent: &str, side: &str, extra: &str) -> Event {
        ev(format!(
            r#"{{"event_id":"e-{id}","kind":"signal","ts":"{}","signal_id":"{id}","automation_id":"mom","instrument":"AAPL","intent":"{intent}","signal_type":"momentum","side":"{side}","strength":0.5,"features":{{}},"model_version":"m","prediction":0.0,"confidence":0.5{extra}}}"#,
            at(min)
        ))
    }

    fn order(id: &str, signal: &str, side: &str, min: i64) -> Event {
        ev(format!(r#"{{"event_id":"e-{id}","kind":"order","ts":"{}","order_id":"{id}","signal_id":"{signal}","instrument":"AAPL","side":"{side}","quantity":10,"order_type":"market","status":"submitted"}}"#, at(min)))
    }

    fn fill(id: &str, order: &str, min: i64, px: f64) -> Event {
        ev(format!(r#"{{"event_id":"e-{id}","kind":"fill","ts":"{}","fill_id":"{id}","order_id":"{order}","quantity":10,"price":{px},"fee":0,"fee_currency":"USD","liquidity":"taker"}}"#, at(min)))
    }

    fn run(events: &[Event]) -> KpiValues {
        let mut k = ExitKpis::new(KpiParams { threshold: 0.01, horizon_secs: 3600, default_window_secs: 300 });
        for e in events {
            k.apply(e);
        }
        k.report(DateTime::from_timestamp_millis(T0 + 86_400_000).unwrap_or_default()).overall
    }

    /// A long from 100 that runs to 110, exits on a signal at 108 (filled 2 min later) before the
    /// stop at 95; then the price falls 2%: a confirmed exit.
    fn good_exit() -> Vec<Event> {
        vec![
            mid("m0", 0, 100.0),
            signal("s1", 0, "entry", "buy", r#","stop_loss":95"#),
            order("o1", "s1", "buy", 1),
            fill("f1", "o1", 1, 100.0),
            mid("m1", 10, 110.0),
            mid("m2", 20, 108.0),
            signal("x1", 20, "exit", "sell", r#","response_window_secs":600"#),
            order("o2", "x1", "sell", 22),
            fill("f2", "o2", 22, 108.0),
            mid("m3", 40, 105.8),
        ]
    }

    #[test]
    fn a_timely_exit_before_the_stop_confirmed_by_the_price() {
        let v = run(&good_exit());
        assert_eq!((v.exits, v.trades_with_stop, v.exits_judged), (1, 1, 1));
        assert_eq!(v.slar, Some(1.0));
        assert_eq!(v.prr, Some(0.8), "kept 8 of the 10 the position reached");
        assert_eq!((v.ttdr, v.fer), (Some(1.0), Some(0.0)));
        assert_eq!(v.ert_median_ms, Some(120_000.0));
        assert_eq!(v.eaw, Some(1.0), "2 min is inside the 10 min window");
    }

    #[test]
    fn a_week_lists_the_exits_and_trades_behind_its_figures() {
        let mut k = ExitKpis::new(KpiParams { threshold: 0.01, horizon_secs: 3600, default_window_secs: 300 });
        for e in good_exit() {
            k.apply(&e);
        }
        let now = DateTime::from_timestamp_millis(T0 + 86_400_000).unwrap_or_default();
        let report = k.report(now);
        let (week, values) = report.weekly.first().cloned().unwrap_or_default();
        let w = k.week(week, now);
        assert_eq!(w.exits.len() as u64, values.exits);
        assert_eq!(w.exits[0].signal_id, "x1");
        assert_eq!(w.exits[0].verdict, "confirmed");
        assert!(w.exits[0].within_window);
        assert_eq!(w.trades.len(), 1);
        assert_eq!((w.trades[0].stop.as_str(), w.trades[0].exit_signal.as_deref()), ("avoided", Some("x1")));
        assert!(w.trades[0].retention.is_some_and(|r| (r - 0.8).abs() < 1e-12));
        assert!(k.week(week - Duration::days(7), now).exits.is_empty());
    }

    #[test]
    fn an_exit_after_the_stop_was_crossed_and_a_false_exit() {
        let mut events = good_exit();
        events.insert(5, mid("dip", 15, 94.0)); // crosses the stop at 95 before the exit signal
        let last = events.len() - 1;
        events[last] = mid("m3", 40, 109.5); // then the price keeps rising 1.4%
        events.retain(|e| e.event_id.as_str() != "e-o2" && e.event_id.as_str() != "e-f2");
        events.push(order("o2", "x1", "sell", 31)); // 11 min after the signal
        events.push(fill("f2", "o2", 31, 108.0));
        let v = run(&events);
        assert_eq!(v.slar, Some(0.0), "the stop was crossed first");
        assert_eq!((v.ttdr, v.fer), (Some(0.0), Some(1.0)));
        assert_eq!(v.eaw, Some(0.0), "11 min is outside the 10 min window");
        assert_eq!(v.ert_median_ms, Some(660_000.0));
    }

    proptest::proptest! {
        #[test]
        fn rates_are_shares_and_ttdr_plus_fer_never_exceeds_one(
            path in proptest::collection::vec(90.0f64..110.0, 5..60),
            exits in proptest::collection::vec(0usize..60, 1..6),
        ) {
            let mut events = vec![mid("m0", 0, 100.0), signal("s1", 0, "entry", "buy", r#","stop_loss":97"#), order("o1", "s1", "buy", 0), fill("f1", "o1", 0, 100.0)];
            for (i, px) in path.iter().enumerate() {
                events.push(mid(&format!("p{i}"), i as i64 + 1, *px));
                if exits.contains(&i) {
                    events.push(signal(&format!("x{i}"), i as i64 + 1, "exit", "sell", ""));
                }
            }
            let v = run(&events);
            for x in [v.slar, v.ttdr, v.fer, v.eaw].into_iter().flatten() {
                proptest::prop_assert!((0.0..=1.0).contains(&x));
            }
            proptest::prop_assert!(v.ttdr.unwrap_or(0.0) + v.fer.unwrap_or(0.0) <= 1.0 + 1e-12);
            proptest::prop_assert!(v.exits_judged <= v.exits);
        }
    }
}
