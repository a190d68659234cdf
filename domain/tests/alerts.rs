//! The anomaly and alerts folds together, as the console runs them: detection, routing,
//! escalation, acknowledgement and silences.
use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use rust_decimal::Decimal;

use domain::anomaly::alerts::{AlertQuery, AlertState, fingerprint};
use domain::config::Config;
use domain::event::{Alert, AlertAction, AlertActionKind, AlertChange, Body, ConfigChange, Event, Id, wire};
use domain::fold::{Action, Stored};
use domain::folds::Folds;
use domain::text::Reason;

fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).map(|t| t.with_timezone(&Utc)).unwrap_or_default()
}

fn id(s: &str) -> Id {
    Id::parse(s).unwrap_or_else(|e| panic!("{e}"))
}

/// The console's loop in miniature: events in, `due` after each one, alert actions appended.
struct Desk {
    f: Folds,
    seq: u64,
    now: DateTime<Utc>,
    n: u64,
    /// Every alert event appended, in order.
    alerts: Vec<Alert>,
}

impl Desk {
    fn new(config: Config) -> Desk {
        let mut d = Desk { f: Folds::new(Decimal::from(1_000_000)), seq: 0, now: t("2024-03-08T15:00:00Z"), n: 0, alerts: Vec::new() };
        d.body(Body::ConfigChange(ConfigChange { version: 1, actor: id("test"), reason: Reason::parse("test config").unwrap_or_else(|_| panic!("reason")), config }));
        d
    }
    fn apply(&mut self, e: &Event) -> u64 {
        self.seq += 1;
        let mut failures = Vec::new();
        self.f.apply(&Stored { seq: self.seq, event: e, received_at: self.now }, &mut failures);
        assert!(failures.is_empty(), "{failures:?}");
        self.seq
    }
    fn body(&mut self, body: Body) -> u64 {
        self.n += 1;
        let e = Event { event_id: id(&format!("c{}", self.n)), ts: self.now, body };
        let back = Event::parse_json(&wire::to_json(&e), self.now + Duration::days(1)).unwrap_or_else(|e| panic!("{e}"));
        self.apply(&back)
    }
    /// Runs `due` and appends the alert actions (through the wire format); returns them.
    fn tick(&mut self) -> Vec<Alert> {
        let due = self.f.due(self.now);
        let mut out = Vec::new();
        for a in due {
            if let Action::Alert(a) = a {
                self.body(Body::Alert(a.clone()));
                self.alerts.push(a.clone());
                out.push(a);
            }
        }
        out
    }
    fn send(&mut self, json: &str) -> u64 {
        self.n += 1;
        let line = format!(r#"{{"event_id":"e{}","ts":"{}",{}}}"#, self.n, self.now.to_rfc3339(), json);
        let e = Event::parse_json(&line, self.now + Duration::days(1)).unwrap_or_else(|e| panic!("{e}: {line}"));
        self.apply(&e)
    }
    /// A market order of `automation` at mark 100, filled at `price` after `latency_ms`.
    fn trade(&mut self, automation: &str, price: &str, latency_ms: i64) {
        self.n += 1;
        let n = self.n;
        self.send(r#""kind":"market_snapshot","instrument":"AAPL","bid":"100","ask":"100","mid":"100","last":"100","volume":"0""#);
        self.send(&format!(r#""kind":"signal","signal_id":"s{n}","automation_id":"{automation}","instrument":"AAPL","intent":"entry","signal_type":"momentum","side":"buy","strength":0.5,"features":{{}},"model_version":"m","prediction":0.0,"confidence":0.5"#));
        self.send(&format!(r#""kind":"order","order_id":"o{n}","signal_id":"s{n}","instrument":"AAPL","side":"buy","quantity":"1","order_type":"market","status":"submitted""#));
        let ts = self.now + Duration::milliseconds(latency_ms);
        self.n += 1;
        let line = format!(r#"{{"event_id":"e{}","ts":"{}","kind":"fill","fill_id":"f{n}","order_id":"o{n}","quantity":"1","price":"{price}","fee":"0","fee_currency":"USD","liquidity":"taker"}}"#, self.n, ts.to_rfc3339());
        let e = Event::parse_json(&line, self.now + Duration::days(1)).unwrap_or_else(|e| panic!("{e}"));
        self.apply(&e);
    }
    fn act(&mut self, action: AlertActionKind, fingerprint: Option<&str>, matchers: &[(&str, &str)], ends_at: Option<DateTime<Utc>>, note: &str) -> Result<u64, &'static str> {
        let a = AlertAction {
            action,
            fingerprint: fingerprint.map(id),
            silence_id: None,
            matchers: matchers.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            ends_at,
            end_on_resolve: None,
            actor: id("rita"),
            note: Some(note.to_string()),
        };
        self.f.alerts.check_action(&a, self.now)?;
        Ok(self.body(Body::AlertAction(a)))
    }
}

fn rules(alerts: &[Alert]) -> Vec<(String, AlertChange)> {
    alerts.iter().map(|a| (a.rule.to_string(), a.change)).collect()
}

#[test]
fn slippage_above_the_limit_on_three_consecutive_fills_is_critical_and_resolves_when_quiet() {
    let mut d = Desk::new(Config::default());
    d.trade("a", "100.70", 40);
    d.trade("a", "100.80", 40);
    assert!(d.tick().is_empty(), "two fills are not a run of three");
    d.trade("a", "100.90", 40);
    let fired = d.tick();
    assert_eq!(rules(&fired), vec![("slippage_consecutive".to_string(), AlertChange::Firing)]);
    assert_eq!(fired[0].labels.get("automation").map(String::as_str), Some("a"));
    assert_eq!(fired[0].severity, domain::event::Severity::Critical);
    assert_eq!(fired[0].evidence.len(), 3, "the three fills are the evidence");
    // A fourth fill extends it: no second firing.
    d.trade("a", "101", 40);
    assert!(d.tick().is_empty());
    // Quiet for resolve_after_secs (300): resolved, once.
    d.now += Duration::seconds(301);
    assert_eq!(rules(&d.tick()), vec![("slippage_consecutive".to_string(), AlertChange::Resolved)]);
    assert!(d.tick().is_empty());
}

#[test]
fn a_latency_spike_is_an_anomaly_and_constant_latencies_raise_nothing() {
    let mut d = Desk::new(Config::default());
    for i in 0..60 {
        d.trade("a", "100", 30 + (i * 7) % 20);
        d.now += Duration::seconds(1);
    }
    assert!(d.tick().is_empty(), "{:?}", d.alerts);
    assert_eq!(d.f.anomaly.anomaly_count(), 0);
    d.trade("a", "100", 450);
    let fired = d.tick();
    assert_eq!(rules(&fired), vec![("order_to_fill_anomaly".to_string(), AlertChange::Firing)], "{fired:?}");
    let found: Vec<_> = d.f.anomaly.anomalies(None, None).collect();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].series, "order_to_fill_ms");
    assert!((found[0].value - 450.0).abs() < 1e-9);
    assert!(found[0].detectors.len() >= 2, "{:?}", found[0]);

    let mut flat = Desk::new(Config::default());
    for _ in 0..100 {
        flat.trade("a", "100", 40);
    }
    assert!(flat.tick().is_empty());
    assert_eq!(flat.f.anomaly.anomaly_count(), 0);
}

#[test]
fn sustained_latency_over_the_p95_limit_fires_and_clears() {
    let mut d = Desk::new(Config::default());
    for _ in 0..6 {
        d.trade("a", "100", 900);
    }
    let fired = d.tick();
    assert!(rules(&fired).contains(&("latency_p95".to_string(), AlertChange::Firing)), "{fired:?}");
    // A minute later the window is empty: resolved.
    d.now += Duration::seconds(61);
    assert_eq!(rules(&d.tick()), vec![("latency_p95".to_string(), AlertChange::Resolved)]);
}

#[test]
fn a_breaker_trip_is_critical_until_the_automation_resumes() {
    let mut d = Desk::new(Config::default());
    d.send(r#""kind":"control","action":"pause","automation_id":"a","actor":"circuit_breaker","reason":"circuit breaker max_open_orders: value 21 beyond limit 20","rule":"max_open_orders","value":21,"limit":20"#);
    let fired = d.tick();
    assert_eq!(rules(&fired), vec![("breaker_trip".to_string(), AlertChange::Firing)]);
    assert_eq!(fired[0].labels.get("breaker").map(String::as_str), Some("max_open_orders"));
    d.send(r#""kind":"control","action":"resume","automation_id":"a","actor":"rita","reason":"checked the open orders""#);
    assert_eq!(rules(&d.tick()), vec![("breaker_trip".to_string(), AlertChange::Resolved)]);
}

#[test]
fn routing_notices_escalation_and_acknowledgement() {
    let mut d = Desk::new(Config::default());
    d.send(r#""kind":"control","action":"pause","actor":"circuit_breaker","reason":"circuit breaker max_drawdown_pct: value 26 beyond limit 25","rule":"max_drawdown_pct","value":26,"limit":25"#);
    let fired = d.tick();
    let fp = fired[0].fingerprint.to_string();
    // Critical: the first route: webhook, alertmanager and email.
    let owed = d.f.alerts.pending(d.now, Duration::hours(1));
    assert_eq!(owed.len(), 1);
    assert_eq!(owed[0].0.pending.iter().map(String::as_str).collect::<Vec<_>>(), vec!["alertmanager", "email", "webhook"]);
    // The webhook confirms: it is no longer owed.
    let ref_seq = owed[0].0.seq;
    d.body(Body::Alert(Alert { change: AlertChange::Notified, ref_seq: Some(ref_seq), receiver: Some(id("webhook")), ..fired[0].clone() }));
    assert_eq!(d.f.alerts.pending(d.now, Duration::hours(1))[0].0.pending.len(), 2);
    // Unacknowledged for 10 minutes: escalated to step 1 (email), once.
    d.now += Duration::seconds(599);
    assert!(d.tick().is_empty());
    d.now += Duration::seconds(1);
    let esc = d.tick();
    assert_eq!(rules(&esc), vec![("breaker_trip".to_string(), AlertChange::Escalated)]);
    assert_eq!(esc[0].step, Some(1));
    d.now += Duration::seconds(600);
    assert!(d.tick().is_empty(), "the route has one escalation step");
    assert_eq!(d.f.alerts.alert(&fp, d.now).map(|a| a.step), Some(1));

    // Acknowledged: the state says so and a second acknowledgement is refused.
    assert_eq!(d.act(AlertActionKind::Acknowledge, Some(&fp), &[], None, "looking at it").map(|_| ()), Ok(()));
    let row = d.f.alerts.alert(&fp, d.now).unwrap_or_else(|| panic!("alert"));
    assert_eq!((row.state, row.acknowledged_by.as_deref(), row.acknowledge_note.as_deref()), (AlertState::Acknowledged, Some("rita"), Some("looking at it")));
    assert_eq!(d.act(AlertActionKind::Acknowledge, Some(&fp), &[], None, "again"), Err("this alert is already acknowledged"));

    // Resumed: resolved; firing again starts a new episode, unacknowledged, at step 0.
    d.send(r#""kind":"control","action":"resume","actor":"rita","reason":"drawdown reviewed with the PM""#);
    assert_eq!(rules(&d.tick()), vec![("breaker_trip".to_string(), AlertChange::Resolved)]);
    assert_eq!(d.f.alerts.alert(&fp, d.now).map(|a| a.state), Some(AlertState::Resolved));
    d.send(r#""kind":"control","action":"pause","actor":"circuit_breaker","reason":"circuit breaker max_drawdown_pct: value 27 beyond limit 25","rule":"max_drawdown_pct","value":27,"limit":25"#);
    d.tick();
    let row = d.f.alerts.alert(&fp, d.now).unwrap_or_else(|| panic!("alert"));
    assert_eq!((row.state, row.step, row.episodes, row.acknowledged_by), (AlertState::Firing, 0, 2, None));
}

#[test]
fn a_silence_stops_delivery_and_escalation_until_it_ends() {
    let mut d = Desk::new(Config::default());
    let until = d.now + Duration::hours(1);
    assert_eq!(d.act(AlertActionKind::Silence, None, &[("alertname", "breaker_trip")], Some(until), "short"), Err("a reason of at least 10 characters is required"));
    assert_eq!(d.act(AlertActionKind::Silence, None, &[], Some(until), "maintenance window tonight"), Err("a silence needs at least one matcher"));
    assert_eq!(d.act(AlertActionKind::Silence, None, &[("alertname", "breaker_trip")], Some(d.now), "maintenance window tonight"), Err("a silence must end in the future"));
    let silence = d.act(AlertActionKind::Silence, None, &[("alertname", "breaker_trip")], Some(until), "maintenance window tonight").unwrap_or_else(|e| panic!("{e}"));
    d.send(r#""kind":"control","action":"pause","actor":"circuit_breaker","reason":"circuit breaker max_drawdown_pct: value 26 beyond limit 25","rule":"max_drawdown_pct","value":26,"limit":25"#);
    let fp = d.tick()[0].fingerprint.to_string();
    assert!(d.f.alerts.pending(d.now, Duration::hours(1)).is_empty(), "a silenced alert is not delivered");
    let page = d.f.alerts.query(&AlertQuery::default(), d.now, None);
    assert_eq!((page.silenced, page.firing_by_severity), (1, [0, 0, 0]));
    assert_eq!(page.alerts[0].silenced_by, Some(silence));
    d.now += Duration::seconds(1800);
    assert!(d.tick().is_empty(), "a silenced alert does not escalate");
    // The silence ends: the alert is firing again and escalates on the next tick.
    d.now = until + Duration::seconds(1);
    assert_eq!(d.f.alerts.alert(&fp, d.now).map(|a| a.state), Some(AlertState::Firing));
    assert_eq!(rules(&d.tick()), vec![("breaker_trip".to_string(), AlertChange::Escalated)]);
}

#[test]
fn fingerprints_ignore_severity_and_label_order() {
    let a: BTreeMap<String, String> = [("alertname", "x"), ("automation", "a"), ("severity", "warning")].iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    let mut b = a.clone();
    b.insert("severity".into(), "critical".into());
    assert_eq!(fingerprint(&a), fingerprint(&b));
    assert_eq!(fingerprint(&a).len(), 16);
    b.insert("automation".into(), "b".into());
    assert_ne!(fingerprint(&a), fingerprint(&b));
}

#[test]
fn the_fold_state_survives_a_snapshot() {
    let mut d = Desk::new(Config::default());
    for _ in 0..3 {
        d.trade("a", "101", 40);
    }
    d.tick();
    let bytes = d.f.snapshot().unwrap_or_else(|e| panic!("{e}"));
    let mut back = Folds::restore(&bytes).unwrap_or_else(|e| panic!("{e}"));
    let q = AlertQuery::default();
    assert_eq!(back.alerts.query(&q, d.now, None), d.f.alerts.query(&q, d.now, None));
    assert_eq!(back.anomaly.anomaly_count(), d.f.anomaly.anomaly_count());
    assert!(back.due(d.now).is_empty());
}

#[test]
fn a_global_pause_inhibits_the_notifications_of_single_automations() {
    let mut d = Desk::new(Config::default());
    d.send(r#""kind":"control","action":"pause","actor":"circuit_breaker","reason":"circuit breaker max_drawdown_pct: value 26 beyond limit 25","rule":"max_drawdown_pct","value":26,"limit":25"#);
    d.tick();
    let owed_before = d.f.alerts.pending(d.now, Duration::hours(1)).len();
    // An automation's slippage run while everything is paused: it shows, nobody is paged for it.
    for _ in 0..3 {
        d.trade("a", "101", 40);
    }
    let fired = d.tick();
    assert_eq!(rules(&fired), vec![("slippage_consecutive".to_string(), AlertChange::Firing)]);
    assert_eq!(d.f.alerts.pending(d.now, Duration::hours(1)).len(), owed_before, "inhibited");
    // After the resume, a new episode of it is delivered again.
    d.send(r#""kind":"control","action":"resume","actor":"rita","reason":"drawdown reviewed with the PM""#);
    d.tick();
    d.now += Duration::seconds(301);
    d.tick();
    for _ in 0..3 {
        d.trade("a", "101", 40);
    }
    d.tick();
    assert!(d.f.alerts.pending(d.now, Duration::hours(1)).iter().any(|(n, a)| a.rule == "slippage_consecutive" && n.change == AlertChange::Firing));
}

#[test]
fn slippage_well_above_the_model_for_an_automations_last_fills_alerts() {
    let mut d = Desk::new(Config::default());
    let fill_at = |d: &mut Desk, n: usize, price: &str| {
        for i in 0..n {
            d.n += 1;
            let k = d.n;
            d.send(r#""kind":"market_snapshot","instrument":"AAPL","bid":"99.99","ask":"100.01","mid":"100","last":"100","volume":"0""#);
            d.send(&format!(r#""kind":"signal","signal_id":"m{k}-{i}","automation_id":"a","instrument":"AAPL","intent":"entry","signal_type":"momentum","side":"buy","strength":0.5,"features":{{}},"model_version":"m","prediction":0.0,"confidence":0.5"#));
            d.send(&format!(r#""kind":"order","order_id":"mo{k}-{i}","signal_id":"m{k}-{i}","instrument":"AAPL","side":"buy","quantity":"100","order_type":"market","status":"submitted""#));
            d.send(&format!(r#""kind":"fill","fill_id":"mf{k}-{i}","order_id":"mo{k}-{i}","quantity":"100","price":"{price}","fee":"0","fee_currency":"USD","liquidity":"taker""#));
        }
    };
    // Half spread 1 bp + impact 0.5 bps (10,000 USD): fills 2 bps off are within the model's 50%
    // margin's floor; 25 bps off, for half the window, are not.
    fill_at(&mut d, 12, "100.02");
    assert!(d.tick().iter().all(|a| a.rule.as_str() != "slippage_vs_model"));
    fill_at(&mut d, 10, "100.25");
    let fired = d.tick();
    let a = fired.iter().find(|a| a.rule.as_str() == "slippage_vs_model").unwrap_or_else(|| panic!("{fired:?}"));
    assert_eq!(a.labels.get("automation").map(String::as_str), Some("a"));
    assert!(a.value.is_some_and(|v| v > 10.0) && a.threshold.is_some_and(|t| (t - 1.5 * 1.5).abs() < 0.1), "{a:?}");
}

/// A receiver confirms a message: one `notified` per notification (per alert for a reminder).
fn confirm(d: &mut Desk, b: &domain::anomaly::alerts::Batch) {
    let refs: Vec<(u64, String)> = if b.repeat { b.alerts.iter().map(|a| (a.started_seq, a.fingerprint.clone())).collect() } else { b.notices.iter().map(|n| (n.seq, n.fingerprint.clone())).collect() };
    for (seq, fp) in refs {
        let a = d.f.alerts.alert(&fp, d.now).unwrap_or_else(|| panic!("alert"));
        d.body(Body::Alert(Alert {
            change: AlertChange::Notified,
            fingerprint: id(&fp),
            rule: id(&a.rule),
            severity: a.severity,
            labels: a.labels.clone(),
            summary: "delivered".into(),
            value: None,
            threshold: None,
            score: None,
            evidence: vec![seq],
            step: Some(0),
            ref_seq: Some(seq),
            receiver: Some(id(&b.receiver)),
        }));
    }
}

fn of<'a>(batches: &'a [domain::anomaly::alerts::Batch], receiver: &str) -> Vec<&'a domain::anomaly::alerts::Batch> {
    batches.iter().filter(|b| b.receiver == receiver).collect()
}

#[test]
fn a_groups_alerts_go_out_together_after_the_group_interval_and_alertmanager_gets_each_at_once() {
    let mut d = Desk::new(Config::default());
    for _ in 0..3 {
        d.trade("a", "101", 40);
    }
    d.tick();
    // A new group (group_wait 0): at once, one alert, to each receiver of the critical route.
    let first = d.f.alerts.batches(d.now, Duration::hours(1));
    let hooks = of(&first, "webhook");
    assert_eq!(hooks.len(), 1);
    assert_eq!((hooks[0].alerts.len(), hooks[0].group.as_str()), (1, "0:{alertname=slippage_consecutive}"));
    assert_eq!(hooks[0].group_labels.get("alertname").map(String::as_str), Some("slippage_consecutive"));
    assert_eq!((of(&first, "email").len(), of(&first, "alertmanager").len()), (1, 1));
    for b in &first {
        confirm(&mut d, b);
    }
    assert!(d.f.alerts.batches(d.now, Duration::hours(1)).is_empty(), "all confirmed");
    // A second automation's run 5 s later: Alertmanager at once; the webhook and email wait for
    // the group interval (60 s) since the group's last message...
    d.now += Duration::seconds(5);
    for _ in 0..3 {
        d.trade("b", "101", 40);
    }
    d.tick();
    let held = d.f.alerts.batches(d.now, Duration::hours(1));
    assert_eq!(held.iter().map(|b| b.receiver.as_str()).collect::<Vec<_>>(), vec!["alertmanager"], "{held:?}");
    confirm(&mut d, &held[0]);
    d.now += Duration::seconds(54);
    assert!(d.f.alerts.batches(d.now, Duration::hours(1)).is_empty());
    // ... then one message with the group's two firing alerts, confirming only the new one.
    d.now += Duration::seconds(1);
    let grouped = d.f.alerts.batches(d.now, Duration::hours(1));
    let hook = of(&grouped, "webhook");
    assert_eq!(hook.len(), 1);
    let automations: Vec<&str> = hook[0].alerts.iter().filter_map(|a| a.labels.get("automation").map(String::as_str)).collect();
    assert_eq!((hook[0].notices.len(), automations.len()), (1, 2), "{automations:?}");
    assert!(automations.contains(&"a") && automations.contains(&"b"));
}

#[test]
fn a_group_still_firing_unacknowledged_is_repeated_after_the_repeat_interval_and_not_once_acknowledged() {
    let mut d = Desk::new(Config::default());
    d.send(r#""kind":"control","action":"pause","actor":"circuit_breaker","reason":"circuit breaker max_drawdown_pct: value 26 beyond limit 25","rule":"max_drawdown_pct","value":26,"limit":25"#);
    let fp = d.tick()[0].fingerprint.to_string();
    for b in d.f.alerts.batches(d.now, Duration::hours(1)) {
        confirm(&mut d, &b);
    }
    d.now += Duration::seconds(4 * 3600 - 1);
    assert!(d.f.alerts.batches(d.now, Duration::hours(1)).is_empty());
    d.now += Duration::seconds(1);
    let again = d.f.alerts.batches(d.now, Duration::hours(1));
    let mut receivers: Vec<&str> = again.iter().map(|b| b.receiver.as_str()).collect();
    receivers.sort_unstable();
    assert_eq!(receivers, vec!["email", "webhook"], "Alertmanager has its own re-send");
    assert!(again.iter().all(|b| b.repeat && b.notices.is_empty() && b.alerts.len() == 1));
    confirm(&mut d, &again[0]);
    assert_eq!(d.f.alerts.batches(d.now, Duration::hours(1)).len(), 1, "the other receiver still owes its reminder");
    // Acknowledged: nobody is reminded.
    d.act(AlertActionKind::Acknowledge, Some(&fp), &[], None, "on it").unwrap_or_else(|e| panic!("{e}"));
    d.now += Duration::seconds(5 * 3600);
    assert!(d.f.alerts.batches(d.now, Duration::hours(1)).is_empty());
}

#[test]
fn an_automation_signalling_over_three_times_its_hourly_median_alerts() {
    let mut d = Desk::new(Config::default());
    let signal = |d: &mut Desk| {
        d.n += 1;
        let n = d.n;
        d.send(&format!(r#""kind":"signal","signal_id":"r{n}","automation_id":"a","instrument":"AAPL","intent":"entry","signal_type":"momentum","side":"buy","strength":0.5,"features":{{}},"model_version":"m","prediction":0.0,"confidence":0.5"#));
    };
    // 30 hours of 3 signals each: the baseline is 3 per hour.
    for _ in 0..30 {
        for _ in 0..3 {
            signal(&mut d);
        }
        d.now += Duration::hours(1);
    }
    for _ in 0..9 {
        signal(&mut d);
    }
    assert!(d.tick().is_empty(), "9 is at 3 x the median, not above it");
    signal(&mut d);
    let fired = d.tick();
    assert_eq!(rules(&fired), vec![("signal_rate".to_string(), AlertChange::Firing)]);
    assert_eq!((fired[0].value, fired[0].threshold), (Some(10.0), Some(9.0)));
    assert_eq!(fired[0].labels.get("automation").map(String::as_str), Some("a"));
    // Quiet: resolved after resolve_after_secs.
    d.now += Duration::seconds(301);
    assert_eq!(rules(&d.tick()), vec![("signal_rate".to_string(), AlertChange::Resolved)]);
}

#[test]
fn a_group_with_a_notification_waiting_for_group_wait_is_not_reminded_meanwhile() {
    let mut config = Config::default();
    config.alerting.group_wait_secs = 30;
    let mut d = Desk::new(config);
    d.send(r#""kind":"control","action":"pause","automation_id":"a","actor":"circuit_breaker","reason":"circuit breaker max_open_orders: value 11 beyond limit 10","rule":"max_open_orders","value":11,"limit":10"#);
    d.tick();
    d.now += Duration::seconds(30);
    for b in d.f.alerts.batches(d.now, Duration::hours(1)) {
        confirm(&mut d, &b);
    }
    // Past the repeat interval, a second breaker of the same group fires: its notification waits
    // for group_wait, and the group is not reminded in the meantime.
    d.now += Duration::seconds(4 * 3600);
    d.send(r#""kind":"control","action":"pause","automation_id":"b","actor":"circuit_breaker","reason":"circuit breaker max_open_orders: value 12 beyond limit 10","rule":"max_open_orders","value":12,"limit":10"#);
    d.tick();
    let now = d.f.alerts.batches(d.now, Duration::hours(1));
    assert!(of(&now, "webhook").is_empty(), "{now:?}");
    d.now += Duration::seconds(30);
    let later = d.f.alerts.batches(d.now, Duration::hours(1));
    let hook = of(&later, "webhook");
    assert_eq!((hook.len(), hook.first().map(|b| (b.repeat, b.notices.len(), b.alerts.len()))), (1, Some((false, 1, 2))), "{later:?}");
}
