//! What the pages and `GET /api/v1/summary` show: plain serde types shared by server and browser.
//!
//! Money is [`Decimal`] (serialised as a decimal string), fractions are `f64` in 0..1 (not %),
//! slippage is in basis points, latencies in milliseconds, times are UTC.
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

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
pub struct Quantiles {
    pub count: u64,
    pub p50_ms: Option<f64>,
    pub p95_ms: Option<f64>,
    pub p99_ms: Option<f64>,
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
pub struct IngestView {
    pub accepted_events: u64,
    pub duplicate_events: u64,
    pub rejected_batches: u64,
    pub accepted_batches: u64,
    /// rejected_batches / (accepted_batches + rejected_batches), since the server started.
    pub error_rate: Option<f64>,
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

#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Point {
    /// Milliseconds since the Unix epoch (UTC).
    pub t: i64,
    pub v: f64,
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
}

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
}

/// A filter over the audit log. Every field is optional; `limit` is capped by the server.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EventQuery {
    pub kind: Option<String>,
    pub instrument: Option<String>,
    /// Matches an event id, signal id or order id exactly.
    pub id: Option<String>,
    /// Source time range (inclusive), UTC.
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    /// Page forwards (oldest first) from after this seq ...
    pub after_seq: Option<u64>,
    /// ... or backwards (newest first) from before this seq.
    pub before_seq: Option<u64>,
    pub limit: Option<u32>,
}

/// One stored event as the audit pages and `GET /api/v1/events` show it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EventRow {
    pub seq: u64,
    pub event_id: String,
    pub kind: String,
    pub instrument: Option<String>,
    pub signal_id: Option<String>,
    pub order_id: Option<String>,
    /// Source timestamp (the engine's clock).
    pub ts: DateTime<Utc>,
    /// When the console stored it (the console's clock).
    pub received_at: DateTime<Utc>,
    /// received_at - ts, in milliseconds.
    pub drift_ms: i64,
    pub hash: String,
    pub prev_hash: String,
    /// Why the console flagged the event on arrival (e.g. `unknown_order`); flags are advisory
    /// and not covered by the hash.
    pub flags: Option<String>,
    /// The exact JSON the engine sent: the bytes the hash covers.
    pub payload: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EventPage {
    pub rows: Vec<EventRow>,
    /// Pass as `after_seq` (ascending pages) or `before_seq` (descending) for the next page.
    pub next: Option<u64>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LineageStep {
    pub seq: u64,
    pub kind: String,
    pub event_id: String,
    pub ts: DateTime<Utc>,
    pub since_signal_ms: i64,
    pub since_previous_ms: i64,
    pub summary: String,
}

/// A trade's story: signal -> risk check -> orders -> fills (and LLM decisions, operator responses).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Lineage {
    pub signal_id: String,
    pub steps: Vec<LineageStep>,
    pub signal_to_risk_check_ms: Option<i64>,
    pub signal_to_order_ms: Option<i64>,
    pub order_to_first_fill_ms: Option<i64>,
    pub signal_to_last_fill_ms: Option<i64>,
}

// ---------------------------------------------------------------------------------------------
// Governance views

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckRow {
    pub name: String,
    pub status: String,
    pub value: f64,
    pub limit: f64,
}

/// An entry signal waiting for a person's decision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PendingView {
    pub seq: u64,
    pub signal_id: String,
    pub automation_id: String,
    pub instrument: String,
    pub side: String,
    pub signal_type: String,
    /// Source time of the signal.
    pub ts: DateTime<Utc>,
    pub strength: f64,
    pub confidence: f64,
    pub features: std::collections::BTreeMap<String, f64>,
    pub stop_loss: Option<Decimal>,
    pub take_profit: Option<Decimal>,
    pub risk_decision: Option<String>,
    pub checks: Vec<CheckRow>,
    pub llm_reasoning: Option<String>,
    pub llm_decision: Option<String>,
    /// Console clock when the signal arrived, and when it times out.
    pub received_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// An exit signal awaiting the desk's acknowledgement within its recommended window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExitView {
    pub seq: u64,
    pub signal_id: String,
    pub automation_id: String,
    pub instrument: String,
    pub ts: DateTime<Utc>,
    pub received_at: DateTime<Utc>,
    pub window_secs: u32,
    pub features: std::collections::BTreeMap<String, f64>,
}

/// A recorded decision about a signal (approve, reject, timeout, acknowledge ...).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DecisionRow {
    pub seq: u64,
    pub signal_id: String,
    pub automation_id: String,
    pub action: String,
    pub actor: String,
    pub comment: Option<String>,
    pub ts: DateTime<Utc>,
    /// Signal arrival to decision, ms (console clock).
    pub response_ms: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PauseView {
    pub actor: String,
    pub reason: String,
    pub at: DateTime<Utc>,
    /// The circuit-breaker rule, when a breaker paused it.
    pub rule: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AutomationView {
    pub automation_id: String,
    /// "gated" (each entry needs a person) or "automatic".
    pub mode: String,
    pub approved: u32,
    pub rejected: u32,
    pub timed_out: u32,
    pub threshold: u32,
    pub paused: Option<PauseView>,
    pub pending: u32,
    pub open_orders: u32,
    pub signals_last_hour: u32,
    pub consecutive_losses: u32,
    /// Traders who decide and pause it; empty = every trader.
    pub owners: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BreachView {
    pub seq: u64,
    pub ts: DateTime<Utc>,
    /// None for a global rule.
    pub automation_id: Option<String>,
    pub rule: String,
    pub value: f64,
    pub limit: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GovernanceView {
    pub now: DateTime<Utc>,
    pub config_version: u32,
    pub global_pause: Option<PauseView>,
    pub automations: Vec<AutomationView>,
    /// The entry signals waiting for a person, soonest to expire first, at most
    /// `governance::PENDING_LISTED` (200) of them.
    pub pending: Vec<PendingView>,
    /// How many are waiting in all.
    pub pending_total: u64,
    pub exits: Vec<ExitView>,
    /// Newest first.
    pub breaches: Vec<BreachView>,
    /// Policy: actions need a fresh two-factor code.
    pub fresh_totp_required: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldChange {
    pub path: String,
    pub before: Option<String>,
    pub after: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConfigVersionView {
    pub seq: u64,
    pub version: u32,
    pub actor: String,
    pub reason: String,
    pub ts: DateTime<Utc>,
    pub changes: Vec<FieldChange>,
    /// The whole config of this version, pretty JSON.
    pub config: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserAdminView {
    pub id: i64,
    pub username: String,
    pub role: crate::governance::Role,
    pub created_at: DateTime<Utc>,
    pub disabled: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoginAttemptView {
    pub username: String,
    pub ip: String,
    pub at: DateTime<Utc>,
    pub success: bool,
}

/// The investor portal's track record (no signals, orders or config).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct InvestorView {
    pub as_of: Option<DateTime<Utc>>,
    pub capital: Decimal,
    pub equity: Decimal,
    pub total_pnl: Decimal,
    pub max_drawdown: f64,
    pub rolling_sharpe: Option<f64>,
    pub sharpe_window: u32,
    pub equity_curve: Vec<Point>,
}

/// An API token as admins see it (never its secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenView {
    pub id: i64,
    pub name: String,
    /// Comma-separated scopes: ingest, engine, read.
    pub scopes: String,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
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
    /// The returns for the distribution chart (every one up to 20,000, an even sample beyond).
    pub returns: Vec<f64>,
    /// Per-trade figures of the closed round trips.
    pub trades: crate::metrics::TradeStats,
}

/// The KPIs page: exit-quality KPIs overall and per week, with their target bands.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct KpiView {
    pub report: crate::kpi::KpiReport,
    pub targets: crate::governance::KpiTargets,
}

/// The Attribution page: realized PnL of closed trades split by instrument, horizon, time,
/// factor and market regime, and the fund's returns by regime.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct AttributionView {
    pub attribution: crate::analytics::Attribution,
    pub factors: crate::analytics::FactorAttribution,
    pub regimes: crate::regime::RegimeReport,
}
