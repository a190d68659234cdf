//! `tradewatch alert-quality`: how well the alerts catch what they should, measured on the
//! bundled market data. The paper engine's events go through a real console (a fresh SQLite
//! store in a temporary directory, the same ingest path, folds and rules as `serve`) on a
//! simulated clock of one second per time step, twice:
//!
//! - **clean**: as the engine makes them. Every alert is a false alert (the data has real
//!   outliers too; they count against the detectors here).
//! - **injected**: the same, with an anomaly every [`SPACING`] steps, in turn: a price gap (a
//!   mark 25% off), a latency spike (8 fills 3 s late), a slippage spike (an order's fills 80 bps
//!   worse), a fat-finger order (50 times the size), a stalled heartbeat (a live gateway silent for
//!   40 s) and a clock jump (its heartbeats stamped 1.5 s behind).
//!
//! An injection is **detected** when, within [`WINDOW_SECS`] of simulated time, an alert of its
//! rules fires or its detector records an anomaly; an alert that fires outside every injection's
//! window is a **false alert**. Detection latency: the wall time of the ingest call that carried
//! the injected event (the rules run inside it: when it returns, the alert is in the chain), and
//! for the statistical rules the same. Prints one table; nothing is kept.
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, Result};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use domain::event::{AlertChange, Body, Control, ControlAction, Event, Id};
use engine::{Dataset, ReplayConfig, Speed};
use rust_decimal::Decimal;
use serde_json::{Value, json};

use crate::console::Console;
use crate::store::Store;

/// Steps between two injections.
pub const SPACING: usize = 45;
/// How long after an injection (simulated seconds) its alert may come.
pub const WINDOW_SECS: i64 = 10;
/// Simulated seconds between two heartbeats of the live gateway.
const GATEWAY_EVERY: usize = 5;

/// The kinds of injected anomaly, and the rules (or detector series) that catch each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    PriceGap,
    LatencySpike,
    SlippageSpike,
    FatFinger,
    StalledHeartbeat,
    ClockJump,
}

impl Kind {
    const ALL: [Kind; 6] = [Kind::PriceGap, Kind::LatencySpike, Kind::SlippageSpike, Kind::FatFinger, Kind::StalledHeartbeat, Kind::ClockJump];
    pub fn name(self) -> &'static str {
        match self {
            Kind::PriceGap => "price gap",
            Kind::LatencySpike => "latency spike",
            Kind::SlippageSpike => "slippage spike",
            Kind::FatFinger => "fat-finger order",
            Kind::StalledHeartbeat => "stalled heartbeat",
            Kind::ClockJump => "clock jump",
        }
    }
    /// How long after the injection its alert may come (simulated seconds): a stalled heartbeat
    /// is missing only once the breaker's 30 s have passed.
    fn window(self) -> i64 {
        match self {
            Kind::StalledHeartbeat => 30 + WINDOW_SECS,
            // The clock's drift is the least-delayed of its last 5 heartbeats (25 s).
            Kind::ClockJump => 25 + WINDOW_SECS,
            // latency_p95 needs 5 late fills in its minute.
            Kind::LatencySpike => 60,
            _ => WINDOW_SECS,
        }
    }
    /// Alert rules, and anomaly series, that count as catching it.
    fn caught_by(self) -> (&'static [&'static str], &'static [&'static str]) {
        match self {
            Kind::PriceGap => (&["mark_move_anomaly"], &["mark_move_bps"]),
            Kind::LatencySpike => (&["order_to_fill_anomaly", "latency_p95", "fill_isolation_anomaly"], &["order_to_fill_ms", "fill_isolation"]),
            Kind::SlippageSpike => (&["slippage_anomaly", "slippage_consecutive", "slippage_vs_model", "fill_isolation_anomaly"], &["slippage_bps", "fill_isolation"]),
            Kind::FatFinger => (&["order_notional_anomaly"], &["order_notional_usd"]),
            Kind::StalledHeartbeat => (&["breaker_trip"], &[]),
            Kind::ClockJump => (&["clock_drift"], &[]),
        }
    }
}

/// One injection and what caught it.
#[derive(Debug, Clone)]
pub struct Injection {
    pub kind: Kind,
    pub at: DateTime<Utc>,
    pub detected: bool,
    /// Wall time of the ingest call that carried it (ms).
    pub wall_ms: f64,
    /// Simulated seconds from the injection to its first alert or anomaly.
    pub delay_s: Option<i64>,
}

/// Rules whose alerts outside an injection report a real event of the data or of the book, not
/// a detector's opinion: a price gap of 20% or more between two bars (the floor of
/// `mark_move_anomaly`; the bundled data has such days, e.g. AMD and BBY in 2017), and the
/// engine's own circuit breaker pausing the book.
pub const REAL_EVENTS: [&str; 2] = ["mark_move_anomaly", "breaker_trip"];

/// One run's figures.
#[derive(Debug, Clone, Default)]
pub struct Run {
    pub steps: usize,
    pub events: u64,
    pub market_days: usize,
    /// Firing alerts by rule.
    pub alerts: BTreeMap<String, u64>,
    pub injections: Vec<Injection>,
    /// Firing alerts outside every injection's window.
    pub false_alerts: u64,
    /// Of those, alerts on what really happened in the unaltered data or book ([`REAL_EVENTS`]).
    pub real_events: u64,
    pub seconds: f64,
}

struct Pending {
    kind: Kind,
    /// Events of the injection still to alter (fills to delay, an order to enlarge ...).
    left: u32,
    target: Option<String>,
    /// The target order is a buy (its fills are made worse upwards).
    buy: bool,
}

fn scale(v: &mut Value, field: &str, by: Decimal) {
    if let Some(x) = v.get(field).and_then(Value::as_str).and_then(|s| s.parse::<Decimal>().ok()) {
        v[field] = json!((x * by).round_dp(6).normalize().to_string());
    }
}

/// Runs the engine over `market_data` from `from` to `to` through a fresh console, injecting
/// anomalies or not.
pub async fn run(market_data: PathBuf, from: NaiveDate, to: NaiveDate, inject: bool, votes: Option<u32>) -> Result<Run> {
    let dir = std::env::temp_dir().join(format!("tradewatch-alert-quality-{}-{}", std::process::id(), if inject { "injected" } else { "clean" }));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).context("a temporary directory")?;
    let result = run_in(&dir, market_data, from, to, inject, votes).await;
    let _ = std::fs::remove_dir_all(&dir);
    result
}

async fn run_in(dir: &std::path::Path, market_data: PathBuf, from: NaiveDate, to: NaiveDate, inject: bool, votes: Option<u32>) -> Result<Run> {
    let store = Store::open(dir).await?;
    let capital = Decimal::from(1_000_000);
    let console: Arc<Console> = Console::open(store, capital).await?;
    let t0 = DateTime::parse_from_rfc3339("2030-01-01T00:00:00Z").map(|t| t.with_timezone(&Utc)).context("t0")?;
    // Every automation trades on its own; compliance off (policy findings are not anomalies).
    let mut config = domain::governance::Config::default();
    config.gating.threshold = 0;
    if let Some(v) = votes {
        config.alerting.votes = v;
    }
    console
        .record(vec![Body::ConfigChange(domain::event::ConfigChange { version: 1, actor: Id::parse("alert-quality").map_err(anyhow::Error::msg)?, reason: domain::text::Reason::parse("alert quality run: no gating, no compliance")?, config })], t0)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let cfg = ReplayConfig {
        console: String::new(),
        token: String::new(),
        speed: Speed::Max,
        dataset: Dataset::Sp500,
        data_dir: market_data,
        from: Some(from),
        to: Some(to),
        seed: 42,
        run_id: "q".into(),
        capital,
        max_steps: None,
        warm_up_days: 120,
        inject_after: None,
    };
    let timeline = engine::replay::load(&cfg)?;
    let first = from.and_hms_opt(0, 0, 0).map(|d| d.and_utc());
    let mut engine = engine::replay::Engine::new(cfg)?;
    let started = Instant::now();
    let mut out = Run::default();
    let mut days = std::collections::BTreeSet::new();
    let mut pending: Option<Pending> = None;
    let mut stall_until = 0usize;
    let mut skew_left = 0u32;
    let mut kinds = Kind::ALL.iter().cycle();
    let mut step = 0usize;
    for (t, bars) in &timeline {
        if first.is_some_and(|f| *t < f) {
            engine.warm_up(*t, bars);
            continue;
        }
        step += 1;
        days.insert(t.date_naive());
        let now = t0 + Duration::seconds(step as i64);
        let mut events = engine.step(*t, bars);
        let mut injected_now: Option<Kind> = None;
        if inject && step > 60 && step.is_multiple_of(SPACING)
            && let Some(kind) = kinds.next()
        {
            match kind {
                Kind::StalledHeartbeat => stall_until = step + 40,
                Kind::ClockJump => skew_left = 8,
                _ => {}
            }
            pending = Some(Pending { kind: *kind, left: 1, target: None, buy: true });
            out.injections.push(Injection { kind: *kind, at: now, detected: false, wall_ms: 0.0, delay_s: None });
        }
        // Alter this step's events for a pending injection (it waits for an event it can alter).
        if let Some(p) = pending.as_mut() {
            for v in events.iter_mut() {
                let kind = v["kind"].as_str().unwrap_or("").to_string();
                match (p.kind, kind.as_str()) {
                    (Kind::PriceGap, "market_snapshot") if p.left > 0 && p.target.is_none() => {
                        for f in ["bid", "ask", "mid", "last"] {
                            scale(v, f, Decimal::new(125, 2));
                        }
                        p.target = v["instrument"].as_str().map(String::from);
                        p.left = 0;
                        injected_now = Some(p.kind);
                    }
                    (Kind::LatencySpike, "fill") if p.left > 0 => {
                        if let Some(ts) = v["ts"].as_str().and_then(|s| DateTime::parse_from_rfc3339(s).ok()) {
                            v["ts"] = json!((ts + Duration::milliseconds(3_000)).with_timezone(&Utc).to_rfc3339_opts(chrono::SecondsFormat::Millis, true));
                        }
                        if p.target.is_none() {
                            p.left = 8;
                            p.target = Some("fills".into());
                        }
                        p.left -= 1;
                        injected_now = Some(p.kind);
                    }
                    (Kind::SlippageSpike, "order") if p.target.is_none() && v["status"] == "submitted" => {
                        p.target = v["order_id"].as_str().map(String::from);
                        p.buy = v["side"] == "buy";
                        p.left = 0;
                    }
                    (Kind::SlippageSpike, "fill") if p.target.as_deref().is_some_and(|o| v["order_id"] == o) => {
                        // 80 bps worse for the order's side.
                        scale(v, "price", if p.buy { Decimal::new(10080, 4) } else { Decimal::new(9920, 4) });
                        injected_now = Some(p.kind);
                    }
                    (Kind::FatFinger, "order") if p.target.is_none() && v["status"] == "submitted" => {
                        p.target = v["order_id"].as_str().map(String::from);
                        scale(v, "quantity", Decimal::from(50));
                        p.left = 0;
                        injected_now = Some(p.kind);
                    }
                    // The order's later events carry the same (enlarged) quantity; its fills stay
                    // as the engine made them (the broker filled what it would).
                    (Kind::FatFinger, "order") if p.target.as_deref().is_some_and(|o| v["order_id"] == o) => scale(v, "quantity", Decimal::from(50)),
                    (Kind::StalledHeartbeat | Kind::ClockJump, _) => {
                        p.left = 0;
                        injected_now = Some(p.kind);
                    }
                    _ => {}
                }
            }
        }
        // The live gateway's heartbeats: stamped now, silent while stalled, behind while skewed.
        // The engine's own heartbeats, stamped with market time, as `replay` sends them.
        if step.is_multiple_of(GATEWAY_EVERY) {
            events.push(json!({"event_id": format!("hb-{step}"), "kind": "heartbeat", "ts": t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true), "component": "replay-engine", "status": "ok"}));
        }
        if step.is_multiple_of(GATEWAY_EVERY) && step >= stall_until {
            let skew = if skew_left > 0 {
                skew_left -= 1;
                1_500
            } else {
                0
            };
            events.push(json!({"event_id": format!("gw-{step}"), "kind": "heartbeat", "ts": (now - Duration::milliseconds(skew)).to_rfc3339_opts(chrono::SecondsFormat::Millis, true), "component": "live-gateway", "status": "ok"}));
        }
        if events.is_empty() {
            console.evaluate(now).await;
            out.steps = step;
            continue;
        }
        let body = serde_json::to_vec(&events)?;
        let batch = crate::http::events::parse_batch(&body, now).map_err(|e| anyhow::anyhow!("step {step}: {e:?}"))?;
        let wall = Instant::now();
        console.ingest(batch, now).await.map_err(|e| anyhow::anyhow!("step {step}: {e}"))?;
        let wall_ms = wall.elapsed().as_secs_f64() * 1000.0;
        if let (Some(kind), Some(last)) = (injected_now, out.injections.last_mut())
            && last.kind == kind
            && last.wall_ms == 0.0
        {
            last.wall_ms = wall_ms;
        }
        out.events += events.len() as u64;
        // An injection's period ends before the next one (the gateway resumes on its own).
        if step % SPACING == SPACING - 1 {
            pending = None;
        }
        // A global pause (a breaker, or the stalled heartbeat) is resumed 10 s later, as the
        // runbook's person would: paused, a second breaker of the same scope could not trip.
        if console.governance_view().global_pause.as_ref().is_some_and(|p| now - p.at >= Duration::seconds(10)) {
            console.record(vec![resume()?], now).await.map_err(|e| anyhow::anyhow!("{e}"))?;
        }
    }
    out.steps = step;
    out.market_days = days.len();
    out.seconds = started.elapsed().as_secs_f64();
    // What fired, and when.
    let mut firing: Vec<(String, DateTime<Utc>)> = Vec::new();
    console
        .store()
        .for_each_event(|_, e: Event, received_at| {
            if let Body::Alert(a) = &e.body
                && a.change == AlertChange::Firing
            {
                firing.push((a.rule.to_string(), received_at));
            }
        })
        .await?;
    let (anomalies, _) = console.anomalies(None, None, domain::anomaly::ANOMALIES_KEPT);
    for inj in out.injections.iter_mut() {
        let end = inj.at + Duration::seconds(inj.kind.window());
        let (rules, series) = inj.kind.caught_by();
        let first = firing
            .iter()
            .filter(|(r, t)| rules.contains(&r.as_str()) && *t >= inj.at && *t <= end)
            .map(|(_, t)| *t)
            .chain(anomalies.iter().filter(|a| series.contains(&a.series.as_str()) && a.received_at >= inj.at && a.received_at <= end).map(|a| a.received_at))
            .min();
        inj.detected = first.is_some();
        inj.delay_s = first.map(|t| (t - inj.at).num_seconds());
    }
    for (rule, t) in &firing {
        *out.alerts.entry(rule.clone()).or_default() += 1;
        let explained = out.injections.iter().any(|i| *t >= i.at && *t <= i.at + Duration::seconds(i.kind.window()));
        if !explained {
            out.false_alerts += 1;
            if REAL_EVENTS.contains(&rule.as_str()) {
                out.real_events += 1;
            }
        }
    }
    Ok(out)
}

fn resume() -> Result<Body> {
    Ok(Body::Control(Control {
        action: ControlAction::Resume,
        automation_id: None,
        actor: Id::parse("alert-quality").map_err(anyhow::Error::msg)?,
        reason: domain::text::Reason::parse("alert quality run: resumed 10 s after the pause")?,
        rule: None,
        value: None,
        limit: None,
    }))
}

/// Both runs, as the table `tradewatch alert-quality` prints.
pub async fn report(market_data: PathBuf, from: NaiveDate, to: NaiveDate, votes: Option<u32>) -> Result<String> {
    let clean = run(market_data.clone(), from, to, false, votes).await?;
    let injected = run(market_data, from, to, true, votes).await?;
    let mut s = String::new();
    s.push_str(&format!("detectors that must agree (votes): {}\n", votes.unwrap_or(domain::config::alerting::Alerting::default().votes)));
    let total_alerts = |r: &Run| r.alerts.values().sum::<u64>();
    s.push_str(&format!("bundled S&P 500 data {from} to {to}: {} steps, {} market days, {} events\n\n", clean.steps, clean.market_days, clean.events));
    s.push_str(&format!("clean run ({:.1} s): {} alerts, {:.3} per market day: {:?}\n", clean.seconds, total_alerts(&clean), total_alerts(&clean) as f64 / clean.market_days.max(1) as f64, clean.alerts));
    s.push_str(&format!("injected run ({:.1} s): {} alerts: {:?}\n\n", injected.seconds, total_alerts(&injected), injected.alerts));
    s.push_str("| injected | count | detected | recall | simulated s to the alert (max) | wall ms of the ingest that carried it (median / max) |\n|---|---|---|---|---|---|\n");
    for kind in Kind::ALL {
        let of: Vec<&Injection> = injected.injections.iter().filter(|i| i.kind == kind).collect();
        let found = of.iter().filter(|i| i.detected).count();
        let mut ms: Vec<f64> = of.iter().filter(|i| i.detected).map(|i| i.wall_ms).collect();
        ms.sort_by(f64::total_cmp);
        let median = ms.get(ms.len() / 2).copied().unwrap_or(0.0);
        let max = ms.last().copied().unwrap_or(0.0);
        let delay = of.iter().filter_map(|i| i.delay_s).max().map(|d| d.to_string()).unwrap_or_else(|| "-".into());
        s.push_str(&format!("| {} | {} | {} | {:.0}% | {delay} | {median:.2} / {max:.2} |\n", kind.name(), of.len(), found, found as f64 * 100.0 / of.len().max(1) as f64));
    }
    let n = injected.injections.len();
    let found = injected.injections.iter().filter(|i| i.detected).count();
    let all = total_alerts(&injected);
    s.push_str(&format!(
        "\nrecall {found}/{n} = {:.1}% (target >= 95%); false alerts in the injected run {}/{} = {:.1}% of all alerts (target < 5%); clean run {:.3} false alerts per market day\n",
        found as f64 * 100.0 / n.max(1) as f64,
        injected.false_alerts,
        all,
        injected.false_alerts as f64 * 100.0 / all.max(1) as f64,
        total_alerts(&clean) as f64 / clean.market_days.max(1) as f64
    ));
    let unexplained = injected.false_alerts.saturating_sub(injected.real_events);
    s.push_str(&format!(
        "of the false alerts, {} report real events of the unaltered data or book (20%+ gaps between bars, the engine's breaker trips); the rest, {unexplained}/{all} = {:.1}% of all alerts, are the detectors' opinions\n",
        injected.real_events,
        unexplained as f64 * 100.0 / all.max(1) as f64
    ));
    Ok(s)
}
