//! What the pages and `GET /api/v1/summary` show: plain serde types shared by server and browser.
//!
//! Money is [`Decimal`] (serialised as a decimal string), fractions are `f64` in 0..1 (not %),
//! slippage is in basis points, latencies in milliseconds, times are UTC.
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
pub use crate::series::Point;
pub use crate::metrics::PerformanceView;
pub use crate::projection::{DashboardView, PnlView, LatencyView, CountsView, PositionView, Quantiles, SignalRow, IngestView};
pub use crate::governance::{AutomationView, BreachView, CheckRow, ConfigVersionView, DecisionRow, ExitView, GovernanceView, PauseView, PendingView};

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

pub use crate::config::FieldChange;

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
    /// Monthly, annual and since-inception returns, gross and net of fees, against the S&P 500.
    pub track_record: crate::track_record::TrackRecord,
}

/// An exit signal as the investor portal shows it: the desk's answer and its timing, and the
/// reviewer's reasoning beside it. No order, quantity, price or open position.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DecisionRecordView {
    pub record: crate::governance::ExitRecord,
    /// Why the engine exited (`stop loss`, `take profit`, `strategy exit`).
    pub exit_reason: Option<String>,
    pub llm_decision: Option<String>,
    pub llm_reasoning: Option<String>,
}

/// The paper engine's backtest on the bundled data: simulated results, never the fund's record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct BacktestView {
    /// The data the engine replayed (`sp500 + EURUSD`), its seed and its starting capital.
    pub dataset: String,
    pub seed: u64,
    pub record: crate::track_record::TrackRecord,
    pub trades: crate::metrics::TradeStats,
    /// Total commissions paid, USD.
    pub fees: Decimal,
    pub equity_curve: Vec<Point>,
    /// Wall time of the simulation, ms.
    pub computed_ms: u64,
}

/// An archived weekly report (`GET /api/v1/reports`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportMeta {
    /// ISO week, `YYYY-Www`.
    pub week: String,
    pub html_sha256: String,
    pub pdf_sha256: String,
    /// The seq of the `report_published` event that recorded these hashes.
    pub published_seq: u64,
    pub generated_at: DateTime<Utc>,
    pub html_bytes: u64,
    pub pdf_bytes: u64,
    /// The first signed checkpoint whose tree includes the `report_published` event: with its
    /// inclusion proof, it shows the hashes were recorded before the checkpoint was signed.
    /// `None` until the next checkpoint is signed.
    #[serde(default)]
    pub covered_by: Option<CoveringCheckpoint>,
}

/// A checkpoint as a report cites it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CoveringCheckpoint {
    /// The seq of the `checkpoint` event.
    pub seq: u64,
    pub tree_size: u64,
    /// The Merkle root (hex).
    pub root: String,
}

/// The signed checkpoints of the log as the portal lists them (see `crate::merkle`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckpointsView {
    /// The console's ed25519 public key (hex); `None` when checkpoints are off.
    pub public_key: Option<String>,
    /// Events in the log now.
    pub head_seq: u64,
    /// Newest first.
    pub checkpoints: Vec<CheckpointRow>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckpointRow {
    /// The seq of the `checkpoint` event that recorded it.
    pub seq: u64,
    pub checkpoint: crate::merkle::Checkpoint,
    /// Its signature verifies with the console's published key.
    pub signature_ok: bool,
}

/// An API token as admins see it (never its secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenView {
    pub id: i64,
    pub name: String,
    /// Comma-separated scopes: ingest, engine, read, metrics.
    pub scopes: String,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
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

/// The `/health` page and `GET /api/v1/health`: is every part of the console working, and can
/// the data be trusted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct HealthView {
    pub now: Option<DateTime<Utc>>,
    /// Each part that is not as it should be, in words (empty: all is well).
    pub problems: Vec<String>,
    pub components: Vec<ComponentHealth>,
    pub jobs: Vec<JobHealth>,
    pub receivers: Vec<ReceiverHealth>,
    /// Each route's requests over the last five minutes.
    pub routes: Vec<RouteHealth>,
    pub instruments: Vec<crate::anomaly::quality::InstrumentQuality>,
    pub clocks: Vec<crate::anomaly::quality::SourceClock>,
}

/// A component that sends heartbeats.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ComponentHealth {
    pub component: String,
    /// Seconds since its last heartbeat (console clock).
    pub age_secs: f64,
    /// The breaker's heartbeat timeout.
    pub timeout_secs: f64,
}

/// A background job's record since the process started.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct JobHealth {
    pub job: String,
    pub runs: u64,
    pub failures: u64,
    /// Failed runs in a row (0: the last run succeeded).
    pub failing_for: u32,
    pub last_ok: Option<DateTime<Utc>>,
    pub last_failure: Option<DateTime<Utc>>,
}

/// An alert receiver's record since the process started.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ReceiverHealth {
    pub receiver: String,
    pub configured: bool,
    pub delivered: u64,
    pub failed: u64,
    /// Failed attempts in a row (0: the last one succeeded).
    pub failing_for: u32,
    pub last_success: Option<DateTime<Utc>>,
    pub last_failure: Option<DateTime<Utc>>,
}

/// One route's last five minutes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RouteHealth {
    pub route: String,
    pub requests: u64,
    pub p95_ms: Option<f64>,
    /// Share of 5xx answers.
    pub error_rate: f64,
}
