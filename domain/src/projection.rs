//! The live projection: a fold over the event log into positions, PnL, equity, execution
//! quality and the signal feed. `apply` is the only way in; the dashboard is a read of it.
//!
//! PnL uses the average-cost method per instrument, in the account currency (fees are assumed
//! to be charged in it). Realized PnL is booked when a fill reduces a position; unrealized PnL
//! is `(mark - avg_cost) x quantity` with the mark the last mid seen for the instrument.
use std::collections::{BTreeMap, VecDeque};

use crate::hash::{HashMap, HashSet};

use chrono::{DateTime, NaiveDate, Utc};
use hdrhistogram::Histogram;
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::event::{Body, Event, Fill, MarketSnapshot, Order, OrderStatus, RiskDecision, Side, Signal};
use crate::metrics;
use crate::series::Point;
pub use crate::series::downsample;
pub use crate::risk::DayExposure;

/// Daily returns used for the dashboard's rolling Sharpe.
pub const SHARPE_WINDOW: u32 = 63;
/// Signals kept for the live feed.
const FEED_LEN: usize = 500;
/// Points the dashboard's equity curve is downsampled to.
const CURVE_POINTS: usize = 400;
/// Decimal places kept in an average cost (far below a cent on any realistic position).
const AVG_COST_DP: u32 = 12;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Position {
    pub quantity: Decimal,
    pub avg_cost: Decimal,
    pub realized: Decimal,
    pub fees: Decimal,
    /// PnL of the round trip in progress (net of its fees), booked as a trade when flat again.
    round_trip: Decimal,
    /// The unrealized PnL at the last mark, as counted in the projection's running total.
    booked: Decimal,
}

impl Position {
    /// Applies a fill; returns the PnL of a round trip that this fill closed, if any.
    fn fill(&mut self, side: Side, qty: Decimal, price: Decimal, fee: Decimal) -> Option<Decimal> {
        let signed = side.sign() * qty;
        self.fees += fee;
        self.round_trip -= fee;
        if self.quantity.is_zero() || self.quantity.is_sign_positive() == signed.is_sign_positive() {
            let held = self.quantity.abs();
            self.avg_cost = ((self.avg_cost * held + price * qty) / (held + qty)).round_dp(AVG_COST_DP);
            self.quantity += signed;
            return None;
        }
        let closing = qty.min(self.quantity.abs());
        let direction = if self.quantity.is_sign_positive() { Decimal::ONE } else { Decimal::NEGATIVE_ONE };
        let pnl = (price - self.avg_cost) * closing * direction;
        self.realized += pnl;
        self.round_trip += pnl;
        self.quantity += signed;
        if self.quantity.is_zero() {
            self.avg_cost = Decimal::ZERO;
            return Some(std::mem::take(&mut self.round_trip));
        }
        if qty > closing {
            // Flipped through zero: the rest opens a new position at this price.
            self.avg_cost = price;
            let closed = std::mem::take(&mut self.round_trip);
            return Some(closed);
        }
        None
    }

    fn unrealized(&self, mark: Option<Decimal>) -> Decimal {
        match mark {
            Some(m) if !self.quantity.is_zero() => (m - self.avg_cost) * self.quantity,
            _ => Decimal::ZERO,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct OrderState {
    signal_id: Option<String>,
    instrument: String,
    side: Side,
    quantity: Decimal,
    status: OrderStatus,
    submitted: DateTime<Utc>,
    arrival_mid: Option<Decimal>,
    filled: Decimal,
    filled_notional: Decimal,
    first_fill_seen: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct SignalState {
    row: SignalRow,
    orders: Vec<String>,
    /// The figures of this signal's orders that are final and gone from the book's order map
    /// (quantity, filled, filled notional, status): the row's status still sums them.
    settled: HashMap<String, (Decimal, Decimal, Decimal, OrderStatus)>,
    /// Factor exposures the signal carried (`beta_<factor>` features, by lower-case factor).
    exposures: BTreeMap<String, f64>,
}

/// What the last applied fill did, for the rule evaluators (circuit breakers).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FillOutcome {
    /// Net PnL of the round trip this fill closed, if it closed one.
    pub closed_pnl: Option<Decimal>,
    /// Slippage against the order's arrival mid, bps, positive = worse for us.
    pub slippage_bps: Option<f64>,
}

/// The figures the global circuit breakers watch.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct RiskSnapshot {
    /// Equity now minus the previous day's close (market time), USD.
    pub daily_pnl: Decimal,
    /// `daily_pnl` as a fraction of the previous close.
    pub daily_pnl_pct: f64,
    /// Current drawdown from the equity peak, a fraction <= 0.
    pub drawdown: f64,
}

/// What applying one event found worth flagging (the event is applied and kept regardless).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Flag {
    /// A fill for an order id the log has not seen: not applied to positions.
    UnknownOrder,
    /// A fill for an order already final (filled in full, cancelled or rejected): not applied.
    FinalOrder,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Projection {
    capital: Decimal,
    head_seq: u64,
    positions: BTreeMap<String, Position>,
    marks: HashMap<String, Decimal>,
    /// Orders not yet final. An order is final when its status is terminal and, if `filled`,
    /// its fills cover its quantity; it then leaves this map (see [`Projection::finalised`]).
    orders: HashMap<String, OrderState>,
    /// Hashes of the ids of final orders (8 bytes each): a later fill for one is flagged
    /// [`Flag::FinalOrder`] rather than taken for an unknown order.
    final_orders: HashSet<u64>,
    /// The order that became final with the event just applied: the folds after the book drop
    /// what they keep for it.
    finalised: Option<String>,
    signals: HashMap<String, SignalState>,
    feed: VecDeque<String>,
    as_of: Option<DateTime<Utc>>,
    /// Equity after each distinct market timestamp.
    curve: Vec<Point>,
    /// Last equity of each UTC day (market time).
    daily_close: BTreeMap<NaiveDate, Decimal>,
    peak: f64,
    max_drawdown: f64,
    wins: u64,
    closed_trades: u64,
    gross_profit: Decimal,
    gross_loss: Decimal,
    slippage_bps_sum: f64,
    slippage_n: u64,
    orders_final: u64,
    orders_filled: u64,
    #[serde(with = "histogram_serde")]
    signal_to_order: Histogram<u64>,
    #[serde(with = "histogram_serde")]
    order_to_fill: Histogram<u64>,
    counts: CountsView,
    last_fill: Option<FillOutcome>,
    /// Since when each instrument's position has been open (market time).
    open_since: HashMap<String, DateTime<Utc>>,
    /// Every closed round trip, oldest first.
    trades: Vec<crate::metrics::ClosedTrade>,
    /// Exposures of the signal that opened each instrument's current position.
    open_exposures: HashMap<String, BTreeMap<String, f64>>,
    /// The book at the end of each past day (market time).
    daily_exposure: Vec<DayExposure>,
    /// Running totals over positions, kept per event so equity is O(1) however many
    /// instruments the book holds (each equals the sum over positions exactly).
    realized_total: Decimal,
    fees_total: Decimal,
    unrealized_total: Decimal,
    /// Last mid of each instrument on each day, dates ascending.
    daily_marks: HashMap<String, Vec<(NaiveDate, f64)>>,
}

/// A fixed (unkeyed) 64-bit hash of an id: the same in every process, so a restart rebuilds
/// the same set.
fn id_hash(id: &str) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::hash::DefaultHasher::new();
    id.hash(&mut h);
    h.finish()
}

/// A latency histogram in a snapshot: its recorded (value, count) pairs; recording them again
/// lands each in the same bucket, so every quantile is the same after a restore.
mod histogram_serde {
    use hdrhistogram::Histogram;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer>(h: &Histogram<u64>, s: S) -> Result<S::Ok, S::Error> {
        let pairs: Vec<(u64, u64)> = h.iter_recorded().map(|v| (v.value_iterated_to(), v.count_at_value())).collect();
        pairs.serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Histogram<u64>, D::Error> {
        let pairs = Vec::<(u64, u64)>::deserialize(d)?;
        let mut h = super::histogram();
        for (v, n) in pairs {
            h.record_n(v, n).map_err(|e| serde::de::Error::custom(format!("latency histogram: {e}")))?;
        }
        Ok(h)
    }
}

fn histogram() -> Histogram<u64> {
    // 1 ms .. ~11.5 days, 3 significant digits; new_with_bounds only fails for invalid bounds.
    Histogram::new_with_bounds(1, 1_000_000_000, 3).unwrap_or_else(|_| Histogram::new(3).unwrap_or_else(|_| unreachable!()))
}

impl Projection {
    pub fn new(capital: Decimal) -> Self {
        Self {
            capital,
            head_seq: 0,
            positions: BTreeMap::new(),
            marks: HashMap::default(),
            orders: HashMap::default(),
            final_orders: HashSet::default(),
            finalised: None,
            signals: HashMap::default(),
            feed: VecDeque::new(),
            as_of: None,
            curve: Vec::new(),
            daily_close: BTreeMap::new(),
            open_since: HashMap::default(),
            trades: Vec::new(),
            open_exposures: HashMap::default(),
            daily_exposure: Vec::new(),
            realized_total: Decimal::ZERO,
            fees_total: Decimal::ZERO,
            unrealized_total: Decimal::ZERO,
            daily_marks: HashMap::default(),
            peak: f64::NEG_INFINITY,
            max_drawdown: 0.0,
            wins: 0,
            closed_trades: 0,
            gross_profit: Decimal::ZERO,
            gross_loss: Decimal::ZERO,
            slippage_bps_sum: 0.0,
            slippage_n: 0,
            orders_final: 0,
            orders_filled: 0,
            signal_to_order: histogram(),
            order_to_fill: histogram(),
            counts: CountsView::default(),
            last_fill: None,
        }
    }

    /// What the most recently applied fill did (None before the first fill).
    pub fn last_fill(&self) -> Option<&FillOutcome> {
        self.last_fill.as_ref()
    }

    fn prev_close(&self) -> Decimal {
        self.as_of
            .and_then(|t| self.daily_close.range(..t.date_naive()).next_back().map(|(_, e)| *e))
            .unwrap_or(self.capital)
    }

    pub fn risk_snapshot(&self) -> RiskSnapshot {
        let equity = self.equity();
        let prev = self.prev_close();
        let current = self.curve.last().map(|p| p.v).unwrap_or(0.0);
        RiskSnapshot {
            daily_pnl: equity - prev,
            daily_pnl_pct: if prev.is_zero() { 0.0 } else { ((equity - prev) / prev).to_f64().unwrap_or(0.0) },
            drawdown: if self.peak > 0.0 { (current / self.peak - 1.0).min(0.0) } else { 0.0 },
        }
    }

    pub fn head_seq(&self) -> u64 {
        self.head_seq
    }

    /// Whether an order id is open in the book (to flag fills for unknown or final orders at ingest).
    pub fn knows_order(&self, order_id: &str) -> bool {
        self.orders.contains_key(order_id)
    }

    /// Orders the book still holds (not yet final).
    pub fn open_orders(&self) -> usize {
        self.orders.len()
    }

    /// Whether an order id belongs to an order already final (hash match; see `final_orders`).
    pub fn order_is_final(&self, order_id: &str) -> bool {
        !self.orders.contains_key(order_id) && self.final_orders.contains(&id_hash(order_id))
    }

    /// The order that became final with the last applied event, if one did. Folds that keep
    /// per-order state drop theirs for it (after using it for this event).
    pub fn finalised(&self) -> Option<&str> {
        self.finalised.as_deref()
    }

    /// Moves an order that has become final out of the order map: its signal keeps its figures
    /// (for the signal's status), a hash of its id stays (to flag late fills).
    fn settle_if_final(&mut self, order_id: &str) {
        let Some(o) = self.orders.get(order_id) else { return };
        let done = o.status.is_terminal() && (o.status != OrderStatus::Filled || o.filled >= o.quantity);
        if !done {
            return;
        }
        let Some(o) = self.orders.remove(order_id) else { return };
        if let Some(sig) = o.signal_id.as_deref().and_then(|s| self.signals.get_mut(s)) {
            sig.settled.insert(order_id.to_string(), (o.quantity, o.filled, o.filled_notional, o.status));
        }
        self.final_orders.insert(id_hash(order_id));
        self.finalised = Some(order_id.to_string());
    }

    /// Folds one stored event (with its log position) into the projection.
    pub fn apply(&mut self, seq: u64, event: &Event) -> Option<Flag> {
        self.head_seq = self.head_seq.max(seq);
        self.finalised = None;
        self.counts.events += 1;
        match &event.body {
            Body::MarketSnapshot(m) => {
                self.counts.market_snapshots += 1;
                self.on_snapshot(event.ts, m);
            }
            Body::Signal(s) => {
                self.counts.signals += 1;
                self.on_signal(seq, event.ts, s);
            }
            Body::RiskCheck(r) => {
                self.counts.risk_checks += 1;
                if let Some(sig) = self.signals.get_mut(r.signal_id.as_str()) {
                    sig.row.risk_decision = Some(r.decision.as_str().to_string());
                    if sig.orders.is_empty() {
                        sig.row.status = match r.decision {
                            RiskDecision::Approve => "approved",
                            RiskDecision::Reject => "rejected by risk",
                        }
                        .to_string();
                    }
                }
            }
            Body::Order(o) => self.on_order(event.ts, o),
            Body::Fill(f) => {
                self.counts.fills += 1;
                if !self.on_fill(event.ts, f) {
                    self.counts.orphan_fills += 1;
                    return Some(if self.final_orders.contains(&id_hash(f.order_id.as_str())) { Flag::FinalOrder } else { Flag::UnknownOrder });
                }
                self.settle_if_final(f.order_id.as_str());
            }
            Body::LlmDecision(_)
            | Body::OperatorResponse(_)
            | Body::Heartbeat(_)
            | Body::System(_)
            | Body::ConfigChange(_)
            | Body::Control(_)
            | Body::ComplianceIssue(_)
            | Body::ComplianceReview(_)
            | Body::Checkpoint(_)
            | Body::ReportPublished(_) | Body::Alert(_) | Body::AlertAction(_) => {}
        }
        None
    }

    /// Re-marks one position into the running unrealized total.
    fn rebook(&mut self, instrument: &str) {
        let Some(p) = self.positions.get_mut(instrument) else { return };
        let now = p.unrealized(self.marks.get(instrument).copied());
        self.unrealized_total += now - p.booked;
        p.booked = now;
    }

    fn on_snapshot(&mut self, ts: DateTime<Utc>, m: &MarketSnapshot) {
        if let Some(t) = self.as_of.filter(|t| ts.date_naive() > t.date_naive()) {
            // The first mark of a later day (market time): the book as it stands closed the
            // previous one. Events of other kinds (a console's own, stamped with the wall
            // clock) do not move market time.
            let close = self.exposure_now(t.date_naive());
            self.daily_exposure.push(close);
        }
        crate::upsert(&mut self.marks, m.instrument.as_str(), m.mid);
        self.rebook(m.instrument.as_str());
        if let Some(mid) = m.mid.to_f64() {
            let day = ts.date_naive();
            match self.daily_marks.get_mut(m.instrument.as_str()) {
                None => {
                    self.daily_marks.insert(m.instrument.as_str().to_string(), vec![(day, mid)]);
                }
                Some(series) => match series.last_mut() {
                    Some(last) if last.0 == day => last.1 = mid,
                    Some(last) if last.0 > day => {} // a late snapshot of an earlier day
                    _ => series.push((day, mid)),
                },
            }
        }
        if self.as_of.is_none_or(|t| ts >= t) {
            self.as_of = Some(ts);
        }
        self.mark_equity(ts);
    }

    /// Records equity at market time `ts`: one curve point per distinct timestamp.
    fn mark_equity(&mut self, ts: DateTime<Utc>) {
        let equity = self.equity();
        let v = equity.to_f64().unwrap_or(0.0);
        let t = ts.timestamp_millis();
        match self.curve.last_mut() {
            Some(last) if last.t == t => last.v = v,
            Some(last) if last.t > t => {} // late snapshot: marks updated, the curve stays monotonic
            _ => self.curve.push(Point { t, v }),
        }
        match self.daily_close.last_entry() {
            Some(mut last) if *last.key() == ts.date_naive() => *last.get_mut() = equity,
            _ => {
                self.daily_close.insert(ts.date_naive(), equity);
            }
        }
        self.peak = self.peak.max(v);
        if self.peak > 0.0 {
            self.max_drawdown = self.max_drawdown.min(v / self.peak - 1.0);
        }
    }

    fn on_signal(&mut self, seq: u64, ts: DateTime<Utc>, s: &Signal) {
        let id = s.signal_id.as_str().to_string();
        let row = SignalRow {
            seq,
            signal_id: id.clone(),
            ts,
            automation_id: s.automation_id.as_str().to_string(),
            instrument: s.instrument.as_str().to_string(),
            intent: s.intent.as_str().to_string(),
            side: s.side.as_str().to_string(),
            signal_type: s.signal_type.as_str().to_string(),
            strength: s.strength,
            confidence: s.confidence,
            risk_decision: None,
            status: "awaiting risk check".to_string(),
            filled_quantity: Decimal::ZERO,
            avg_fill_price: None,
            compliance_issues: Vec::new(),
        };
        let exposures = s.features.iter().filter_map(|(k, v)| k.strip_prefix("beta_").map(|f| (f.to_string(), *v))).collect();
        if self.signals.insert(id.clone(), SignalState { row, orders: Vec::new(), settled: HashMap::default(), exposures }).is_none() {
            self.feed.push_back(id);
            if self.feed.len() > FEED_LEN {
                // The feed is bounded; the full history stays in the log.
                if let Some(old) = self.feed.pop_front() {
                    self.signals.remove(&old);
                }
            }
        }
    }

    fn on_order(&mut self, ts: DateTime<Utc>, o: &Order) {
        let id = o.order_id.as_str();
        let first = !self.orders.contains_key(id);
        if first {
            self.counts.orders += 1;
            let arrival_mid = self.marks.get(o.instrument.as_str()).copied();
            let signal_id = o.signal_id.as_ref().map(|s| s.as_str().to_string());
            if let Some(sig) = signal_id.as_deref().and_then(|s| self.signals.get_mut(s)) {
                sig.orders.push(id.to_string());
                let ms = (ts - sig.row.ts).num_milliseconds().max(1);
                let _ = self.signal_to_order.record(ms.unsigned_abs());
            }
            self.orders.insert(
                id.to_string(),
                OrderState {
                    signal_id,
                    instrument: o.instrument.as_str().to_string(),
                    side: o.side,
                    quantity: o.quantity,
                    status: o.status,
                    submitted: ts,
                    arrival_mid,
                    filled: Decimal::ZERO,
                    filled_notional: Decimal::ZERO,
                    first_fill_seen: false,
                },
            );
        }
        if let Some(state) = self.orders.get_mut(id) {
            let was_final = state.status.is_terminal() && !first;
            state.status = o.status;
            if o.status.is_terminal() && !was_final {
                self.orders_final += 1;
                if o.status == OrderStatus::Filled {
                    self.orders_filled += 1;
                }
            }
        }
        self.refresh_signal_status(id);
        self.settle_if_final(id);
    }

    /// Applies a fill to its order and position. `false` when the order is unknown.
    fn on_fill(&mut self, ts: DateTime<Utc>, f: &Fill) -> bool {
        let Some(order) = self.orders.get_mut(f.order_id.as_str()) else { return false };
        let mut outcome = FillOutcome::default();
        order.filled += f.quantity;
        order.filled_notional += f.quantity * f.price;
        if !order.first_fill_seen {
            order.first_fill_seen = true;
            let ms = (ts - order.submitted).num_milliseconds().max(1);
            let _ = self.order_to_fill.record(ms.unsigned_abs());
        }
        if let Some(mid) = order.arrival_mid.filter(|m| !m.is_zero()) {
            let bps = order.side.sign() * (f.price - mid) / mid * Decimal::from(10_000);
            outcome.slippage_bps = bps.to_f64();
            self.slippage_bps_sum += bps.to_f64().unwrap_or(0.0);
            self.slippage_n += 1;
        }
        let (side, instrument) = (order.side, order.instrument.clone());
        let signal = order.signal_id.clone();
        let position = self.positions.entry(instrument.clone()).or_default();
        let (held_long, held_notional) = (position.quantity.is_sign_positive(), (position.avg_cost * position.quantity).abs());
        let opening = position.quantity.is_zero();
        let opened = *self.open_since.entry(instrument.clone()).or_insert(ts);
        let (realized_before, fees_before) = (position.realized, position.fees);
        let closed = position.fill(side, f.quantity, f.price, f.fee);
        let flat = position.quantity.is_zero();
        self.realized_total += position.realized - realized_before;
        self.fees_total += position.fees - fees_before;
        self.rebook(&instrument);
        let signal_exposures = || signal.as_deref().and_then(|s| self.signals.get(s)).map(|s| s.exposures.clone()).unwrap_or_default();
        if opening {
            let e = signal_exposures();
            self.open_exposures.insert(instrument.clone(), e);
        }
        if let Some(trade) = closed {
            let exposures = if flat { self.open_exposures.remove(&instrument) } else { self.open_exposures.insert(instrument.clone(), signal_exposures()) };
            self.trades.push(crate::metrics::ClosedTrade {
                instrument: instrument.clone(),
                pnl: trade,
                opened,
                closed: ts,
                long: held_long,
                notional: held_notional,
                exposures: exposures.unwrap_or_default(),
            });
            if flat {
                self.open_since.remove(&instrument);
            } else {
                self.open_since.insert(instrument, ts); // flipped: the rest opened now
            }
            outcome.closed_pnl = Some(trade);
            self.closed_trades += 1;
            if trade > Decimal::ZERO {
                self.wins += 1;
                self.gross_profit += trade;
            } else {
                self.gross_loss -= trade;
            }
        }
        self.last_fill = Some(outcome);
        self.refresh_signal_status(f.order_id.as_str());
        if let Some(t) = self.as_of {
            self.mark_equity(t.max(ts));
        }
        true
    }

    fn refresh_signal_status(&mut self, order_id: &str) {
        let Some(sig_id) = self.orders.get(order_id).and_then(|o| o.signal_id.clone()) else { return };
        let Some(sig) = self.signals.get(&sig_id) else { return };
        let (mut qty, mut filled, mut notional) = (Decimal::ZERO, Decimal::ZERO, Decimal::ZERO);
        let mut last_status = None;
        for id in &sig.orders {
            let (q, f, n, st) = match (self.orders.get(id), sig.settled.get(id)) {
                (Some(o), _) => (o.quantity, o.filled, o.filled_notional, o.status),
                (None, Some(s)) => *s,
                (None, None) => continue,
            };
            qty += q;
            filled += f;
            notional += n;
            last_status = Some(st);
        }
        let status = if !filled.is_zero() && filled >= qty {
            "filled"
        } else if !filled.is_zero() {
            "partially filled"
        } else {
            match last_status {
                Some(OrderStatus::Cancelled) => "cancelled",
                Some(OrderStatus::Rejected) => "rejected by venue",
                _ => "ordered",
            }
        };
        if let Some(sig) = self.signals.get_mut(&sig_id) {
            sig.row.status = status.to_string();
            sig.row.filled_quantity = filled;
            sig.row.avg_fill_price = (!filled.is_zero()).then(|| (notional / filled).round_dp(8));
        }
    }

    pub fn realized(&self) -> Decimal {
        self.realized_total
    }

    pub fn unrealized(&self) -> Decimal {
        self.unrealized_total
    }

    pub fn fees(&self) -> Decimal {
        self.fees_total
    }

    /// The latest market time seen.
    pub fn as_of(&self) -> Option<DateTime<Utc>> {
        self.as_of
    }

    /// Every closed round trip (per instrument, flat to flat), oldest first.
    pub fn closed_trades(&self) -> &[crate::metrics::ClosedTrade] {
        &self.trades
    }

    /// Equity after each distinct market timestamp (the native bar interval), oldest first.
    pub fn equity_points(&self) -> &[Point] {
        &self.curve
    }

    /// Equity at the last event of each UTC day (market time), exact.
    pub fn daily_equity(&self) -> Vec<(NaiveDate, Decimal)> {
        self.daily_close.iter().map(|(d, e)| (*d, *e)).collect()
    }

    /// Equity at the last event of each UTC day (market time).
    pub fn daily_closes(&self) -> impl Iterator<Item = (NaiveDate, f64)> + '_ {
        self.daily_close.iter().map(|(d, e)| (*d, e.to_f64().unwrap_or(0.0)))
    }

    /// Orders filled / orders that reached a final status; `None` before any did.
    pub fn fill_rate(&self) -> Option<f64> {
        (self.orders_final > 0).then(|| self.orders_filled as f64 / self.orders_final as f64)
    }

    /// Signal to order and order to fill, p50 / p95 / p99.
    pub fn latency(&self) -> LatencyView {
        LatencyView { signal_to_order: quantiles(&self.signal_to_order), order_to_fill: quantiles(&self.order_to_fill) }
    }

    /// The book now, as of `date`: gross and net exposure at the marks, equity, concentration.
    pub fn exposure_now(&self, date: NaiveDate) -> DayExposure {
        let notionals: Vec<Decimal> = self.position_notionals().into_iter().map(|(_, x)| x).collect();
        let net: Decimal = notionals.iter().sum();
        let notionals: Vec<Decimal> = notionals.into_iter().map(|x| x.abs()).collect();
        let gross: Decimal = notionals.iter().sum();
        DayExposure { date, gross, net, equity: self.equity(), hhi: crate::risk::Concentration::of(&notionals).hhi }
    }

    /// Signed notional (quantity x mark, USD) of each open position with a mark.
    pub fn position_notionals(&self) -> Vec<(String, Decimal)> {
        self.positions
            .iter()
            .filter(|(_, p)| !p.quantity.is_zero())
            .filter_map(|(i, p)| self.marks.get(i).map(|m| (i.clone(), *m * p.quantity)))
            .collect()
    }

    /// The book at the end of each day (market time), the current day last (as it stands).
    pub fn daily_exposure(&self) -> Vec<DayExposure> {
        let mut days = self.daily_exposure.clone();
        if let Some(t) = self.as_of {
            days.push(self.exposure_now(t.date_naive()));
        }
        days
    }

    /// Last mid of each instrument on each day (market time), dates ascending.
    pub fn daily_marks(&self) -> &HashMap<String, Vec<(NaiveDate, f64)>> {
        &self.daily_marks
    }

    /// The starting capital (USD).
    pub fn capital(&self) -> Decimal {
        self.capital
    }

    pub fn equity(&self) -> Decimal {
        self.capital + self.realized() + self.unrealized() - self.fees()
    }

    /// The last mid seen for the instrument (its mark).
    pub fn mark(&self, instrument: &str) -> Option<Decimal> {
        self.marks.get(instrument).copied()
    }

    pub fn position(&self, instrument: &str) -> Option<&Position> {
        self.positions.get(instrument)
    }

    /// The newest signals first.
    pub fn signals(&self, limit: usize) -> Vec<SignalRow> {
        self.feed.iter().rev().take(limit).filter_map(|id| self.signals.get(id)).map(|s| s.row.clone()).collect()
    }

    pub fn dashboard(&self, feed_len: usize) -> DashboardView {
        let realized = self.realized();
        let unrealized = self.unrealized();
        let fees = self.fees();
        let equity = self.capital + realized + unrealized - fees;
        let prev_close = self.prev_close();

        let mut positions: Vec<PositionView> = self
            .positions
            .iter()
            .map(|(instrument, p)| {
                let mark = self.marks.get(instrument).copied();
                let unrealized = p.unrealized(mark);
                PositionView {
                    instrument: instrument.clone(),
                    quantity: p.quantity,
                    avg_cost: p.avg_cost.round_dp(6),
                    mark,
                    exposure: mark.map(|m| m * p.quantity).unwrap_or_default(),
                    concentration: None,
                    realized: p.realized,
                    unrealized,
                    fees: p.fees,
                    total: p.realized + unrealized - p.fees,
                }
            })
            .collect();
        let gross: Decimal = positions.iter().map(|p| p.exposure.abs()).sum();
        let net: Decimal = positions.iter().map(|p| p.exposure).sum();
        for p in &mut positions {
            p.concentration = (!gross.is_zero()).then(|| (p.exposure.abs() / gross).to_f64().unwrap_or(0.0));
        }
        positions.sort_by(|a, b| b.exposure.abs().cmp(&a.exposure.abs()).then(a.instrument.cmp(&b.instrument)));

        let closes: Vec<f64> = self.daily_close.values().rev().take(SHARPE_WINDOW as usize + 1).rev().filter_map(|d| d.to_f64()).collect();
        let current = self.curve.last().map(|p| p.v).unwrap_or(0.0);
        DashboardView {
            head_seq: self.head_seq,
            as_of: self.as_of,
            capital: self.capital,
            equity,
            pnl: PnlView { realized, unrealized, total: realized + unrealized - fees, fees, daily: equity - prev_close },
            drawdown: if self.peak > 0.0 { (current / self.peak - 1.0).min(0.0) } else { 0.0 },
            max_drawdown: self.max_drawdown,
            rolling_sharpe: metrics::sharpe(&metrics::simple_returns(&closes), metrics::TRADING_DAYS),
            sharpe_window: SHARPE_WINDOW,
            hit_rate: (self.closed_trades > 0).then(|| self.wins as f64 / self.closed_trades as f64),
            profit_factor: metrics::profit_factor(
                self.gross_profit.to_f64().unwrap_or(0.0),
                self.gross_loss.to_f64().unwrap_or(0.0),
            ),
            closed_trades: self.closed_trades,
            avg_slippage_bps: (self.slippage_n > 0).then(|| self.slippage_bps_sum / self.slippage_n as f64),
            fill_rate: self.fill_rate(),
            gross_exposure: gross,
            net_exposure: net,
            latency: self.latency(),
            counts: self.counts.clone(),
            ingest: Default::default(),
            positions,
            equity_curve: downsample(&self.curve, CURVE_POINTS),
            signals: self.signals(feed_len),
            compliance_active: [0; 3],
            alerts_critical: Vec::new(),
        }
    }
}

fn quantiles(h: &Histogram<u64>) -> Quantiles {
    let n = h.len();
    let q = |p: f64| (n > 0).then(|| h.value_at_quantile(p) as f64);
    Quantiles { count: n, p50_ms: q(0.50), p95_ms: q(0.95), p99_ms: q(0.99) }
}


// ---------------------------------------------------------------------------------------------
// View types (the dashboard)
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DashboardView {
    /// Log position the view reflects.
    pub head_seq: u64,
    /// Latest market time seen (from market snapshots).
    pub as_of: Option<DateTime<Utc>>,
    pub capital: Decimal,
    pub equity: Decimal,
    pub pnl: PnlView,
    /// Current drawdown from the equity peak, a fraction <= 0.
    pub drawdown: f64,
    /// Deepest drawdown so far, a fraction <= 0.
    pub max_drawdown: f64,
    /// Annualised Sharpe of the last `sharpe_window` daily returns (sqrt(252), risk-free 0).
    pub rolling_sharpe: Option<f64>,
    pub sharpe_window: u32,
    /// Per trade (flat-to-flat round trips, net of fees): winners / closed trades.
    pub hit_rate: Option<f64>,
    /// Per trade: gross profit / gross loss of closed round trips.
    pub profit_factor: Option<f64>,
    pub closed_trades: u64,
    /// Mean over fills of side x (fill - arrival mid) / arrival mid x 10,000; positive is a cost.
    pub avg_slippage_bps: Option<f64>,
    /// Orders filled / orders that reached a final status.
    pub fill_rate: Option<f64>,
    pub gross_exposure: Decimal,
    pub net_exposure: Decimal,
    pub latency: LatencyView,
    pub counts: CountsView,
    pub ingest: IngestView,
    pub positions: Vec<PositionView>,
    /// Equity after each market timestamp, downsampled to at most a few hundred points.
    pub equity_curve: Vec<Point>,
    pub signals: Vec<SignalRow>,
    /// Compliance issues still needing a person, by severity: info, warning, critical
    /// (filled by the console from the compliance fold).
    #[serde(default)]
    pub compliance_active: [u64; 3],
    /// Critical alerts firing, unacknowledged and not silenced, newest first (filled by the
    /// console from the alerts fold).
    #[serde(default)]
    pub alerts_critical: Vec<FiringAlert>,
}

/// A firing alert as the dashboard lists it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FiringAlert {
    pub fingerprint: String,
    pub rule: String,
    pub summary: String,
    pub since: DateTime<Utc>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PnlView {
    pub realized: Decimal,
    pub unrealized: Decimal,
    /// realized + unrealized - fees.
    pub total: Decimal,
    pub fees: Decimal,
    /// Equity now minus equity at the last mark of the previous UTC day (market time).
    pub daily: Decimal,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LatencyView {
    pub signal_to_order: Quantiles,
    pub order_to_fill: Quantiles,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CountsView {
    pub events: u64,
    pub market_snapshots: u64,
    pub signals: u64,
    pub risk_checks: u64,
    pub orders: u64,
    pub fills: u64,
    /// Fills naming an order the log has not seen: stored and flagged, not applied to positions.
    pub orphan_fills: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PositionView {
    pub instrument: String,
    /// Signed: positive long, negative short.
    pub quantity: Decimal,
    pub avg_cost: Decimal,
    pub mark: Option<Decimal>,
    /// quantity x mark, signed, in account currency.
    pub exposure: Decimal,
    /// |exposure| / gross exposure, 0..1.
    pub concentration: Option<f64>,
    pub realized: Decimal,
    pub unrealized: Decimal,
    pub fees: Decimal,
    /// realized + unrealized - fees.
    pub total: Decimal,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Quantiles {
    pub count: u64,
    pub p50_ms: Option<f64>,
    pub p95_ms: Option<f64>,
    pub p99_ms: Option<f64>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SignalRow {
    pub seq: u64,
    pub signal_id: String,
    pub ts: DateTime<Utc>,
    pub automation_id: String,
    pub instrument: String,
    pub intent: String,
    pub side: String,
    pub signal_type: String,
    pub strength: f64,
    pub confidence: f64,
    /// "approve" / "reject" from the risk check, if one arrived.
    pub risk_decision: Option<String>,
    /// Where the signal stands: awaiting risk check, rejected by risk, approved, ordered,
    /// partially filled, filled, cancelled, rejected by venue.
    pub status: String,
    pub filled_quantity: Decimal,
    pub avg_fill_price: Option<Decimal>,
    /// Compliance issues raised on this signal's orders (filled by the console).
    #[serde(default)]
    pub compliance_issues: Vec<u64>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct IngestView {
    pub accepted_events: u64,
    pub duplicate_events: u64,
    pub rejected_batches: u64,
    pub accepted_batches: u64,
    /// rejected_batches / (accepted_batches + rejected_batches), since the server started.
    pub error_rate: Option<f64>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::Event;
    use std::str::FromStr;

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap_or_default()
    }

    fn ev(json: &str) -> Event {
        let now = DateTime::parse_from_rfc3339("2030-01-01T00:00:00Z").map(|t| t.with_timezone(&Utc)).unwrap_or_default();
        match Event::parse_json(json, now) {
            Ok(e) => e,
            Err(e) => panic!("{e}: {json}"),
        }
    }

    fn snapshot(id: &str, ts: &str, mid: &str) -> Event {
        ev(&format!(r#"{{"event_id":"{id}","kind":"market_snapshot","ts":"{ts}","instrument":"AAPL","bid":"{mid}","ask":"{mid}","mid":"{mid}","last":"{mid}","volume":"0"}}"#))
    }

    fn order(id: &str, ts: &str, side: &str, qty: &str, status: &str) -> Event {
        ev(&format!(r#"{{"event_id":"{id}-{status}","kind":"order","ts":"{ts}","order_id":"{id}","signal_id":"s1","instrument":"AAPL","side":"{side}","quantity":"{qty}","order_type":"market","status":"{status}"}}"#))
    }

    fn fill(id: &str, order: &str, ts: &str, qty: &str, price: &str, fee: &str) -> Event {
        ev(&format!(r#"{{"event_id":"{id}","kind":"fill","ts":"{ts}","fill_id":"{id}","order_id":"{order}","quantity":"{qty}","price":"{price}","fee":"{fee}","fee_currency":"USD","liquidity":"taker"}}"#))
    }

    proptest::proptest! {
        /// The running totals behind `equity()` always equal the sums over positions.
        #[test]
        fn running_totals_equal_the_sums_over_positions(steps in proptest::collection::vec((0usize..3, 0u8..3, 1i64..500, 9_000i64..11_000), 1..120)) {
            let mut p = Projection::new(d("100000"));
            let instruments = ["AAA", "BBB", "CCC"];
            for (i, (k, action, qty, px)) in steps.iter().enumerate() {
                let inst = instruments[*k];
                let price = Decimal::new(*px, 2);
                let ts = format!("2024-01-{:02}T{:02}:{:02}:00Z", 1 + i / 60, (i / 6) % 24, i % 60);
                let events = if *action == 0 {
                    vec![format!(r#"{{"event_id":"m{i}","kind":"market_snapshot","ts":"{ts}","instrument":"{inst}","bid":"{price}","ask":"{price}","mid":"{price}","last":"{price}","volume":"1"}}"#)]
                } else {
                    let side = if *action == 1 { "buy" } else { "sell" };
                    vec![
                        format!(r#"{{"event_id":"o{i}","kind":"order","ts":"{ts}","order_id":"o{i}","instrument":"{inst}","side":"{side}","quantity":"{qty}","order_type":"market","status":"submitted"}}"#),
                        format!(r#"{{"event_id":"f{i}","kind":"fill","ts":"{ts}","fill_id":"f{i}","order_id":"o{i}","quantity":"{qty}","price":"{price}","fee":"0.37","fee_currency":"USD","liquidity":"taker"}}"#),
                    ]
                };
                for (j, e) in events.iter().enumerate() {
                    p.apply((i * 2 + j) as u64 + 1, &ev(e));
                }
                let realized: Decimal = p.positions.values().map(|x| x.realized).sum();
                let fees: Decimal = p.positions.values().map(|x| x.fees).sum();
                let unrealized: Decimal = p.positions.iter().map(|(i, x)| x.unrealized(p.marks.get(i).copied())).sum();
                proptest::prop_assert_eq!(p.realized(), realized);
                proptest::prop_assert_eq!(p.fees(), fees);
                proptest::prop_assert_eq!(p.unrealized(), unrealized);
            }
        }
    }

    #[test]
    fn one_exposure_point_per_market_day_whatever_else_arrives() {
        let mut p = Projection::new(d("100000"));
        p.apply(1, &snapshot("m1", "2024-01-02T15:00:00Z", "100"));
        p.apply(2, &snapshot("m2", "2024-01-03T15:00:00Z", "101"));
        for i in 0..5 {
            // Console events carry the wall clock, years after the market data.
            p.apply(3 + i, &ev(&format!(r#"{{"event_id":"c{i}","kind":"system","ts":"2026-11-21T10:00:0{i}Z","component":"console.access","status":"ok","detail":"x"}}"#)));
        }
        p.apply(9, &snapshot("m3", "2024-01-04T15:00:00Z", "102"));
        let days: Vec<String> = p.daily_exposure().iter().map(|e| e.date.to_string()).collect();
        assert_eq!(days, vec!["2024-01-02", "2024-01-03", "2024-01-04"]);
    }

    #[test]
    fn round_trip_pnl_is_exact_to_the_cent() {
        let mut p = Projection::new(d("100000"));
        let events = [
            snapshot("m1", "2024-01-02T21:00:00Z", "100.00"),
            order("o1", "2024-01-02T21:00:01Z", "buy", "10", "submitted"),
            fill("f1", "o1", "2024-01-02T21:00:02Z", "10", "100.10", "0.05"),
            order("o1", "2024-01-02T21:00:02Z", "buy", "10", "filled"),
            snapshot("m2", "2024-01-03T21:00:00Z", "103.00"),
            order("o2", "2024-01-03T21:00:01Z", "sell", "10", "submitted"),
            fill("f2", "o2", "2024-01-03T21:00:02Z", "4", "102.90", "0.02"),
            fill("f3", "o2", "2024-01-03T21:00:03Z", "6", "102.95", "0.03"),
            order("o2", "2024-01-03T21:00:03Z", "sell", "10", "filled"),
        ];
        for (i, e) in events.iter().enumerate() {
            assert_eq!(p.apply(i as u64 + 1, e), None);
        }
        // (102.90-100.10)*4 + (102.95-100.10)*6 = 11.20 + 17.10 = 28.30, fees 0.10
        assert_eq!(p.realized(), d("28.30"));
        assert_eq!(p.fees(), d("0.10"));
        assert_eq!(p.unrealized(), Decimal::ZERO);
        let v = p.dashboard(10);
        assert_eq!(v.pnl.total, d("28.20"));
        assert_eq!(v.equity, d("100028.20"));
        assert_eq!(v.closed_trades, 1);
        assert_eq!(v.hit_rate, Some(1.0));
        assert_eq!(v.fill_rate, Some(1.0));
        assert_eq!(v.counts.orders, 2);
        // buy 10 bps above a 100.00 mid; sells 10 and 5 bps below 103.00 (a cost: positive)
        let bps = v.avg_slippage_bps.unwrap_or_default();
        let expected = (10.0 + (103.0 - 102.90) / 103.0 * 1e4 + (103.0 - 102.95) / 103.0 * 1e4) / 3.0;
        assert!((bps - expected).abs() < 1e-9, "{bps} vs {expected}");
    }

    #[test]
    fn unrealized_follows_the_mark_and_daily_pnl_uses_the_previous_close() {
        let mut p = Projection::new(d("1000"));
        p.apply(1, &snapshot("m1", "2024-01-02T21:00:00Z", "10"));
        p.apply(2, &order("o1", "2024-01-02T21:00:01Z", "buy", "5", "submitted"));
        p.apply(3, &fill("f1", "o1", "2024-01-02T21:00:02Z", "5", "10", "0"));
        p.apply(4, &snapshot("m2", "2024-01-03T21:00:00Z", "12.5"));
        let v = p.dashboard(10);
        assert_eq!(v.pnl.unrealized, d("12.5"));
        assert_eq!(v.pnl.daily, d("12.5"));
        assert_eq!(v.positions[0].exposure, d("62.5"));
        assert_eq!(v.positions[0].concentration, Some(1.0));
        p.apply(5, &snapshot("m3", "2024-01-04T21:00:00Z", "8"));
        let v = p.dashboard(10);
        assert_eq!(v.pnl.unrealized, d("-10"));
        assert!(v.drawdown < 0.0);
        assert!(v.max_drawdown <= v.drawdown);
    }

    #[test]
    fn a_final_order_leaves_the_book_its_signal_keeps_its_figures_and_a_late_fill_is_flagged() {
        let mut p = Projection::new(d("100000"));
        let sig = ev(r#"{"event_id":"e-s1","kind":"signal","ts":"2024-01-02T21:00:00Z","signal_id":"s1","automation_id":"a","instrument":"AAPL","intent":"entry","signal_type":"momentum","side":"buy","strength":0.5,"features":{},"model_version":"m1","prediction":0.01,"confidence":0.7}"#);
        assert_eq!(p.apply(1, &sig), None);
        // "filled" announced before its fills: not final until the fills cover the quantity.
        assert_eq!(p.apply(2, &order("o1", "2024-01-02T21:00:01Z", "buy", "10", "filled")), None);
        assert_eq!((p.open_orders(), p.finalised()), (1, None));
        assert_eq!(p.apply(3, &fill("f1", "o1", "2024-01-02T21:00:02Z", "4", "10", "0")), None);
        assert_eq!(p.open_orders(), 1);
        assert_eq!(p.apply(4, &fill("f2", "o1", "2024-01-02T21:00:03Z", "6", "10", "0")), None);
        assert_eq!((p.open_orders(), p.finalised()), (0, Some("o1")));
        assert!(p.order_is_final("o1") && !p.order_is_final("o2"));
        // The signal's row still sums the settled order.
        let row = p.signals(5).into_iter().find(|r| r.signal_id == "s1").unwrap_or_else(|| panic!("row"));
        assert_eq!((row.status.as_str(), row.filled_quantity), ("filled", d("10")));
        // A second order of the same signal is summed with the settled one.
        assert_eq!(p.apply(5, &order("o2", "2024-01-02T21:00:04Z", "buy", "5", "submitted")), None);
        assert_eq!(p.finalised(), None);
        let row = p.signals(5).into_iter().find(|r| r.signal_id == "s1").unwrap_or_else(|| panic!("row"));
        assert_eq!((row.status.as_str(), row.filled_quantity), ("partially filled", d("10")));
        // A cancel is final at once; a fill after it is flagged and not applied.
        assert_eq!(p.apply(6, &order("o2", "2024-01-02T21:00:05Z", "buy", "5", "cancelled")), None);
        assert_eq!((p.open_orders(), p.finalised()), (0, Some("o2")));
        let held = p.position("AAPL").map(|x| x.quantity);
        assert_eq!(p.apply(7, &fill("f3", "o2", "2024-01-02T21:00:06Z", "5", "10", "0")), Some(Flag::FinalOrder));
        assert_eq!(p.position("AAPL").map(|x| x.quantity), held);
        assert_eq!(held, Some(d("10")));
    }

    #[test]
    fn a_fill_for_an_unknown_order_is_flagged_not_applied() {
        let mut p = Projection::new(d("1000"));
        assert_eq!(p.apply(1, &fill("f1", "nope", "2024-01-02T21:00:02Z", "5", "10", "0")), Some(Flag::UnknownOrder));
        assert_eq!(p.dashboard(1).counts.orphan_fills, 1);
        assert_eq!(p.realized(), Decimal::ZERO);
    }

    #[test]
    fn flipping_through_zero_books_the_closed_part() {
        let mut pos = Position::default();
        assert_eq!(pos.fill(Side::Buy, d("10"), d("10"), Decimal::ZERO), None);
        assert_eq!(pos.fill(Side::Sell, d("15"), d("12"), Decimal::ZERO), Some(d("20")));
        assert_eq!(pos.quantity, d("-5"));
        assert_eq!(pos.avg_cost, d("12"));
        assert_eq!(pos.fill(Side::Buy, d("5"), d("11"), Decimal::ZERO), Some(d("5")));
        assert_eq!(pos.realized, d("25"));
    }

    #[test]
    fn downsample_keeps_ends() {
        let pts: Vec<Point> = (0..1000).map(|i| Point { t: i, v: i as f64 }).collect();
        let ds = downsample(&pts, 10);
        assert_eq!(ds.len(), 10);
        assert_eq!(ds[0].t, 0);
        assert_eq!(ds[9].t, 999);
    }
}
