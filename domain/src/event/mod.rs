//! The event model: what a trading engine sends, parsed into types that are valid by construction.
//!
//! On the wire an event is one flat JSON object: three common fields (`event_id`, `kind`, `ts`)
//! beside the fields of its kind. Numbers may be JSON numbers or decimal strings. Money and
//! quantities are [`Decimal`] (exact); model outputs (strength, confidence, features) are `f64`
//! and must be finite.
pub mod json;
pub mod wire;

use std::collections::BTreeMap;
use std::str::FromStr;

use chrono::{DateTime, Duration, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use json::Json;

pub use crate::text::MAX_ID_LEN;

/// Longest accepted free text (prompt, response, reasoning, comment, detail), in bytes.
pub const MAX_TEXT_LEN: usize = 64 * 1024;
/// How far in the future of the server's clock a source timestamp may be.
pub const MAX_FUTURE_SKEW_SECS: i64 = 300;

/// Bounds on every ingested number, chosen so that no sum or product in any fold can overflow
/// (`Decimal` holds about 7.9e28): a notional is at most `MAX_QUANTITY * MAX_PRICE` = 1e18 USD,
/// so even 10^10 such fills summed stay below 1e28. Documented in docs/api.md.
pub mod bounds {
    use rust_decimal::Decimal;
    /// Smallest positive quantity and price (1e-10): a ratio of two prices (slippage in bps)
    /// stays below 1e23.
    pub const MIN_QUANTITY: Decimal = Decimal::from_parts(1, 0, 0, false, 10);
    pub const MIN_PRICE: Decimal = Decimal::from_parts(1, 0, 0, false, 10);
    /// Largest order, fill or depth-level quantity (units, shares, contracts).
    pub const MAX_QUANTITY: Decimal = Decimal::from_parts(1_000_000_000, 0, 0, false, 0);
    /// Largest price (bid, ask, mid, last, fill, limit, stop-loss, take-profit, depth level).
    pub const MAX_PRICE: Decimal = Decimal::from_parts(1_000_000_000, 0, 0, false, 0);
    /// Largest fee of one fill.
    pub const MAX_FEE: Decimal = Decimal::from_parts(3_567_587_328, 232, 0, false, 0); // 1e12
    /// Largest traded volume of a market snapshot.
    pub const MAX_VOLUME: Decimal = Decimal::from_parts(2_764_472_320, 232_830, 0, false, 0); // 1e15
    /// Largest magnitude of a model output or check value (strength, prediction, feature
    /// values, risk score, check value and limit).
    pub const MAX_MODEL_VALUE: f64 = 1e15;
    /// Most features of one signal.
    pub const MAX_FEATURES: usize = 256;
    /// Most checks of one risk check.
    pub const MAX_CHECKS: usize = 64;
    /// Most depth levels on each side of a market snapshot.
    pub const MAX_LEVELS: usize = 100;
    /// Longest exit response window, seconds (7 days).
    pub const MAX_WINDOW_SECS: u32 = 7 * 86_400;
    /// Earliest accepted timestamp (1970-01-01T00:00:00Z, as Unix seconds).
    pub const MIN_TS_SECS: i64 = 0;
}

/// Why a line could not become an event: the field (if one is to blame) and the reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{}: {reason}", field.as_deref().unwrap_or("event"))]
pub struct ParseError {
    pub field: Option<String>,
    pub reason: String,
}

impl ParseError {
    fn field(field: &str, reason: impl Into<String>) -> Self {
        Self { field: Some(field.to_string()), reason: reason.into() }
    }
    fn whole(reason: impl Into<String>) -> Self {
        Self { field: None, reason: reason.into() }
    }
}

/// Why a line of a batch is refused: not JSON, or not a valid event.
#[derive(Debug)]
pub enum LineError {
    Syntax(serde_json::Error),
    /// Valid JSON, not a valid event; `event_id` as the line gave it (at most 128 characters).
    Invalid { event_id: Option<String>, error: ParseError },
}

type Result<T, E = ParseError> = std::result::Result<T, E>;

/// A bounded, non-empty identifier without control characters or surrounding blanks.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Id(String);

impl Id {
    pub fn parse(s: &str) -> Result<Self, &'static str> {
        if s.is_empty() {
            return Err("must not be empty");
        }
        if s.len() > MAX_ID_LEN {
            return Err("longer than 128 bytes");
        }
        if s.trim() != s || s.chars().any(char::is_control) {
            return Err("must not contain control characters or surrounding blanks");
        }
        Ok(Self(s.to_string()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Id {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    MarketSnapshot,
    Signal,
    RiskCheck,
    Order,
    Fill,
    LlmDecision,
    OperatorResponse,
    Heartbeat,
    System,
    ConfigChange,
    Control,
    ComplianceIssue,
    ComplianceReview,
    Checkpoint,
    ReportPublished,
    Alert,
    AlertAction,
}

impl Kind {
    pub const ALL: [Kind; 17] = [
        Kind::MarketSnapshot,
        Kind::Signal,
        Kind::RiskCheck,
        Kind::Order,
        Kind::Fill,
        Kind::LlmDecision,
        Kind::OperatorResponse,
        Kind::Heartbeat,
        Kind::System,
        Kind::ConfigChange,
        Kind::Control,
        Kind::ComplianceIssue,
        Kind::ComplianceReview,
        Kind::Checkpoint,
        Kind::ReportPublished,
        Kind::Alert,
        Kind::AlertAction,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::MarketSnapshot => "market_snapshot",
            Kind::Signal => "signal",
            Kind::RiskCheck => "risk_check",
            Kind::Order => "order",
            Kind::Fill => "fill",
            Kind::LlmDecision => "llm_decision",
            Kind::OperatorResponse => "operator_response",
            Kind::Heartbeat => "heartbeat",
            Kind::System => "system",
            Kind::ConfigChange => "config_change",
            Kind::Control => "control",
            Kind::ComplianceIssue => "compliance_issue",
            Kind::ComplianceReview => "compliance_review",
            Kind::Checkpoint => "checkpoint",
            Kind::ReportPublished => "report_published",
            Kind::Alert => "alert",
            Kind::AlertAction => "alert_action",
        }
    }
    /// Kinds only the console writes (a person's or a rule's action): the ingest API refuses them.
    pub fn console_only(self) -> bool {
        matches!(self, Kind::ConfigChange | Kind::Control | Kind::OperatorResponse | Kind::ComplianceIssue | Kind::ComplianceReview | Kind::Checkpoint | Kind::ReportPublished | Kind::Alert | Kind::AlertAction)
    }
    pub fn parse(s: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

macro_rules! wire_enum {
    ($name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($variant),+ }
        impl $name {
            pub const NAMES: &'static [&'static str] = &[$($text),+];
            pub fn as_str(self) -> &'static str { match self { $($name::$variant => $text),+ } }
            pub fn parse(s: &str) -> Option<Self> { match s { $($text => Some($name::$variant),)+ _ => None } }
        }
    };
}

wire_enum!(Side { Buy => "buy", Sell => "sell" });
wire_enum!(Intent { Entry => "entry", Exit => "exit" });
wire_enum!(CheckStatus { Pass => "pass", Fail => "fail", Warn => "warn" });
wire_enum!(RiskDecision { Approve => "approve", Reject => "reject" });
wire_enum!(OrderType { Market => "market", Limit => "limit" });
wire_enum!(OrderStatus {
    Submitted => "submitted",
    Acknowledged => "acknowledged",
    PartiallyFilled => "partially_filled",
    Filled => "filled",
    Cancelled => "cancelled",
    Rejected => "rejected",
});
wire_enum!(Liquidity { Maker => "maker", Taker => "taker" });
wire_enum!(ControlAction { Pause => "pause", Resume => "resume", Unlock => "unlock" });
wire_enum!(IssueChange { Open => "open", Escalate => "escalate", EpisodeEnd => "episode_end" });
wire_enum!(Severity { Info => "info", Warning => "warning", Critical => "critical" });
wire_enum!(Scope { Instrument => "instrument", Automation => "automation", Portfolio => "portfolio" });
wire_enum!(AlertChange { Firing => "firing", Resolved => "resolved", Escalated => "escalated", Notified => "notified" });
wire_enum!(AlertActionKind { Acknowledge => "acknowledge", Silence => "silence", ExpireSilence => "expire_silence" });
wire_enum!(ReviewAction { Acknowledge => "acknowledge", Resolve => "resolve", Waive => "waive", ConfirmWaiver => "confirm_waiver" });

/// Most evidence seqs one compliance issue event carries.
pub const MAX_EVIDENCE: usize = 64;

impl Side {
    /// +1 for a buy, -1 for a sell.
    pub fn sign(self) -> Decimal {
        match self {
            Side::Buy => Decimal::ONE,
            Side::Sell => Decimal::NEGATIVE_ONE,
        }
    }
}

impl OrderStatus {
    pub fn is_terminal(self) -> bool {
        matches!(self, OrderStatus::Filled | OrderStatus::Cancelled | OrderStatus::Rejected)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Level {
    pub price: Decimal,
    pub size: Decimal,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MarketSnapshot {
    pub instrument: Id,
    pub bid: Decimal,
    pub ask: Decimal,
    pub mid: Decimal,
    pub last: Decimal,
    pub volume: Decimal,
    pub bids: Vec<Level>,
    pub asks: Vec<Level>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Signal {
    pub signal_id: Id,
    pub automation_id: Id,
    pub instrument: Id,
    pub intent: Intent,
    pub signal_type: Id,
    pub side: Side,
    pub strength: f64,
    pub features: BTreeMap<String, f64>,
    pub model_version: Id,
    pub prediction: f64,
    pub confidence: f64,
    pub stop_loss: Option<Decimal>,
    pub take_profit: Option<Decimal>,
    /// For exit signals: how long the desk has to act on it, in seconds.
    pub response_window_secs: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Check {
    pub name: Id,
    pub status: CheckStatus,
    pub value: f64,
    pub limit: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RiskCheck {
    pub signal_id: Id,
    pub checks: Vec<Check>,
    pub decision: RiskDecision,
    pub risk_score: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Order {
    pub order_id: Id,
    pub signal_id: Option<Id>,
    pub instrument: Id,
    pub side: Side,
    pub quantity: Decimal,
    pub order_type: OrderType,
    pub limit_price: Option<Decimal>,
    pub status: OrderStatus,
    pub exchange_order_id: Option<Id>,
}

/// What names an order, beyond its id: a later event of the same order may change its status
/// and exchange id, never these.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderIdentity {
    pub signal_id: Option<Id>,
    pub instrument: Id,
    pub side: Side,
    pub quantity: Decimal,
    pub order_type: OrderType,
    pub limit_price: Option<Decimal>,
}

impl Order {
    pub fn identity(&self) -> OrderIdentity {
        OrderIdentity {
            signal_id: self.signal_id.clone(),
            instrument: self.instrument.clone(),
            side: self.side,
            quantity: self.quantity,
            order_type: self.order_type,
            limit_price: self.limit_price,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Fill {
    pub fill_id: Id,
    pub order_id: Id,
    pub quantity: Decimal,
    pub price: Decimal,
    pub fee: Decimal,
    pub fee_currency: Id,
    pub liquidity: Liquidity,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LlmDecision {
    pub signal_id: Id,
    pub model: Id,
    pub prompt: String,
    pub response: String,
    pub reasoning: String,
    pub confidence: f64,
    pub decision: Id,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OperatorResponse {
    pub signal_id: Id,
    pub action: Id,
    pub actor: Id,
    pub comment: Option<String>,
    /// Milliseconds from the signal's arrival to this response (recorded by the console).
    pub response_ms: Option<u64>,
}

/// A new version of the configuration, with who changed it and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConfigChange {
    pub version: u32,
    pub actor: Id,
    pub reason: crate::text::Reason,
    pub config: crate::config::Config,
}

/// Pause, resume or unlock an automation (or, without `automation_id`, everything). Breaker
/// trips are pauses that name the rule, the measured value and the limit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Control {
    pub action: ControlAction,
    pub automation_id: Option<Id>,
    pub actor: Id,
    pub reason: crate::text::Reason,
    pub rule: Option<Id>,
    pub value: Option<f64>,
    pub limit: Option<f64>,
}

/// A compliance rule's finding, written by the console: an issue opened (its id is this event's
/// seq), or an episode of an open issue escalating to a higher level or ending (back under the
/// warning level). Values are in the limit's unit; `utilisation` is value / limit (1.0 = 100%).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ComplianceIssue {
    pub change: IssueChange,
    /// The issue an escalation or an episode end belongs to (the seq of its `open` event).
    pub issue_id: Option<u64>,
    pub rule: Id,
    pub severity: Severity,
    pub scope: Scope,
    /// The instrument or automation of the scope (none for the portfolio).
    pub scope_id: Option<Id>,
    pub value: Option<f64>,
    pub limit: Option<f64>,
    pub utilisation: Option<f64>,
    /// The seqs of the events that caused it (earlier than this event).
    pub evidence: Vec<u64>,
    pub order_id: Option<Id>,
    pub signal_id: Option<Id>,
    pub automation_id: Option<Id>,
    pub instrument: Option<Id>,
    pub detail: String,
}

/// A person's step in a compliance issue's workflow.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ComplianceReview {
    pub issue_id: u64,
    pub action: ReviewAction,
    pub actor: Id,
    pub note: Option<String>,
}

/// A signed checkpoint of the log (see the `merkle` module): the tree head of the first `tree_size`
/// events, signed at the event's `ts` (milliseconds). Hashes, key and signature are lowercase hex.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    pub origin: Id,
    pub tree_size: u64,
    pub root: String,
    pub head_hash: String,
    pub public_key: String,
    pub signature: String,
}

/// A weekly report was archived: the SHA-256 of its two files, the log head it was computed
/// from, and who asked for it (none: the schedule).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportPublished {
    /// ISO week, `YYYY-Www`.
    pub week: Id,
    pub html_sha256: String,
    pub pdf_sha256: String,
    pub head_seq: u64,
    pub checkpoint_seq: Option<u64>,
    pub actor: Option<Id>,
}

pub use crate::text::{MAX_LABEL_VALUE, MAX_LABELS};

/// A step of an alert, written by the console (see `anomaly::alerts`), in Alertmanager's model:
/// the labels are its identity and `fingerprint` their hash (`anomaly::alerts::fingerprint`).
/// `firing` starts an episode (again, after a `resolved`), `escalated` moves an unacknowledged
/// alert to the next receivers (`step`), `notified` records that `receiver` accepted the
/// notification of the step at `ref_seq`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    pub change: AlertChange,
    pub fingerprint: Id,
    pub rule: Id,
    pub severity: Severity,
    pub labels: BTreeMap<String, String>,
    pub summary: String,
    /// The measured value and the threshold it crossed, in the rule's unit.
    pub value: Option<f64>,
    pub threshold: Option<f64>,
    /// A statistical detector's score (robust z-score).
    pub score: Option<f64>,
    /// The seqs of the events that caused it.
    pub evidence: Vec<u64>,
    pub step: Option<u32>,
    pub ref_seq: Option<u64>,
    pub receiver: Option<Id>,
}

/// A person's step on alerts: acknowledge one (by fingerprint), silence the alerts whose labels
/// include every matcher until `ends_at` (the reason in `note`; its id is this event's seq), or
/// end a silence early.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertAction {
    pub action: AlertActionKind,
    pub fingerprint: Option<Id>,
    pub silence_id: Option<u64>,
    pub matchers: BTreeMap<String, String>,
    pub ends_at: Option<DateTime<Utc>>,
    /// A silence that also ends when the alert it was made from resolves.
    pub end_on_resolve: Option<bool>,
    pub actor: Id,
    pub note: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Status {
    pub component: Id,
    pub status: Id,
    pub detail: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Body {
    MarketSnapshot(MarketSnapshot),
    Signal(Signal),
    RiskCheck(RiskCheck),
    Order(Order),
    Fill(Fill),
    LlmDecision(LlmDecision),
    OperatorResponse(OperatorResponse),
    Heartbeat(Status),
    System(Status),
    ConfigChange(ConfigChange),
    Control(Control),
    ComplianceIssue(ComplianceIssue),
    ComplianceReview(ComplianceReview),
    Checkpoint(Checkpoint),
    ReportPublished(ReportPublished),
    Alert(Alert),
    AlertAction(AlertAction),
}

/// A parsed event: valid by construction.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub event_id: Id,
    pub ts: DateTime<Utc>,
    pub body: Body,
}

impl Event {
    pub fn kind(&self) -> Kind {
        match &self.body {
            Body::MarketSnapshot(_) => Kind::MarketSnapshot,
            Body::Signal(_) => Kind::Signal,
            Body::RiskCheck(_) => Kind::RiskCheck,
            Body::Order(_) => Kind::Order,
            Body::Fill(_) => Kind::Fill,
            Body::LlmDecision(_) => Kind::LlmDecision,
            Body::OperatorResponse(_) => Kind::OperatorResponse,
            Body::Heartbeat(_) => Kind::Heartbeat,
            Body::System(_) => Kind::System,
            Body::ConfigChange(_) => Kind::ConfigChange,
            Body::Control(_) => Kind::Control,
            Body::ComplianceIssue(_) => Kind::ComplianceIssue,
            Body::ComplianceReview(_) => Kind::ComplianceReview,
            Body::Checkpoint(_) => Kind::Checkpoint,
            Body::ReportPublished(_) => Kind::ReportPublished,
            Body::Alert(_) => Kind::Alert,
            Body::AlertAction(_) => Kind::AlertAction,
        }
    }

    /// The instrument the event is about, where it names one.
    pub fn instrument(&self) -> Option<&str> {
        match &self.body {
            Body::MarketSnapshot(m) => Some(m.instrument.as_str()),
            Body::Signal(s) => Some(s.instrument.as_str()),
            Body::Order(o) => Some(o.instrument.as_str()),
            Body::ComplianceIssue(c) => c.instrument.as_ref().map(Id::as_str),
            _ => None,
        }
    }

    /// The signal the event belongs to, where it names one (for the lineage index).
    pub fn signal_id(&self) -> Option<&str> {
        match &self.body {
            Body::Signal(s) => Some(s.signal_id.as_str()),
            Body::RiskCheck(r) => Some(r.signal_id.as_str()),
            Body::Order(o) => o.signal_id.as_ref().map(Id::as_str),
            Body::LlmDecision(l) => Some(l.signal_id.as_str()),
            Body::OperatorResponse(o) => Some(o.signal_id.as_str()),
            // A compliance finding on a trade's order is part of its lineage.
            Body::ComplianceIssue(c) => c.signal_id.as_ref().map(Id::as_str),
            _ => None,
        }
    }

    /// The order the event belongs to, where it names one.
    pub fn order_id(&self) -> Option<&str> {
        match &self.body {
            Body::Order(o) => Some(o.order_id.as_str()),
            Body::Fill(f) => Some(f.order_id.as_str()),
            Body::ComplianceIssue(c) => c.order_id.as_ref().map(Id::as_str),
            _ => None,
        }
    }

    /// Parses one JSON object. `now` is the server's clock, used only to refuse timestamps
    /// more than [`MAX_FUTURE_SKEW_SECS`] ahead of it.
    pub fn parse_json(text: &str, now: DateTime<Utc>) -> Result<Event> {
        Self::parse_line(text, now).map_err(|e| match e {
            LineError::Syntax(e) => ParseError::whole(format!("invalid JSON: {e}")),
            LineError::Invalid { error, .. } => error,
        })
    }

    /// [`Event::parse_json`], telling text that is not JSON from JSON that is not a valid event
    /// (with the `event_id` it named, for the caller's error).
    pub fn parse_line(text: &str, now: DateTime<Utc>) -> Result<Event, LineError> {
        let json = Json::parse(text).map_err(LineError::Syntax)?;
        Self::parse_json_value(&json, now).map_err(|error| LineError::Invalid { event_id: json.get("event_id").and_then(Json::as_str).map(|s| s.chars().take(128).collect()), error })
    }

    pub fn parse_value(value: &Value, now: DateTime<Utc>) -> Result<Event> {
        Self::parse_json_value(&Json::borrow(value), now)
    }

    fn parse_json_value(value: &Json<'_>, now: DateTime<Utc>) -> Result<Event> {
        let obj = value.as_object().ok_or_else(|| ParseError::whole("expected a JSON object"))?;
        let f = Fields(obj);
        let event_id = f.id("event_id")?;
        let kind_text = f.str("kind")?;
        let kind = Kind::parse(kind_text).ok_or_else(|| {
            let names: Vec<&str> = Kind::ALL.iter().map(|k| k.as_str()).collect();
            ParseError::field("kind", format!("unknown kind '{}', expected one of {}", truncate(kind_text), names.join(", ")))
        })?;
        let ts = f.ts("ts", now)?;
        let body = match kind {
            Kind::MarketSnapshot => Body::MarketSnapshot(parse_snapshot(&f)?),
            Kind::Signal => Body::Signal(parse_signal(&f)?),
            Kind::RiskCheck => Body::RiskCheck(parse_risk_check(&f)?),
            Kind::Order => Body::Order(parse_order(&f)?),
            Kind::Fill => Body::Fill(Fill {
                fill_id: f.id("fill_id")?,
                order_id: f.id("order_id")?,
                quantity: f.positive("quantity", bounds::MAX_QUANTITY)?,
                price: f.positive("price", bounds::MAX_PRICE)?,
                fee: f.non_negative("fee", bounds::MAX_FEE)?,
                fee_currency: f.id("fee_currency")?,
                liquidity: f.enumerated("liquidity", Liquidity::parse, Liquidity::NAMES)?,
            }),
            Kind::LlmDecision => Body::LlmDecision(LlmDecision {
                signal_id: f.id("signal_id")?,
                model: f.id("model")?,
                prompt: f.text("prompt")?,
                response: f.text("response")?,
                reasoning: f.text("reasoning")?,
                confidence: f.unit("confidence")?,
                decision: f.id("decision")?,
            }),
            Kind::OperatorResponse => Body::OperatorResponse(OperatorResponse {
                signal_id: f.id("signal_id")?,
                action: f.id("action")?,
                actor: f.id("actor")?,
                comment: f.opt_text("comment")?,
                response_ms: f.opt_u64("response_ms")?,
            }),
            Kind::ConfigChange => Body::ConfigChange(ConfigChange {
                version: f.opt_u32("version")?.ok_or_else(|| ParseError::field("version", "required"))?,
                actor: f.id("actor")?,
                reason: f.reason("reason")?,
                config: crate::config::Config::parse_value(&f.get("config")?.to_value())
                    .map_err(|e| ParseError::field(&if e.field == "config" { e.field } else { format!("config.{}", e.field) }, e.reason))?,
            }),
            Kind::Control => Body::Control(Control {
                action: f.enumerated("action", ControlAction::parse, ControlAction::NAMES)?,
                automation_id: f.opt_id("automation_id")?,
                actor: f.id("actor")?,
                reason: f.reason("reason")?,
                rule: f.opt_id("rule")?,
                value: f.opt("value").map(|v| finite(v, "value")).transpose()?,
                limit: f.opt("limit").map(|v| finite(v, "limit")).transpose()?,
            }),
            Kind::Heartbeat => Body::Heartbeat(parse_status(&f)?),
            Kind::System => Body::System(parse_status(&f)?),
            Kind::ComplianceIssue => Body::ComplianceIssue(ComplianceIssue {
                change: f.enumerated("change", IssueChange::parse, IssueChange::NAMES)?,
                issue_id: f.opt_u64("issue_id")?,
                rule: f.id("rule")?,
                severity: f.enumerated("severity", Severity::parse, Severity::NAMES)?,
                scope: f.enumerated("scope", Scope::parse, Scope::NAMES)?,
                scope_id: f.opt_id("scope_id")?,
                value: f.opt("value").map(|v| finite(v, "value")).transpose()?,
                limit: f.opt("limit").map(|v| finite(v, "limit")).transpose()?,
                utilisation: f.opt("utilisation").map(|v| finite(v, "utilisation")).transpose()?,
                evidence: f.seqs("evidence")?,
                order_id: f.opt_id("order_id")?,
                signal_id: f.opt_id("signal_id")?,
                automation_id: f.opt_id("automation_id")?,
                instrument: f.opt_id("instrument")?,
                detail: f.text("detail")?,
            }),
            Kind::ComplianceReview => Body::ComplianceReview(ComplianceReview {
                issue_id: f.opt_u64("issue_id")?.ok_or_else(|| ParseError::field("issue_id", "required"))?,
                action: f.enumerated("action", ReviewAction::parse, ReviewAction::NAMES)?,
                actor: f.id("actor")?,
                note: f.opt_text("note")?,
            }),
            Kind::Checkpoint => Body::Checkpoint(Checkpoint {
                origin: f.id("origin")?,
                tree_size: f.opt_u64("tree_size")?.ok_or_else(|| ParseError::field("tree_size", "required"))?,
                root: f.hex("root", 32)?,
                head_hash: f.hex("head_hash", 32)?,
                public_key: f.hex("public_key", 32)?,
                signature: f.hex("signature", 64)?,
            }),
            Kind::ReportPublished => Body::ReportPublished(ReportPublished {
                week: f.id("week")?,
                html_sha256: f.hex("html_sha256", 32)?,
                pdf_sha256: f.hex("pdf_sha256", 32)?,
                head_seq: f.opt_u64("head_seq")?.ok_or_else(|| ParseError::field("head_seq", "required"))?,
                checkpoint_seq: f.opt_u64("checkpoint_seq")?,
                actor: f.opt_id("actor")?,
            }),
            Kind::Alert => Body::Alert(Alert {
                change: f.enumerated("change", AlertChange::parse, AlertChange::NAMES)?,
                fingerprint: f.id("fingerprint")?,
                rule: f.id("rule")?,
                severity: f.enumerated("severity", Severity::parse, Severity::NAMES)?,
                labels: f.labels("labels")?,
                summary: f.text("summary")?,
                value: f.opt("value").map(|v| finite(v, "value")).transpose()?,
                threshold: f.opt("threshold").map(|v| finite(v, "threshold")).transpose()?,
                score: f.opt("score").map(|v| finite(v, "score")).transpose()?,
                evidence: f.seqs("evidence")?,
                step: f.opt_u32("step")?,
                ref_seq: f.opt_u64("ref_seq")?,
                receiver: f.opt_id("receiver")?,
            }),
            Kind::AlertAction => Body::AlertAction(AlertAction {
                action: f.enumerated("action", AlertActionKind::parse, AlertActionKind::NAMES)?,
                fingerprint: f.opt_id("fingerprint")?,
                silence_id: f.opt_u64("silence_id")?,
                matchers: f.labels("matchers")?,
                ends_at: f.opt("ends_at").map(|_| f.any_ts("ends_at")).transpose()?,
                end_on_resolve: f.opt("end_on_resolve").map(|v| v.as_bool().ok_or_else(|| ParseError::field("end_on_resolve", "expected true or false"))).transpose()?,
                actor: f.id("actor")?,
                note: f.opt_text("note")?,
            }),
        };
        Ok(Event { event_id, ts, body })
    }
}

fn parse_snapshot(f: &Fields) -> Result<MarketSnapshot> {
    let bid = f.positive("bid", bounds::MAX_PRICE)?;
    let ask = f.positive("ask", bounds::MAX_PRICE)?;
    if bid > ask {
        return Err(ParseError::field("bid", "bid is above ask (crossed quote)"));
    }
    let mid = f.positive("mid", bounds::MAX_PRICE)?;
    if mid < bid || mid > ask {
        return Err(ParseError::field("mid", "mid lies outside bid..ask"));
    }
    Ok(MarketSnapshot {
        instrument: f.id("instrument")?,
        bid,
        ask,
        mid,
        last: f.positive("last", bounds::MAX_PRICE)?,
        volume: f.non_negative("volume", bounds::MAX_VOLUME)?,
        bids: f.levels("bids")?,
        asks: f.levels("asks")?,
    })
}

fn parse_signal(f: &Fields) -> Result<Signal> {
    let features = match f.opt("features") {
        None => BTreeMap::new(),
        Some(Json::Object(map)) => {
            if map.len() > bounds::MAX_FEATURES {
                return Err(ParseError::field("features", format!("at most {} features", bounds::MAX_FEATURES)));
            }
            let mut out = BTreeMap::new();
            for (name, v) in map {
                let field = format!("features.{}", truncate(name));
                if name.is_empty() || name.len() > MAX_ID_LEN {
                    return Err(ParseError::field(&field, "feature names are 1..=128 bytes"));
                }
                out.insert(name.to_string(), finite(v, &field)?);
            }
            out
        }
        Some(_) => return Err(ParseError::field("features", "expected an object of name -> number")),
    };
    Ok(Signal {
        signal_id: f.id("signal_id")?,
        automation_id: f.id("automation_id")?,
        instrument: f.id("instrument")?,
        intent: f.enumerated("intent", Intent::parse, Intent::NAMES)?,
        signal_type: f.id("signal_type")?,
        side: f.enumerated("side", Side::parse, Side::NAMES)?,
        strength: f.finite("strength")?,
        features,
        model_version: f.id("model_version")?,
        prediction: f.finite("prediction")?,
        confidence: f.unit("confidence")?,
        stop_loss: f.opt_positive("stop_loss", bounds::MAX_PRICE)?,
        take_profit: f.opt_positive("take_profit", bounds::MAX_PRICE)?,
        response_window_secs: f.opt_seconds("response_window_secs", bounds::MAX_WINDOW_SECS)?,
    })
}

fn parse_risk_check(f: &Fields) -> Result<RiskCheck> {
    let Some(Json::Array(items)) = f.opt("checks") else {
        return Err(ParseError::field("checks", "required: an array of {name, status, value, limit}"));
    };
    if items.len() > bounds::MAX_CHECKS {
        return Err(ParseError::field("checks", format!("at most {} checks", bounds::MAX_CHECKS)));
    }
    let mut checks = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let obj = item
            .as_object()
            .ok_or_else(|| ParseError::field(&format!("checks[{i}]"), "expected an object"))?;
        let c = Fields(obj);
        let prefix = |e: ParseError| ParseError {
            field: Some(format!("checks[{i}].{}", e.field.unwrap_or_default())),
            reason: e.reason,
        };
        checks.push(Check {
            name: c.id("name").map_err(prefix)?,
            status: c.enumerated("status", CheckStatus::parse, CheckStatus::NAMES).map_err(prefix)?,
            value: c.finite("value").map_err(prefix)?,
            limit: c.finite("limit").map_err(prefix)?,
        });
    }
    Ok(RiskCheck {
        signal_id: f.id("signal_id")?,
        checks,
        decision: f.enumerated("decision", RiskDecision::parse, RiskDecision::NAMES)?,
        risk_score: f.finite("risk_score")?,
    })
}

fn parse_order(f: &Fields) -> Result<Order> {
    let order_type = f.enumerated("order_type", OrderType::parse, OrderType::NAMES)?;
    let limit_price = f.opt_positive("limit_price", bounds::MAX_PRICE)?;
    if order_type == OrderType::Limit && limit_price.is_none() {
        return Err(ParseError::field("limit_price", "required for a limit order"));
    }
    Ok(Order {
        order_id: f.id("order_id")?,
        signal_id: f.opt_id("signal_id")?,
        instrument: f.id("instrument")?,
        side: f.enumerated("side", Side::parse, Side::NAMES)?,
        quantity: f.positive("quantity", bounds::MAX_QUANTITY)?,
        order_type,
        limit_price,
        status: f.enumerated("status", OrderStatus::parse, OrderStatus::NAMES)?,
        exchange_order_id: f.opt_id("exchange_order_id")?,
    })
}

fn parse_status(f: &Fields) -> Result<Status> {
    Ok(Status { component: f.id("component")?, status: f.id("status")?, detail: f.opt_text("detail")? })
}

/// Field access with errors that name the field.
/// An object's members; a name given twice reads as its last value.
struct Fields<'a, 'j>(&'a [(std::borrow::Cow<'j, str>, Json<'j>)]);

impl<'a, 'j> Fields<'a, 'j> {
    fn member(&self, name: &str) -> Option<&'a Json<'j>> {
        json::member(self.0, name)
    }
    fn get(&self, name: &str) -> Result<&'a Json<'j>> {
        match self.member(name) {
            None | Some(Json::Null) => Err(ParseError::field(name, "required")),
            Some(v) => Ok(v),
        }
    }
    fn opt(&self, name: &str) -> Option<&'a Json<'j>> {
        self.member(name).filter(|v| !v.is_null())
    }
    fn str(&self, name: &str) -> Result<&'a str> {
        self.get(name)?.as_str().ok_or_else(|| ParseError::field(name, "expected a string"))
    }
    fn id(&self, name: &str) -> Result<Id> {
        Id::parse(self.str(name)?).map_err(|r| ParseError::field(name, r))
    }
    fn opt_id(&self, name: &str) -> Result<Option<Id>> {
        self.opt(name).map(|_| self.id(name)).transpose()
    }
    fn text(&self, name: &str) -> Result<String> {
        let s = self.str(name)?;
        if s.len() > MAX_TEXT_LEN {
            return Err(ParseError::field(name, "longer than 65536 bytes"));
        }
        Ok(s.to_string())
    }
    /// Lowercase hex of exactly `bytes` bytes.
    fn hex(&self, name: &str, bytes: usize) -> Result<String> {
        let s = self.str(name)?;
        if s.len() != bytes * 2 || !s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
            return Err(ParseError::field(name, format!("expected {} lowercase hex digits", bytes * 2)));
        }
        Ok(s.to_string())
    }
    fn opt_text(&self, name: &str) -> Result<Option<String>> {
        self.opt(name).map(|_| self.text(name)).transpose()
    }
    fn enumerated<T>(&self, name: &str, parse: fn(&str) -> Option<T>, names: &[&str]) -> Result<T> {
        let s = self.str(name)?;
        parse(s).ok_or_else(|| {
            ParseError::field(name, format!("unknown value '{}', expected one of {}", truncate(s), names.join(", ")))
        })
    }
    fn ts(&self, name: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>> {
        let s = self.str(name)?;
        let ts = DateTime::parse_from_rfc3339(s)
            .map_err(|_| ParseError::field(name, "expected an RFC 3339 timestamp, e.g. 2024-10-24T14:32:15.250Z"))?
            .with_timezone(&Utc);
        if ts > now + Duration::seconds(MAX_FUTURE_SKEW_SECS) {
            return Err(ParseError::field(name, "more than 300 s ahead of the server's clock"));
        }
        if ts.timestamp() < bounds::MIN_TS_SECS {
            return Err(ParseError::field(name, "before 1970-01-01T00:00:00Z"));
        }
        Ok(ts)
    }
    /// An RFC 3339 timestamp, past or future (a silence's end).
    fn any_ts(&self, name: &str) -> Result<DateTime<Utc>> {
        let ts = DateTime::parse_from_rfc3339(self.str(name)?).map_err(|_| ParseError::field(name, "expected an RFC 3339 timestamp")).map(|t| t.with_timezone(&Utc))?;
        if ts.timestamp() < bounds::MIN_TS_SECS {
            return Err(ParseError::field(name, "before 1970-01-01T00:00:00Z"));
        }
        Ok(ts)
    }
    /// Prometheus-style labels: at most [`MAX_LABELS`] names `[a-zA-Z_][a-zA-Z0-9_]*` of at
    /// most 64 bytes, each with a string value of at most [`MAX_LABEL_VALUE`] bytes.
    fn labels(&self, name: &str) -> Result<BTreeMap<String, String>> {
        let Some(v) = self.opt(name) else { return Ok(BTreeMap::new()) };
        let map = v.as_object().ok_or_else(|| ParseError::field(name, "expected an object of label -> string"))?;
        if map.len() > MAX_LABELS {
            return Err(ParseError::field(name, format!("at most {MAX_LABELS} labels")));
        }
        let mut out = BTreeMap::new();
        for (k, v) in map {
            let field = format!("{name}.{}", truncate(k));
            let ok = !k.is_empty() && k.len() <= 64 && k.bytes().enumerate().all(|(i, b)| b == b'_' || b.is_ascii_alphabetic() || (i > 0 && b.is_ascii_digit()));
            if !ok {
                return Err(ParseError::field(&field, "label names are [a-zA-Z_][a-zA-Z0-9_]*, at most 64 bytes"));
            }
            let v = v.as_str().ok_or_else(|| ParseError::field(&field, "expected a string"))?;
            if v.len() > MAX_LABEL_VALUE {
                return Err(ParseError::field(&field, format!("longer than {MAX_LABEL_VALUE} bytes")));
            }
            out.insert(k.to_string(), v.to_string());
        }
        Ok(out)
    }
    fn decimal(&self, name: &str) -> Result<Decimal> {
        decimal(self.get(name)?, name)
    }
    /// A decimal in `1e-10 <= d <= max` (a quantity or a price).
    fn positive(&self, name: &str, max: Decimal) -> Result<Decimal> {
        let d = self.decimal(name)?;
        if d <= Decimal::ZERO {
            return Err(ParseError::field(name, "must be greater than zero"));
        }
        if d < bounds::MIN_PRICE {
            return Err(ParseError::field(name, "at least 0.0000000001"));
        }
        at_most(d, max, name)
    }
    fn opt_positive(&self, name: &str, max: Decimal) -> Result<Option<Decimal>> {
        self.opt(name).map(|_| self.positive(name, max)).transpose()
    }
    /// A decimal in `0 <= d <= max`.
    fn non_negative(&self, name: &str, max: Decimal) -> Result<Decimal> {
        let d = self.decimal(name)?;
        if d < Decimal::ZERO {
            return Err(ParseError::field(name, "must not be negative"));
        }
        at_most(d, max, name)
    }
    /// A finite number of magnitude at most [`bounds::MAX_MODEL_VALUE`].
    fn finite(&self, name: &str) -> Result<f64> {
        finite(self.get(name)?, name)
    }
    /// A number in 0..=1 (confidence).
    fn unit(&self, name: &str) -> Result<f64> {
        let x = self.finite(name)?;
        if !(0.0..=1.0).contains(&x) {
            return Err(ParseError::field(name, "must lie in 0..=1"));
        }
        Ok(x)
    }
    fn opt_u64(&self, name: &str) -> Result<Option<u64>> {
        self.opt(name).map(|v| v.as_u64().ok_or_else(|| ParseError::field(name, "expected a whole number"))).transpose()
    }
    /// An array of at most [`MAX_EVIDENCE`] log positions.
    fn seqs(&self, name: &str) -> Result<Vec<u64>> {
        let Some(v) = self.opt(name) else { return Ok(Vec::new()) };
        let items = v.as_array().ok_or_else(|| ParseError::field(name, "expected an array of seqs"))?;
        if items.len() > MAX_EVIDENCE {
            return Err(ParseError::field(name, format!("at most {MAX_EVIDENCE} seqs")));
        }
        items.iter().map(|x| x.as_u64().ok_or_else(|| ParseError::field(name, "expected whole numbers"))).collect()
    }
    fn reason(&self, name: &str) -> Result<crate::text::Reason> {
        crate::text::Reason::parse(self.str(name)?).map_err(|e| ParseError::field(name, e.to_string()))
    }
    fn opt_u32(&self, name: &str) -> Result<Option<u32>> {
        self.opt(name)
            .map(|v| {
                v.as_u64()
                    .and_then(|n| u32::try_from(n).ok())
                    .ok_or_else(|| ParseError::field(name, "expected a whole number of seconds"))
            })
            .transpose()
    }
    fn opt_seconds(&self, name: &str, max: u32) -> Result<Option<u32>> {
        match self.opt_u32(name)? {
            Some(n) if n > max => Err(ParseError::field(name, format!("at most {max} seconds"))),
            other => Ok(other),
        }
    }
    fn levels(&self, name: &str) -> Result<Vec<Level>> {
        let Some(v) = self.opt(name) else { return Ok(Vec::new()) };
        let items = v.as_array().ok_or_else(|| ParseError::field(name, "expected an array of [price, size]"))?;
        if items.len() > bounds::MAX_LEVELS {
            return Err(ParseError::field(name, format!("at most {} levels", bounds::MAX_LEVELS)));
        }
        items
            .iter()
            .enumerate()
            .map(|(i, item)| {
                let field = format!("{name}[{i}]");
                match item.as_array() {
                    Some([p, s]) => {
                        let price = decimal(p, &field)?;
                        let size = decimal(s, &field)?;
                        if price <= Decimal::ZERO || size < Decimal::ZERO {
                            return Err(ParseError::field(&field, "price must be > 0 and size >= 0"));
                        }
                        if price < bounds::MIN_PRICE || price > bounds::MAX_PRICE || size > bounds::MAX_QUANTITY {
                            return Err(ParseError::field(&field, format!("price {}..={} and size at most {}", bounds::MIN_PRICE, bounds::MAX_PRICE, bounds::MAX_QUANTITY)));
                        }
                        Ok(Level { price, size })
                    }
                    _ => Err(ParseError::field(&field, "expected [price, size]")),
                }
            })
            .collect()
    }
}

fn decimal(v: &Json<'_>, name: &str) -> Result<Decimal> {
    let number;
    let text: &str = match v {
        Json::String(s) => s,
        Json::Number(n) => {
            number = n.to_string();
            &number
        }
        _ => return Err(ParseError::field(name, "expected a number or a decimal string")),
    };
    // from_str accepts only finite plain decimals: "NaN", "inf" and exponents of absurd size fail.
    Decimal::from_str(text)
        .or_else(|_| Decimal::from_scientific(text))
        .map_err(|_| ParseError::field(name, format!("'{}' is not a finite decimal", truncate(text))))
}

fn at_most(d: Decimal, max: Decimal, name: &str) -> Result<Decimal> {
    if d > max {
        return Err(ParseError::field(name, format!("at most {max}")));
    }
    Ok(d)
}

fn finite(v: &Json<'_>, name: &str) -> Result<f64> {
    let x = match v {
        Json::Number(n) => n.as_f64(),
        Json::String(s) => s.trim().parse::<f64>().ok(),
        _ => None,
    }
    .ok_or_else(|| ParseError::field(name, "expected a number"))?;
    if !x.is_finite() {
        return Err(ParseError::field(name, "must be finite (no NaN or infinity)"));
    }
    if x.abs() > bounds::MAX_MODEL_VALUE {
        return Err(ParseError::field(name, "magnitude at most 1e15"));
    }
    Ok(x)
}

/// Echo at most 64 characters of client input in an error message.
fn truncate(s: &str) -> String {
    s.chars().take(64).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2024-10-24T15:00:00Z").map(|t| t.with_timezone(&Utc)).unwrap_or_default()
    }

    #[test]
    fn parses_the_documented_fill() {
        let line = r#"{"event_id": "e-000123", "kind": "fill", "ts": "2024-10-24T14:32:15.250Z", "fill_id": "fill_aaa111", "order_id": "ord_xyz789", "quantity": "0.1", "price": "67500.25", "fee": "0.0675", "fee_currency": "USDT", "liquidity": "taker"}"#;
        let e = Event::parse_json(line, now()).expect("valid fill");
        assert_eq!(e.kind(), Kind::Fill);
        let Body::Fill(f) = e.body else { panic!("not a fill") };
        assert_eq!(f.price, Decimal::from_str("67500.25").unwrap_or_default());
        assert_eq!(f.quantity.to_string(), "0.1");
    }

    #[test]
    fn numbers_may_be_json_numbers() {
        let line = r#"{"event_id":"e1","kind":"fill","ts":"2024-10-24T14:32:15Z","fill_id":"f","order_id":"o","quantity":0.1,"price":100.25,"fee":0,"fee_currency":"USD","liquidity":"maker"}"#;
        let e = Event::parse_json(line, now()).expect("valid");
        let Body::Fill(f) = e.body else { panic!() };
        assert_eq!(f.quantity.to_string(), "0.1");
        assert_eq!(f.price.to_string(), "100.25");
    }

    fn err(line: &str) -> ParseError {
        Event::parse_json(line, now()).expect_err("must be refused")
    }

    #[test]
    fn refusals_name_the_field() {
        let base = r#""event_id":"e1","ts":"2024-10-24T14:32:15Z""#;
        assert_eq!(err(&format!("{{{base},\"kind\":\"bogus\"}}")).field.as_deref(), Some("kind"));
        assert_eq!(
            err(&format!(r#"{{{base},"kind":"fill","fill_id":"f","order_id":"o","quantity":"-1","price":"1","fee":"0","fee_currency":"USD","liquidity":"maker"}}"#)).field.as_deref(),
            Some("quantity")
        );
        assert_eq!(
            err(&format!(r#"{{{base},"kind":"fill","fill_id":"f","order_id":"o","quantity":"0","price":"1","fee":"0","fee_currency":"USD","liquidity":"maker"}}"#)).field.as_deref(),
            Some("quantity")
        );
        assert_eq!(
            err(&format!(r#"{{{base},"kind":"fill","fill_id":"f","order_id":"o","quantity":"1","price":"NaN","fee":"0","fee_currency":"USD","liquidity":"maker"}}"#)).field.as_deref(),
            Some("price")
        );
        assert_eq!(
            err(&format!(r#"{{{base},"kind":"fill","order_id":"o","quantity":"1","price":"1","fee":"0","fee_currency":"USD","liquidity":"maker"}}"#)).field.as_deref(),
            Some("fill_id")
        );
        let future = r#"{"event_id":"e1","ts":"2030-01-01T00:00:00Z","kind":"heartbeat","component":"c","status":"ok"}"#;
        assert_eq!(err(future).field.as_deref(), Some("ts"));
        assert!(err("{not json").reason.starts_with("invalid JSON"));
        let sig = format!(r#"{{{base},"kind":"signal","signal_id":"s","automation_id":"a","instrument":"X","intent":"entry","signal_type":"momentum","side":"buy","strength":"inf","model_version":"v1","prediction":0.1,"confidence":0.5}}"#);
        assert_eq!(err(&sig).field.as_deref(), Some("strength"));
    }

    #[test]
    fn the_bounds_are_what_the_docs_say() {
        assert_eq!(bounds::MAX_QUANTITY.to_string(), "1000000000");
        assert_eq!(bounds::MAX_PRICE.to_string(), "1000000000");
        assert_eq!(bounds::MAX_FEE.to_string(), "1000000000000");
        assert_eq!(bounds::MAX_VOLUME.to_string(), "1000000000000000");
        assert_eq!(bounds::MIN_PRICE.to_string(), "0.0000000001");
        // The largest notional summed 10^10 times still fits a Decimal.
        let notional = bounds::MAX_QUANTITY * bounds::MAX_PRICE;
        assert!(notional.checked_mul(Decimal::from(10_000_000_000u64)).is_some());
    }

    #[test]
    fn ids_are_bounded() {
        assert!(Id::parse("").is_err());
        assert!(Id::parse(&"x".repeat(129)).is_err());
        assert!(Id::parse(" padded").is_err());
        assert!(Id::parse("ord_1").is_ok());
    }

    #[test]
    fn limit_orders_need_a_price() {
        let line = r#"{"event_id":"e1","ts":"2024-10-24T14:32:15Z","kind":"order","order_id":"o","instrument":"AAPL","side":"buy","quantity":"10","order_type":"limit","status":"submitted"}"#;
        assert_eq!(err(line).field.as_deref(), Some("limit_price"));
    }

    #[test]
    fn risk_check_errors_point_into_the_array() {
        let line = r#"{"event_id":"e1","ts":"2024-10-24T14:32:15Z","kind":"risk_check","signal_id":"s","decision":"approve","risk_score":0.2,"checks":[{"name":"position_limit","status":"maybe","value":1,"limit":2}]}"#;
        assert_eq!(err(line).field.as_deref(), Some("checks[0].status"));
    }
}
