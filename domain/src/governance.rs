//! Governance: roles and what they may do, the typed configuration and its reasons, and the
//! governance projection (human gating of the first N trades, pauses, circuit breakers).
//!
//! Like every projection this is a fold over the log. What the console must *do* about the
//! state (time out a pending signal, unlock an automation, trip a breaker) comes out of
//! [`Governance::due`] as a list of actions; the console appends them as events, so every
//! decision, automatic or human, is in the chain.
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::Arc;

use crate::hash::{HashMap, HashSet};

use chrono::{DateTime, Duration, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use rust_decimal::prelude::ToPrimitive;

pub use crate::access::{Permission, Role};
pub use crate::config::{Band, Breakers, Config, ConfigError, Gating, KpiTargets, Security};
pub use crate::text::{Reason, ReasonError};
use crate::config::FieldChange;
use crate::fold::{Action, Fold, Stored};
use crate::event::{Body, Control, ControlAction, Event, Intent, RiskDecision};
use crate::projection::Projection;

// ---------------------------------------------------------------------------------------------
// The governance projection

/// What governance keeps of each signal.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct SignalInfo {
    automation: Arc<str>,
    received: DateTime<Utc>,
    /// Entry signals only: how the gate stands.
    gate: Option<Gate>,
}

/// How a gated entry signal ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Gate {
    Pending,
    Approved,
    Rejected,
    TimedOut,
    /// The automation was unlocked: no person needed.
    Automatic,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PauseInfo {
    pub actor: String,
    pub reason: String,
    pub at: DateTime<Utc>,
    pub rule: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct AutomationState {
    approved: u32,
    rejected: u32,
    timed_out: u32,
    unlocked: bool,
    paused: Option<PauseInfo>,
    /// Source times of the signals of the last hour.
    signal_times: VecDeque<DateTime<Utc>>,
    open_orders: BTreeSet<String>,
    consecutive_losses: u32,
    slippage_breaches: (Option<NaiveDate>, u32),
    /// Cumulative realized PnL of its round trips (net of fees), USD, and its peak.
    realized: Decimal,
    realized_peak: Decimal,
    /// The day (source time) and `realized` at its start.
    day: Option<(NaiveDate, Decimal)>,
}

impl AutomationState {
    fn daily_loss(&self) -> Decimal {
        self.day.map(|(_, start)| (start - self.realized).max(Decimal::ZERO)).unwrap_or_default()
    }
    fn drawdown(&self) -> Decimal {
        self.realized_peak - self.realized
    }
}


/// The heartbeat status with which a component announces a clean stop.
pub const HEARTBEAT_STOPPED: &str = "stopped";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Governance {
    config: Config,
    versions: Vec<ConfigVersionView>,
    global_pause: Option<PauseInfo>,
    automations: BTreeMap<String, AutomationState>,
    pending: PendingBook,
    exits: BTreeMap<String, ExitView>,
    /// Every signal seen: its automation (interned), when it arrived, how its gate ended.
    signals: HashMap<String, SignalInfo>,
    /// Each order's automation while the order is not final (the book says when one is).
    order_automation: HashMap<String, Arc<str>>,
    /// One shared copy of each automation name (a signal or order refers to it, not a copy).
    names: HashSet<Arc<str>>,
    decisions: Vec<DecisionRow>,
    heartbeats: BTreeMap<String, DateTime<Utc>>,
    /// (scope, rule) pairs currently beyond their limit: a breaker trips on the way in only, so a
    /// resume is not undone at once while the condition lasts.
    breached: BTreeSet<(String, String)>,
    breaches: VecDeque<BreachView>,
    /// The newest exit signals and the desk's answers (the investor portal's decision records).
    exit_log: VecDeque<ExitRecord>,
}

const GLOBAL: &str = "*";
const BREACH_LOG: usize = 200;
/// Exit signals kept with their answers for the decision records, newest last.
pub const EXIT_LOG: usize = 500;
/// How many pending signals a view lists (soonest to expire first); `pending_total` counts all.
pub const PENDING_LISTED: usize = 50;

/// The entry signals waiting for a person, indexed by expiry and counted per automation, so the
/// timeout sweep and the view cost what they return, not what is waiting (a stalled book can
/// hold 100k+).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct PendingBook {
    /// Boxed: a 100k-entry table grows by moving pointers, not ~300-byte views (a rehash was
    /// 2% of ingest), and its spare capacity costs 8 bytes a slot (serialised as the view).
    by_id: HashMap<String, Box<PendingView>>,
    by_expiry: BTreeSet<(DateTime<Utc>, String)>,
    per_automation: HashMap<String, u32>,
}

impl PendingBook {
    fn insert(&mut self, p: PendingView) {
        self.remove(&p.signal_id);
        self.by_expiry.insert((p.expires_at, p.signal_id.clone()));
        *self.per_automation.entry(p.automation_id.clone()).or_default() += 1;
        self.by_id.insert(p.signal_id.clone(), Box::new(p));
    }
    fn remove(&mut self, id: &str) -> Option<Box<PendingView>> {
        let p = self.by_id.remove(id)?;
        self.by_expiry.remove(&(p.expires_at, p.signal_id.clone()));
        if let Some(n) = self.per_automation.get_mut(&p.automation_id) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                self.per_automation.remove(&p.automation_id);
            }
        }
        Some(p)
    }
    fn get(&self, id: &str) -> Option<&PendingView> {
        self.by_id.get(id).map(|p| &**p)
    }
    /// Risk and LLM fields only: the expiry and the automation never change.
    fn get_mut(&mut self, id: &str) -> Option<&mut PendingView> {
        self.by_id.get_mut(id).map(|p| &mut **p)
    }
    fn len(&self) -> usize {
        self.by_id.len()
    }
    fn of(&self, automation: &str) -> u32 {
        self.per_automation.get(automation).copied().unwrap_or(0)
    }
    /// Soonest to expire first.
    fn by_expiry(&self) -> impl Iterator<Item = &PendingView> {
        self.by_expiry.iter().filter_map(|(_, id)| self.get(id))
    }
}

impl Default for Governance {
    fn default() -> Self {
        Self::new()
    }
}

impl Governance {
    pub fn new() -> Self {
        Self {
            config: Config::default(),
            versions: Vec::new(),
            global_pause: None,
            automations: BTreeMap::new(),
            pending: PendingBook::default(),
            exits: BTreeMap::new(),
            signals: HashMap::default(),
            order_automation: HashMap::default(),
            names: HashSet::default(),
            decisions: Vec::new(),
            heartbeats: BTreeMap::new(),
            breached: BTreeSet::new(),
            breaches: VecDeque::new(),
            exit_log: VecDeque::new(),
        }
    }

    /// The newest `limit` exit signals with the desk's answer, newest first.
    pub fn exit_records(&self, limit: usize) -> Vec<ExitRecord> {
        self.exit_log.iter().rev().take(limit).cloned().collect()
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The current config version (0 = the built-in defaults).
    pub fn config_version(&self) -> u32 {
        self.versions.last().map(|v| v.version).unwrap_or(0)
    }

    pub fn versions(&self) -> &[ConfigVersionView] {
        &self.versions
    }

    fn intern(&mut self, name: &str) -> Arc<str> {
        if let Some(n) = self.names.get(name) {
            return n.clone();
        }
        let n: Arc<str> = Arc::from(name);
        self.names.insert(n.clone());
        n
    }

    fn set_gate(&mut self, signal_id: &str, gate: Gate) {
        if let Some(i) = self.signals.get_mut(signal_id) {
            i.gate = Some(gate);
        }
    }

    pub fn gate(&self, signal_id: &str) -> Option<Gate> {
        self.signals.get(signal_id).and_then(|i| i.gate)
    }

    pub fn pending(&self, signal_id: &str) -> Option<&PendingView> {
        self.pending.get(signal_id)
    }

    pub fn exit(&self, signal_id: &str) -> Option<&ExitView> {
        self.exits.get(signal_id)
    }

    pub fn automation_of(&self, signal_id: &str) -> Option<&str> {
        self.signals.get(signal_id).map(|i| &*i.automation)
    }

    pub fn is_paused(&self, automation: Option<&str>) -> bool {
        self.global_pause.is_some() || automation.and_then(|a| self.automations.get(a)).is_some_and(|a| a.paused.is_some())
    }

    /// Whether a new entry signal of `automation` would wait for a person now.
    pub fn would_gate(&self, automation: &str) -> bool {
        let a = self.automations.get(automation);
        !a.is_some_and(|a| a.unlocked) && a.map(|a| a.approved).unwrap_or(0) < self.config.threshold_for(automation)
    }

    /// Whether this automation itself is paused (global pause aside).
    pub fn automation_paused(&self, automation: &str) -> bool {
        self.automations.get(automation).is_some_and(|a| a.paused.is_some())
    }

    /// Whether an automation is known (has sent a signal or been paused).
    pub fn knows_automation(&self, automation: &str) -> bool {
        self.automations.contains_key(automation)
    }

    /// Why a new order must be flagged, if it must: its automation is paused, or its signal was
    /// not approved. Such orders are stored (the engine's claim is evidence), never dropped.
    pub fn order_flag(&self, order_id: &str, signal_id: Option<&str>) -> Option<&'static str> {
        if self.order_automation.contains_key(order_id) {
            return None; // a status update of an order already seen
        }
        let automation = signal_id.and_then(|s| self.signals.get(s)).map(|i| &*i.automation);
        if self.is_paused(automation) {
            return Some("paused");
        }
        match signal_id.and_then(|s| self.signals.get(s)).and_then(|i| i.gate) {
            Some(Gate::Pending | Gate::Rejected | Gate::TimedOut) => Some("unapproved_signal"),
            _ => None,
        }
    }

    /// Decisions on an automation's signals after a log position, oldest first.
    pub fn decisions(&self, automation: Option<&str>, after_seq: u64, limit: usize) -> Vec<DecisionRow> {
        let start = self.decisions.partition_point(|d| d.seq <= after_seq);
        self.decisions[start..].iter().filter(|d| automation.is_none_or(|a| d.automation_id == a)).take(limit).cloned().collect()
    }

    /// Folds one stored event in. `received_at` is the console's clock when it was appended (gating
    /// and heartbeats run on that clock, not on the source's, which may be a historical replay);
    /// `projection` has already applied the event.
    pub fn apply(&mut self, seq: u64, event: &Event, received_at: DateTime<Utc>, projection: &Projection) {
        match &event.body {
            Body::Signal(s) => {
                let id = s.signal_id.as_str().to_string();
                let automation = s.automation_id.as_str().to_string();
                let name = self.intern(&automation);
                self.signals.insert(id.clone(), SignalInfo { automation: name, received: received_at, gate: None });
                let threshold = self.config.threshold_for(&automation);
                let a = self.automations.entry(automation.clone()).or_default();
                a.signal_times.push_back(event.ts);
                while a.signal_times.front().is_some_and(|t| *t < event.ts - Duration::hours(1)) {
                    a.signal_times.pop_front();
                }
                match s.intent {
                    Intent::Entry if !a.unlocked && a.approved < threshold => {
                        self.set_gate(&id, Gate::Pending);
                        let timeout = Duration::seconds(i64::from(self.config.gating.approval_timeout_secs));
                        self.pending.insert(PendingView {
                                seq,
                                signal_id: id,
                                automation_id: automation,
                                instrument: s.instrument.as_str().to_string(),
                                side: s.side.as_str().to_string(),
                                signal_type: s.signal_type.as_str().to_string(),
                                ts: event.ts,
                                strength: s.strength,
                                confidence: s.confidence,
                                // Features, risk checks and LLM reasoning stay in the log: a
                                // view reads them for the rows it lists (`fill_pending_detail`).
                                features: Default::default(),
                                stop_loss: s.stop_loss,
                                take_profit: s.take_profit,
                                risk_decision: None,
                                checks: Vec::new(),
                                llm_reasoning: None,
                                llm_decision: None,
                                received_at,
                                expires_at: received_at + timeout,
                            });
                    }
                    Intent::Entry => {
                        self.set_gate(&id, Gate::Automatic);
                    }
                    Intent::Exit => {
                        let window = s.response_window_secs.unwrap_or(0);
                        if self.exit_log.len() >= EXIT_LOG {
                            self.exit_log.pop_front();
                        }
                        self.exit_log.push_back(ExitRecord {
                            seq,
                            signal_id: id.clone(),
                            automation_id: automation.clone(),
                            instrument: s.instrument.as_str().to_string(),
                            signal_type: s.signal_type.as_str().to_string(),
                            ts: event.ts,
                            received_at,
                            window_secs: window,
                            response: None,
                        });
                        self.exits.insert(
                            id.clone(),
                            ExitView {
                                seq,
                                signal_id: id,
                                automation_id: automation,
                                instrument: s.instrument.as_str().to_string(),
                                ts: event.ts,
                                received_at,
                                window_secs: window,
                                features: s.features.clone(),
                            },
                        );
                    }
                }
            }
            Body::RiskCheck(r) => {
                if let Some(p) = self.pending.get_mut(r.signal_id.as_str()) {
                    p.risk_decision = Some(r.decision.as_str().to_string());
                    if r.decision == RiskDecision::Reject {
                        // Risk already refused it: there is nothing for a person to approve.
                        self.pending.remove(r.signal_id.as_str());
                        self.set_gate(r.signal_id.as_str(), Gate::Rejected);
                    }
                }
            }
            Body::OperatorResponse(o) => {
                let id = o.signal_id.as_str();
                let automation = self.signals.get(id).map(|i| i.automation.to_string()).unwrap_or_default();
                let response_ms = o.response_ms.map(|m| m as i64).or_else(|| self.signals.get(id).map(|i| (received_at - i.received).num_milliseconds()));
                let action = o.action.as_str();
                let a = self.automations.entry(automation.clone()).or_default();
                match action {
                    "approve" | "reject" | "timeout" => {
                        if self.pending.remove(id).is_some() {
                            let gate = match action {
                                "approve" => {
                                    a.approved += 1;
                                    Gate::Approved
                                }
                                "reject" => {
                                    a.rejected += 1;
                                    Gate::Rejected
                                }
                                _ => {
                                    a.timed_out += 1;
                                    Gate::TimedOut
                                }
                            };
                            self.set_gate(id, gate);
                        }
                    }
                    _ => {
                        self.exits.remove(id);
                    }
                }
                if let Some(r) = self.exit_log.iter_mut().rev().find(|r| r.signal_id == id)
                    && r.response.is_none()
                {
                    r.response = Some(ExitResponse { action: action.to_string(), actor: o.actor.to_string(), ts: event.ts, response_ms });
                }
                self.decisions.push(DecisionRow {
                    seq,
                    signal_id: id.to_string(),
                    automation_id: automation,
                    action: action.to_string(),
                    actor: o.actor.to_string(),
                    comment: o.comment.clone(),
                    ts: event.ts,
                    response_ms,
                });
            }
            Body::Order(o) => {
                let id = o.order_id.as_str();
                let automation = o
                    .signal_id
                    .as_ref()
                    .and_then(|s| self.signals.get(s.as_str()))
                    .map(|i| i.automation.clone())
                    .or_else(|| self.order_automation.get(id).cloned());
                if let Some(automation) = automation {
                    self.order_automation.insert(id.to_string(), automation.clone());
                    let a = self.automations.entry(automation.to_string()).or_default();
                    if o.status.is_terminal() {
                        a.open_orders.remove(id);
                    } else {
                        a.open_orders.insert(id.to_string());
                    }
                }
            }
            Body::Fill(f) => {
                let Some(automation) = self.order_automation.get(f.order_id.as_str()).cloned() else { return };
                let limit = self.config.breakers.slippage_limit_bps;
                let a = self.automations.entry(automation.to_string()).or_default();
                if let Some(outcome) = projection.last_fill() {
                    if let Some(pnl) = outcome.closed_pnl {
                        a.consecutive_losses = if pnl < Decimal::ZERO { a.consecutive_losses + 1 } else { 0 };
                        let day = event.ts.date_naive();
                        if a.day.is_none_or(|(d, _)| d != day) {
                            a.day = Some((day, a.realized));
                        }
                        a.realized += pnl;
                        a.realized_peak = a.realized_peak.max(a.realized);
                    }
                    if outcome.slippage_bps.is_some_and(|bps| bps > limit) {
                        let day = event.ts.date_naive();
                        if a.slippage_breaches.0 != Some(day) {
                            a.slippage_breaches = (Some(day), 0);
                        }
                        a.slippage_breaches.1 += 1;
                    }
                }
            }
            Body::Heartbeat(h) => {
                // A component that says it stopped (status `stopped`: a replay at the end of its
                // data, an engine shut down cleanly) is no longer watched; its next heartbeat
                // watches it again. Silence after a clean stop is not a missing heartbeat.
                if h.status.as_str() == HEARTBEAT_STOPPED {
                    self.heartbeats.remove(h.component.as_str());
                } else {
                    self.heartbeats.insert(h.component.to_string(), received_at);
                }
                self.breached.remove(&(GLOBAL.to_string(), format!("heartbeat_missing:{}", h.component)));
            }
            Body::ConfigChange(c) => {
                let changes = c.config.diff(&self.config);
                self.config = c.config.clone();
                self.versions.push(ConfigVersionView {
                    seq,
                    version: c.version,
                    actor: c.actor.to_string(),
                    reason: c.reason.to_string(),
                    ts: event.ts,
                    changes,
                    config: serde_json::to_string_pretty(&c.config).unwrap_or_default(),
                });
            }
            Body::Control(c) => self.on_control(seq, event.ts, c),
            // An LLM decision is detail of a pending row: read from the log when listed.
            Body::MarketSnapshot(_) | Body::System(_) | Body::LlmDecision(_) | Body::ComplianceIssue(_) | Body::ComplianceReview(_) | Body::Checkpoint(_) | Body::ReportPublished(_) | Body::Alert(_) | Body::AlertAction(_) => {}
        }
    }

    fn on_control(&mut self, seq: u64, ts: DateTime<Utc>, c: &Control) {
        let info = PauseInfo { actor: c.actor.to_string(), reason: c.reason.to_string(), at: ts, rule: c.rule.as_ref().map(|r| r.to_string()) };
        let scope = c.automation_id.as_ref().map(|a| a.to_string());
        if let Some(rule) = &c.rule {
            self.breached.insert((scope.clone().unwrap_or_else(|| GLOBAL.to_string()), rule.to_string()));
            self.breaches.push_back(BreachView {
                seq,
                ts,
                automation_id: scope.clone(),
                rule: rule.to_string(),
                value: c.value.unwrap_or(0.0),
                limit: c.limit.unwrap_or(0.0),
            });
            if self.breaches.len() > BREACH_LOG {
                self.breaches.pop_front();
            }
        }
        match (c.action, scope) {
            (ControlAction::Pause, None) => self.global_pause = Some(info),
            (ControlAction::Resume, None) => self.global_pause = None,
            (ControlAction::Pause, Some(a)) => self.automations.entry(a).or_default().paused = Some(info),
            (ControlAction::Resume, Some(a)) => self.automations.entry(a).or_default().paused = None,
            (ControlAction::Unlock, Some(a)) => self.automations.entry(a).or_default().unlocked = true,
            (ControlAction::Unlock, None) => {}
        }
    }

    /// What the console must append now: timeouts, unlocks, breaker trips. Marks the breaches it
    /// reports (and clears those no longer beyond their limit), so each trips once per episode.
    pub fn due(&mut self, now: DateTime<Utc>, projection: &Projection) -> Vec<Action> {
        let mut out = Vec::new();
        for p in self.pending.by_expiry().take_while(|p| p.expires_at <= now) {
            out.push(Action::Timeout {
                signal_id: p.signal_id.clone(),
                automation_id: p.automation_id.clone(),
                response_ms: (now - p.received_at).num_milliseconds(),
            });
        }
        // Exit windows that passed unacknowledged leave the list (the log keeps the signal).
        let stale = Duration::seconds(3600);
        self.exits.retain(|_, e| now - e.received_at < Duration::seconds(i64::from(e.window_secs)).max(stale));

        let b = self.config.breakers.clone();
        let capital = projection.capital().to_f64().filter(|c| *c > 0.0);
        let pct_of_capital = |usd: Decimal| capital.map(|c| usd.to_f64().unwrap_or(0.0) / c * 100.0).unwrap_or(0.0);
        // (scope, rule, value, limit, trips at the limit itself): counts trip when they reach
        // their maximum, amounts when they go beyond it.
        let mut checks: Vec<(Option<String>, &'static str, f64, f64, bool)> = Vec::new();
        for (name, a) in &self.automations {
            let threshold = self.config.threshold_for(name);
            if !a.unlocked && a.approved >= threshold {
                out.push(Action::Unlock { automation_id: name.clone(), approved: a.approved, threshold });
            }
            let scope = Some(name.clone());
            checks.push((scope.clone(), "max_signals_per_hour", a.signal_times.len() as f64, f64::from(b.max_signals_per_hour), false));
            checks.push((scope.clone(), "max_open_orders", a.open_orders.len() as f64, f64::from(b.max_open_orders), false));
            checks.push((scope.clone(), "max_consecutive_losses", f64::from(a.consecutive_losses), f64::from(b.max_consecutive_losses), true));
            checks.push((scope.clone(), "max_slippage_breaches", f64::from(a.slippage_breaches.1), f64::from(b.max_slippage_breaches), true));
            let loss = a.daily_loss();
            let usd_limit = b.automation_max_daily_loss.to_f64().unwrap_or(f64::MAX);
            checks.push((scope.clone(), "automation_max_daily_loss", loss.to_f64().unwrap_or(0.0), usd_limit, false));
            checks.push((scope.clone(), "automation_max_daily_loss_pct", pct_of_capital(loss), b.automation_max_daily_loss_pct, false));
            checks.push((scope, "automation_max_drawdown_pct", pct_of_capital(a.drawdown()), b.automation_max_drawdown_pct, false));
        }
        let risk = projection.risk_snapshot();
        checks.push((None, "max_daily_loss", (-risk.daily_pnl).to_f64().unwrap_or(0.0), b.max_daily_loss.to_f64().unwrap_or(f64::MAX), false));
        checks.push((None, "max_daily_loss_pct", -risk.daily_pnl_pct * 100.0, b.max_daily_loss_pct, false));
        checks.push((None, "max_drawdown_pct", -risk.drawdown * 100.0, b.max_drawdown_pct, false));
        let mut heartbeat_rules = Vec::new();
        for (component, last) in &self.heartbeats {
            let silent = (now - *last).num_milliseconds() as f64 / 1000.0;
            heartbeat_rules.push((format!("heartbeat_missing:{component}"), silent, f64::from(b.heartbeat_timeout_secs)));
        }
        for (scope, rule, value, limit, at_limit) in checks {
            let key = (scope.clone().unwrap_or_else(|| GLOBAL.to_string()), rule.to_string());
            let beyond = if at_limit { value >= limit } else { value > limit };
            self.edge(key, beyond, || Action::Trip { automation_id: scope, rule, value, limit }, &mut out);
        }
        for (rule, value, limit) in heartbeat_rules {
            let key = (GLOBAL.to_string(), rule);
            self.edge(key, value > limit, || Action::Trip { automation_id: None, rule: "heartbeat_missing", value, limit }, &mut out);
        }
        out
    }

    fn edge(&mut self, key: (String, String), beyond: bool, trip: impl FnOnce() -> Action, out: &mut Vec<Action>) {
        if beyond {
            if !self.breached.contains(&key) {
                let already_paused = if key.0 == GLOBAL { self.global_pause.is_some() } else { self.is_paused(Some(&key.0)) };
                self.breached.insert(key);
                if !already_paused {
                    out.push(trip());
                }
            }
        } else {
            self.breached.remove(&key);
        }
    }

    /// The components watched for heartbeats and when each was last heard (console clock).
    pub fn heartbeats(&self) -> impl Iterator<Item = (&str, DateTime<Utc>)> {
        self.heartbeats.iter().map(|(c, t)| (c.as_str(), *t))
    }

    pub fn view(&self, now: DateTime<Utc>) -> GovernanceView {
        let pause_view = |p: &PauseInfo| PauseView { actor: p.actor.clone(), reason: p.reason.clone(), at: p.at, rule: p.rule.clone() };
        GovernanceView {
            now,
            config_version: self.config_version(),
            global_pause: self.global_pause.as_ref().map(pause_view),
            automations: self
                .automations
                .iter()
                .filter(|(name, _)| !name.is_empty())
                .map(|(name, a)| AutomationView {
                    automation_id: name.clone(),
                    mode: if a.unlocked { "automatic" } else { "gated" }.to_string(),
                    approved: a.approved,
                    rejected: a.rejected,
                    timed_out: a.timed_out,
                    threshold: self.config.threshold_for(name),
                    paused: a.paused.as_ref().map(pause_view),
                    pending: self.pending.of(name),
                    open_orders: a.open_orders.len() as u32,
                    signals_last_hour: a.signal_times.len() as u32,
                    consecutive_losses: a.consecutive_losses,
                    owners: self.config.owners_of(name),
                })
                .collect(),
            fresh_totp_required: self.config.security.fresh_totp_for_actions,
            pending: self.pending.by_expiry().take(PENDING_LISTED).cloned().collect(),
            pending_total: self.pending.len() as u64,
            exits: self.exits.values().cloned().collect(),
            breaches: self.breaches.iter().rev().cloned().collect(),
        }
    }
}

/// Fills a pending row's detail (features, risk checks, LLM reasoning and decision) from the
/// stored events of its signal, oldest first: the fold keeps pending signals compact (a stalled
/// book can hold 100k+ of them), and a page lists only the 50 soonest to expire.
pub fn fill_pending_detail(row: &mut PendingView, events: &[Event]) {
    for e in events {
        match &e.body {
            Body::Signal(s) if s.signal_id.as_str() == row.signal_id => row.features = s.features.clone(),
            Body::RiskCheck(r) if r.signal_id.as_str() == row.signal_id => {
                row.risk_decision = Some(r.decision.as_str().to_string());
                row.checks = r.checks.iter().map(|c| CheckRow { name: c.name.to_string(), status: c.status.as_str().to_string(), value: c.value, limit: c.limit }).collect();
            }
            Body::LlmDecision(l) if l.signal_id.as_str() == row.signal_id => {
                row.llm_reasoning = Some(l.reasoning.clone());
                row.llm_decision = Some(l.decision.to_string());
            }
            _ => {}
        }
    }
}

impl Governance {
    /// Orders this fold keeps state for (not yet final).
    pub fn orders_kept(&self) -> usize {
        self.order_automation.len()
    }
}

impl Fold for Governance {
    fn name(&self) -> &'static str {
        "governance"
    }
    fn apply(&mut self, s: &Stored<'_>, book: &Projection) {
        Governance::apply(self, s.seq, s.event, s.received_at, book);
        if let Some(id) = book.finalised() {
            self.order_automation.remove(id);
        }
    }
    fn due(&mut self, now: DateTime<Utc>, book: &Projection) -> Vec<Action> {
        Governance::due(self, now, book)
    }
}

// ---------------------------------------------------------------------------------------------
// View types (what pages and the API show)
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
pub struct CheckRow {
    pub name: String,
    pub status: String,
    pub value: f64,
    pub limit: f64,
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

/// An exit signal as a decision record: when it came, and how and when the desk answered.
/// No order, quantity or price: what an investor may see.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExitRecord {
    pub seq: u64,
    pub signal_id: String,
    pub automation_id: String,
    pub instrument: String,
    pub signal_type: String,
    /// Market time of the signal.
    pub ts: DateTime<Utc>,
    /// When the console received it.
    pub received_at: DateTime<Utc>,
    /// The window the engine recommended for an answer, seconds (0: none given).
    pub window_secs: u32,
    /// The first answer (an acknowledgement), `None` while unanswered.
    pub response: Option<ExitResponse>,
}

/// A person's answer to an exit signal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExitResponse {
    pub action: String,
    pub actor: String,
    /// When the answer was recorded (the `operator_response` event's time).
    pub ts: DateTime<Utc>,
    /// Signal arrival to answer, ms (console clock).
    pub response_ms: Option<i64>,
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

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GovernanceView {
    pub now: DateTime<Utc>,
    pub config_version: u32,
    pub global_pause: Option<PauseView>,
    pub automations: Vec<AutomationView>,
    /// The entry signals waiting for a person, soonest to expire first, at most
    /// `governance::PENDING_LISTED` (50) of them.
    pub pending: Vec<PendingView>,
    /// How many are waiting in all.
    pub pending_total: u64,
    pub exits: Vec<ExitView>,
    /// Newest first.
    pub breaches: Vec<BreachView>,
    /// Policy: actions need a fresh two-factor code.
    pub fresh_totp_required: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PauseView {
    pub actor: String,
    pub reason: String,
    pub at: DateTime<Utc>,
    /// The circuit-breaker rule, when a breaker paused it.
    pub rule: Option<String>,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::Event;
    use chrono::TimeZone;

    fn t(s: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_700_000_000 + s, 0).single().unwrap_or_default()
    }

    fn ev(json: &str) -> Event {
        match Event::parse_json(json, t(1_000_000)) {
            Ok(e) => e,
            Err(e) => panic!("{e}: {json}"),
        }
    }

    fn signal(id: &str, automation: &str) -> Event {
        ev(&format!(
            r#"{{"event_id":"e-{id}","kind":"signal","ts":"2023-11-14T22:13:20Z","signal_id":"{id}","automation_id":"{automation}","instrument":"AAPL","intent":"entry","signal_type":"momentum","side":"buy","strength":0.5,"features":{{}},"model_version":"m1","prediction":0.01,"confidence":0.7}}"#
        ))
    }

    fn decision(id: &str, action: &str) -> Event {
        ev(&format!(r#"{{"event_id":"d-{id}","kind":"operator_response","ts":"2023-11-14T22:13:30Z","signal_id":"{id}","action":"{action}","actor":"alice","comment":"looks fine to me"}}"#))
    }

    #[test]
    fn exit_records_keep_the_first_answer_and_stay_bounded() {
        let p = Projection::new(Decimal::from(1_000_000));
        let mut g = Governance::new();
        let exit = |id: &str| {
            ev(&format!(
                r#"{{"event_id":"e-{id}","kind":"signal","ts":"2023-11-14T22:13:20Z","signal_id":"{id}","automation_id":"a1","instrument":"AAPL","intent":"exit","response_window_secs":300,"signal_type":"stop_loss","side":"sell","strength":0.5,"features":{{}},"model_version":"m1","prediction":0.01,"confidence":0.7}}"#
            ))
        };
        g.apply(1, &exit("x1"), t(0), &p);
        g.apply(2, &signal("n1", "a1"), t(1), &p);
        g.apply(3, &exit("x2"), t(2), &p);
        g.apply(4, &decision("x1", "acknowledge"), t(45), &p);
        g.apply(5, &decision("x1", "acknowledge"), t(99), &p);
        let r = g.exit_records(10);
        assert_eq!(r.iter().map(|r| r.signal_id.as_str()).collect::<Vec<_>>(), ["x2", "x1"], "entries are not exit records");
        assert_eq!(r[0].response, None);
        let answer = r[1].response.as_ref().expect("answered");
        assert_eq!((answer.action.as_str(), answer.actor.as_str(), answer.response_ms), ("acknowledge", "alice", Some(45_000)));
        assert_eq!((r[1].window_secs, r[1].instrument.as_str()), (300, "AAPL"));
        for n in 0..EXIT_LOG as u64 + 10 {
            g.apply(10 + n, &exit(&format!("y{n}")), t(200), &p);
        }
        assert_eq!(g.exit_records(usize::MAX).len(), EXIT_LOG);
        assert_eq!(g.exit_records(1)[0].signal_id, format!("y{}", EXIT_LOG + 9));
    }

    #[test]
    fn reasons_are_bounded_and_not_blank() {
        assert_eq!(Reason::parse("   "), Err(ReasonError::Blank));
        assert!(matches!(Reason::parse("too short"), Err(ReasonError::TooShort { got: 9, .. })));
        assert_eq!(Reason::parse("  limits reviewed  ").map(|r| r.to_string()), Ok("limits reviewed".to_string()));
        assert!(matches!(Reason::parse(&"x".repeat(2001)), Err(ReasonError::TooLong { .. })));
    }

    #[test]
    fn only_traders_decide_and_investors_see_only_the_portal() {
        assert!(Role::Trader.allows(Permission::DecideSignals));
        for r in [Role::Admin, Role::Risk, Role::Auditor, Role::Investor] {
            assert!(!r.allows(Permission::DecideSignals), "{r:?}");
        }
        assert!(!Role::Investor.allows(Permission::ViewOperations));
        assert!(Role::Investor.allows(Permission::ViewInvestor));
        assert!(!Role::Auditor.allows(Permission::ChangeConfig));
        assert!(Role::Risk.allows(Permission::PauseGlobal) && !Role::Trader.allows(Permission::PauseGlobal));
    }

    #[test]
    fn config_diff_names_each_changed_field() {
        let a = Config::default();
        let mut b = a.clone();
        b.gating.threshold = 3;
        b.breakers.max_daily_loss = Decimal::from(1000);
        let d = b.diff(&a);
        let paths: Vec<&str> = d.iter().map(|c| c.path.as_str()).collect();
        assert_eq!(paths, vec!["breakers.max_daily_loss", "gating.threshold"]);
        assert_eq!(d[1].before.as_deref(), Some("10"));
        assert_eq!(d[1].after.as_deref(), Some("3"));
        let mut bad = a.clone();
        bad.breakers.max_drawdown_pct = f64::NAN;
        assert_eq!(bad.validate().map_err(|e| e.field), Err("breakers.max_drawdown_pct".to_string()));
        assert!(Config::parse_value(&serde_json::json!({"gating": {"treshold": 3}})).is_err(), "typos are refused");
    }

    #[test]
    fn owners_limit_traders_and_security_is_admin_only() {
        let a = Config::default();
        assert!(a.may_operate("anyone", "mom"), "an automation without owners is open to every trader");
        let mut b = a.clone();
        b.owners.insert("mom".into(), vec!["alice".into()]);
        assert!(b.may_operate("alice", "mom") && !b.may_operate("bob", "mom") && b.may_operate("bob", "rev"));
        assert!(!Config::touches_admin_only(&b.diff(&a)));
        // Fewer approvals is admin-only; more is not.
        let mut lower = a.clone();
        lower.gating.threshold = 0;
        assert!(lower.lowers_gating(&a) && !a.lowers_gating(&lower));
        let mut with_override = a.clone();
        with_override.gating.overrides.insert("mom".into(), 20);
        assert!(a.lowers_gating(&with_override), "removing an override above the global threshold lowers it");
        assert!(!with_override.lowers_gating(&a));
        b.security.fresh_totp_for_actions = true;
        let d = b.diff(&a);
        assert!(Config::touches_admin_only(&d));
        assert!(d.iter().any(|c| c.path == "security.fresh_totp_for_actions" && c.after.as_deref() == Some("true")));
        b.owners.insert("rev".into(), vec![]);
        assert_eq!(b.validate().map_err(|e| e.field), Err("owners.rev".to_string()));
        let old = Config::parse_value(&serde_json::json!({"gating": {"threshold": 3}})).map_err(|e| e.to_string());
        assert_eq!(old.map(|c| (c.security.fresh_totp_for_actions, c.owners.len())), Ok((false, 0)), "older versions parse with the defaults");
        let bad = Config::parse_value(&serde_json::json!({"kpi_targets": {"slar": {"min": 60}}})).map_err(|e| e.field);
        assert_eq!(bad.err().as_deref(), Some("kpi_targets.slar"), "rates are fractions");
        let inverted = Config::parse_value(&serde_json::json!({"kpi_targets": {"fer": {"min": 0.5, "max": 0.2}}})).map_err(|e| e.field);
        assert_eq!(inverted.err().as_deref(), Some("kpi_targets.fer"));
        let ok = Config::parse_value(&serde_json::json!({"kpi_targets": {"ert_p95_ms": {"max": 120000}}})).map(|c| (c.kpi_targets.ert_p95_ms, c.kpi_targets.slar));
        assert_eq!(ok.ok(), Some((Band::at_most(120_000.0), Band::at_least(0.6))), "unnamed bands keep their defaults");
        assert_eq!(Band::at_least(0.6).holds(Some(0.5)), Some(false));
        assert_eq!(Band::at_most(0.3).holds(Some(0.3)), Some(true));
    }

    #[test]
    fn a_view_lists_the_soonest_to_expire_and_counts_every_waiting_signal() {
        let p = Projection::new(Decimal::from(1_000_000));
        let mut g = Governance::new();
        let n = PENDING_LISTED + 50;
        // Received newest-first by id order, so expiry order is not id order.
        for i in 0..n {
            let (id, automation) = (format!("s{:04}", n - i), if i % 2 == 0 { "mom" } else { "rev" });
            g.apply(i as u64 + 1, &signal(&id, automation), t(i as i64), &p);
        }
        let v = g.view(t(n as i64));
        assert_eq!(v.pending.len(), PENDING_LISTED);
        assert_eq!(v.pending_total, n as u64);
        assert_eq!(v.pending[0].signal_id, format!("s{n:04}"), "the first received expires first");
        assert!(v.pending.windows(2).all(|w| w[0].expires_at <= w[1].expires_at));
        let per: Vec<(String, u32)> = v.automations.iter().map(|a| (a.automation_id.clone(), a.pending)).collect();
        let half = (n / 2) as u32;
        assert_eq!(per, vec![("mom".into(), half), ("rev".into(), half)]);
        // The sweep returns exactly the expired ones, oldest first, and a decision takes one out.
        let due: Vec<String> =
            g.due(t(300 + 2), &p).into_iter().filter_map(|d| if let Action::Timeout { signal_id, .. } = d { Some(signal_id) } else { None }).collect();
        assert_eq!(due, vec![format!("s{n:04}"), format!("s{:04}", n - 1), format!("s{:04}", n - 2)]);
        g.apply(n as u64 + 1, &decision(&format!("s{n:04}"), "timeout"), t(303), &p);
        let v = g.view(t(303));
        assert_eq!((v.pending_total, v.automations[0].pending), (n as u64 - 1, half - 1));
        assert!(g.pending(&format!("s{n:04}")).is_none());
    }

    #[test]
    fn pending_rows_are_compact_and_their_detail_comes_from_the_log() {
        let p = Projection::new(Decimal::from(1_000_000));
        let mut g = Governance::new();
        let signal = ev(r#"{"event_id":"e-s9","kind":"signal","ts":"2023-11-14T22:13:20Z","signal_id":"s9","automation_id":"mom","instrument":"AAPL","intent":"entry","signal_type":"momentum","side":"buy","strength":0.5,"features":{"rsi_14":61.5},"model_version":"m1","prediction":0.01,"confidence":0.7}"#);
        let risk = ev(r#"{"event_id":"e-r9","kind":"risk_check","ts":"2023-11-14T22:13:21Z","signal_id":"s9","decision":"approve","risk_score":0.2,"checks":[{"name":"position_limit","status":"pass","value":0.03,"limit":0.1}]}"#);
        let llm = ev(r#"{"event_id":"e-l9","kind":"llm_decision","ts":"2023-11-14T22:13:22Z","signal_id":"s9","model":"m","prompt":"p","response":"r","reasoning":"trend intact","confidence":0.8,"decision":"approve"}"#);
        for (i, e) in [&signal, &risk, &llm].into_iter().enumerate() {
            g.apply(i as u64 + 1, e, t(i as i64), &p);
        }
        let mut row = g.view(t(5)).pending.remove(0);
        assert!(row.features.is_empty() && row.checks.is_empty() && row.llm_reasoning.is_none(), "kept compact: {row:?}");
        assert_eq!(row.risk_decision.as_deref(), Some("approve"), "the decision is kept: it decides whether the row stays");
        fill_pending_detail(&mut row, &[signal, risk, llm]);
        assert_eq!(row.features.get("rsi_14"), Some(&61.5));
        assert_eq!((row.checks.len(), row.checks[0].name.as_str()), (1, "position_limit"));
        assert_eq!((row.llm_reasoning.as_deref(), row.llm_decision.as_deref()), (Some("trend intact"), Some("approve")));
    }

    #[test]
    fn first_n_entries_wait_then_the_automation_unlocks() {
        let p = Projection::new(Decimal::from(1_000_000));
        let mut g = Governance::new();
        let mut cfg = Config::default();
        cfg.gating.threshold = 2;
        g.config = cfg;
        g.apply(1, &signal("s1", "mom"), t(0), &p);
        assert_eq!(g.gate("s1"), Some(Gate::Pending));
        assert_eq!(g.order_flag("o1", Some("s1")), Some("unapproved_signal"));
        g.apply(2, &decision("s1", "approve"), t(5), &p);
        assert_eq!(g.gate("s1"), Some(Gate::Approved));
        assert_eq!(g.order_flag("o1", Some("s1")), None);
        assert_eq!(g.decisions(Some("mom"), 0, 10)[0].response_ms, Some(5000));
        g.apply(3, &signal("s2", "mom"), t(10), &p);
        g.apply(4, &decision("s2", "reject"), t(11), &p);
        assert_eq!(g.gate("s2"), Some(Gate::Rejected));
        assert!(g.due(t(12), &p).iter().all(|d| !matches!(d, Action::Unlock { .. })), "one approval of two");
        g.apply(5, &signal("s3", "mom"), t(20), &p);
        // Unanswered: it times out after approval_timeout_secs on the console's clock.
        assert!(g.due(t(21), &p).is_empty());
        let due = g.due(t(20 + 300), &p);
        assert!(due.contains(&Action::Timeout { signal_id: "s3".into(), automation_id: "mom".into(), response_ms: 300_000 }), "{due:?}");
        g.apply(6, &decision("s3", "timeout"), t(320), &p);
        g.apply(7, &signal("s4", "mom"), t(330), &p);
        g.apply(8, &decision("s4", "approve"), t(331), &p);
        assert_eq!(g.due(t(332), &p), vec![Action::Unlock { automation_id: "mom".into(), approved: 2, threshold: 2 }]);
        let unlock = ev(r#"{"event_id":"u1","kind":"control","ts":"2023-11-14T22:20:00Z","action":"unlock","automation_id":"mom","actor":"console","reason":"2 approved trades reached"}"#);
        g.apply(9, &unlock, t(333), &p);
        g.apply(10, &signal("s5", "mom"), t(340), &p);
        assert_eq!(g.gate("s5"), Some(Gate::Automatic));
        assert_eq!(g.decisions(Some("mom"), 2, 10).len(), 3, "decisions after seq 2");
    }

    #[test]
    fn pause_flags_new_orders_and_breakers_trip_once_per_episode() {
        let p = Projection::new(Decimal::from(1_000_000));
        let mut g = Governance::new();
        g.config.gating.threshold = 0;
        g.config.breakers.max_signals_per_hour = 2;
        for (i, id) in ["a", "b", "c"].iter().enumerate() {
            g.apply(i as u64 + 1, &signal(id, "mom"), t(i as i64), &p);
        }
        let due: Vec<Action> = g.due(t(5), &p).into_iter().filter(|d| matches!(d, Action::Trip { .. })).collect();
        assert_eq!(due, vec![Action::Trip { automation_id: Some("mom".into()), rule: "max_signals_per_hour", value: 3.0, limit: 2.0 }]);
        assert!(g.due(t(6), &p).iter().all(|d| !matches!(d, Action::Trip { .. })), "a breach trips once");
        let pause = ev(r#"{"event_id":"p1","kind":"control","ts":"2023-11-14T22:20:00Z","action":"pause","automation_id":"mom","actor":"circuit_breaker","reason":"max_signals_per_hour 3 > 2","rule":"max_signals_per_hour","value":3,"limit":2}"#);
        g.apply(10, &pause, t(7), &p);
        assert!(g.is_paused(Some("mom")));
        assert_eq!(g.order_flag("o9", Some("a")), Some("paused"));
        assert!(!g.is_paused(Some("other")));
    }

    #[test]
    fn an_automations_realized_daily_loss_trips_its_own_breaker() {
        let mut p = Projection::new(Decimal::from(1_000_000));
        let mut g = Governance::new();
        g.config.gating.threshold = 0;
        g.config.breakers.automation_max_daily_loss = Decimal::from(150);
        let events = [
            signal("a", "mom"),
            ev(r#"{"event_id":"o1","kind":"order","ts":"2023-11-14T22:13:21Z","order_id":"o1","signal_id":"a","instrument":"AAPL","side":"buy","quantity":"10","order_type":"market","status":"submitted"}"#),
            ev(r#"{"event_id":"f1","kind":"fill","ts":"2023-11-14T22:13:22Z","fill_id":"f1","order_id":"o1","quantity":"10","price":"100","fee":"1","fee_currency":"USD","liquidity":"taker"}"#),
            ev(r#"{"event_id":"o2","kind":"order","ts":"2023-11-14T22:14:21Z","order_id":"o2","signal_id":"a","instrument":"AAPL","side":"sell","quantity":"10","order_type":"market","status":"submitted"}"#),
            ev(r#"{"event_id":"f2","kind":"fill","ts":"2023-11-14T22:14:22Z","fill_id":"f2","order_id":"o2","quantity":"10","price":"85","fee":"1","fee_currency":"USD","liquidity":"taker"}"#),
        ];
        for (i, e) in events.iter().enumerate() {
            p.apply(i as u64 + 1, e);
            g.apply(i as u64 + 1, e, t(i as i64), &p);
        }
        let trips: Vec<(Option<String>, &str, f64)> = g
            .due(t(10), &p)
            .into_iter()
            .filter_map(|d| match d {
                Action::Trip { automation_id, rule, value, .. } => Some((automation_id, rule, value)),
                _ => None,
            })
            .collect();
        assert_eq!(trips, vec![(Some("mom".into()), "automation_max_daily_loss", 152.0)], "150 + 2 fees lost; only this automation trips");
    }

    #[test]
    fn a_clean_stop_is_not_a_missing_heartbeat() {
        let p = Projection::new(Decimal::from(1_000_000));
        let hb = |id: &str, status: &str| ev(&format!(r#"{{"event_id":"{id}","kind":"heartbeat","ts":"2023-11-14T22:13:20Z","component":"replay-engine","status":"{status}"}}"#));
        let mut g = Governance::new();
        g.apply(1, &hb("h1", "ok"), t(0), &p);
        g.apply(2, &hb("h2", HEARTBEAT_STOPPED), t(10), &p);
        assert_eq!(g.due(t(600), &p), vec![], "silence after a clean stop trips nothing");
        // Its next heartbeat watches it again.
        g.apply(3, &hb("h3", "ok"), t(700), &p);
        assert!(matches!(g.due(t(800), &p).as_slice(), [Action::Trip { rule: "heartbeat_missing", .. }]));
    }
}
