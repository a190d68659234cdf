//! The alerts' workflow, a fold over `alert` and `alert_action` events: what is firing, who
//! acknowledged what, the silences, escalation, and the notifications each receiver still owes.
//!
//! - An alert is identified by its labels (Alertmanager's model); [`fingerprint`] hashes them.
//!   `firing` starts an episode, `resolved` ends it; firing again starts a new one, with its
//!   acknowledgement and escalation reset.
//! - **Routing**: a tree (`config.alerting.routes`, see `config::alerting::Route`): the deepest
//!   route whose matchers the labels include names the receivers of `firing` and `resolved`; an
//!   alert nobody acknowledged moves one escalation step every `escalate_after_secs` (`due`),
//!   each step to its receiver.
//! - **Grouping** (Alertmanager's timers): the webhook's and email's notifications of alerts
//!   with the same route and `group_by` values go out as one message ([`Alerts::batches`]): a
//!   new group's first after `group_wait`, its changes at most every `group_interval`, and a
//!   group still firing unacknowledged again after `repeat_interval`. Alertmanager gets each
//!   alert at once (it groups by its own routes); an escalation is one alert's, sent at once.
//! - **Silences** (matchers, author, reason, end) keep matching alerts from being delivered and
//!   from escalating; they still show, marked silenced. One may end when its alert resolves.
//! - **Inhibition**: while a breaker has paused all trading (`breaker_trip` of `automation="all"`
//!   firing), the alerts of single automations are not delivered (they still show and escalate).
//! - **Notifications**: each `firing` / `resolved` / `escalated` event owes a notification to
//!   each of its receivers until a `notified` event names it: the log is the delivery queue, so
//!   a restart re-sends what was not confirmed and nothing else.
use std::collections::{BTreeMap, BTreeSet};

use crate::hash::HashMap;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::config::alerting::{Alerting, Resolved};
use crate::event::{Alert, AlertAction, AlertActionKind, AlertChange, Body, Id, Severity};
use crate::fold::{Action, Fold, Stored};
use crate::projection::Projection;

/// Alerts kept (resolved ones leave first; the log keeps them all).
pub const ALERTS_KEPT: usize = 5_000;
/// Notifications owed, at most (the oldest are dropped).
pub const NOTICES_KEPT: usize = 10_000;
/// History entries kept per alert.
const HISTORY_KEPT: usize = 100;
/// Silences kept once ended.
const SILENCES_KEPT: usize = 1_000;
/// The shortest reason of a silence.
pub const MIN_SILENCE_REASON: usize = 10;
/// The longest silence.
pub const MAX_SILENCE_DAYS: i64 = 30;
/// An escalation asked for and not yet in the log is asked again after this long.
const REQUEST_RETRY_SECS: i64 = 30;

/// An alert's identity: the first 8 bytes of the SHA-256 of its labels, sorted by name, each as
/// `name=value` and a newline, without `severity` (an alert that changes severity stays one).
pub fn fingerprint(labels: &BTreeMap<String, String>) -> String {
    let mut h = Sha256::new();
    for (k, v) in labels.iter().filter(|(k, _)| k.as_str() != "severity") {
        h.update(k.as_bytes());
        h.update(b"=");
        h.update(v.as_bytes());
        h.update(b"\n");
    }
    hex::encode(&h.finalize()[..8])
}

/// Where an alert stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertState {
    /// Firing, nobody has acknowledged it, no silence matches.
    Firing,
    Acknowledged,
    /// Firing, matched by an active silence.
    Silenced,
    Resolved,
}

impl AlertState {
    pub const ALL: [AlertState; 4] = [AlertState::Firing, AlertState::Acknowledged, AlertState::Silenced, AlertState::Resolved];
    pub fn as_str(self) -> &'static str {
        match self {
            AlertState::Firing => "firing",
            AlertState::Acknowledged => "acknowledged",
            AlertState::Silenced => "silenced",
            AlertState::Resolved => "resolved",
        }
    }
    pub fn parse(s: &str) -> Option<AlertState> {
        AlertState::ALL.into_iter().find(|x| x.as_str() == s)
    }
}

/// One step of an alert's history (each an event in the log).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertStep {
    pub seq: u64,
    pub at: DateTime<Utc>,
    /// `firing`, `resolved`, `escalated`, `notified`, `acknowledge`, `silence`.
    pub action: String,
    pub actor: String,
    pub note: Option<String>,
}

/// An alert as the pages and the API show it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertRow {
    pub fingerprint: String,
    pub rule: String,
    pub severity: Severity,
    pub labels: BTreeMap<String, String>,
    pub summary: String,
    pub value: Option<f64>,
    pub threshold: Option<f64>,
    pub score: Option<f64>,
    /// The seqs of the events that caused the current episode.
    pub evidence: Vec<u64>,
    pub firing: bool,
    /// The seq of the current episode's `firing` event.
    pub started_seq: u64,
    pub starts_at: DateTime<Utc>,
    pub ends_at: Option<DateTime<Utc>>,
    /// Episodes so far (fired again after resolving).
    pub episodes: u32,
    pub acknowledged_by: Option<String>,
    pub acknowledged_at: Option<DateTime<Utc>>,
    pub acknowledge_note: Option<String>,
    /// The escalation step reached (0: the route's receivers) and when.
    pub step: u32,
    pub step_at: DateTime<Utc>,
    /// Filled by the reads at their `now`: the state and the silence that matches it.
    pub state: AlertState,
    pub silenced_by: Option<u64>,
    pub history: Vec<AlertStep>,
}

impl AlertRow {
    fn state_at(&self, silence: Option<u64>) -> AlertState {
        match (self.firing, silence, &self.acknowledged_by) {
            (false, _, _) => AlertState::Resolved,
            (true, Some(_), _) => AlertState::Silenced,
            (true, None, Some(_)) => AlertState::Acknowledged,
            (true, None, None) => AlertState::Firing,
        }
    }
}

/// A silence: alerts whose labels include every matcher are not delivered nor escalated from
/// `starts_at` until `ends_at` (or until ended early).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Silence {
    /// The seq of the `alert_action` that created it.
    pub id: u64,
    pub matchers: BTreeMap<String, String>,
    pub actor: String,
    pub reason: String,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    /// The alert it was made from, when it also ends as that alert resolves.
    pub until_resolved: Option<String>,
    pub ended_at: Option<DateTime<Utc>>,
    pub ended_by: Option<String>,
}

impl Silence {
    pub fn active_at(&self, now: DateTime<Utc>) -> bool {
        self.ended_at.is_none_or(|e| now < e) && now >= self.starts_at && now < self.ends_at
    }
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        !self.matchers.is_empty() && self.matchers.iter().all(|(k, v)| labels.get(k) == Some(v))
    }
}

/// A notification owed to receivers: the step at `seq` of alert `fingerprint`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Notice {
    pub seq: u64,
    pub fingerprint: String,
    pub change: AlertChange,
    pub step: u32,
    pub at: DateTime<Utc>,
    /// Receivers that have not confirmed it yet.
    pub pending: BTreeSet<String>,
}

/// One message owed to one receiver: the notifications it confirms and the alerts it shows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Batch {
    pub receiver: String,
    /// `path:{label=value,...}` for a group; `seq:N` for an alert sent alone.
    pub group: String,
    /// The values of the route's `group_by` labels.
    pub group_labels: BTreeMap<String, String>,
    /// The notifications it delivers (empty for a repeat).
    pub notices: Vec<Notice>,
    /// The alerts it shows: the notified ones and the group's others still firing, firing first.
    pub alerts: Vec<AlertRow>,
    /// A reminder of a group still firing that nobody acknowledged (`repeat_interval`).
    pub repeat: bool,
}

/// Alerts shown in one grouped message, at most.
pub const BATCH_ALERTS: usize = 50;
/// Groups whose last notification is remembered, at most (the oldest are forgotten).
const GROUPS_KEPT: usize = 10_000;

/// Filters of the alert list.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AlertQuery {
    pub state: Option<AlertState>,
    pub severity: Option<Severity>,
    pub rule: Option<String>,
    /// Rows (1..=500, default 100).
    pub limit: Option<usize>,
}

/// A page of alerts (active first, newest first) and counts over all the viewer may see.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AlertPage {
    /// Rows without their history.
    pub alerts: Vec<AlertRow>,
    pub matched: u64,
    /// Firing and unacknowledged, not silenced, by severity: info, warning, critical.
    pub firing_by_severity: [u64; 3],
    pub acknowledged: u64,
    pub silenced: u64,
    pub resolved: u64,
    /// Silences active now.
    pub silences: Vec<Silence>,
}

/// The alerts fold.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Alerts {
    params: Alerting,
    alerts: BTreeMap<String, AlertRow>,
    silences: BTreeMap<u64, Silence>,
    notices: BTreeMap<u64, Notice>,
    requested: HashMap<String, DateTime<Utc>>,
    /// `receiver|group` -> when that receiver was last told about that group.
    #[serde(default)]
    last_sent: BTreeMap<String, DateTime<Utc>>,
}

impl Alerts {
    pub fn new() -> Self {
        Self::default()
    }

    /// The silence matching `labels` at `now`, if any (the oldest).
    fn silence_of(&self, labels: &BTreeMap<String, String>, now: DateTime<Utc>) -> Option<u64> {
        self.silences.values().find(|s| s.active_at(now) && s.matches(labels)).map(|s| s.id)
    }

    /// One alert with its history, its state at `now`.
    pub fn alert(&self, fingerprint: &str, now: DateTime<Utc>) -> Option<AlertRow> {
        self.alerts.get(fingerprint).map(|a| self.at(a, now, true))
    }

    fn at(&self, a: &AlertRow, now: DateTime<Utc>, history: bool) -> AlertRow {
        let silence = if a.firing { self.silence_of(&a.labels, now) } else { None };
        let mut row = if history { a.clone() } else { AlertRow { history: Vec::new(), ..a.clone() } };
        row.silenced_by = silence;
        row.state = a.state_at(silence);
        row
    }

    /// Every alert at `now`, oldest first by fingerprint (for metrics and the API).
    pub fn all(&self, now: DateTime<Utc>) -> impl Iterator<Item = AlertRow> + '_ {
        self.alerts.values().map(move |a| self.at(a, now, false))
    }

    /// Whether an alert of `rule` is firing (without copying the rows).
    pub fn is_firing(&self, rule: &str) -> bool {
        self.alerts.values().any(|a| a.firing && a.rule == rule)
    }

    /// Silences active at `now`, newest first.
    pub fn active_silences(&self, now: DateTime<Utc>) -> Vec<Silence> {
        self.silences.values().rev().filter(|s| s.active_at(now)).cloned().collect()
    }

    pub fn silence(&self, id: u64) -> Option<&Silence> {
        self.silences.get(&id)
    }

    /// A page of the alerts `visible` lets the viewer see.
    pub fn query(&self, q: &AlertQuery, now: DateTime<Utc>, visible: Option<&dyn Fn(&AlertRow) -> bool>) -> AlertPage {
        let limit = q.limit.unwrap_or(100).clamp(1, 500);
        let mut page = AlertPage { silences: self.active_silences(now), ..AlertPage::default() };
        let mut rows: Vec<AlertRow> = Vec::new();
        for a in self.alerts.values() {
            if !visible.is_none_or(|v| v(a)) {
                continue;
            }
            let row = self.at(a, now, false);
            match row.state {
                AlertState::Firing => page.firing_by_severity[severity_index(row.severity)] += 1,
                AlertState::Acknowledged => page.acknowledged += 1,
                AlertState::Silenced => page.silenced += 1,
                AlertState::Resolved => page.resolved += 1,
            }
            if q.state.is_none_or(|s| row.state == s) && q.severity.is_none_or(|s| row.severity == s) && q.rule.as_deref().is_none_or(|r| row.rule == r) {
                rows.push(row);
            }
        }
        page.matched = rows.len() as u64;
        // Firing first (critical first), then the rest; newest first within each.
        rows.sort_by_key(|a| (!a.firing, std::cmp::Reverse(severity_index(a.severity)), std::cmp::Reverse(a.starts_at)));
        rows.truncate(limit);
        page.alerts = rows;
        page
    }

    /// Notifications owed at `now` that are younger than `max_age`, oldest first, each with its
    /// alert as it stands.
    pub fn pending(&self, now: DateTime<Utc>, max_age: Duration) -> Vec<(Notice, AlertRow)> {
        self.notices
            .values()
            .filter(|n| now - n.at <= max_age && !n.pending.is_empty())
            .filter_map(|n| self.alerts.get(&n.fingerprint).map(|a| (n.clone(), self.at(a, now, false))))
            .collect()
    }

    /// The messages each receiver is owed at `now`, grouping and timers applied (see the module
    /// doc); notifications older than `max_age` are left alone.
    pub fn batches(&self, now: DateTime<Utc>, max_age: Duration) -> Vec<Batch> {
        let mut out = Vec::new();
        // (receiver, group) -> (route, notices)
        let mut groups: BTreeMap<(String, String), (Resolved, Vec<Notice>)> = BTreeMap::new();
        for n in self.notices.values().filter(|n| now - n.at <= max_age && !n.pending.is_empty()) {
            let Some(alert) = self.alerts.get(&n.fingerprint) else { continue };
            let route = self.params.route(&alert.labels);
            for receiver in &n.pending {
                match &route {
                    Some(route) if receiver != "alertmanager" && n.change != AlertChange::Escalated => {
                        let key = (receiver.clone(), route.group_key(&alert.labels));
                        groups.entry(key).or_insert_with(|| (route.clone(), Vec::new())).1.push(n.clone());
                    }
                    _ => out.push(Batch { receiver: receiver.clone(), group: format!("seq:{}", n.seq), group_labels: BTreeMap::new(), notices: vec![n.clone()], alerts: vec![self.at(alert, now, false)], repeat: false }),
                }
            }
        }
        // The firing alerts each receiver would be reminded of, by group.
        let mut firing: BTreeMap<(String, String), (Resolved, Vec<AlertRow>)> = BTreeMap::new();
        for a in self.alerts.values().filter(|a| a.firing) {
            let Some(route) = self.params.route(&a.labels) else { continue };
            let row = self.at(a, now, false);
            let quiet = row.state != AlertState::Firing || self.inhibited(&a.labels);
            for receiver in route.receivers.iter().filter(|r| r.as_str() != "alertmanager") {
                let key = (receiver.clone(), route.group_key(&a.labels));
                let entry = firing.entry(key).or_insert_with(|| (route.clone(), Vec::new()));
                if !quiet {
                    entry.1.push(row.clone());
                }
            }
        }
        for ((receiver, group), (route, notices)) in groups {
            // A group with notifications owed is not reminded: its next message carries them.
            let others = firing.remove(&(receiver.clone(), group.clone())).map(|f| f.1).unwrap_or_default();
            let last = self.last_sent.get(&sent_key(&receiver, &group)).copied();
            let oldest = notices.iter().map(|n| n.at).min().unwrap_or(now);
            let ready = match last {
                // A group told within its repeat interval: its changes wait for the group interval.
                Some(t) if now - t < Duration::seconds(i64::from(route.repeat_interval_secs)) => now - t >= Duration::seconds(i64::from(route.group_interval_secs)),
                // A new group waits for more of its alerts.
                _ => now - oldest >= Duration::seconds(i64::from(route.group_wait_secs)),
            };
            if !ready {
                continue;
            }
            let mut alerts: Vec<AlertRow> = Vec::new();
            for n in &notices {
                if let Some(a) = self.alerts.get(&n.fingerprint).filter(|a| !alerts.iter().any(|x| x.fingerprint == a.fingerprint)) {
                    alerts.push(self.at(a, now, false));
                }
            }
            for a in others {
                if !alerts.iter().any(|x| x.fingerprint == a.fingerprint) {
                    alerts.push(a);
                }
            }
            let group_labels = shown(&route, &mut alerts);
            out.push(Batch { receiver, group, group_labels, notices, alerts, repeat: false });
        }
        // Reminders: a group told before, nothing owed to it now, still firing unacknowledged.
        for ((receiver, group), (route, mut alerts)) in firing {
            if alerts.is_empty() {
                continue;
            }
            let Some(last) = self.last_sent.get(&sent_key(&receiver, &group)) else { continue };
            if now - *last < Duration::seconds(i64::from(route.repeat_interval_secs)) {
                continue;
            }
            let group_labels = shown(&route, &mut alerts);
            out.push(Batch { receiver, group, group_labels, notices: Vec::new(), alerts, repeat: true });
        }
        out
    }

    /// Whether a person's step may be applied now (roles are the caller's to check): the reason
    /// it may not, in words a person reads.
    pub fn check_action(&self, a: &AlertAction, now: DateTime<Utc>) -> Result<(), &'static str> {
        match a.action {
            AlertActionKind::Acknowledge => {
                let fp = a.fingerprint.as_ref().ok_or("which alert?")?;
                let alert = self.alerts.get(fp.as_str()).ok_or("no such alert")?;
                if !alert.firing {
                    return Err("only a firing alert can be acknowledged");
                }
                if alert.acknowledged_by.is_some() {
                    return Err("this alert is already acknowledged");
                }
                Ok(())
            }
            AlertActionKind::Silence => {
                if a.matchers.is_empty() {
                    return Err("a silence needs at least one matcher");
                }
                if a.note.as_deref().map(|n| n.trim().chars().count()).unwrap_or(0) < MIN_SILENCE_REASON {
                    return Err("a reason of at least 10 characters is required");
                }
                match a.ends_at {
                    Some(end) if end <= now => Err("a silence must end in the future"),
                    Some(end) if end - now > Duration::days(MAX_SILENCE_DAYS) => Err("a silence lasts at most 30 days"),
                    Some(_) => Ok(()),
                    None => Err("when does the silence end?"),
                }
            }
            AlertActionKind::ExpireSilence => {
                let s = self.silences.get(&a.silence_id.ok_or("which silence?")?).ok_or("no such silence")?;
                if !s.active_at(now) {
                    return Err("this silence is not active");
                }
                Ok(())
            }
        }
    }

    fn receivers_of(&self, labels: &BTreeMap<String, String>, change: AlertChange, step: u32) -> BTreeSet<String> {
        let Some(route) = self.params.route(labels) else { return BTreeSet::new() };
        match change {
            AlertChange::Firing => route.receivers.iter().cloned().collect(),
            // Everyone told it fired is told it resolved.
            AlertChange::Resolved => route.receivers.iter().chain(route.escalation.iter().take(step as usize)).cloned().collect(),
            AlertChange::Escalated => route.escalation.get((step as usize).saturating_sub(1)).cloned().into_iter().collect(),
            AlertChange::Notified => BTreeSet::new(),
        }
    }

    /// Whether a global pause inhibits `labels`: while a breaker has paused all trading, the
    /// alerts of single automations are noise beside it (Alertmanager's inhibition rule).
    fn inhibited(&self, labels: &BTreeMap<String, String>) -> bool {
        let of_one_automation = labels.get("automation").is_some_and(|a| a != "all");
        of_one_automation && self.alerts.values().any(|r| r.firing && r.rule == "breaker_trip" && r.labels.get("automation").map(String::as_str) == Some("all"))
    }

    fn owe(&mut self, seq: u64, a: &Alert, step: u32, at: DateTime<Utc>) {
        if self.silence_of(&a.labels, at).is_some() || (a.change != AlertChange::Resolved && self.inhibited(&a.labels)) {
            return;
        }
        let pending = self.receivers_of(&a.labels, a.change, step);
        if pending.is_empty() {
            return;
        }
        if self.notices.len() >= NOTICES_KEPT {
            self.notices.pop_first();
        }
        self.notices.insert(seq, Notice { seq, fingerprint: a.fingerprint.to_string(), change: a.change, step, at, pending });
    }

    fn on_alert(&mut self, s: &Stored<'_>, a: &Alert) {
        let fp = a.fingerprint.to_string();
        let at = s.received_at;
        let entry = |action: &str, actor: &str, note: Option<String>| AlertStep { seq: s.seq, at, action: action.to_string(), actor: actor.to_string(), note };
        match a.change {
            AlertChange::Firing => {
                let episodes = self.alerts.get(&fp).map(|r| r.episodes).unwrap_or(0);
                let mut history = self.alerts.remove(&fp).map(|r| r.history).unwrap_or_default();
                push(&mut history, entry("firing", "console", Some(a.summary.chars().take(500).collect())));
                let row = AlertRow {
                    fingerprint: fp.clone(),
                    rule: a.rule.to_string(),
                    severity: a.severity,
                    labels: a.labels.clone(),
                    summary: a.summary.clone(),
                    value: a.value,
                    threshold: a.threshold,
                    score: a.score,
                    evidence: a.evidence.clone(),
                    firing: true,
                    started_seq: s.seq,
                    starts_at: at,
                    ends_at: None,
                    episodes: episodes.saturating_add(1),
                    acknowledged_by: None,
                    acknowledged_at: None,
                    acknowledge_note: None,
                    step: 0,
                    step_at: at,
                    state: AlertState::Firing,
                    silenced_by: None,
                    history,
                };
                self.alerts.insert(fp.clone(), row);
                self.requested.remove(&fp);
                self.owe(s.seq, a, 0, at);
                self.evict();
            }
            AlertChange::Resolved => {
                let Some(row) = self.alerts.get_mut(&fp) else { return };
                if !row.firing {
                    return;
                }
                row.firing = false;
                row.ends_at = Some(at);
                push(&mut row.history, entry("resolved", "console", None));
                let step = row.step;
                self.requested.remove(&fp);
                for silence in self.silences.values_mut().filter(|x| x.until_resolved.as_deref() == Some(fp.as_str()) && x.ended_at.is_none()) {
                    silence.ended_at = Some(at);
                    silence.ended_by = Some("console".into());
                }
                self.owe(s.seq, a, step, at);
            }
            AlertChange::Escalated => {
                // An alert that resolved meanwhile (the same tick) has nobody left to wake.
                let Some(row) = self.alerts.get_mut(&fp).filter(|r| r.firing) else { return };
                let step = a.step.unwrap_or(row.step.saturating_add(1));
                row.step = step;
                row.step_at = at;
                push(&mut row.history, entry("escalated", "console", Some(format!("step {step}"))));
                self.requested.remove(&fp);
                self.owe(s.seq, a, step, at);
            }
            AlertChange::Notified => {
                let (Some(ref_seq), Some(receiver)) = (a.ref_seq, &a.receiver) else { return };
                if let Some(route) = self.params.route(&a.labels) {
                    if self.last_sent.len() >= GROUPS_KEPT
                        && let Some(oldest) = self.last_sent.iter().min_by_key(|(_, t)| **t).map(|(k, _)| k.clone())
                    {
                        self.last_sent.remove(&oldest);
                    }
                    self.last_sent.insert(sent_key(receiver.as_str(), &route.group_key(&a.labels)), at);
                }
                if let Some(n) = self.notices.get_mut(&ref_seq) {
                    n.pending.remove(receiver.as_str());
                    if n.pending.is_empty() {
                        self.notices.remove(&ref_seq);
                    }
                }
                if let Some(row) = self.alerts.get_mut(&fp) {
                    push(&mut row.history, entry("notified", receiver.as_str(), Some(format!("of event {ref_seq}"))));
                }
            }
        }
    }

    fn on_action(&mut self, s: &Stored<'_>, a: &AlertAction) {
        let at = s.received_at;
        let step = |action: &str, note: Option<String>| AlertStep { seq: s.seq, at, action: action.to_string(), actor: a.actor.to_string(), note };
        match a.action {
            AlertActionKind::Acknowledge => {
                let Some(row) = a.fingerprint.as_ref().and_then(|f| self.alerts.get_mut(f.as_str())) else { return };
                if !row.firing {
                    return;
                }
                row.acknowledged_by = Some(a.actor.to_string());
                row.acknowledged_at = Some(at);
                row.acknowledge_note = a.note.clone();
                push(&mut row.history, step("acknowledge", a.note.clone()));
            }
            AlertActionKind::Silence => {
                let Some(ends_at) = a.ends_at else { return };
                let source = a.fingerprint.as_ref().map(Id::to_string);
                let silence = Silence {
                    id: s.seq,
                    matchers: a.matchers.clone(),
                    actor: a.actor.to_string(),
                    reason: a.note.clone().unwrap_or_default(),
                    starts_at: at,
                    ends_at,
                    until_resolved: source.clone().filter(|_| a.end_on_resolve == Some(true)),
                    ended_at: None,
                    ended_by: None,
                };
                for row in self.alerts.values_mut().filter(|r| silence.matches(&r.labels)) {
                    push(&mut row.history, step("silence", Some(format!("silence {}: {}", s.seq, silence.reason.chars().take(300).collect::<String>()))));
                }
                self.silences.insert(s.seq, silence);
                if self.silences.len() > SILENCES_KEPT
                    && let Some(old) = self.silences.values().find(|x| x.ended_at.is_some() || x.ends_at < at).map(|x| x.id)
                {
                    self.silences.remove(&old);
                }
            }
            AlertActionKind::ExpireSilence => {
                if let Some(x) = a.silence_id.and_then(|id| self.silences.get_mut(&id))
                    && x.ended_at.is_none()
                {
                    x.ended_at = Some(at);
                    x.ended_by = Some(a.actor.to_string());
                }
            }
        }
    }

    /// Drops the oldest resolved alerts past [`ALERTS_KEPT`].
    fn evict(&mut self) {
        while self.alerts.len() > ALERTS_KEPT {
            let oldest = self.alerts.values().filter(|r| !r.firing).min_by_key(|r| r.ends_at).map(|r| r.fingerprint.clone());
            match oldest {
                Some(fp) => {
                    self.alerts.remove(&fp);
                }
                None => break,
            }
        }
    }
}

/// The key of `last_sent`: a receiver and a group.
fn sent_key(receiver: &str, group: &str) -> String {
    format!("{receiver}|{group}")
}

/// A message's alerts in the order it shows them (firing, most severe, oldest first), at most
/// [`BATCH_ALERTS`]; returns the route's `group_by` labels as the first of them has them.
fn shown(route: &Resolved, alerts: &mut Vec<AlertRow>) -> BTreeMap<String, String> {
    alerts.sort_by_key(|a| (!a.firing, std::cmp::Reverse(severity_index(a.severity)), a.starts_at));
    alerts.truncate(BATCH_ALERTS);
    route.group_by.iter().filter_map(|k| alerts.first().and_then(|a| a.labels.get(k)).map(|v| (k.clone(), v.clone()))).collect()
}

fn push(history: &mut Vec<AlertStep>, step: AlertStep) {
    if history.len() >= HISTORY_KEPT {
        history.remove(0);
    }
    history.push(step);
}

fn severity_index(s: Severity) -> usize {
    match s {
        Severity::Info => 0,
        Severity::Warning => 1,
        Severity::Critical => 2,
    }
}

impl Fold for Alerts {
    fn name(&self) -> &'static str {
        "alerts"
    }
    fn apply(&mut self, stored: &Stored<'_>, _book: &Projection) {
        match &stored.event.body {
            Body::ConfigChange(c) => self.params = c.config.alerting.clone(),
            Body::Alert(a) => self.on_alert(stored, a),
            Body::AlertAction(a) => self.on_action(stored, a),
            _ => {}
        }
    }
    /// Escalations due at `now`: a firing alert nobody acknowledged and no silence matches,
    /// `escalate_after_secs` after its last step, while its route has a next step.
    fn due(&mut self, now: DateTime<Utc>, _book: &Projection) -> Vec<Action> {
        let after = Duration::seconds(i64::from(self.params.escalate_after_secs));
        let retry = Duration::seconds(REQUEST_RETRY_SECS);
        let mut out = Vec::new();
        let due: Vec<&AlertRow> = self
            .alerts
            .values()
            .filter(|r| r.firing && r.acknowledged_by.is_none() && now - r.step_at >= after)
            .filter(|r| self.params.route(&r.labels).is_some_and(|route| (r.step as usize) < route.escalation.len()))
            .filter(|r| self.silence_of(&r.labels, now).is_none())
            .filter(|r| self.requested.get(&r.fingerprint).is_none_or(|t| now - *t >= retry))
            .collect();
        let mut asked = Vec::new();
        for r in due {
            let (Ok(fingerprint), Ok(rule)) = (Id::parse(&r.fingerprint), Id::parse(&r.rule)) else { continue };
            let step = r.step.saturating_add(1);
            out.push(Action::Alert(Alert {
                change: AlertChange::Escalated,
                fingerprint,
                rule,
                severity: r.severity,
                labels: r.labels.clone(),
                summary: format!("not acknowledged {} min after step {}: escalated to step {step}", (now - r.step_at).num_minutes(), r.step),
                value: r.value,
                threshold: r.threshold,
                score: None,
                evidence: vec![r.started_seq],
                step: Some(step),
                ref_seq: None,
                receiver: None,
            }));
            asked.push(r.fingerprint.clone());
        }
        for fp in asked {
            self.requested.insert(fp, now);
        }
        out
    }
}
