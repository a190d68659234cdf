//! Anomaly detection: a fold that watches fills, orders, equity, breakers and compliance findings
//! and asks for alerts (`Action::Alert`), which the console appends as `alert` events; the
//! alerts' workflow (acknowledgement, silences, escalation, delivery) is the [`alerts`] fold.
//!
//! - **Statistical**, per series (slippage in bps against the arrival mid per fill, order -> fill
//!   and signal -> order latency in ms): the z-score, Tukey's fences and the robust z-score over
//!   the rolling window ([`stats`]); a value is an anomaly when `votes` of the three flag it
//!   (two by default) and it passes its series' floor (slippage 10 bps, latency 250 ms, a price gap
//!   2,000 bps, an order 3 times the usual). Its alert (`<series>_anomaly`, warning) resolves after
//!   `resolve_after_secs` without another.
//! - **Runbook rules**: slippage above `slippage_bps` on `slippage_fills` consecutive fills of an
//!   automation (critical); p95 order -> fill latency above `latency_p95_ms` over the last
//!   `latency_window_secs` of the console's clock, at least 5 fills (warning, resolves when back
//!   under); equity down more than `pnl_drop_pct` from its peak within `pnl_window_secs` of
//!   market time (critical); a breaker trip, which is the automatic pause (critical, until the
//!   scope resumes; a missing heartbeat trips one); a compliance breach, or a limit used above
//!   `limit_utilisation` (critical / warning, until the episode ends or a person closes it);
//!   an automation's signals this hour above `signal_rate_multiple` (3) times the median of its
//!   last closed hours (at least 10, 24 hours of baseline; warning); the console's ingest
//!   rejecting more than 5% of batches over 5 minutes (a `system` event the console records).
//! - **Hourly series** ([`rates`], hours of market time): per automation, signals per hour,
//!   the reject rate and the fill rate of its orders; the book's PnL per hour. A fill-rate or
//!   PnL anomaly is a low value (scored on the lower side).
//!
//! What is firing is read back from the log's `alert` events: the fold asks again for what it
//! wants and the log lacks (after 30 s), so a lost append is repaired, never duplicated.
pub mod alerts;
pub mod forest;
pub mod quality;
pub mod rates;
pub mod stats;

use std::collections::{BTreeMap, VecDeque};

use crate::hash::HashMap;

use chrono::{DateTime, Duration, Utc};
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use serde::{Deserialize, Serialize};

use crate::config::alerting::Alerting;
use crate::event::{Alert, AlertChange, Body, ControlAction, Id, IssueChange, ReviewAction, Severity, Side};
use crate::fold::{Action, Fold, Stored};
use crate::projection::Projection;
use stats::{Params, Window};

/// Anomalies kept for the API and `/alerts` (the log keeps every alert).
pub const ANOMALIES_KEPT: usize = 5_000;
/// Orders and signals remembered for latency and arrival prices.
const ORDERS_KEPT: usize = 20_000;
/// A finding asked for and not yet in the log is asked again after this long.
const REQUEST_RETRY_SECS: i64 = 30;
/// The Isolation Forest: fills it grows on, its trees and sub-sample, and how often it regrows.
const FOREST_WINDOW: usize = 512;
const FOREST_SAMPLE: usize = 256;
const FOREST_TREES: usize = 50;
const FOREST_REGROW: usize = 512;
/// Marks behind an instrument's recent volume.
const VOLUME_MARKS: usize = 20;
/// Instruments whose volume is followed, at most.
const INSTRUMENTS_KEPT: usize = 10_000;

/// The volumes of an instrument's last [`VOLUME_MARKS`] marks that carried one.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct RecentVolume {
    last: VecDeque<f64>,
    sum: f64,
}

impl RecentVolume {
    fn push(&mut self, v: f64) {
        if self.last.len() >= VOLUME_MARKS
            && let Some(old) = self.last.pop_front()
        {
            self.sum -= old;
        }
        self.last.push_back(v);
        self.sum += v;
    }
    /// The mean volume (`None` before any).
    fn mean(&self) -> Option<f64> {
        (!self.last.is_empty()).then(|| self.sum / self.last.len() as f64).filter(|m| *m > 0.0 && m.is_finite())
    }
}

/// Series windows kept, at most (per-automation series add one per automation).
const SERIES_KEPT: usize = 4_000;
/// Fills behind the latency p95, at most: the newest within its window (at a high fill rate, a
/// minute of fills is an estimate from its newest 10,000).
const LATENCIES_KEPT: usize = 10_000;

/// [`crate::metrics::percentile_sorted`] of unsorted values (reordered), by selection: O(n).
fn percentile_unsorted(v: &mut [f64], q: f64) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    let rank = q * (v.len() - 1) as f64;
    let lo = rank.floor() as usize;
    let (_, at, above) = v.select_nth_unstable_by(lo, f64::total_cmp);
    let a = *at;
    let b = above.iter().copied().min_by(f64::total_cmp).unwrap_or(a);
    Some(a + (b - a) * (rank - lo as f64))
}

/// Fewest fills behind a latency p95.
const LATENCY_MIN_FILLS: usize = 5;

/// The runbook: each rule, what fires it and what a person does (`/alerts/runbook`, linked from
/// every alert's `runbook_url`).
pub const RUNBOOK: [(&str, &str, &str); 21] = [
    ("slippage_consecutive", "Slippage above `slippage_bps` (50 bps) against the arrival mid on `slippage_fills` (3) consecutive fills of one automation. Critical.", "Check the venue and the order sizes of the automation on /execution; pause it (/signals) if fills keep missing the mid; acknowledge with what you found."),
    ("latency_p95", "The p95 of order -> fill latency over the last `latency_window_secs` (60 s, console clock, 5 fills or more) above `latency_p95_ms` (500 ms). Warning; resolves when back under.", "Check the engine's and the broker's health; a sustained spike is a connectivity problem before it is a trading one."),
    ("pnl_drop", "Equity down more than `pnl_drop_pct` (5%) from its peak within `pnl_window_secs` (1 h of market time). Critical.", "Look at /risk and the positions; consider the global pause (/signals) while you find the cause."),
    ("breaker_trip", "A circuit breaker paused an automation or all trading (the automatic pause; a missing heartbeat trips one). Critical; resolves when the scope resumes.", "Read the breaker's rule and value on the alert; fix the cause, then resume on /signals with a reason."),
    ("compliance_breach", "A compliance issue at the breach level (a limit at 100%, a prohibited instrument). Critical; resolves when the episode ends or the issue is resolved.", "Open the issue on /compliance (linked in the labels) and follow its workflow."),
    ("limit_utilisation", "A compliance limit used above `limit_utilisation` (90%). Warning.", "Reduce the position before it breaches; the issue on /compliance shows the limit and its use."),
    ("slippage_vs_model", "An automation's notional-weighted slippage over its last `model_fills` (20) fills more than `model_excess` (50%) above the model's expectation (half the spread at the order plus the impact model, k x sqrt(notional / 1M USD) bps), and at least 10 bps. Warning.", "The market is thinner than the model thinks, or the orders are too large for it: compare /execution's decomposition and size down."),
    ("fill_isolation_anomaly", "An Isolation Forest (50 trees, seeded, regrown every 512 fills on the last 512) over each fill's slippage, latency, size against the instrument's recent volume and spread isolates it: a score of `forest_score` (0.7) or more, and above every fill it grew on. The alert names the features that isolated it. Warning.", "Look at the named features of the fill on its lineage page: an unusual combination (a large order in a wide spread, a slow fill at a good price) is what a single series misses."),
    ("config_refused", "Someone signed in tried to change the config and was refused: a role that may not change it, an admin-only setting, or fewer human approvals without an admin. Warning; resolves after 5 min.", "Ask the person named in the alert what they meant to do; repeated attempts are a security matter (see /admin login attempts)."),
    ("clock_drift", "A source's clock more than `clock_drift_ms` (100 ms) off the console's, estimated from its least-delayed recent heartbeat. Warning.", "Check NTP (chronyc tracking) on the source's host: its timestamps drive latency and market-hours checks."),
    ("slippage_anomaly", "A fill's slippage (bps) flagged by at least `votes` (2) of the three detectors: z-score > 3, above Q3 + 1.5 IQR, robust z > 3.5 over the last `window` (200) fills, and at least `slippage_floor_bps` (10 bps). Warning; resolves after `resolve_after_secs` (5 min) without another.", "Compare the fill with the quote at the order (/trades lineage); one outlier is information, a run of them is the slippage rule."),
    ("mark_move_anomaly", "A mark moved by at least `price_gap_bps` (2,000 bps) from the instrument's last one and the detectors flag the move against the last `window` moves of every instrument. Warning.", "A bad tick or a real gap: compare with another source before trading on it; the positions' unrealized PnL moved with it."),
    ("order_notional_anomaly", "An order's notional at least `order_size_multiple` (3) times the usual one and flagged by the detectors (scored as log10 of the notional). Warning.", "A fat finger or a sizing bug: check the order on the lineage page and cancel what should not trade."),
    ("order_to_fill_anomaly", "An order -> fill latency flagged by the detectors (as above) and at least `latency_floor_ms` (250 ms). Warning.", "Check the engine's connection; see latency_p95 for the sustained case."),
    ("signal_to_order_anomaly", "A signal -> order latency flagged by the detectors (as above) and at least `latency_floor_ms` (250 ms). Warning.", "The strategy or the risk check took unusually long: check the engine's load and logs."),
    ("signal_rate", "An automation's signals in the current hour of market time above `signal_rate_multiple` (3) times the median of its last closed hours (24 at least, up to 168), and at least 10. Warning; resolves after `resolve_after_secs` without another signal above the rate.", "A runaway strategy or a data loop: look at the automation's signals on /signals; pause it if they are not what the market did."),
    ("ingest_error_rate", "The console rejected more than 5% of the ingest batches it got over the last 5 minutes (20 batches at least). Warning; resolves when the share is back under.", "A source sends what the API refuses: the 4xx bodies name the line, field and reason; see the `tradewatch_ingest_batches_total` outcomes on /metrics and the source's logs."),
    ("signals_per_hour_anomaly", "An automation's signals in a closed hour flagged by the detectors against its own last `window` hours, and at least 10. Warning.", "Compare with what the market did that hour; see signal_rate for the live rule."),
    ("reject_rate_anomaly", "The share of an automation's orders rejected in a closed hour (5 orders at least) flagged by the detectors, and above 5%. Warning.", "The broker or the risk check refuses orders: read the rejections on /execution and the engine's logs."),
    ("fill_rate_anomaly", "The share of an automation's orders of a closed hour (5 at least) that were filled, unusually low against its last hours (scored on the lower side), and at most 80%. Warning.", "Orders are not reaching the market or limits are too far from it: check the open orders and the venue."),
    ("pnl_per_hour_anomaly", "The book's PnL over a closed hour of market time unusually low against the last `window` hours (scored on the lower side), and a loss of at least 1% of equity. Warning.", "Look at the positions and the marks of that hour on /risk; pnl_drop is the rule for a 5% drop."),
];

/// The series the statistical detectors score.
pub const SERIES: [&str; 9] = ["slippage_bps", "order_to_fill_ms", "signal_to_order_ms", "mark_move_bps", "order_notional_usd", "signals_per_hour", "reject_rate", "fill_rate", "pnl_per_hour_usd"];

/// Series scored per automation (a window each), not across all of them.
const PER_AUTOMATION: [&str; 3] = ["signals_per_hour", "reject_rate", "fill_rate"];
/// Series whose anomalies are low values.
const LOWER_SIDE: [&str; 2] = ["fill_rate", "pnl_per_hour_usd"];
/// Fewest signals in an hour that can be unusual.
const SIGNALS_FLOOR: f64 = 10.0;

/// A series' rule (`<rule>_anomaly`) and unit in words.
fn series_meta(series: &str) -> (&str, &'static str) {
    match series {
        "slippage_bps" => ("slippage", "bps"),
        "order_to_fill_ms" => ("order_to_fill", "ms"),
        "signal_to_order_ms" => ("signal_to_order", "ms"),
        "mark_move_bps" => ("mark_move", "bps"),
        "order_notional_usd" => ("order_notional", "USD"),
        "signals_per_hour" => ("signals_per_hour", "signals"),
        "reject_rate" | "fill_rate" => (series, "%"),
        "pnl_per_hour_usd" => ("pnl_per_hour", "USD"),
        other => (other, ""),
    }
}

/// One value the detectors flagged.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AnomalyRecord {
    /// The seq of the event that carried the value.
    pub seq: u64,
    pub ts: DateTime<Utc>,
    pub received_at: DateTime<Utc>,
    pub series: String,
    pub value: f64,
    /// The window's median, z-score, robust z-score and upper IQR fence.
    pub median: Option<f64>,
    pub zscore: Option<f64>,
    pub robust_z: Option<f64>,
    pub upper_fence: Option<f64>,
    /// The detectors that flagged it: `zscore`, `iqr`, `mad`.
    pub detectors: Vec<String>,
    pub automation: Option<String>,
    pub instrument: Option<String>,
    pub order_id: Option<String>,
    /// The Isolation Forest's: each feature's share of the isolating splits, largest first.
    #[serde(default)]
    pub contributions: Vec<(String, f64)>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct OrderInfo {
    seq: u64,
    ts: DateTime<Utc>,
    automation: Option<String>,
    instrument: String,
    side: Side,
    arrival: Option<Decimal>,
    /// The model's expected slippage (bps): half the spread at the order plus the impact model.
    expected_bps: Option<f64>,
}

/// An alert a rule wants firing: until `until` (a point finding), or until the rule clears it.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Wanted {
    alert: Alert,
    until: Option<DateTime<Utc>>,
}

/// The detection fold.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Anomaly {
    params: Alerting,
    orders: HashMap<String, OrderInfo>,
    order_queue: VecDeque<String>,
    signals: HashMap<String, (String, DateTime<Utc>)>,
    signal_queue: VecDeque<String>,
    series: BTreeMap<String, Window>,
    /// Automation -> seqs of its current run of fills above the slippage limit.
    streaks: HashMap<String, Vec<u64>>,
    /// (console clock, order -> fill ms, seq) of recent fills.
    latencies: VecDeque<(DateTime<Utc>, f64, u64)>,
    /// (market time, equity, seq) within the PnL window, each point above every later one (the
    /// front is the window's peak).
    equity: VecDeque<(DateTime<Utc>, f64, u64)>,
    /// The newest equity point.
    #[serde(default)]
    last_equity: Option<(DateTime<Utc>, f64, u64)>,
    anomalies: VecDeque<AnomalyRecord>,
    anomaly_count: u64,
    quality: quality::DataQuality,
    /// Instrument -> its last mid (price gaps).
    last_mid: HashMap<String, Decimal>,
    /// Instrument -> half its last spread, bps of the mid (the model's expected slippage).
    half_spread_bps: HashMap<String, f64>,
    /// Automation -> its last fills' (slippage bps, the model's bps, notional).
    vs_model: HashMap<String, VecDeque<(f64, f64, f64)>>,
    /// The recent fills' features, the forest grown on them, the highest score among them, the
    /// fills since it grew and how many times it did (its seed).
    fill_features: VecDeque<[f64; forest::D]>,
    forest: forest::Forest,
    forest_max: f64,
    fills_since_growth: u32,
    growths: u64,
    wanted: BTreeMap<String, Wanted>,
    /// The order -> fill latency p95 (ms) at the last evaluation, when defined.
    latency_p95: Option<f64>,
    /// Activity by automation and hour.
    #[serde(default)]
    rates: rates::Rates,
    /// Instrument -> the volumes of its last marks (the forest's size against volume).
    #[serde(default)]
    volumes: HashMap<String, RecentVolume>,
    /// Fingerprint -> the firing event the log holds.
    firing: BTreeMap<String, Alert>,
    requested: HashMap<String, DateTime<Utc>>,
}

impl Anomaly {
    pub fn new() -> Self {
        Self::default()
    }

    /// Anomalies kept, oldest first, with `from <= received_at < to` where given.
    pub fn anomalies(&self, from: Option<DateTime<Utc>>, to: Option<DateTime<Utc>>) -> impl DoubleEndedIterator<Item = &AnomalyRecord> {
        self.anomalies.iter().filter(move |a| from.is_none_or(|f| a.received_at >= f) && to.is_none_or(|t| a.received_at < t))
    }

    /// The market data's quality and the sources' clocks.
    pub fn quality(&self) -> &quality::DataQuality {
        &self.quality
    }

    /// The p95 of order -> fill latency (ms) over the latency window at the last evaluation
    /// (`None` under 5 fills in the window).
    pub fn latency_p95_ms(&self) -> Option<f64> {
        self.latency_p95
    }

    /// Every anomaly found since the log began (not only those kept).
    pub fn anomaly_count(&self) -> u64 {
        self.anomaly_count
    }

    fn detector_params(&self) -> Params {
        let p = &self.params;
        Params { min_samples: p.min_samples as usize, zscore: p.zscore, iqr_k: p.iqr_k, robust_z: p.robust_z }
    }

    fn apply_event(&mut self, s: &Stored<'_>, book: &Projection) {
        // Data quality is watched whether detection is on or not.
        match &s.event.body {
            Body::MarketSnapshot(m) => self.quality.on_mark(m, s.event.ts),
            Body::Heartbeat(h) => self.quality.on_heartbeat(h.component.as_str(), s.event.ts, s.received_at),
            _ => {}
        }
        match &s.event.body {
            Body::ConfigChange(c) => {
                self.params = c.config.alerting.clone();
                let cap = self.params.window as usize;
                for w in self.series.values_mut() {
                    w.resize(cap);
                }
            }
            Body::Alert(a) => match a.change {
                AlertChange::Firing => {
                    self.requested.remove(a.fingerprint.as_str());
                    self.firing.insert(a.fingerprint.to_string(), a.clone());
                }
                AlertChange::Resolved => {
                    self.requested.remove(a.fingerprint.as_str());
                    self.firing.remove(a.fingerprint.as_str());
                }
                AlertChange::Escalated | AlertChange::Notified => {}
            },
            _ if !self.params.enabled => {}
            Body::Signal(sig) => {
                remember(&mut self.signals, &mut self.signal_queue, sig.signal_id.as_str(), (sig.automation_id.to_string(), s.event.ts));
                let automation = sig.automation_id.as_str();
                let (closed, n) = self.rates.on_signal(automation, s.event.ts);
                if let Some(h) = closed {
                    self.close_hour(s, automation, &h);
                }
                self.signal_rate(s, automation, n);
            }
            Body::Order(o) => {
                let id = o.order_id.as_str();
                if let Some(known) = self.orders.get(id) {
                    if o.status == crate::event::OrderStatus::Rejected
                        && let Some(a) = known.automation.clone()
                    {
                        self.rates.on_rejection(&a, id);
                    }
                    return;
                }
                let signal = o.signal_id.as_ref().and_then(|sid| self.signals.get(sid.as_str())).cloned();
                let arrival = book.mark(o.instrument.as_str());
                let notional = arrival.and_then(|a| a.checked_mul(o.quantity)).and_then(|n| n.to_f64());
                let expected_bps = match (self.half_spread_bps.get(o.instrument.as_str()), notional) {
                    (Some(half), Some(n)) => Some(half + crate::analytics::impact_model_bps(crate::analytics::is_currency_pair(o.instrument.as_str()), n)),
                    _ => None,
                };
                let info = OrderInfo { seq: s.seq, ts: s.event.ts, automation: signal.as_ref().map(|x| x.0.clone()), instrument: o.instrument.to_string(), side: o.side, arrival, expected_bps };
                if let Some((automation, signal_ts)) = &signal {
                    let ms = (s.event.ts - *signal_ts).num_microseconds().map(|u| u as f64 / 1000.0);
                    if let Some(ms) = ms.filter(|m| *m >= 0.0) {
                        self.observe(s, "signal_to_order_ms", ms, Some(automation), Some(&info.instrument), Some(id), vec![s.seq]);
                    }
                }
                let price = o.limit_price.or(info.arrival);
                if let Some(notional) = price.and_then(|p| p.checked_mul(o.quantity)).and_then(|n| n.to_f64()).filter(|n| *n > 0.0) {
                    let automation = info.automation.clone();
                    let instrument = info.instrument.clone();
                    self.observe(s, "order_notional_usd", notional, automation.as_deref(), Some(&instrument), Some(id), vec![s.seq]);
                }
                if let Some(a) = info.automation.clone()
                    && let Some(h) = self.rates.on_order(&a, id, o.status == crate::event::OrderStatus::Rejected, s.event.ts)
                {
                    self.close_hour(s, &a, &h);
                }
                remember(&mut self.orders, &mut self.order_queue, id, info);
            }
            Body::Fill(f) => {
                let Some(order) = self.orders.get(f.order_id.as_str()).cloned() else { return };
                let automation = order.automation.as_deref();
                if let Some(a) = automation {
                    self.rates.on_fill(a, f.order_id.as_str());
                }
                if let Some(ms) = (s.event.ts - order.ts).num_microseconds().map(|u| u as f64 / 1000.0).filter(|m| *m >= 0.0) {
                    if self.latencies.len() >= LATENCIES_KEPT {
                        self.latencies.pop_front();
                    }
                    self.latencies.push_back((s.received_at, ms, s.seq));
                    self.observe(s, "order_to_fill_ms", ms, automation, Some(&order.instrument), Some(f.order_id.as_str()), vec![order.seq, s.seq]);
                }
                let Some(arrival) = order.arrival.filter(|a| !a.is_zero()) else { return };
                let bps = f.price.checked_sub(arrival).and_then(|d| d.checked_mul(order.side.sign())).and_then(|d| d.checked_div(arrival)).and_then(|r| r.to_f64()).map(|r| r * 10_000.0);
                let Some(bps) = bps else { return };
                self.observe(s, "slippage_bps", bps, automation, Some(&order.instrument), Some(f.order_id.as_str()), vec![order.seq, s.seq]);
                self.slippage_streak(s, bps, automation.unwrap_or("unknown"));
                if let (Some(expected), Some(weight)) = (order.expected_bps, f.quantity.checked_mul(f.price).and_then(|n| n.to_f64())) {
                    self.against_model(s, automation.unwrap_or("unknown"), bps, expected, weight);
                }
                let latency = (s.event.ts - order.ts).num_milliseconds().max(1) as f64;
                // Size against the instrument's recent volume; marks without volume (FX quotes)
                // leave the fill to the other detectors.
                let Some(volume) = self.volumes.get(order.instrument.as_str()).and_then(RecentVolume::mean) else { return };
                let size = f.quantity.to_f64().unwrap_or(0.0).max(1e-9) / volume;
                let half = self.half_spread_bps.get(order.instrument.as_str()).copied().unwrap_or(0.0);
                let x = [bps, latency.log10(), size.log10(), half];
                let (automation, instrument, order_id) = (order.automation.clone(), order.instrument.clone(), f.order_id.to_string());
                self.isolation(s, x, automation.as_deref(), &instrument, &order_id, vec![order.seq, s.seq]);
            }
            Body::MarketSnapshot(m) => {
                let key = m.instrument.to_string();
                if let Some(v) = m.volume.to_f64().filter(|v| *v > 0.0)
                    && (self.volumes.contains_key(&key) || self.volumes.len() < INSTRUMENTS_KEPT)
                {
                    self.volumes.entry(key.clone()).or_default().push(v);
                }
                if let Some(half) = m.ask.checked_sub(m.bid).and_then(|d| d.checked_div(m.mid.checked_mul(Decimal::TWO)?)).and_then(|r| r.to_f64()) {
                    self.half_spread_bps.insert(key.clone(), half * 10_000.0);
                }
                if let Some(prev) = self.last_mid.insert(key.clone(), m.mid).filter(|p| !p.is_zero()) {
                    let bps = m.mid.checked_sub(prev).and_then(|d| d.checked_div(prev)).and_then(|r| r.to_f64()).map(|r| r.abs() * 10_000.0);
                    if let Some(bps) = bps {
                        self.observe(s, "mark_move_bps", bps, None, Some(&key), None, vec![s.seq]);
                    }
                }
                let Some(eq) = book.equity().to_f64() else { return };
                if let Some(pnl) = self.rates.on_equity(eq, s.event.ts) {
                    self.observe(s, "pnl_per_hour_usd", pnl, None, None, None, vec![s.seq]);
                }
                if self.last_equity.is_none_or(|(_, last, _)| last != eq) {
                    self.last_equity = Some((s.event.ts, eq, s.seq));
                    // A falling run of maxima: a point below a later one can never be the peak.
                    while self.equity.back().is_some_and(|(_, v, _)| *v <= eq) {
                        self.equity.pop_back();
                    }
                    self.equity.push_back((s.event.ts, eq, s.seq));
                    let window = Duration::seconds(i64::from(self.params.pnl_window_secs));
                    while self.equity.front().is_some_and(|(t, _, _)| s.event.ts - *t > window) {
                        self.equity.pop_front();
                    }
                }
            }
            Body::Control(c) => self.on_control(s, c),
            Body::System(st) if st.component.as_str() == "console.config" && st.status.as_str() == "refused" => {
                let detail = st.detail.clone().unwrap_or_default();
                let actor = detail.split_whitespace().next().unwrap_or("someone").to_string();
                let until = self.quiet_end(s);
                if let Some(a) = draft("config_refused", Severity::Warning, &[("user", actor)], format!("refused config change: {}", detail.chars().take(300).collect::<String>()), None, None, None, vec![s.seq]) {
                    self.want(a, Some(until));
                }
            }
            // The console's ingest: the share of batches it rejected over 5 minutes.
            Body::System(st) if st.component.as_str() == "console.ingest" => {
                let fp = fingerprint_of("ingest_error_rate", &[]);
                if st.status.as_str() == "error_rate" {
                    let detail = st.detail.clone().unwrap_or_default();
                    if let Some(a) = draft("ingest_error_rate", Severity::Warning, &[], format!("ingest: {}", detail.chars().take(300).collect::<String>()), None, Some(5.0), None, vec![s.seq]) {
                        self.want(a, None);
                    }
                } else {
                    self.wanted.remove(&fp);
                }
            }
            Body::Heartbeat(h) => {
                let source = h.component.to_string();
                let fp = fingerprint_of("clock_drift", &[("source", &source)]);
                match self.quality.drift_ms(&source) {
                    Some(d) if (d.abs() as f64) > self.params.clock_drift_ms => {
                        let summary = format!("the clock of {source} is {} ms {} the console's (least-delayed of its last heartbeats)", d.abs(), if d > 0 { "behind" } else { "ahead of" });
                        let until = self.quiet_end(s);
                        if let Some(a) = draft("clock_drift", Severity::Warning, &[("source", source.clone())], summary, Some(d as f64), Some(self.params.clock_drift_ms), None, vec![s.seq]) {
                            self.want(a, Some(until));
                        }
                    }
                    _ => {
                        self.wanted.remove(&fp);
                    }
                }
            }
            Body::ComplianceIssue(c) => {
                let Some(issue_id) = c.issue_id.or((c.change == IssueChange::Open).then_some(s.seq)) else { return };
                if c.change == IssueChange::EpisodeEnd {
                    self.clear(|w| w.alert.labels.get("issue") == Some(&issue_id.to_string()));
                    return;
                }
                let breach = c.severity == Severity::Critical;
                let high = c.utilisation.is_some_and(|u| u >= self.params.limit_utilisation);
                if !(breach || high) {
                    return;
                }
                let rule = if breach { "compliance_breach" } else { "limit_utilisation" };
                // An escalation to a breach replaces the utilisation alert of the same issue.
                if breach {
                    let id = issue_id.to_string();
                    self.clear(|w| w.alert.rule.as_str() == "limit_utilisation" && w.alert.labels.get("issue") == Some(&id));
                }
                let mut extra = vec![("issue", issue_id.to_string()), ("compliance_rule", c.rule.to_string())];
                if let Some(a) = &c.automation_id {
                    extra.push(("automation", a.to_string()));
                }
                if let Some(i) = &c.instrument {
                    extra.push(("instrument", i.to_string()));
                }
                let severity = if breach { Severity::Critical } else { Severity::Warning };
                let summary = format!("compliance issue #{issue_id} ({}): {}", c.rule, c.detail.chars().take(300).collect::<String>());
                if let Some(alert) = draft(rule, severity, &extra, summary, c.value, c.limit, None, vec![s.seq]) {
                    self.want(alert, None);
                }
            }
            Body::ComplianceReview(r) => {
                if matches!(r.action, ReviewAction::Resolve | ReviewAction::ConfirmWaiver) {
                    let id = r.issue_id.to_string();
                    self.clear(|w| w.alert.labels.get("issue") == Some(&id));
                }
            }
            _ => {}
        }
    }

    /// Scores a value of a series, then adds it to the window.
    #[allow(clippy::too_many_arguments)]
    fn observe(&mut self, s: &Stored<'_>, series: &str, value: f64, automation: Option<&str>, instrument: Option<&str>, order_id: Option<&str>, evidence: Vec<u64>) {
        let params = self.detector_params();
        let cap = self.params.window as usize;
        // Order sizes span orders of magnitude: they are scored as log10 of the notional.
        let log = series == "order_notional_usd";
        // Low values are the anomaly of some series: scored negated, so the detectors' upper
        // side is their lower one.
        let sign = if LOWER_SIDE.contains(&series) { -1.0 } else { 1.0 };
        let scored = if log { value.max(1e-9).log10() } else { sign * value };
        let key: std::borrow::Cow<'_, str> = match automation.filter(|_| PER_AUTOMATION.contains(&series)) {
            Some(a) => format!("{series}:{a}").into(),
            None => series.into(),
        };
        // A real move is an outlier too: a price gap must also be large in itself, an order
        // large against the usual one. The gate is decided first: a value it holds back is
        // only added to the window (most values are; scoring them was a quarter of this fold).
        let past_floor = match series {
            "slippage_bps" => Some(value >= self.params.slippage_floor_bps),
            "order_to_fill_ms" | "signal_to_order_ms" => Some(value >= self.params.latency_floor_ms),
            "mark_move_bps" => Some(value >= self.params.price_gap_bps),
            // Against the window's median: decided after scoring.
            "order_notional_usd" => None,
            "signals_per_hour" => Some(value >= SIGNALS_FLOOR),
            "reject_rate" => Some(value > 0.05),
            "fill_rate" => Some(value <= 0.8),
            "pnl_per_hour_usd" => Some(self.last_equity.is_some_and(|(_, eq, _)| value <= -0.01 * eq.abs())),
            _ => Some(true),
        };
        if !self.series.contains_key(key.as_ref()) {
            if self.series.len() >= SERIES_KEPT {
                return;
            }
            self.series.insert(key.to_string(), Window::new(cap));
        }
        let Some(window) = self.series.get_mut(key.as_ref()) else { return };
        if past_floor == Some(false) {
            window.push(scored);
            return;
        }
        let mut v = window.score(scored, &params);
        window.push(scored);
        if log {
            v.median = v.median.map(|m| 10f64.powf(m));
            v.upper_fence = v.upper_fence.map(|m| 10f64.powf(m));
        } else {
            v.median = v.median.map(|m| sign * m);
            v.upper_fence = v.upper_fence.map(|m| sign * m);
        }
        let gate = past_floor.unwrap_or_else(|| v.median.is_some_and(|m| value >= self.params.order_size_multiple * m));
        if v.votes() < self.params.votes || !gate {
            return;
        }
        let record = AnomalyRecord {
            seq: s.seq,
            ts: s.event.ts,
            received_at: s.received_at,
            series: series.to_string(),
            value,
            median: v.median,
            zscore: v.z,
            robust_z: v.robust_z,
            upper_fence: v.upper_fence,
            detectors: v.detectors().into_iter().map(String::from).collect(),
            automation: automation.map(String::from),
            instrument: instrument.map(String::from),
            order_id: order_id.map(String::from),
            contributions: Vec::new(),
        };
        self.keep(record);
        let (name, unit) = series_meta(series);
        let name = name.to_string();
        let shown = |x: f64| if unit == "%" { x * 100.0 } else { x };
        let summary = format!(
            "{} {:.1} {unit}{}{}{} (median {:.1}; flagged by {})",
            name.replace('_', " "),
            shown(value),
            instrument.filter(|_| order_id.is_none()).map(|i| format!(" on {i}")).unwrap_or_default(),
            order_id.map(|o| format!(" on order {o}")).unwrap_or_default(),
            automation.map(|a| format!(" of {a}")).unwrap_or_default(),
            shown(v.median.unwrap_or(0.0)),
            v.detectors().join(", ")
        );
        let rule = format!("{name}_anomaly");
        let mut extra = vec![("series", series.to_string())];
        if let Some(a) = automation {
            extra.push(("automation", a.to_string()));
        } else if let Some(i) = instrument {
            extra.push(("instrument", i.to_string()));
        }
        let until = self.quiet_end(s);
        if let Some(alert) = draft(&rule, Severity::Warning, &extra, summary, Some(value), v.upper_fence, v.robust_z, evidence) {
            self.want(alert, Some(until));
        }
    }

    /// Keeps an anomaly (the newest [`ANOMALIES_KEPT`]) and counts it.
    fn keep(&mut self, record: AnomalyRecord) {
        if self.anomalies.len() >= ANOMALIES_KEPT {
            self.anomalies.pop_front();
        }
        self.anomalies.push_back(record);
        self.anomaly_count += 1;
    }

    /// When a point finding made by `s` stops being wanted: `resolve_after_secs` later.
    fn quiet_end(&self, s: &Stored<'_>) -> DateTime<Utc> {
        s.received_at + Duration::seconds(i64::from(self.params.resolve_after_secs))
    }

    /// A closed hour of an automation: its signals, reject rate and fill rate scored.
    fn close_hour(&mut self, s: &Stored<'_>, automation: &str, h: &rates::Hour) {
        self.observe(s, "signals_per_hour", f64::from(h.signals), Some(automation), None, None, vec![s.seq]);
        if let Some(r) = h.reject_rate() {
            self.observe(s, "reject_rate", r, Some(automation), None, None, vec![s.seq]);
        }
        if let Some(r) = h.fill_rate() {
            self.observe(s, "fill_rate", r, Some(automation), None, None, vec![s.seq]);
        }
    }

    /// The runbook's signal rate: this hour's signals against the median of the last hours.
    fn signal_rate(&mut self, s: &Stored<'_>, automation: &str, n: u32) {
        let Some(base) = self.rates.signal_baseline(automation) else { return };
        let limit = self.params.signal_rate_multiple * base.max(1.0);
        let n = f64::from(n);
        if n < SIGNALS_FLOOR || n <= limit {
            return;
        }
        let summary = format!("{automation}: {n:.0} signals this hour of market time, above {} x its median of {base:.1} per hour", self.params.signal_rate_multiple);
        let until = self.quiet_end(s);
        if let Some(a) = draft("signal_rate", Severity::Warning, &[("automation", automation.to_string())], summary, Some(n), Some(limit), None, vec![s.seq]) {
            self.want(a, Some(until));
        }
    }

    fn slippage_streak(&mut self, s: &Stored<'_>, bps: f64, automation: &str) {
        let streak = self.streaks.entry(automation.to_string()).or_default();
        if bps <= self.params.slippage_bps {
            streak.clear();
            return;
        }
        streak.push(s.seq);
        if streak.len() > crate::event::MAX_EVIDENCE {
            streak.remove(0);
        }
        let n = streak.len();
        if n < self.params.slippage_fills as usize {
            return;
        }
        let evidence = streak.clone();
        let summary = format!("slippage above {} bps on {n} consecutive fills of {automation} (last {bps:.1} bps)", self.params.slippage_bps);
        let until = self.quiet_end(s);
        if let Some(alert) = draft("slippage_consecutive", Severity::Critical, &[("automation", automation.to_string())], summary, Some(bps), Some(self.params.slippage_bps), None, evidence) {
            self.want(alert, Some(until));
        }
    }

    /// Scores a fill with the Isolation Forest, then adds it to the forest's data (regrown every
    /// [`FOREST_REGROW`] fills on the last [`FOREST_WINDOW`]).
    #[allow(clippy::too_many_arguments)]
    fn isolation(&mut self, s: &Stored<'_>, x: [f64; forest::D], automation: Option<&str>, instrument: &str, order_id: &str, evidence: Vec<u64>) {
        if x.iter().any(|v| !v.is_finite()) {
            return;
        }
        if !self.forest.is_empty() {
            // Flagged at or above the configured score and above every recent fill's: scored
            // only as far as it can still get there.
            let floor = self.params.forest_score.max(self.forest_max);
            if let Some((score, shares)) = self.forest.score_from(&x, floor)
                && score >= self.params.forest_score
                && score > self.forest_max
            {
                let mut contributions: Vec<(String, f64)> = forest::FEATURES.iter().zip(shares).map(|(f, v)| (f.to_string(), (v * 1000.0).round() / 1000.0)).collect();
                contributions.sort_by(|a, b| b.1.total_cmp(&a.1));
                let top: Vec<String> = contributions.iter().take(2).map(|(f, v)| format!("{f} {:.0}%", v * 100.0)).collect();
                let record = AnomalyRecord {
                    seq: s.seq,
                    ts: s.event.ts,
                    received_at: s.received_at,
                    series: "fill_isolation".into(),
                    value: score,
                    median: None,
                    zscore: None,
                    robust_z: None,
                    upper_fence: Some(self.forest_max),
                    detectors: vec!["isolation_forest".into()],
                    automation: automation.map(String::from),
                    instrument: Some(instrument.to_string()),
                    order_id: Some(order_id.to_string()),
                    contributions,
                };
                self.keep(record);
                let summary = format!("fill of order {order_id}{} isolated: score {score:.2} (the recent fills at most {:.2}); isolated by {}", automation.map(|a| format!(" of {a}")).unwrap_or_default(), self.forest_max, top.join(", "));
                let mut extra = vec![("series", "fill_isolation".to_string())];
                if let Some(a) = automation {
                    extra.push(("automation", a.to_string()));
                }
                let until = self.quiet_end(s);
                if let Some(a) = draft("fill_isolation_anomaly", Severity::Warning, &extra, summary, Some(score), Some(self.params.forest_score.max(self.forest_max)), Some(score), evidence) {
                    self.want(a, Some(until));
                }
            }
        }
        if self.fill_features.len() >= FOREST_WINDOW {
            self.fill_features.pop_front();
        }
        self.fill_features.push_back(x);
        self.fills_since_growth = self.fills_since_growth.saturating_add(1);
        if self.fill_features.len() >= FOREST_SAMPLE && (self.forest.is_empty() || self.fills_since_growth as usize >= FOREST_REGROW) {
            let data: Vec<[f64; forest::D]> = self.fill_features.iter().copied().collect();
            self.forest = forest::Forest::grow(&data, FOREST_TREES, FOREST_SAMPLE, self.growths);
            self.forest_max = self.forest.max_score(&data);
            self.growths += 1;
            self.fills_since_growth = 0;
        }
    }

    /// The runbook's "slippage vs the model's expectation": the notional-weighted slippage of an
    /// automation's last `model_fills` fills above the model's by more than `model_excess`.
    fn against_model(&mut self, s: &Stored<'_>, automation: &str, bps: f64, expected: f64, weight: f64) {
        let n = self.params.model_fills as usize;
        let q = self.vs_model.entry(automation.to_string()).or_default();
        while q.len() >= n {
            q.pop_front();
        }
        q.push_back((bps, expected, weight));
        if q.len() < n.div_ceil(2) {
            return;
        }
        let w: f64 = q.iter().map(|x| x.2).sum();
        if w.partial_cmp(&0.0) != Some(std::cmp::Ordering::Greater) {
            return;
        }
        let actual = q.iter().map(|x| x.0 * x.2).sum::<f64>() / w;
        let model = q.iter().map(|x| x.1 * x.2).sum::<f64>() / w;
        // A near-zero expectation makes any ratio meaningless: 1 bp at least.
        if model < 1.0 || actual <= model * (1.0 + self.params.model_excess) || actual < self.params.slippage_floor_bps {
            return;
        }
        let fills = q.len();
        let summary = format!("slippage of {automation}'s last {fills} fills {actual:.1} bps, {:.0}% above the model's {model:.1} bps (half spread + impact)", (actual / model - 1.0) * 100.0);
        let until = self.quiet_end(s);
        if let Some(a) = draft("slippage_vs_model", Severity::Warning, &[("automation", automation.to_string())], summary, Some(actual), Some(model * (1.0 + self.params.model_excess)), None, vec![s.seq]) {
            self.want(a, Some(until));
        }
    }

    fn on_control(&mut self, s: &Stored<'_>, c: &crate::event::Control) {
        let scope = c.automation_id.as_ref().map(|a| a.to_string()).unwrap_or_else(|| "all".to_string());
        match c.action {
            ControlAction::Pause if c.actor.as_str() == "circuit_breaker" => {
                let rule = c.rule.as_ref().map(|r| r.to_string()).unwrap_or_else(|| "breaker".into());
                let summary = format!("circuit breaker {rule} paused {}: {}", if scope == "all" { "all trading".to_string() } else { scope.clone() }, c.reason.as_str());
                if let Some(alert) = draft("breaker_trip", Severity::Critical, &[("automation", scope), ("breaker", rule)], summary, c.value, c.limit, None, vec![s.seq]) {
                    self.want(alert, None);
                }
            }
            ControlAction::Resume => {
                // A global resume clears every pause; an automation's clears its own.
                self.clear(|w| w.alert.rule.as_str() == "breaker_trip" && (scope == "all" || w.alert.labels.get("automation") == Some(&scope)));
            }
            _ => {}
        }
    }

    fn want(&mut self, alert: Alert, until: Option<DateTime<Utc>>) {
        let fp = alert.fingerprint.to_string();
        match self.wanted.get_mut(&fp) {
            // Still firing: a new finding extends it; the first one's evidence stays.
            Some(w) => w.until = until.map(|u| w.until.map_or(u, |old| old.max(u))),
            None => {
                self.wanted.insert(fp, Wanted { alert, until });
            }
        }
    }

    fn clear(&mut self, which: impl Fn(&Wanted) -> bool) {
        self.wanted.retain(|_, w| !which(w));
    }

    /// The level rules at `now`: latency p95 and the PnL drop.
    fn levels(&mut self, now: DateTime<Utc>) {
        let window = Duration::seconds(i64::from(self.params.latency_window_secs));
        while self.latencies.front().is_some_and(|(t, _, _)| now - *t > window) {
            self.latencies.pop_front();
        }
        let p95 = (self.latencies.len() >= LATENCY_MIN_FILLS).then(|| {
            let mut v: Vec<f64> = self.latencies.iter().map(|x| x.1).collect();
            percentile_unsorted(&mut v, 0.95)
        }).flatten();
        self.latency_p95 = p95;
        let fp = fingerprint_of("latency_p95", &[]);
        match p95 {
            Some(p) if p > self.params.latency_p95_ms => {
                if !self.wanted.contains_key(&fp) {
                    let evidence: Vec<u64> = self.latencies.iter().rev().take(crate::event::MAX_EVIDENCE).map(|x| x.2).collect();
                    let summary = format!("order -> fill latency p95 {p:.0} ms over the last {} s ({} fills), above {} ms", self.params.latency_window_secs, self.latencies.len(), self.params.latency_p95_ms);
                    if let Some(a) = draft("latency_p95", Severity::Warning, &[], summary, Some(p), Some(self.params.latency_p95_ms), None, evidence) {
                        self.want(a, None);
                    }
                }
            }
            _ => {
                self.wanted.remove(&fp);
            }
        }
        let peak = self.equity.front().copied();
        let last = self.last_equity;
        let fp = fingerprint_of("pnl_drop", &[]);
        match (peak, last) {
            (Some((_, pk, pseq)), Some((_, eq, seq))) if pk > 0.0 && (pk - eq) / pk * 100.0 > self.params.pnl_drop_pct => {
                if !self.wanted.contains_key(&fp) {
                    let drop = (pk - eq) / pk * 100.0;
                    let summary = format!("equity down {drop:.2}% from its peak of {pk:.2} USD within {} s of market time", self.params.pnl_window_secs);
                    if let Some(a) = draft("pnl_drop", Severity::Critical, &[], summary, Some(drop), Some(self.params.pnl_drop_pct), None, vec![pseq, seq]) {
                        self.want(a, None);
                    }
                }
            }
            _ => {
                self.wanted.remove(&fp);
            }
        }
    }

    /// What the rules want and the log lacks: a `firing` for each wanted alert not firing, a
    /// `resolved` for each firing one no longer wanted.
    fn reconcile(&mut self, now: DateTime<Utc>, out: &mut Vec<Action>) {
        self.wanted.retain(|_, w| w.until.is_none_or(|u| now < u));
        let retry = Duration::seconds(REQUEST_RETRY_SECS);
        let asked = |requested: &HashMap<String, DateTime<Utc>>, fp: &str| requested.get(fp).is_some_and(|t| now - *t < retry);
        for (fp, w) in &self.wanted {
            if !self.firing.contains_key(fp) && !asked(&self.requested, fp) {
                out.push(Action::Alert(w.alert.clone()));
                self.requested.insert(fp.clone(), now);
            }
        }
        for (fp, a) in &self.firing {
            if !self.wanted.contains_key(fp) && !asked(&self.requested, fp) {
                let mut r = a.clone();
                r.change = AlertChange::Resolved;
                r.summary = format!("resolved: {}", a.summary.chars().take(400).collect::<String>());
                out.push(Action::Alert(r));
                self.requested.insert(fp.clone(), now);
            }
        }
    }
}

fn remember<T>(map: &mut HashMap<String, T>, queue: &mut VecDeque<String>, id: &str, value: T) {
    if map.len() >= ORDERS_KEPT
        && let Some(old) = queue.pop_front()
    {
        map.remove(&old);
    }
    if map.insert(id.to_string(), value).is_none() {
        queue.push_back(id.to_string());
    }
}

/// The labels of an alert of `rule` (plus `alertname` and, in [`draft`], `severity`).
fn labels_of(rule: &str, extra: &[(&str, &str)]) -> BTreeMap<String, String> {
    let mut labels: BTreeMap<String, String> = extra.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    labels.insert("alertname".into(), rule.to_string());
    labels
}

fn fingerprint_of(rule: &str, extra: &[(&str, &str)]) -> String {
    alerts::fingerprint(&labels_of(rule, extra))
}

/// A `firing` alert of `rule`. Its identity (fingerprint) is its labels without `severity`, so
/// an alert that changes severity stays one alert.
#[allow(clippy::too_many_arguments)]
fn draft(rule: &str, severity: Severity, extra: &[(&str, String)], summary: String, value: Option<f64>, threshold: Option<f64>, score: Option<f64>, evidence: Vec<u64>) -> Option<Alert> {
    let pairs: Vec<(&str, &str)> = extra.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let fingerprint = fingerprint_of(rule, &pairs);
    let mut labels = labels_of(rule, &pairs);
    labels.insert("severity".into(), severity.as_str().to_string());
    let finite = |x: Option<f64>| x.filter(|v| v.is_finite() && v.abs() <= crate::event::bounds::MAX_MODEL_VALUE);
    Some(Alert {
        change: AlertChange::Firing,
        fingerprint: Id::parse(&fingerprint).ok()?,
        rule: Id::parse(rule).ok()?,
        severity,
        labels: labels.into_iter().map(|(k, v)| (k, v.chars().take(crate::event::MAX_LABEL_VALUE / 4).collect())).collect(),
        summary,
        value: finite(value),
        threshold: finite(threshold),
        score: finite(score),
        evidence: evidence.into_iter().take(crate::event::MAX_EVIDENCE).collect(),
        step: None,
        ref_seq: None,
        receiver: None,
    })
}

impl Fold for Anomaly {
    fn name(&self) -> &'static str {
        "anomaly"
    }
    fn apply(&mut self, stored: &Stored<'_>, book: &Projection) {
        self.apply_event(stored, book);
    }
    fn due(&mut self, now: DateTime<Utc>, _book: &Projection) -> Vec<Action> {
        let mut out = Vec::new();
        if self.params.enabled {
            self.levels(now);
        } else {
            self.wanted.clear();
        }
        self.reconcile(now, &mut out);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::percentile_unsorted;
    use crate::event::Event;
    use crate::fold::Stored;
    use crate::folds::Folds;
    use chrono::{Duration, TimeZone, Utc};
    use proptest::prelude::*;
    use rust_decimal::Decimal;
    use serde_json::json;

    /// Trades on one instrument, each a mark, an order and a fill `bps` of slippage away from it.
    fn slippage_records(bps: &[f64]) -> Vec<(u64, f64)> {
        let mut folds = Folds::new(Decimal::from(1_000_000));
        let t0 = Utc.with_ymd_and_hms(2024, 1, 2, 15, 0, 0).single().unwrap_or_default();
        let mut seq = 0;
        let mut failures = Vec::new();
        for (n, b) in bps.iter().enumerate() {
            let t = t0 + Duration::seconds(n as i64);
            let ts = |ms: i64| (t + Duration::milliseconds(ms)).to_rfc3339();
            let lines = [
                json!({"event_id": format!("m{n}"), "kind": "market_snapshot", "ts": ts(0), "instrument": "AAPL", "bid": "99.99", "ask": "100.01", "mid": "100", "last": "100", "volume": "1000"}),
                json!({"event_id": format!("o{n}"), "kind": "order", "ts": ts(1), "order_id": format!("ord{n}"), "instrument": "AAPL", "side": "buy", "quantity": "1", "order_type": "market", "status": "submitted"}),
                json!({"event_id": format!("f{n}"), "kind": "fill", "ts": ts(20), "fill_id": format!("fill{n}"), "order_id": format!("ord{n}"), "quantity": "1", "price": format!("{:.4}", 100.0 * (1.0 + b / 10_000.0)), "fee": "0", "fee_currency": "USD", "liquidity": "taker"}),
            ];
            for line in lines {
                seq += 1;
                let event = match Event::parse_value(&line, t0) {
                    Ok(e) => e,
                    Err(e) => panic!("an invalid test event: {e:?}"),
                };
                folds.apply(&Stored { seq, event: &event, received_at: t + Duration::milliseconds(30) }, &mut failures);
            }
        }
        assert!(failures.is_empty(), "{failures:?}");
        folds.anomaly.anomalies(None, None).filter(|r| r.series == "slippage_bps").map(|r| (r.seq, r.value)).collect()
    }

    #[test]
    fn fills_under_the_slippage_floor_are_not_flagged_but_fill_the_window() {
        // 60 ordinary fills of 1-3 bps: under the 10 bps floor, none is an anomaly.
        let ordinary: Vec<f64> = (0..60).map(|i| 1.0 + f64::from(i % 3)).collect();
        assert_eq!(slippage_records(&ordinary), vec![]);
        // The same, then 80 bps: flagged against the window the ordinary fills made.
        let mut spiked = ordinary.clone();
        spiked.push(80.0);
        let found = slippage_records(&spiked);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].0, 183, "the spike's fill, the 61st trade's third event");
        assert!((found[0].1 - 80.0).abs() < 0.01, "{found:?}");
        // Too few fills before it (under `min_samples`, 30): nothing to score against.
        assert_eq!(slippage_records(&[1.0, 2.0, 80.0]), vec![]);
    }

    proptest! {
        #[test]
        fn a_percentile_by_selection_is_the_sorted_one(mut v in proptest::collection::vec(-1e6f64..1e6, 1..500), q in 0.0f64..=1.0) {
            let mut sorted = v.clone();
            sorted.sort_by(f64::total_cmp);
            prop_assert_eq!(percentile_unsorted(&mut v, q), crate::metrics::percentile_sorted(&sorted, q));
        }
    }
}
