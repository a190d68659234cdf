//! Compliance monitoring: a fold that checks every order, fill and mark against the policy
//! (`config.compliance`) and keeps the compliance issues and their workflow.
//!
//! - **Pre-trade** (on an order's first event): prohibited instrument, market hours, order size
//!   (quantity, notional), stop-loss distance of entries, an order that would trade against the
//!   fund's own open opposite order, and the process rules (risk override, no risk check, LLM
//!   review missing or forbidden). One issue per order and rule.
//! - **Post-trade** (on fills): a buy and a sell of one instrument by different automations
//!   within the window and price distance (wash trade).
//! - **Positional** (after each batch, in `due`): position quantity and notional, gross and net
//!   exposure, leverage, concentration, Herfindahl, 1-day historical VaR 95, daily loss. One
//!   issue per episode: opened at the warning level (80% by default), escalated at the alert (90%)
//!   and breach (100%) levels, its episode ended when the value goes back under the warning level.
//!   An issue that reached a breach stays open until a person resolves or waives it; one that
//!   never did is cleared by the episode's end.
//!
//! Every finding is a `compliance_issue` event the console appends (its id is that event's
//! seq), every person's step a `compliance_review` event: the state here is a function of the log.
pub mod hours;
pub mod report;

use std::collections::{BTreeMap, VecDeque};

use crate::hash::HashMap;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use serde::{Deserialize, Serialize};

use crate::config::compliance::{Limits, Policy, Thresholds};
use crate::event::{Body, ComplianceIssue, ComplianceReview, Id, Intent, IssueChange, Order, OrderStatus, OrderType, ReviewAction, RiskDecision, Scope, Severity, Side};
use crate::fold::{Action, Fold, Stored};
use crate::projection::Projection;

/// Orders remembered as closed (filled in full or final), so their later events raise nothing.
const CLOSED_KEPT: usize = 20_000;
/// Signals remembered for the pre-trade process rules (their orders follow them closely).
const SIGNALS_KEPT: usize = 50_000;
/// History entries kept per issue (the log keeps them all).
const HISTORY_KEPT: usize = 200;
/// A positional finding asked for and not yet in the log is asked again after this long.
const REQUEST_RETRY_SECS: i64 = 30;
/// Daily returns behind the historical VaR.
const VAR_DAYS: usize = 250;
/// Fewest scenarios for a VaR: below this it is undefined.
const VAR_MIN_DAYS: usize = 20;
/// The shortest note that resolves or waives an issue.
pub const MIN_RESOLUTION_NOTE: usize = 10;

/// How far a value is into its limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    /// At or above the warning threshold (pre-breach, 80%).
    Warning,
    /// At or above the alert threshold (90%).
    Alert,
    /// At or above the limit (100%).
    Breach,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Warning => "warning",
            Level::Alert => "alert",
            Level::Breach => "breach",
        }
    }
    pub fn severity(self) -> Severity {
        match self {
            Level::Warning | Level::Alert => Severity::Warning,
            Level::Breach => Severity::Critical,
        }
    }
    /// The level of a utilisation in % (`None` under the warning threshold). Percentages are
    /// rounded to 1e-9 first, so exactly 80% is 80%.
    pub fn of(pct: f64, t: &Thresholds) -> Option<Level> {
        if pct >= t.breach_pct {
            Some(Level::Breach)
        } else if pct >= t.alert_pct {
            Some(Level::Alert)
        } else if pct >= t.warning_pct {
            Some(Level::Warning)
        } else {
            None
        }
    }
}

/// Where an issue stands in its workflow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IssueState {
    Open,
    Acknowledged,
    /// A critical issue waived by one risk officer, waiting for a second to confirm.
    WaiverPending,
    Resolved,
    Waived,
    /// A pre-breach episode that ended under the warning level without a breach.
    Cleared,
}

impl IssueState {
    pub const ALL: [IssueState; 6] = [IssueState::Open, IssueState::Acknowledged, IssueState::WaiverPending, IssueState::Resolved, IssueState::Waived, IssueState::Cleared];
    pub fn as_str(self) -> &'static str {
        match self {
            IssueState::Open => "open",
            IssueState::Acknowledged => "acknowledged",
            IssueState::WaiverPending => "waiver_pending",
            IssueState::Resolved => "resolved",
            IssueState::Waived => "waived",
            IssueState::Cleared => "cleared",
        }
    }
    pub fn parse(s: &str) -> Option<IssueState> {
        IssueState::ALL.into_iter().find(|x| x.as_str() == s)
    }
    /// Still needs a person.
    pub fn is_active(self) -> bool {
        matches!(self, IssueState::Open | IssueState::Acknowledged | IssueState::WaiverPending)
    }
}

/// One step of an issue's history (each is an event in the log).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoryEntry {
    pub seq: u64,
    pub ts: DateTime<Utc>,
    /// `open`, `escalate`, `episode_end`, or a review action.
    pub action: String,
    pub actor: String,
    pub note: Option<String>,
    pub utilisation: Option<f64>,
}

/// A compliance issue as the pages and the API show it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Issue {
    /// The seq of the event that opened it.
    pub id: u64,
    pub opened_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub rule: String,
    pub severity: Severity,
    /// For limits: the highest level the episode reached.
    pub level: Option<Level>,
    pub scope: Scope,
    pub scope_id: Option<String>,
    pub value: Option<f64>,
    pub limit: Option<f64>,
    /// value / limit (1.0 = 100%) when opened or last escalated.
    pub utilisation: Option<f64>,
    /// The highest utilisation of the episode (recorded by escalations and its end).
    pub peak_utilisation: Option<f64>,
    pub evidence: Vec<u64>,
    pub order_id: Option<String>,
    pub signal_id: Option<String>,
    pub automation_id: Option<String>,
    pub instrument: Option<String>,
    pub detail: String,
    pub state: IssueState,
    /// A limit's episode still running (the value is above the warning level).
    pub episode_open: bool,
    pub episode_ended_at: Option<DateTime<Utc>>,
    pub acknowledged_by: Option<String>,
    pub acknowledged_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
    /// Who asked for a waiver (a critical issue's waiver needs a second risk officer).
    pub waiver_by: Option<String>,
    pub history: Vec<HistoryEntry>,
}

/// A limit and its use now, for the utilisation table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LimitRow {
    pub scope: Scope,
    pub scope_id: Option<String>,
    pub limit_name: String,
    pub unit: String,
    pub value: f64,
    pub limit: f64,
    /// % of the limit used.
    pub utilisation_pct: f64,
    pub level: Option<Level>,
    pub thresholds: Thresholds,
    /// The open issue of the running episode.
    pub issue_id: Option<u64>,
}

/// Filters of the issue list; every field optional.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct IssueQuery {
    pub state: Option<IssueState>,
    pub rule: Option<String>,
    pub severity: Option<Severity>,
    pub instrument: Option<String>,
    pub automation: Option<String>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    /// Page size (1..=500, default 50).
    pub limit: Option<usize>,
    /// Issues older than this id (the last id of the previous page).
    pub after: Option<u64>,
    /// Active issues (open, acknowledged, waiver pending) before the others.
    pub active_first: bool,
    /// Only active issues.
    pub active: bool,
}

/// One page of issues, and counts over every issue the viewer may see.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct IssuePage {
    /// Rows without their history.
    pub issues: Vec<Issue>,
    /// The id to pass as `after` for the next page.
    pub next_after: Option<u64>,
    pub matched: u64,
    /// Active issues by severity: info, warning, critical.
    pub active_by_severity: [u64; 3],
    /// Active issues by rule.
    pub active_by_rule: BTreeMap<String, u64>,
    pub total: u64,
}

impl Issue {
    /// The issue without its history (list rows).
    pub fn summary(&self) -> Issue {
        let mut row = self.clone();
        row.history = Vec::new();
        row
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct SignalInfo {
    seq: u64,
    automation: String,
    signal_type: String,
    intent: Intent,
    stop_loss: Option<Decimal>,
    risk: Option<(u64, RiskDecision)>,
    llm: Option<(u64, String)>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct OpenOrder {
    seq: u64,
    automation: Option<String>,
    instrument: String,
    side: Side,
    order_type: OrderType,
    limit_price: Option<Decimal>,
    quantity: Decimal,
    filled: Decimal,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct RecentFill {
    seq: u64,
    ts: DateTime<Utc>,
    side: Side,
    price: Decimal,
    automation: Option<String>,
}

/// One limit measured now.
struct Measure {
    scope: Scope,
    scope_id: Option<String>,
    limit_name: &'static str,
    value: f64,
    limit: f64,
    pct: f64,
    evidence: u64,
}

impl Measure {
    fn key(&self) -> String {
        format!("{}:{}:{}", self.scope.as_str(), self.scope_id.as_deref().unwrap_or(""), self.limit_name)
    }
}

/// The compliance fold.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Compliance {
    policy: Policy,
    issues: BTreeMap<u64, Issue>,
    /// Limit key -> the issue of its running episode.
    episodes: HashMap<String, u64>,
    /// Limit key -> when a positional finding was asked for (not yet in the log).
    requested: HashMap<String, DateTime<Utc>>,
    /// One-shot findings (an order's, a fill's) waiting to be appended.
    queued: Vec<ComplianceIssue>,
    signals: HashMap<String, SignalInfo>,
    signal_order: VecDeque<String>,
    orders: HashMap<String, OpenOrder>,
    closed: crate::hash::HashSet<String>,
    closed_order: VecDeque<String>,
    /// Automation -> instrument -> signed quantity (its fills).
    automation_positions: BTreeMap<String, BTreeMap<String, Decimal>>,
    recent_fills: HashMap<String, VecDeque<RecentFill>>,
    /// Instrument -> the seq of its last fill or mark.
    last_seq: HashMap<String, u64>,
    /// Instrument -> the automation of its last fill (named on instrument limits' issues, so the
    /// trader of that automation sees them).
    last_fill_automation: HashMap<String, String>,
    last_any_seq: u64,
    /// Something a positional limit reads changed since the last `due`.
    dirty: bool,
    by_order: HashMap<String, Vec<u64>>,
    by_signal: HashMap<String, Vec<u64>>,
    /// The utilisation table at the last `due`.
    limits_now: Vec<LimitRow>,
    /// Issues still needing a person, counted as their states change.
    active: ActiveCounts,
}

/// Issues needing a person, by severity (info, warning, critical) and by rule.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct ActiveCounts {
    by_severity: [u64; 3],
    by_rule: BTreeMap<String, u64>,
}

impl ActiveCounts {
    /// Counts an issue in (`+1`) or out (`-1`) of the active set.
    fn add(&mut self, rule: &str, severity: Severity, delta: i64) {
        let bump = |x: &mut u64| *x = x.saturating_add_signed(delta);
        bump(&mut self.by_severity[severity_index(severity)]);
        match self.by_rule.get_mut(rule) {
            Some(n) => bump(n),
            None if delta > 0 => {
                self.by_rule.insert(rule.to_string(), delta.unsigned_abs());
            }
            None => {}
        }
    }
}

impl Compliance {
    pub fn new() -> Self {
        Self { policy: Policy::default(), dirty: true, ..Default::default() }
    }

    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// Every issue, oldest first.
    pub fn all_issues(&self) -> impl Iterator<Item = &Issue> {
        self.issues.values()
    }

    pub fn issue(&self, id: u64) -> Option<&Issue> {
        self.issues.get(&id)
    }

    /// The utilisation of every configured limit at the last evaluation.
    pub fn limits(&self) -> &[LimitRow] {
        &self.limits_now
    }

    /// Issue ids raised on an order / on a signal's orders.
    pub fn issues_of_order(&self, order_id: &str) -> &[u64] {
        self.by_order.get(order_id).map(Vec::as_slice).unwrap_or(&[])
    }
    pub fn issues_of_signal(&self, signal_id: &str) -> &[u64] {
        self.by_signal.get(signal_id).map(Vec::as_slice).unwrap_or(&[])
    }

    /// Issues still needing a person, by severity: info, warning, critical.
    pub fn active_counts(&self) -> [u64; 3] {
        self.active.by_severity
    }

    /// Marks each row with the issues raised on its signal's orders.
    pub fn flag_signals(&self, rows: &mut [crate::projection::SignalRow]) {
        for r in rows {
            r.compliance_issues = self.issues_of_signal(&r.signal_id).to_vec();
        }
    }

    pub fn issue_count(&self) -> usize {
        self.issues.len()
    }

    /// One page of the issues `visible` lets the viewer see, newest first (active first when
    /// asked), with counts over all of them.
    pub fn query(&self, q: &IssueQuery, visible: Option<&dyn Fn(&Issue) -> bool>) -> IssuePage {
        let limit = q.limit.unwrap_or(50).clamp(1, 500);
        let mut page = IssuePage::default();
        let sees = |i: &Issue| visible.is_none_or(|v| v(i));
        let filtered = q.state.is_some() || q.rule.is_some() || q.severity.is_some() || q.instrument.is_some() || q.automation.is_some() || q.from.is_some() || q.to.is_some() || q.active;
        let matches = |i: &Issue| {
            (!q.active || i.state.is_active())
                && q.state.is_none_or(|s| i.state == s)
                && q.rule.as_deref().is_none_or(|r| i.rule == r)
                && q.severity.is_none_or(|s| i.severity == s)
                && q.instrument.as_deref().is_none_or(|x| i.instrument.as_deref() == Some(x))
                && q.automation.as_deref().is_none_or(|x| i.automation_id.as_deref() == Some(x))
                && q.from.is_none_or(|t| i.opened_at >= t)
                && q.to.is_none_or(|t| i.opened_at < t)
                && sees(i)
        };
        // Counts: kept up to date by the fold when everything is visible; counted for a viewer
        // who sees part (one pass, no allocation per issue).
        if visible.is_none() {
            page.total = self.issues.len() as u64;
            page.active_by_severity = self.active.by_severity;
            page.active_by_rule = self.active.by_rule.iter().filter(|(_, n)| **n > 0).map(|(r, n)| (r.clone(), *n)).collect();
        } else {
            let mut by_rule: BTreeMap<&str, u64> = BTreeMap::new();
            for i in self.issues.values().filter(|i| sees(i)) {
                page.total += 1;
                if i.state.is_active() {
                    page.active_by_severity[severity_index(i.severity)] += 1;
                    *by_rule.entry(i.rule.as_str()).or_default() += 1;
                }
            }
            page.active_by_rule = by_rule.into_iter().map(|(r, n)| (r.to_string(), n)).collect();
        }
        let only_active = q.active && q.state.is_none() && q.rule.is_none() && q.severity.is_none() && q.instrument.is_none() && q.automation.is_none() && q.from.is_none() && q.to.is_none();
        page.matched = match (filtered, visible.is_some()) {
            (false, false) => page.total,
            (true, false) if only_active => page.active_by_severity.iter().sum(),
            _ => self.issues.values().filter(|i| matches(i)).count() as u64,
        };
        // The listing: newest first; with active_first the active issues come first. `after` is
        // the last id of the previous page, a position in that order.
        let newest = || self.issues.values().rev().filter(|i| matches(i));
        let listing: Box<dyn Iterator<Item = &Issue>> = if q.active_first {
            Box::new(newest().filter(|i| i.state.is_active()).chain(newest().filter(|i| !i.state.is_active())))
        } else {
            Box::new(newest())
        };
        let listing: Box<dyn Iterator<Item = &Issue>> = match q.after {
            Some(after) => Box::new(listing.skip_while(move |i| i.id != after).skip(1)),
            None => listing,
        };
        let mut rows: Vec<Issue> = listing.take(limit + 1).map(|i| i.summary()).collect();
        if rows.len() > limit {
            rows.truncate(limit);
            page.next_after = rows.last().map(|i| i.id);
        }
        page.issues = rows;
        page
    }

    /// Whether `action` by `actor` may be applied to issue `id` now (roles are the caller's to
    /// check): the reason it may not, in words a person reads.
    pub fn check_review(&self, id: u64, action: ReviewAction, actor: &str, note: Option<&str>) -> Result<(), &'static str> {
        let issue = self.issues.get(&id).ok_or("no such issue")?;
        let note_len = note.map(|n| n.trim().chars().count()).unwrap_or(0);
        match action {
            ReviewAction::Acknowledge if issue.state == IssueState::Open => Ok(()),
            ReviewAction::Acknowledge => Err("only an open issue can be acknowledged"),
            ReviewAction::Resolve | ReviewAction::Waive if !matches!(issue.state, IssueState::Open | IssueState::Acknowledged) => {
                Err("only an open or acknowledged issue can be resolved or waived")
            }
            ReviewAction::Resolve | ReviewAction::Waive if note_len < MIN_RESOLUTION_NOTE => Err("a note of at least 10 characters is required"),
            ReviewAction::Resolve | ReviewAction::Waive => Ok(()),
            ReviewAction::ConfirmWaiver if issue.state != IssueState::WaiverPending => Err("no waiver is waiting for confirmation"),
            ReviewAction::ConfirmWaiver if issue.waiver_by.as_deref() == Some(actor) => Err("a second person must confirm the waiver"),
            ReviewAction::ConfirmWaiver => Ok(()),
        }
    }

    fn apply_event(&mut self, s: &Stored<'_>, book: &Projection) {
        let event = s.event;
        match &event.body {
            Body::ConfigChange(c) => {
                self.policy = c.config.compliance.clone();
                self.dirty = true;
            }
            Body::Signal(sig) => {
                let id = sig.signal_id.to_string();
                if self.signals.len() >= SIGNALS_KEPT
                    && let Some(old) = self.signal_order.pop_front()
                {
                    self.signals.remove(&old);
                }
                self.signal_order.push_back(id.clone());
                self.signals.insert(
                    id,
                    SignalInfo {
                        seq: s.seq,
                        automation: sig.automation_id.to_string(),
                        signal_type: sig.signal_type.to_string(),
                        intent: sig.intent,
                        stop_loss: sig.stop_loss,
                        risk: None,
                        llm: None,
                    },
                );
            }
            Body::RiskCheck(r) => {
                if let Some(sig) = self.signals.get_mut(r.signal_id.as_str()) {
                    sig.risk = Some((s.seq, r.decision));
                }
            }
            Body::LlmDecision(l) => {
                if let Some(sig) = self.signals.get_mut(l.signal_id.as_str()) {
                    sig.llm = Some((s.seq, l.decision.to_string()));
                }
            }
            Body::Order(o) => self.on_order(s, o, book),
            Body::Fill(f) => {
                let Some(open) = self.orders.get_mut(f.order_id.as_str()) else { return };
                open.filled = open.filled.checked_add(f.quantity).unwrap_or(open.quantity);
                let order = open.clone();
                // Filled in full: no longer an open order another could trade against.
                if order.filled >= order.quantity {
                    self.close_order(f.order_id.as_str());
                }
                let signed = order.side.sign() * f.quantity;
                if let Some(a) = &order.automation {
                    let q = self.automation_positions.entry(a.clone()).or_default().entry(order.instrument.clone()).or_default();
                    *q = q.checked_add(signed).unwrap_or(*q);
                }
                self.last_seq.insert(order.instrument.clone(), s.seq);
                match &order.automation {
                    Some(a) => self.last_fill_automation.insert(order.instrument.clone(), a.clone()),
                    None => self.last_fill_automation.remove(&order.instrument),
                };
                self.last_any_seq = s.seq;
                self.dirty = true;
                if self.policy.enabled && self.policy.wash_trades.enabled {
                    self.check_wash_fill(s, &order, f.price);
                }
            }
            Body::MarketSnapshot(m) => {
                match self.last_seq.get_mut(m.instrument.as_str()) {
                    Some(x) => *x = s.seq,
                    None => {
                        self.last_seq.insert(m.instrument.to_string(), s.seq);
                    }
                }
                self.last_any_seq = s.seq;
                self.dirty = true;
            }
            Body::ComplianceIssue(c) => self.on_issue_event(s, c),
            Body::ComplianceReview(r) => self.on_review(s, r),
            Body::OperatorResponse(_) | Body::Heartbeat(_) | Body::System(_) | Body::Control(_) | Body::Checkpoint(_) | Body::ReportPublished(_) | Body::Alert(_) | Body::AlertAction(_) => {}
        }
    }

    fn on_order(&mut self, s: &Stored<'_>, o: &Order, book: &Projection) {
        let id = o.order_id.as_str();
        if self.orders.contains_key(id) {
            if o.status.is_terminal() {
                self.close_order(id);
            }
            return;
        }
        // Seen before (closed), or never live: a cancel or reject first seen traded nothing.
        if self.closed.contains(id) || matches!(o.status, OrderStatus::Cancelled | OrderStatus::Rejected) {
            return;
        }
        let signal = o.signal_id.as_ref().and_then(|sid| self.signals.get(sid.as_str())).cloned();
        let automation = signal.as_ref().map(|x| x.automation.clone());
        if self.policy.enabled {
            self.pre_trade(s, o, signal.as_ref(), book);
        }
        if o.status.is_terminal() {
            self.close_order(id);
        } else {
            self.orders.insert(
                id.to_string(),
                OpenOrder {
                    seq: s.seq,
                    automation,
                    instrument: o.instrument.to_string(),
                    side: o.side,
                    order_type: o.order_type,
                    limit_price: o.limit_price,
                    quantity: o.quantity,
                    filled: Decimal::ZERO,
                },
            );
        }
    }

    fn close_order(&mut self, id: &str) {
        self.orders.remove(id);
        if self.closed.insert(id.to_string()) {
            self.closed_order.push_back(id.to_string());
            if self.closed_order.len() > CLOSED_KEPT
                && let Some(old) = self.closed_order.pop_front()
            {
                self.closed.remove(&old);
            }
        }
    }

    /// The pre-trade rules on an order's first event.
    fn pre_trade(&mut self, s: &Stored<'_>, o: &Order, signal: Option<&SignalInfo>, book: &Projection) {
        let p = &self.policy;
        let instrument = o.instrument.as_str();
        let automation = signal.map(|x| x.automation.as_str());
        let mut evidence = vec![s.seq];
        if let Some(sig) = signal {
            evidence.insert(0, sig.seq);
        }
        // (rule, severity, scope, scope id, (value, limit, % used), evidence, detail)
        type Finding = (&'static str, Severity, Scope, Option<String>, Option<(f64, f64, f64)>, Vec<u64>, String);
        let mut found: Vec<Finding> = Vec::new();
        if let Some(ban) = p.prohibited.get(instrument) {
            found.push(("prohibited_instrument", Severity::Critical, Scope::Instrument, Some(instrument.into()), None, evidence.clone(), format!("{instrument} is prohibited since {}: {}", ban.since, ban.reason)));
        }
        if p.market_hours.enabled
            && let Some((class, session)) = hours::session_of(&p.market_hours, instrument)
            && !hours::is_open(session, s.event.ts)
        {
            let window = match (session.open_day, session.close_day) {
                (Some(a), Some(b)) => format!("{a} {} to {b} {}", session.open.format("%H:%M"), session.close.format("%H:%M")),
                _ => format!("{}-{} on exchange days", session.open.format("%H:%M"), session.close.format("%H:%M")),
            };
            found.push(("market_hours", Severity::Warning, Scope::Instrument, Some(instrument.into()), None, evidence.clone(), format!("order at {} is outside the {class} session ({window}, {})", s.event.ts.format("%Y-%m-%d %H:%M:%S UTC"), session.time_zone)));
        }
        // Order size, against each scope that sets a limit.
        let price = o.limit_price.or_else(|| book.mark(instrument));
        let notional = price.and_then(|px| px.checked_mul(o.quantity));
        let mut scopes: Vec<(Scope, Option<String>, &Limits)> = vec![(Scope::Portfolio, None, &p.portfolio)];
        if let Some(l) = p.instruments.get(instrument) {
            scopes.push((Scope::Instrument, Some(instrument.to_string()), l));
        }
        if let Some(a) = automation
            && let Some(l) = p.automations.get(a)
        {
            scopes.push((Scope::Automation, Some(a.to_string()), l));
        }
        for (scope, scope_id, limits) in &scopes {
            for (name, value, limit) in [("max_order_quantity", Some(o.quantity), limits.max_order_quantity), ("max_order_notional", notional, limits.max_order_notional)] {
                let (Some(value), Some(limit)) = (value, limit) else { continue };
                let pct = pct_of(value, limit);
                if let Some(level) = Level::of(pct, &p.thresholds_for(name)) {
                    let (v, l) = (to_f64(value), to_f64(limit));
                    found.push((name, level.severity(), *scope, scope_id.clone(), Some((v, l, pct)), evidence.clone(), format!("order {} of {} {}: {} {} is {}% of the limit {} ({})", o.order_id, fmt_num(v), instrument, name_words(name), fmt_num(v), fmt_pct(pct), fmt_num(l), level_words(level))));
                }
            }
            // Entries need a stop-loss within the distance.
            if let Some(max_pct) = limits.max_stop_distance_pct
                && signal.is_some_and(|x| x.intent == Intent::Entry)
            {
                let stop = signal.and_then(|x| x.stop_loss);
                match (stop, price) {
                    (None, _) => found.push(("stop_loss_missing", Severity::Warning, *scope, scope_id.clone(), None, evidence.clone(), format!("entry order {} on {instrument} carries no stop-loss", o.order_id))),
                    (Some(stop), Some(px)) if !px.is_zero() => {
                        let dist = to_f64(((px - stop).abs() / px) * Decimal::ONE_HUNDRED);
                        let pct = round9(dist / max_pct * 100.0);
                        if let Some(level) = Level::of(pct, &p.thresholds_for("max_stop_distance_pct")) {
                            found.push(("max_stop_distance_pct", level.severity(), *scope, scope_id.clone(), Some((dist, max_pct, pct)), evidence.clone(), format!("entry order {} on {instrument}: stop-loss {:.2}% from the price is {}% of the limit {max_pct}% ({})", o.order_id, dist, fmt_pct(pct), level_words(level))));
                        }
                    }
                    _ => {}
                }
            }
        }
        // Would trade against the fund's own open opposite order.
        if p.wash_trades.enabled
            && let Some(other) = self.orders.values().filter(|x| x.instrument == instrument && x.side != o.side && crosses(o, x)).min_by_key(|x| x.seq)
        {
            found.push(("wash_trade", Severity::Critical, Scope::Instrument, Some(instrument.into()), None, vec![other.seq, s.seq], format!("order {} would trade against the fund's own open {} order on {instrument}", o.order_id, other.side.as_str())));
        }
        // Process rules.
        let pr = &p.process;
        match signal {
            None if pr.require_risk_check => {
                let why = match &o.signal_id {
                    Some(sig) => format!("order {} names signal {sig}, which the log does not hold, so no risk check", o.order_id),
                    None => format!("order {} has no signal, so no risk check", o.order_id),
                };
                found.push(("no_risk_check", Severity::Warning, Scope::Instrument, Some(instrument.into()), None, evidence.clone(), why));
            }
            None => {}
            Some(sig) => {
                match sig.risk {
                    None if pr.require_risk_check => found.push(("no_risk_check", Severity::Warning, Scope::Automation, Some(sig.automation.clone()), None, evidence.clone(), format!("order {} was placed without a risk check of its signal", o.order_id))),
                    Some((seq, RiskDecision::Reject)) if pr.flag_risk_overrides => {
                        let mut ev = evidence.clone();
                        ev.insert(1, seq);
                        found.push(("risk_override", Severity::Critical, Scope::Automation, Some(sig.automation.clone()), None, ev, format!("order {} was placed although the risk check rejected its signal", o.order_id)));
                    }
                    _ => {}
                }
                if pr.llm_review_automations.contains(&sig.automation) || pr.llm_review_signal_types.contains(&sig.signal_type) {
                    match &sig.llm {
                        None => found.push(("llm_review_missing", Severity::Warning, Scope::Automation, Some(sig.automation.clone()), None, evidence.clone(), format!("order {} was placed without the LLM review its policy requires ({} / {})", o.order_id, sig.automation, sig.signal_type))),
                        Some((seq, decision)) if pr.forbidden_llm_decisions.contains(decision) => {
                            let mut ev = evidence.clone();
                            ev.insert(1, *seq);
                            found.push(("llm_review_forbidden", Severity::Critical, Scope::Automation, Some(sig.automation.clone()), None, ev, format!("order {} was placed after the LLM review decided '{decision}'", o.order_id)));
                        }
                        Some(_) => {}
                    }
                }
            }
        }
        let signal_id = o.signal_id.clone();
        let automation_id = automation.and_then(|a| Id::parse(a).ok());
        for (rule, severity, scope, scope_id, numbers, mut evidence, detail) in found {
            // Rule names are constant ids: this never skips.
            let Ok(rule) = Id::parse(rule) else { continue };
            evidence.sort_unstable();
            evidence.dedup();
            self.queued.push(ComplianceIssue {
                change: IssueChange::Open,
                issue_id: None,
                rule,
                severity,
                scope,
                scope_id: scope_id.and_then(|x| Id::parse(&x).ok()),
                value: numbers.map(|n| n.0),
                limit: numbers.map(|n| n.1),
                utilisation: numbers.map(|n| n.2 / 100.0),
                evidence,
                order_id: Some(o.order_id.clone()),
                signal_id: signal_id.clone(),
                automation_id: automation_id.clone(),
                instrument: Some(o.instrument.clone()),
                detail,
            });
        }
    }

    /// A fill against a recent opposite fill of another automation, close in time and price.
    fn check_wash_fill(&mut self, s: &Stored<'_>, order: &OpenOrder, price: Decimal) {
        let w = &self.policy.wash_trades;
        let window = Duration::seconds(i64::from(w.window_secs));
        let bps = Decimal::try_from(w.price_bps).unwrap_or_default();
        let ts = s.event.ts;
        let fills = self.recent_fills.entry(order.instrument.clone()).or_default();
        while fills.front().is_some_and(|f| ts - f.ts > window) {
            fills.pop_front();
        }
        let hit = fills.iter().find(|f| {
            f.side != order.side
                && f.automation != order.automation
                && (ts - f.ts).abs() <= window
                && !f.price.is_zero()
                && ((price - f.price).abs() / f.price) * Decimal::from(10_000) <= bps
        });
        if let (Some(other), Ok(rule)) = (hit, Id::parse("wash_trade")) {
            let detail = format!(
                "{} {} @ {} by {} and {} @ {} by {}, {} s apart",
                order.side.as_str(),
                order.instrument,
                price,
                order.automation.as_deref().unwrap_or("an order without a signal"),
                other.side.as_str(),
                other.price,
                other.automation.as_deref().unwrap_or("an order without a signal"),
                (ts - other.ts).num_seconds().abs(),
            );
            self.queued.push(ComplianceIssue {
                change: IssueChange::Open,
                issue_id: None,
                rule,
                severity: Severity::Critical,
                scope: Scope::Instrument,
                scope_id: Id::parse(&order.instrument).ok(),
                value: None,
                limit: None,
                utilisation: None,
                evidence: vec![other.seq, s.seq],
                order_id: None,
                signal_id: None,
                automation_id: order.automation.as_deref().and_then(|a| Id::parse(a).ok()),
                instrument: Id::parse(&order.instrument).ok(),
                detail,
            });
        }
        fills.push_back(RecentFill { seq: s.seq, ts, side: order.side, price, automation: order.automation.clone() });
        if fills.len() > 1000 {
            fills.pop_front();
        }
    }

    fn on_issue_event(&mut self, s: &Stored<'_>, c: &ComplianceIssue) {
        let ts = s.event.ts;
        let key = limit_key(c);
        match (c.change, c.issue_id) {
            (IssueChange::Open, _) => {
                // The queued finding this event carries out (a replay meets it again here).
                let first = c.evidence.last().copied();
                self.queued.retain(|q| !(q.rule == c.rule && q.evidence.last().copied() == first && q.scope == c.scope && q.scope_id == c.scope_id));
                let level = level_of_issue(c, &self.policy);
                let issue = Issue {
                    id: s.seq,
                    opened_at: ts,
                    updated_at: ts,
                    rule: c.rule.to_string(),
                    severity: c.severity,
                    level,
                    scope: c.scope,
                    scope_id: c.scope_id.as_ref().map(|x| x.to_string()),
                    value: c.value,
                    limit: c.limit,
                    utilisation: c.utilisation,
                    peak_utilisation: c.utilisation,
                    evidence: c.evidence.clone(),
                    order_id: c.order_id.as_ref().map(|x| x.to_string()),
                    signal_id: c.signal_id.as_ref().map(|x| x.to_string()),
                    automation_id: c.automation_id.as_ref().map(|x| x.to_string()),
                    instrument: c.instrument.as_ref().map(|x| x.to_string()),
                    detail: c.detail.clone(),
                    state: IssueState::Open,
                    episode_open: key.is_some(),
                    episode_ended_at: None,
                    acknowledged_by: None,
                    acknowledged_at: None,
                    closed_at: None,
                    waiver_by: None,
                    history: vec![HistoryEntry { seq: s.seq, ts, action: "open".into(), actor: "console".into(), note: Some(c.detail.clone()), utilisation: c.utilisation }],
                };
                if let Some(o) = &issue.order_id {
                    self.by_order.entry(o.clone()).or_default().push(s.seq);
                }
                if let Some(sig) = &issue.signal_id {
                    self.by_signal.entry(sig.clone()).or_default().push(s.seq);
                }
                if let Some(k) = key {
                    self.requested.remove(&k);
                    self.set_table_issue(&k, Some(s.seq));
                    self.episodes.insert(k, s.seq);
                }
                self.active.add(&issue.rule, issue.severity, 1);
                self.issues.insert(s.seq, issue);
            }
            (change, Some(id)) => {
                if let Some(k) = &key {
                    self.requested.remove(k);
                }
                let Some(issue) = self.issues.get_mut(&id) else { return };
                let before = (issue.state.is_active(), issue.severity);
                issue.updated_at = ts;
                let peak = issue.peak_utilisation.into_iter().chain(c.utilisation).fold(None, |m: Option<f64>, x| Some(m.map_or(x, |m| m.max(x))));
                issue.peak_utilisation = peak;
                push_history(issue, HistoryEntry { seq: s.seq, ts, action: change.as_str().into(), actor: "console".into(), note: Some(c.detail.clone()), utilisation: c.utilisation });
                match change {
                    IssueChange::Escalate => {
                        // The finding now reads as the escalation states it (the history keeps each).
                        issue.detail = c.detail.clone();
                        issue.level = level_of_issue(c, &self.policy).max(issue.level);
                        issue.severity = issue.severity.max_with(c.severity);
                        issue.value = c.value;
                        issue.utilisation = c.utilisation;
                    }
                    IssueChange::EpisodeEnd => {
                        issue.episode_open = false;
                        issue.episode_ended_at = Some(ts);
                        if let Some(k) = key
                            && self.episodes.get(&k) == Some(&id)
                        {
                            self.episodes.remove(&k);
                            for row in self.limits_now.iter_mut().filter(|r| row_key(r) == k) {
                                row.issue_id = None;
                            }
                        }
                        // A pre-breach episode over: nothing left for a person to do.
                        if issue.level != Some(Level::Breach) && issue.state == IssueState::Open {
                            issue.state = IssueState::Cleared;
                            issue.closed_at = Some(ts);
                        }
                    }
                    IssueChange::Open => {}
                }
                let after = (issue.state.is_active(), issue.severity);
                let rule = issue.rule.clone();
                self.recount(&rule, before, after);
            }
            (_, None) => {}
        }
    }

    /// The utilisation table names the issue of a running episode as soon as it is in the log.
    fn set_table_issue(&mut self, key: &str, id: Option<u64>) {
        for row in self.limits_now.iter_mut().filter(|r| row_key(r) == key) {
            row.issue_id = id;
        }
    }

    fn on_review(&mut self, s: &Stored<'_>, r: &ComplianceReview) {
        let Some(issue) = self.issues.get_mut(&r.issue_id) else { return };
        let before = (issue.state.is_active(), issue.severity);
        let ts = s.event.ts;
        let actor = r.actor.to_string();
        let ok = match (r.action, issue.state) {
            (ReviewAction::Acknowledge, IssueState::Open) => {
                issue.state = IssueState::Acknowledged;
                issue.acknowledged_by = Some(actor.clone());
                issue.acknowledged_at = Some(ts);
                true
            }
            (ReviewAction::Resolve, IssueState::Open | IssueState::Acknowledged) => {
                issue.state = IssueState::Resolved;
                issue.closed_at = Some(ts);
                true
            }
            (ReviewAction::Waive, IssueState::Open | IssueState::Acknowledged) => {
                if issue.severity == Severity::Critical {
                    issue.state = IssueState::WaiverPending;
                    issue.waiver_by = Some(actor.clone());
                } else {
                    issue.state = IssueState::Waived;
                    issue.closed_at = Some(ts);
                }
                true
            }
            (ReviewAction::ConfirmWaiver, IssueState::WaiverPending) if issue.waiver_by.as_deref() != Some(actor.as_str()) => {
                issue.state = IssueState::Waived;
                issue.closed_at = Some(ts);
                true
            }
            _ => false,
        };
        if ok {
            issue.updated_at = ts;
            push_history(issue, HistoryEntry { seq: s.seq, ts, action: r.action.as_str().into(), actor, note: r.note.clone(), utilisation: None });
            let after = (issue.state.is_active(), issue.severity);
            let rule = issue.rule.clone();
            self.recount(&rule, before, after);
        }
    }

    /// Moves an issue between the active counts as its state or severity changed.
    fn recount(&mut self, rule: &str, before: (bool, Severity), after: (bool, Severity)) {
        if before == after {
            return;
        }
        if before.0 {
            self.active.add(rule, before.1, -1);
        }
        if after.0 {
            self.active.add(rule, after.1, 1);
        }
    }

    /// Every configured positional limit measured on the book now.
    fn measure(&self, book: &Projection) -> Vec<Measure> {
        let p = &self.policy;
        let mut out = Vec::new();
        let notionals = book.position_notionals();
        let seq_of = |instrument: &str| self.last_seq.get(instrument).copied().unwrap_or(self.last_any_seq);
        let mut push = |scope: Scope, scope_id: Option<String>, name: &'static str, value: Decimal, limit: Option<Decimal>, evidence: u64| {
            if let Some(limit) = limit {
                out.push(Measure { scope, scope_id, limit_name: name, value: to_f64(value), limit: to_f64(limit), pct: pct_of(value, limit), evidence });
            }
        };
        // Instruments with their own limits.
        for (instrument, l) in &p.instruments {
            let qty = book.position(instrument).map(|x| x.quantity.abs()).unwrap_or_default();
            let notional = notionals.iter().find(|(i, _)| i == instrument).map(|(_, n)| n.abs()).unwrap_or_default();
            let ev = seq_of(instrument);
            push(Scope::Instrument, Some(instrument.clone()), "max_position_quantity", qty, l.max_position_quantity, ev);
            push(Scope::Instrument, Some(instrument.clone()), "max_position_notional", notional, l.max_position_notional, ev);
        }
        // Automations: their own positions at the book's marks.
        for (automation, l) in &p.automations {
            let mut largest = Decimal::ZERO;
            let (mut gross, mut net, mut ev) = (Decimal::ZERO, Decimal::ZERO, 0);
            for (instrument, q) in self.automation_positions.get(automation).into_iter().flatten() {
                if q.is_zero() {
                    continue;
                }
                let Some(mark) = book.mark(instrument) else { continue };
                let n = mark.checked_mul(*q).unwrap_or_default();
                largest = largest.max(n.abs());
                gross += n.abs();
                net += n;
                ev = ev.max(seq_of(instrument));
            }
            let ev = if ev == 0 { self.last_any_seq } else { ev };
            push(Scope::Automation, Some(automation.clone()), "max_position_notional", largest, l.max_position_notional, ev);
            push(Scope::Automation, Some(automation.clone()), "max_gross_exposure", gross, l.max_gross_exposure, ev);
            push(Scope::Automation, Some(automation.clone()), "max_net_exposure", net.abs(), l.max_net_exposure, ev);
        }
        // The portfolio.
        let l = &p.portfolio;
        let ev = self.last_any_seq;
        let gross: Decimal = notionals.iter().map(|(_, n)| n.abs()).sum();
        let net: Decimal = notionals.iter().map(|(_, n)| *n).sum();
        if l.max_position_notional.is_some() || l.max_position_quantity.is_some() {
            let largest_n = notionals.iter().map(|(_, n)| n.abs()).max().unwrap_or_default();
            let largest_q = notionals.iter().filter_map(|(i, _)| book.position(i)).map(|x| x.quantity.abs()).max().unwrap_or_default();
            push(Scope::Portfolio, None, "max_position_notional", largest_n, l.max_position_notional, ev);
            push(Scope::Portfolio, None, "max_position_quantity", largest_q, l.max_position_quantity, ev);
        }
        push(Scope::Portfolio, None, "max_gross_exposure", gross, l.max_gross_exposure, ev);
        push(Scope::Portfolio, None, "max_net_exposure", net.abs(), l.max_net_exposure, ev);
        let loss = (-book.risk_snapshot().daily_pnl).max(Decimal::ZERO);
        push(Scope::Portfolio, None, "max_daily_loss", loss, l.max_daily_loss, ev);
        if let Some(limit) = l.max_var_95
            && let Some(var) = var_95(book, &notionals)
        {
            push(Scope::Portfolio, None, "max_var_95", var, Some(limit), ev);
        }
        let ratio = |name: &'static str, value: Option<f64>, limit: Option<f64>, out: &mut Vec<Measure>| {
            if let (Some(v), Some(lim)) = (value, limit) {
                out.push(Measure { scope: Scope::Portfolio, scope_id: None, limit_name: name, value: v, limit: lim, pct: round9(v / lim * 100.0), evidence: ev });
            }
        };
        let equity = book.equity();
        let leverage = (equity > Decimal::ZERO).then(|| to_f64(gross) / to_f64(equity));
        ratio("max_leverage", leverage, l.max_leverage, &mut out);
        let abs: Vec<Decimal> = notionals.iter().map(|(_, n)| n.abs()).collect();
        let conc = crate::risk::Concentration::of(&abs);
        ratio("max_concentration", conc.top1, l.max_concentration, &mut out);
        ratio("max_herfindahl", conc.hhi, l.max_herfindahl, &mut out);
        out
    }

    /// Positional findings at `now`: episodes to open, escalate or end.
    fn positional(&mut self, now: DateTime<Utc>, book: &Projection, out: &mut Vec<Action>) {
        let measures = self.measure(book);
        let mut table = Vec::with_capacity(measures.len());
        for m in measures {
            let key = m.key();
            let t = self.policy.thresholds_for(m.limit_name);
            let level = Level::of(m.pct, &t);
            let episode = self.episodes.get(&key).copied();
            table.push(LimitRow {
                scope: m.scope,
                scope_id: m.scope_id.clone(),
                limit_name: m.limit_name.to_string(),
                unit: Limits::unit(m.limit_name).to_string(),
                value: m.value,
                limit: m.limit,
                utilisation_pct: m.pct,
                level,
                thresholds: t,
                issue_id: episode,
            });
            if self.requested.get(&key).is_some_and(|at| now - *at < Duration::seconds(REQUEST_RETRY_SECS)) {
                continue;
            }
            let running = episode.and_then(|id| self.issues.get_mut(&id));
            let change = match (running, level) {
                (None, None) => None,
                (None, Some(l)) => Some((IssueChange::Open, None, l)),
                (Some(issue), None) => Some((IssueChange::EpisodeEnd, Some(issue.id), issue.level.unwrap_or(Level::Warning))),
                (Some(issue), Some(l)) => {
                    // The live peak between escalations (the episode's end records it).
                    let u = m.pct / 100.0;
                    if issue.peak_utilisation.is_none_or(|p| u > p) {
                        issue.peak_utilisation = Some(u);
                    }
                    (Some(l) > issue.level).then_some((IssueChange::Escalate, Some(issue.id), l))
                }
            };
            let Some((change, issue_id, l)) = change else { continue };
            let peak = issue_id.and_then(|id| self.issues.get(&id)).and_then(|i| i.peak_utilisation);
            let words = match change {
                IssueChange::EpisodeEnd => format!(
                    "{} back under the warning level: {} is {}% of {} (peak {}%)",
                    name_words(m.limit_name),
                    fmt_num(m.value),
                    fmt_pct(m.pct),
                    fmt_num(m.limit),
                    fmt_pct(peak.unwrap_or(0.0) * 100.0)
                ),
                _ => format!("{} {} is {}% of the limit {} ({})", name_words(m.limit_name), fmt_num(m.value), fmt_pct(m.pct), fmt_num(m.limit), level_words(l)),
            };
            let scope_id = m.scope_id.as_deref().and_then(|x| Id::parse(x).ok());
            let (instrument, automation_id) = match m.scope {
                Scope::Instrument => {
                    let by = m.scope_id.as_deref().and_then(|i| self.last_fill_automation.get(i)).and_then(|a| Id::parse(a).ok());
                    (scope_id.clone(), by)
                }
                Scope::Automation => (None, scope_id.clone()),
                Scope::Portfolio => (None, None),
            };
            let Ok(rule) = Id::parse(m.limit_name) else { continue };
            self.requested.insert(key, now);
            out.push(Action::Compliance(ComplianceIssue {
                change,
                issue_id,
                rule,
                severity: l.severity(),
                scope: m.scope,
                scope_id,
                value: Some(m.value),
                limit: Some(m.limit),
                utilisation: Some(if change == IssueChange::EpisodeEnd { peak.unwrap_or(m.pct / 100.0) } else { m.pct / 100.0 }),
                evidence: vec![m.evidence].into_iter().filter(|s| *s > 0).collect(),
                order_id: None,
                signal_id: None,
                automation_id,
                instrument,
                detail: words,
            }));
        }
        self.limits_now = table;
    }
}

impl Severity {
    fn rank(self) -> u8 {
        match self {
            Severity::Info => 0,
            Severity::Warning => 1,
            Severity::Critical => 2,
        }
    }
    /// The more severe of the two.
    pub fn max_with(self, other: Severity) -> Severity {
        if other.rank() > self.rank() { other } else { self }
    }
}

fn severity_index(s: Severity) -> usize {
    usize::from(s.rank())
}

fn row_key(r: &LimitRow) -> String {
    format!("{}:{}:{}", r.scope.as_str(), r.scope_id.as_deref().unwrap_or(""), r.limit_name)
}

fn push_history(issue: &mut Issue, entry: HistoryEntry) {
    if issue.history.len() >= HISTORY_KEPT {
        issue.history.remove(1);
    }
    issue.history.push(entry);
}

/// The episode key of a positional issue event (`None` for one-shot findings).
fn limit_key(c: &ComplianceIssue) -> Option<String> {
    let positional = c.order_id.is_none() && c.limit.is_some() && Limits::NAMES.contains(&c.rule.as_str()) && !c.rule.as_str().starts_with("max_order");
    positional.then(|| format!("{}:{}:{}", c.scope.as_str(), c.scope_id.as_ref().map(|x| x.as_str()).unwrap_or(""), c.rule))
}

/// The level an issue event states: its utilisation against the thresholds of its rule.
fn level_of_issue(c: &ComplianceIssue, policy: &Policy) -> Option<Level> {
    c.limit?;
    Level::of(round9(c.utilisation? * 100.0), &policy.thresholds_for(c.rule.as_str()))
}

fn level_words(l: Level) -> &'static str {
    match l {
        Level::Warning => "warning: pre-breach",
        Level::Alert => "alert",
        Level::Breach => "breach",
    }
}

fn name_words(name: &str) -> &'static str {
    match name {
        "max_position_quantity" => "position quantity",
        "max_position_notional" => "position notional",
        "max_order_quantity" => "order quantity",
        "max_order_notional" => "order notional",
        "max_gross_exposure" => "gross exposure",
        "max_net_exposure" => "net exposure",
        "max_leverage" => "leverage",
        "max_concentration" => "largest position share",
        "max_herfindahl" => "Herfindahl index",
        "max_var_95" => "1-day VaR 95",
        "max_daily_loss" => "daily loss",
        "max_stop_distance_pct" => "stop-loss distance",
        _ => "value",
    }
}

fn to_f64(d: Decimal) -> f64 {
    d.to_f64().unwrap_or(0.0)
}

fn round9(x: f64) -> f64 {
    if x.is_finite() { (x * 1e9).round() / 1e9 } else { 0.0 }
}

/// value / limit in %, exact in decimals, rounded to 1e-9.
fn pct_of(value: Decimal, limit: Decimal) -> f64 {
    if limit <= Decimal::ZERO {
        return 0.0;
    }
    value.checked_mul(Decimal::ONE_HUNDRED).and_then(|v| v.checked_div(limit)).map(|p| to_f64(p.round_dp(9))).unwrap_or(f64::MAX)
}

/// A percentage with one decimal, rounded down: 99.96% of a limit reads 99.9%, never 100.0%.
fn fmt_pct(pct: f64) -> String {
    format!("{:.1}", (pct * 10.0).floor() / 10.0)
}

fn fmt_num(x: f64) -> String {
    if x.abs() >= 1000.0 { crate::format::decimal(Decimal::try_from(x.round()).unwrap_or_default(), 0) } else { format!("{}", round9(x)) }
}

/// Whether order `o` would trade against the open order `other` (opposite side, same instrument).
fn crosses(o: &Order, other: &OpenOrder) -> bool {
    match (o.order_type, o.limit_price, other.order_type, other.limit_price) {
        (OrderType::Limit, Some(p), OrderType::Limit, Some(q)) => match o.side {
            Side::Buy => p >= q,
            Side::Sell => p <= q,
        },
        _ => true,
    }
}

/// 1-day historical VaR 95 of the positions held now, USD: the 5th percentile of the P&L the
/// current notionals would have made on each of the last 250 days' returns (instruments without
/// a return that day count 0), as a positive loss. `None` under 20 days.
pub fn var_95(book: &Projection, notionals: &[(String, Decimal)]) -> Option<Decimal> {
    if notionals.is_empty() {
        return Some(Decimal::ZERO);
    }
    let marks = book.daily_marks();
    let mut pnl: BTreeMap<NaiveDate, f64> = BTreeMap::new();
    for (instrument, n) in notionals {
        let Some(closes) = marks.get(instrument) else { continue };
        let n = to_f64(*n);
        let start = closes.len().saturating_sub(VAR_DAYS + 1);
        for w in closes[start..].windows(2) {
            if let [(_, a), (d, b)] = w
                && *a > 0.0
            {
                *pnl.entry(*d).or_default() += n * (b / a - 1.0);
            }
        }
    }
    let mut days: Vec<f64> = pnl.into_values().rev().take(VAR_DAYS).collect();
    if days.len() < VAR_MIN_DAYS {
        return None;
    }
    days.sort_by(f64::total_cmp);
    let q = crate::metrics::percentile_sorted(&days, 0.05)?;
    Decimal::try_from((-q).max(0.0)).ok().map(|d| d.round_dp(2))
}

impl Fold for Compliance {
    fn name(&self) -> &'static str {
        "compliance"
    }
    fn apply(&mut self, stored: &Stored<'_>, book: &Projection) {
        self.apply_event(stored, book);
    }
    fn due(&mut self, now: DateTime<Utc>, book: &Projection) -> Vec<Action> {
        let mut out: Vec<Action> = std::mem::take(&mut self.queued).into_iter().map(Action::Compliance).collect();
        if self.dirty {
            self.dirty = false;
            if self.policy.enabled {
                self.positional(now, book, &mut out);
            } else {
                self.limits_now.clear();
            }
        }
        out
    }
}

#[cfg(test)]
mod tests;
