//! Alert delivery: every notification the log says is owed (see `domain::anomaly::alerts`), in
//! the messages its route's grouping makes, goes to its receiver — the **webhook** (Slack-compatible JSON), **email** (over `smtp_url`) or a
//! Prometheus **Alertmanager** (`POST /api/v2/alerts`) — and each acceptance is recorded as a
//! `notified` event, so a restart re-sends exactly what was not confirmed.
//!
//! - The job wakes on every new log head and at least once a second: an alert is delivered
//!   within a second of the event that caused it.
//! - A failed delivery is retried with exponential backoff (1 s, 2 s, 4 s ... at most 60 s); the
//!   receiver's failures show on `/health` and in `/metrics`.
//! - Alertmanager forgets an alert that is not re-sent: every firing alert is posted again every
//!   [`RESEND`] with `endsAt` [`RESEND`] x 3 ahead, and a resolved one with its end. The console's
//!   silences are created there too (`POST /api/v2/silences`), so a silence made on `/alerts`
//!   also holds in Alertmanager's own routing.
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration as StdDuration;

use anyhow::{Context, Result};
use chrono::{DateTime, Duration, SecondsFormat, Utc};
use domain::anomaly::alerts::{AlertRow, AlertState, Batch, Notice};
use domain::event::{AlertChange, Severity};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};

use crate::config::Alerting;
use crate::console::Console;

/// How often firing alerts are posted to Alertmanager again.
pub const RESEND: Duration = Duration::seconds(60);
/// The longest wait between two attempts at a failing receiver.
const MAX_BACKOFF_SECS: i64 = 60;
/// How long one delivery may take.
const TIMEOUT: StdDuration = StdDuration::from_secs(5);

#[derive(Default)]
struct State {
    /// (group, receiver) -> (attempts, next attempt).
    retry: HashMap<(String, &'static str), (u32, DateTime<Utc>)>,
    last_resend: Option<DateTime<Utc>>,
    /// Console silences already created in Alertmanager.
    mirrored: HashSet<u64>,
}

/// The delivery job.
#[derive(Clone)]
pub struct AlertDelivery {
    console: Arc<Console>,
    http: reqwest::Client,
    settings: Alerting,
    mailer: Option<Arc<crate::mail::Mailer>>,
    state: Arc<Mutex<State>>,
}

/// What one run did.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Delivered {
    pub sent: usize,
    pub failed: usize,
    pub resent: usize,
}

impl AlertDelivery {
    pub fn new(console: Arc<Console>, settings: Alerting, mailer: Option<crate::mail::Mailer>) -> Result<Self> {
        let http = reqwest::Client::builder().timeout(TIMEOUT).build().context("the alert delivery HTTP client")?;
        let job = Self { console, http, settings, mailer: mailer.map(Arc::new), state: Arc::new(Mutex::new(State::default())) };
        for r in domain::config::alerting::RECEIVERS {
            job.console.receiver_configured(r, job.configured(r));
        }
        Ok(job)
    }

    fn configured(&self, receiver: &str) -> bool {
        match receiver {
            "webhook" => self.settings.webhook_url.is_some(),
            "alertmanager" => self.settings.alertmanager_url.is_some(),
            "email" => self.mailer.is_some(),
            _ => false,
        }
    }

    /// One pass at `now`: every message owed (grouped and timed by the routes) whose receiver
    /// is configured and not backing off, then the Alertmanager re-send when due.
    pub async fn run_once(&self, now: DateTime<Utc>) -> Result<Delivered> {
        let mut out = Delivered::default();
        let mut done = Vec::new();
        for batch in self.console.pending_batches(now) {
            let Some(receiver) = domain::config::alerting::RECEIVERS.into_iter().find(|r| *r == batch.receiver) else { continue };
            if !self.configured(receiver) {
                continue;
            }
            let key = (batch.group.clone(), receiver);
            let waiting = self.state.lock().ok().and_then(|s| s.retry.get(&key).copied());
            if waiting.is_some_and(|(_, next)| now < next) {
                continue;
            }
            match self.send(receiver, &batch, now).await {
                Ok(()) => {
                    out.sent += 1;
                    self.note(receiver, key, true, now);
                    done.extend(confirmations(&batch, now).into_iter().map(|(n, a)| (n, a, receiver)));
                }
                Err(e) => {
                    out.failed += 1;
                    tracing::warn!(receiver, group = %batch.group, error = %format!("{e:#}"), "alert delivery failed; retried with backoff");
                    self.note(receiver, key, false, now);
                }
            }
        }
        if !done.is_empty() {
            self.console.record_notified(done, now).await.map_err(|e| anyhow::anyhow!("{e}"))?;
        }
        out.resent = self.alertmanager_sync(now).await;
        Ok(out)
    }

    fn note(&self, receiver: &'static str, key: (String, &'static str), ok: bool, now: DateTime<Utc>) {
        self.console.receiver_outcome(receiver, ok, now);
        let Ok(mut s) = self.state.lock() else { return };
        if ok {
            s.retry.remove(&key);
        } else {
            let attempts = s.retry.get(&key).map(|r| r.0).unwrap_or(0).saturating_add(1);
            let wait = (1i64 << attempts.min(6).saturating_sub(1)).min(MAX_BACKOFF_SECS);
            s.retry.insert(key, (attempts, now + Duration::seconds(wait)));
        }
        // Entries for messages no longer owed are dropped once old.
        s.retry.retain(|_, (_, next)| now - *next < Duration::hours(2));
    }

    async fn send(&self, receiver: &str, b: &Batch, now: DateTime<Utc>) -> Result<()> {
        match receiver {
            "webhook" => {
                let url = self.settings.webhook_url.as_ref().context("no webhook")?;
                // The URL holds the webhook's token: errors never carry it.
                let res = self.http.post(url.expose_secret()).json(&self.webhook_body(b)).send().await.map_err(|e| anyhow::anyhow!("webhook unreachable: {}", e.without_url()))?;
                anyhow::ensure!(res.status().is_success(), "webhook answered {}", res.status());
                Ok(())
            }
            "alertmanager" => {
                let alerts: Vec<Value> = b.alerts.iter().map(|a| alertmanager_alert(a, &self.settings.console_url, now)).collect();
                self.post_alertmanager(&alerts).await
            }
            "email" => {
                let mailer = self.mailer.as_ref().context("no mailer")?;
                let (subject, body) = self.email(b);
                mailer.send_text(&subject, &body).await
            }
            other => anyhow::bail!("unknown receiver {other}"),
        }
    }

    fn link(&self, a: &AlertRow) -> String {
        format!("{}/alerts/{}", self.settings.console_url, a.fingerprint)
    }

    /// Slack's incoming-webhook JSON (`text` and one attachment per alert) and, for receivers
    /// that read it, Alertmanager's webhook payload (version 4: `status`, `groupKey`,
    /// `groupLabels`, `commonLabels`, `alerts`).
    fn webhook_body(&self, b: &Batch) -> Value {
        let (status, title) = headline(b);
        let text = match b.alerts.as_slice() {
            [a] => format!("{title}: {} <{}|open in Tradewatch>", a.summary, self.link(a)),
            _ => format!("{title} <{}/alerts|open in Tradewatch>", self.settings.console_url),
        };
        let attachments: Vec<Value> = b
            .alerts
            .iter()
            .map(|a| {
                let color = match (a.firing, a.severity) {
                    (false, _) => "#2e7d32",
                    (_, Severity::Critical) => "#c62828",
                    (_, Severity::Warning) => "#ef6c00",
                    _ => "#1565c0",
                };
                let fields: Vec<Value> = a.labels.iter().map(|(k, v)| json!({"title": k, "value": v, "short": true})).collect();
                json!({"color": color, "title": a.rule, "title_link": self.link(a), "text": a.summary, "fields": fields, "ts": a.starts_at.timestamp()})
            })
            .collect();
        let alerts: Vec<Value> = b
            .alerts
            .iter()
            .map(|a| {
                let notice = b.notices.iter().find(|n| n.fingerprint == a.fingerprint);
                json!({
                    "status": if a.firing { "firing" } else { "resolved" },
                    "fingerprint": a.fingerprint,
                    "seq": notice.map(|n| n.seq).unwrap_or(a.started_seq),
                    "step": notice.map(|n| n.step).unwrap_or(a.step),
                    "labels": a.labels,
                    "annotations": annotations(a, &self.settings.console_url),
                    "startsAt": a.starts_at.to_rfc3339_opts(SecondsFormat::Millis, true),
                    "endsAt": a.ends_at.map(|t| t.to_rfc3339_opts(SecondsFormat::Millis, true)),
                    "generatorURL": self.link(a),
                })
            })
            .collect();
        json!({
            "text": text,
            "attachments": attachments,
            "version": "4",
            "groupKey": b.group,
            "status": status,
            "receiver": b.receiver,
            "repeat": b.repeat,
            "escalation": b.notices.iter().any(|n| n.change == AlertChange::Escalated),
            "groupLabels": b.group_labels,
            "commonLabels": common_labels(&b.alerts),
            "externalURL": self.settings.console_url,
            "alerts": alerts,
        })
    }

    fn email(&self, b: &Batch) -> (String, String) {
        let (_, title) = headline(b);
        let subject = format!("{title} - Tradewatch");
        let mut body = String::new();
        if let Some(n) = b.notices.iter().find(|n| n.change == AlertChange::Escalated) {
            body.push_str(&format!("Nobody acknowledged it: this is escalation step {}.\n\n", n.step));
        }
        if b.repeat {
            body.push_str("A reminder: still firing, nobody has acknowledged it.\n\n");
        }
        for a in &b.alerts {
            let labels: Vec<String> = a.labels.iter().map(|(k, v)| format!("  {k} = {v}")).collect();
            body.push_str(&format!(
                "[{}] {} {}\n{}\nSince {} (event #{}).\nLabels:\n{}\nAcknowledge or silence it: {}\nRunbook: {}\n\n",
                if a.firing { "FIRING" } else { "RESOLVED" },
                a.severity.as_str(),
                a.rule,
                a.summary,
                a.starts_at.format("%Y-%m-%d %H:%M:%S UTC"),
                a.started_seq,
                labels.join("\n"),
                self.link(a),
                runbook_url(&self.settings.console_url, &a.rule)
            ));
        }
        (subject, body)
    }

    async fn post_alertmanager(&self, alerts: &[Value]) -> Result<()> {
        let base = self.settings.alertmanager_url.as_ref().context("no alertmanager")?;
        let res = self.http.post(format!("{base}/api/v2/alerts")).json(&alerts).send().await.context("alertmanager unreachable")?;
        anyhow::ensure!(res.status().is_success(), "alertmanager answered {}", res.status());
        Ok(())
    }

    /// Every [`RESEND`]: all firing alerts again (Alertmanager resolves what it stops hearing
    /// about), and the console's active silences created there once each.
    async fn alertmanager_sync(&self, now: DateTime<Utc>) -> usize {
        let Some(base) = self.settings.alertmanager_url.clone() else { return 0 };
        let due = self.state.lock().map(|s| s.last_resend.is_none_or(|t| now - t >= RESEND)).unwrap_or(false);
        if !due {
            return 0;
        }
        if let Ok(mut s) = self.state.lock() {
            s.last_resend = Some(now);
        }
        let firing: Vec<Value> = self.console.all_alerts(now).iter().filter(|a| a.state != AlertState::Resolved).map(|a| alertmanager_alert(a, &self.settings.console_url, now)).collect();
        let mut sent = 0;
        if !firing.is_empty() {
            match self.post_alertmanager(&firing).await {
                Ok(()) => sent = firing.len(),
                Err(e) => tracing::warn!(error = %format!("{e:#}"), "alertmanager re-send failed"),
            }
        }
        let silences = self.console.active_silences(now);
        for s in silences {
            if self.state.lock().map(|st| st.mirrored.contains(&s.id)).unwrap_or(true) {
                continue;
            }
            let matchers: Vec<Value> = s.matchers.iter().map(|(k, v)| json!({"name": k, "value": v, "isRegex": false, "isEqual": true})).collect();
            let body = json!({
                "matchers": matchers,
                "startsAt": s.starts_at.to_rfc3339_opts(SecondsFormat::Millis, true),
                "endsAt": s.ends_at.to_rfc3339_opts(SecondsFormat::Millis, true),
                "createdBy": s.actor,
                "comment": format!("tradewatch silence {}: {}", s.id, s.reason),
            });
            match self.http.post(format!("{base}/api/v2/silences")).json(&body).send().await {
                Ok(r) if r.status().is_success() => {
                    if let Ok(mut st) = self.state.lock() {
                        st.mirrored.insert(s.id);
                    }
                }
                Ok(r) => tracing::warn!(status = %r.status(), silence = s.id, "alertmanager refused a silence"),
                Err(e) => tracing::warn!(error = %e, silence = s.id, "alertmanager unreachable for a silence"),
            }
        }
        sent
    }

    /// Runs on every new log head, and at least every `every`, for the life of the process.
    pub fn spawn(self, every: StdDuration) {
        let mut head = self.console.head_watch();
        tokio::spawn(async move {
            loop {
                let now = Utc::now();
                let result = self.run_once(now).await;
                if let Err(e) = &result {
                    tracing::warn!(error = %format!("{e:#}"), "alert delivery pass failed; tried again");
                }
                self.console.job_done("alert delivery", result.is_ok(), now);
                tokio::select! {
                    _ = head.changed() => {}
                    _ = tokio::time::sleep(every) => {}
                }
            }
        });
    }
}

/// A message's status (firing while any of its alerts fires) and its title:
/// `[FIRING] critical rule` for one alert, `[FIRING:3] critical rule and 1 more rule` for more.
fn headline(b: &Batch) -> (&'static str, String) {
    let firing = b.alerts.iter().filter(|a| a.firing).count();
    let status = if firing > 0 { "firing" } else { "resolved" };
    let Some(top) = b.alerts.first() else { return (status, format!("[{}]", status.to_uppercase())) };
    let count = if b.alerts.len() == 1 { String::new() } else { format!(":{}", if firing > 0 { firing } else { b.alerts.len() }) };
    let rules: std::collections::BTreeSet<&str> = b.alerts.iter().map(|a| a.rule.as_str()).collect();
    let more = match rules.len() {
        0 | 1 => String::new(),
        2 => " and 1 more rule".to_string(),
        n => format!(" and {} more rules", n - 1),
    };
    (status, format!("[{}{count}] {} {}{more}", status.to_uppercase(), top.severity.as_str(), top.rule))
}

/// The labels every alert of a message shares.
fn common_labels(alerts: &[AlertRow]) -> std::collections::BTreeMap<String, String> {
    let Some((first, rest)) = alerts.split_first() else { return Default::default() };
    first.labels.iter().filter(|(k, v)| rest.iter().all(|a| a.labels.get(*k) == Some(*v))).map(|(k, v)| (k.clone(), v.clone())).collect()
}

/// The `notified` events a delivered message owes the log: one per notification it carried, or
/// for a reminder one per alert (which also dates the group's last message).
fn confirmations(b: &Batch, now: DateTime<Utc>) -> Vec<(Notice, AlertRow)> {
    if b.repeat {
        return b
            .alerts
            .iter()
            .map(|a| (Notice { seq: a.started_seq, fingerprint: a.fingerprint.clone(), change: AlertChange::Firing, step: a.step, at: now, pending: Default::default() }, a.clone()))
            .collect();
    }
    b.notices.iter().filter_map(|n| b.alerts.iter().find(|a| a.fingerprint == n.fingerprint).map(|a| (n.clone(), a.clone()))).collect()
}

/// The runbook entry of a rule on the console.
pub fn runbook_url(console_url: &str, rule: &str) -> String {
    format!("{console_url}/alerts/runbook#{rule}")
}

fn annotations(a: &AlertRow, console_url: &str) -> Value {
    json!({
        "summary": a.summary,
        "runbook_url": runbook_url(console_url, &a.rule),
        "seq": a.started_seq.to_string(),
        "console_url": format!("{console_url}/alerts/{}", a.fingerprint),
    })
}

/// An alert as Alertmanager's API v2 takes it.
fn alertmanager_alert(a: &AlertRow, console_url: &str, now: DateTime<Utc>) -> Value {
    let ends = a.ends_at.unwrap_or(now + RESEND * 3);
    json!({
        "labels": a.labels,
        "annotations": annotations(a, console_url),
        "startsAt": a.starts_at.to_rfc3339_opts(SecondsFormat::Millis, true),
        "endsAt": ends.to_rfc3339_opts(SecondsFormat::Millis, true),
        "generatorURL": format!("{console_url}/alerts/{}", a.fingerprint),
    })
}

/// Whether a secret is set, for start-up logs (never its value).
pub fn describe(settings: &Alerting, mailer: bool) -> String {
    let on = |b: bool| if b { "on" } else { "off" };
    let _: Option<&SecretString> = settings.webhook_url.as_ref();
    format!("webhook {}, email {}, alertmanager {}", on(settings.webhook_url.is_some()), on(mailer), on(settings.alertmanager_url.is_some()))
}
