//! Alerts: the reads of the alerts fold, a person's steps on them (acknowledge, silence, end a
//! silence), authorised here again and appended as `alert_action` events, and what the delivery
//! job needs (notifications owed, confirmations).
use app::error::AppError;
use app::service::AlertStepRequest;
use app::session::SessionUser;
use chrono::{DateTime, Duration, Utc};
use domain::anomaly::AnomalyRecord;
use domain::anomaly::alerts::{AlertPage, AlertQuery, AlertRow, Batch, Notice};
use domain::event::{Alert, AlertAction, AlertActionKind, AlertChange, Body, Id};
use domain::governance::{Config, Role};
use domain::view::ReceiverHealth;

use super::*;

/// Notifications older than this are no longer delivered (a receiver down for longer gets the
/// alerts that are still firing through the Alertmanager re-sends and the console itself).
pub const DELIVERY_MAX_AGE: Duration = Duration::hours(1);

/// The ingest error-rate rule: over this window ...
const INGEST_WINDOW_SECS: i64 = 300;
/// ... more than this share of batches rejected ...
const INGEST_ERROR_SHARE: f64 = 0.05;
/// ... out of at least this many batches.
const INGEST_MIN_BATCHES: u32 = 20;
/// A state change asked for and not yet seen in the alerts is asked again after this long.
const INGEST_ASK_AGAIN_SECS: i64 = 30;

/// Ingest batches by second over the last 5 minutes, accepted and rejected: the window of the
/// runbook's error-rate rule (a rejected batch stores nothing, so the console keeps the count).
#[derive(Default)]
pub(super) struct IngestWindow {
    buckets: std::collections::VecDeque<(i64, u32, u32)>,
    asked: Option<DateTime<Utc>>,
}

impl IngestWindow {
    pub(super) fn add(&mut self, ok: bool, now: DateTime<Utc>) {
        let sec = now.timestamp();
        match self.buckets.back_mut() {
            Some(b) if b.0 == sec => {
                if ok { b.1 = b.1.saturating_add(1) } else { b.2 = b.2.saturating_add(1) }
            }
            _ => self.buckets.push_back((sec, u32::from(ok), u32::from(!ok))),
        }
        self.prune(now);
    }

    fn prune(&mut self, now: DateTime<Utc>) {
        while self.buckets.front().is_some_and(|b| now.timestamp() - b.0 >= INGEST_WINDOW_SECS) {
            self.buckets.pop_front();
        }
    }

    /// (batches, rejected) over the window ending at `now`.
    fn totals(&mut self, now: DateTime<Utc>) -> (u32, u32) {
        self.prune(now);
        self.buckets.iter().fold((0u32, 0u32), |(n, bad), b| (n.saturating_add(b.1).saturating_add(b.2), bad.saturating_add(b.2)))
    }
}

/// Whether `viewer` may act on an alert: risk on every alert, a trader on those of an
/// automation he operates.
fn may_act(viewer: &SessionUser, config: &Config, alert: &AlertRow) -> bool {
    match viewer.role {
        Role::Risk => true,
        Role::Trader => alert.labels.get("automation").is_some_and(|a| a != "all" && config.may_operate(&viewer.username, a)),
        _ => false,
    }
}

impl Console {
    /// The ingest error-rate rule at `now`: a `system` event `console.ingest` / `error_rate`
    /// when more than 5% of at least 20 batches were rejected over the last 5 minutes and its
    /// alert is not firing, `ok` when it is firing and the share is back under.
    pub(super) async fn check_ingest_errors(&self, now: DateTime<Utc>) {
        let firing = read(&self.folds).alerts.is_firing("ingest_error_rate");
        let body = {
            let Ok(mut w) = self.counters.window.lock() else { return };
            let (n, bad) = w.totals(now);
            let high = n >= INGEST_MIN_BATCHES && f64::from(bad) > INGEST_ERROR_SHARE * f64::from(n);
            if high == firing || w.asked.is_some_and(|t| now - t < Duration::seconds(INGEST_ASK_AGAIN_SECS)) {
                return;
            }
            w.asked = Some(now);
            let share = if n > 0 { 100.0 * f64::from(bad) / f64::from(n) } else { 0.0 };
            let detail = format!("{bad} of {n} batches rejected ({share:.1}%) over the last {} min", INGEST_WINDOW_SECS / 60);
            system_event("console.ingest", if high { "error_rate" } else { "ok" }, detail)
        };
        match body {
            Ok(body) => {
                if let Err(e) = self.record(vec![body], now).await {
                    tracing::error!(error = %e, "recording the ingest error rate");
                }
            }
            Err(e) => tracing::error!(error = %e, "an ingest error-rate event that cannot be written"),
        }
    }

    /// A page of alerts at `now`.
    pub fn alerts_page(&self, q: &AlertQuery, now: DateTime<Utc>) -> AlertPage {
        read(&self.folds).alerts.query(q, now, None)
    }

    pub fn alert_row(&self, fingerprint: &str, now: DateTime<Utc>) -> Option<AlertRow> {
        read(&self.folds).alerts.alert(fingerprint, now)
    }

    /// Each source's clock against the console's (`/metrics`; `/health` reads it with the rest).
    pub fn source_clocks(&self) -> Vec<domain::anomaly::quality::SourceClock> {
        read(&self.folds).anomaly.quality().clocks()
    }

    /// The silences active at `now`, newest first.
    pub fn active_silences(&self, now: DateTime<Utc>) -> Vec<domain::anomaly::alerts::Silence> {
        read(&self.folds).alerts.active_silences(now)
    }

    /// Every alert at `now` (metrics).
    pub fn all_alerts(&self, now: DateTime<Utc>) -> Vec<AlertRow> {
        read(&self.folds).alerts.all(now).collect()
    }

    /// The newest `limit` anomalies with `from <= received_at < to`, newest first.
    pub fn anomalies(&self, from: Option<DateTime<Utc>>, to: Option<DateTime<Utc>>, limit: usize) -> (Vec<AnomalyRecord>, u64) {
        let folds = read(&self.folds);
        let rows: Vec<AnomalyRecord> = folds.anomaly.anomalies(from, to).rev().take(limit).cloned().collect();
        (rows, folds.anomaly.anomaly_count())
    }

    /// The order -> fill latency p95 over the runbook's window, ms.
    pub fn latency_p95_ms(&self) -> Option<f64> {
        read(&self.folds).anomaly.latency_p95_ms()
    }

    /// Notifications still owed at `now`, with their alerts.
    /// The messages owed at `now`, grouped and timed by the routes (see `domain::anomaly::alerts`).
    pub fn pending_batches(&self, now: DateTime<Utc>) -> Vec<Batch> {
        read(&self.folds).alerts.batches(now, DELIVERY_MAX_AGE)
    }

    /// A receiver accepted these notifications: one `notified` event each.
    pub async fn record_notified(&self, done: Vec<(Notice, AlertRow, &'static str)>, now: DateTime<Utc>) -> Result<(), AppError> {
        let mut bodies = Vec::with_capacity(done.len());
        for (n, a, receiver) in done {
            let (Ok(fingerprint), Ok(rule), Ok(receiver)) = (Id::parse(&n.fingerprint), Id::parse(&a.rule), Id::parse(receiver)) else { continue };
            bodies.push(Body::Alert(Alert {
                change: AlertChange::Notified,
                fingerprint,
                rule,
                severity: a.severity,
                labels: a.labels,
                summary: format!("{} of event {} delivered to {receiver}", n.change.as_str(), n.seq),
                value: None,
                threshold: None,
                score: None,
                evidence: vec![n.seq],
                step: Some(n.step),
                ref_seq: Some(n.seq),
                receiver: Some(receiver),
            }));
        }
        if bodies.is_empty() {
            return Ok(());
        }
        self.record(bodies, now).await.map(|_| ()).map_err(|e| {
            tracing::error!(error = %e, "recording alert deliveries");
            AppError::Internal
        })
    }

    /// A receiver is (or is not) configured: the delivery job says so at its start.
    pub fn receiver_configured(&self, receiver: &str, configured: bool) {
        if let Ok(mut r) = self.receivers.lock() {
            r.entry(receiver.to_string()).or_insert_with(|| ReceiverHealth { receiver: receiver.to_string(), ..Default::default() }).configured = configured;
        }
    }

    /// One delivery attempt's outcome.
    pub fn receiver_outcome(&self, receiver: &str, ok: bool, now: DateTime<Utc>) {
        let Ok(mut r) = self.receivers.lock() else { return };
        let h = r.entry(receiver.to_string()).or_insert_with(|| ReceiverHealth { receiver: receiver.to_string(), ..Default::default() });
        if ok {
            h.delivered += 1;
            h.failing_for = 0;
            h.last_success = Some(now);
        } else {
            h.failed += 1;
            h.failing_for = h.failing_for.saturating_add(1);
            h.last_failure = Some(now);
        }
    }

    /// The alert receivers' records, by name (none before the delivery job starts).
    pub fn receivers(&self) -> Vec<ReceiverHealth> {
        self.receivers.lock().map(|r| r.values().cloned().collect()).unwrap_or_default()
    }

    /// The log's head as it moves (the delivery job wakes on it).
    pub fn head_watch(&self) -> watch::Receiver<u64> {
        self.head_tx.subscribe()
    }

    /// Alerts the viewer may act on (the page's buttons; the step is checked again).
    pub fn may_act_on_alert(&self, viewer: &SessionUser, alert: &AlertRow) -> bool {
        may_act(viewer, read(&self.folds).governance.config(), alert)
    }

    /// A person's step on the alerts, authorised and checked against the state it applies to,
    /// then appended. Returns the event's seq (a silence's id).
    pub async fn alert_step(&self, actor: &SessionUser, step: AlertStepRequest, now: DateTime<Utc>) -> Result<u64, AppError> {
        let actor_id = Id::parse(&actor.username).map_err(|_| AppError::Forbidden)?;
        let trim = |s: Option<String>| s.map(|n| n.trim().chars().take(2000).collect::<String>()).filter(|n| !n.is_empty());
        // One step at a time: the state it was checked against is the one it applies to.
        let _one_at_a_time = self.review_lock.lock().await;
        let action = {
            let folds = read(&self.folds);
            let config = folds.governance.config();
            let alert = |fp: &str| folds.alerts.alert(fp, now).ok_or(AppError::NotFound);
            let action = match step {
                AlertStepRequest::Acknowledge { fingerprint, note } => {
                    let a = alert(&fingerprint)?;
                    if !may_act(actor, config, &a) {
                        return Err(AppError::Forbidden);
                    }
                    AlertAction { action: AlertActionKind::Acknowledge, fingerprint: Id::parse(&fingerprint).ok(), silence_id: None, matchers: Default::default(), ends_at: None, end_on_resolve: None, actor: actor_id, note: trim(note) }
                }
                AlertStepRequest::Silence { fingerprint, whole_rule, minutes, until_resolved, reason } => {
                    let a = alert(&fingerprint)?;
                    if !may_act(actor, config, &a) {
                        return Err(AppError::Forbidden);
                    }
                    if !(1..=domain::anomaly::alerts::MAX_SILENCE_DAYS as u32 * 1440).contains(&minutes) {
                        return Err(AppError::Invalid("a silence lasts from 1 minute to 30 days".into()));
                    }
                    let mut matchers: std::collections::BTreeMap<String, String> = a.labels.iter().filter(|(k, _)| k.as_str() != "severity").map(|(k, v)| (k.clone(), v.clone())).collect();
                    if whole_rule {
                        matchers.retain(|k, _| k == "alertname" || k == "automation");
                    }
                    AlertAction {
                        action: AlertActionKind::Silence,
                        fingerprint: Id::parse(&fingerprint).ok(),
                        silence_id: None,
                        matchers,
                        ends_at: Some(now + Duration::minutes(i64::from(minutes))),
                        end_on_resolve: Some(until_resolved),
                        actor: actor_id,
                        note: trim(Some(reason)),
                    }
                }
                AlertStepRequest::ExpireSilence { id } => {
                    let s = folds.alerts.silence(id).ok_or(AppError::NotFound)?;
                    // Risk ends any silence; a trader the ones he made.
                    if !(actor.role == Role::Risk || (actor.role == Role::Trader && s.actor == actor.username)) {
                        return Err(AppError::Forbidden);
                    }
                    AlertAction { action: AlertActionKind::ExpireSilence, fingerprint: None, silence_id: Some(id), matchers: Default::default(), ends_at: None, end_on_resolve: None, actor: actor_id, note: None }
                }
            };
            folds.alerts.check_action(&action, now).map_err(|why| if why.starts_with("a reason") || why.starts_with("a silence") { AppError::Invalid(why.into()) } else { AppError::Conflict(why.into()) })?;
            action
        };
        let seqs = self.record(vec![Body::AlertAction(action)], now).await.map_err(|e| {
            tracing::error!(error = %e, "recording an alert step");
            AppError::Internal
        })?;
        seqs.first().copied().ok_or(AppError::Internal)
    }
}
