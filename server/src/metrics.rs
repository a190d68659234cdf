//! What `GET /metrics` (`http::health`) serves: the console in the Prometheus text format (the `prometheus` crate's encoder),
//! for a token with the `metrics` scope. Counters and histograms are recorded as requests and
//! batches happen; gauges are read from the folds at each scrape. Every name starts with
//! `tradewatch_`; units are in the names (`_seconds`, `_usd`, `_ratio`); `promtool check metrics`
//! passes on a live scrape (tested).
use std::sync::Arc;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use chrono::Utc;
use prometheus::{Encoder, HistogramOpts, HistogramVec, IntCounterVec, Opts, Registry, TextEncoder};
use rust_decimal::prelude::ToPrimitive;

use crate::AppState;
use crate::console::Console;

/// The metrics the console records as it runs (the rest are read at scrape time).
pub struct Metrics {
    registry: Registry,
    /// Requests by route template, method and status class.
    pub requests: IntCounterVec,
    pub request_seconds: HistogramVec,
    /// Ingest batches: append and fold time, by outcome.
    pub batch_seconds: HistogramVec,
    pub append_seconds: prometheus::Histogram,
    /// Each route's requests of the last [`WINDOW`]: (when, latency µs, a 5xx answer), at most
    /// [`WINDOW_KEPT`] per route (`/health`'s API degradation).
    recent: std::sync::Mutex<std::collections::HashMap<String, std::collections::VecDeque<RecentRequest>>>,
}

/// One request in the window: when it started, its latency (µs), whether it answered 5xx.
type RecentRequest = (Instant, u32, bool);

/// The window of `/health`'s per-route figures.
pub const WINDOW: std::time::Duration = std::time::Duration::from_secs(300);
/// Requests kept per route in the window (the newest).
const WINDOW_KEPT: usize = 10_000;

fn build() -> prometheus::Result<Metrics> {
    let registry = Registry::new_custom(Some("tradewatch".into()), None)?;
    let requests = IntCounterVec::new(Opts::new("http_requests_total", "HTTP requests by route template, method and status code class"), &["route", "method", "status"])?;
    let request_seconds = HistogramVec::new(
        HistogramOpts::new("http_request_duration_seconds", "HTTP request latency by route template").buckets(vec![0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0]),
        &["route"],
    )?;
    let batch_seconds = HistogramVec::new(
        HistogramOpts::new("ingest_batch_duration_seconds", "Time to parse, append (durably) and fold one ingest batch, by outcome").buckets(vec![0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5]),
        &["outcome"],
    )?;
    registry.register(Box::new(requests.clone()))?;
    registry.register(Box::new(request_seconds.clone()))?;
    let append_seconds = prometheus::Histogram::with_opts(
        HistogramOpts::new("ingest_append_duration_seconds", "Time of the durable append of one accepted batch (the store's transaction, synchronous commit)").buckets(vec![0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0]),
    )?;
    registry.register(Box::new(batch_seconds.clone()))?;
    registry.register(Box::new(append_seconds.clone()))?;
    Ok(Metrics { registry, requests, request_seconds, batch_seconds, append_seconds, recent: Default::default() })
}

impl Metrics {
    /// The registry and its recorded metrics (built once, at start-up).
    pub fn new() -> anyhow::Result<Arc<Metrics>> {
        Ok(Arc::new(build()?))
    }

    fn note(&self, route: &str, started: Instant, took: std::time::Duration, error: bool) {
        let Ok(mut recent) = self.recent.lock() else { return };
        let q = recent.entry(route.to_string()).or_default();
        if q.len() >= WINDOW_KEPT {
            q.pop_front();
        }
        q.push_back((started, took.as_micros().min(u128::from(u32::MAX)) as u32, error));
    }

    /// The scrape: recorded metrics, then the console's state now.
    pub fn render(&self, console: &Console) -> String {
        let mut out = Vec::new();
        let encoder = TextEncoder::new();
        if let Err(e) = encoder.encode(&self.registry.gather(), &mut out) {
            tracing::error!(error = %e, "encoding metrics");
        }
        let mut text = String::from_utf8(out).unwrap_or_default();
        text.push_str(&state(console));
        text
    }
}

impl crate::console::RouteWindow for Metrics {
    /// Each route's requests, p95 latency and 5xx share over the last [`WINDOW`], busiest first.
    fn routes(&self) -> Vec<domain::view::RouteHealth> {
        let Ok(mut recent) = self.recent.lock() else { return Vec::new() };
        let now = Instant::now();
        let mut out = Vec::new();
        recent.retain(|_, q| {
            while q.front().is_some_and(|(t, _, _)| now.duration_since(*t) > WINDOW) {
                q.pop_front();
            }
            !q.is_empty()
        });
        for (route, q) in recent.iter() {
            let mut ms: Vec<f64> = q.iter().map(|(_, us, _)| f64::from(*us) / 1000.0).collect();
            ms.sort_by(f64::total_cmp);
            let errors = q.iter().filter(|(_, _, e)| *e).count();
            out.push(domain::view::RouteHealth { route: route.clone(), requests: q.len() as u64, p95_ms: domain::metrics::percentile_sorted(&ms, 0.95), error_rate: errors as f64 / q.len() as f64 });
        }
        out.sort_by(|a, b| b.requests.cmp(&a.requests).then_with(|| a.route.cmp(&b.route)));
        out
    }
}


/// One metric family in the text format: `# HELP`, `# TYPE`, then its samples.
struct Family<'a> {
    out: &'a mut String,
}

impl Family<'_> {
    fn head(&mut self, name: &str, kind: &str, help: &str) {
        self.out.push_str(&format!("# HELP tradewatch_{name} {help}\n# TYPE tradewatch_{name} {kind}\n"));
    }
    fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: f64) {
        let labels = if labels.is_empty() {
            String::new()
        } else {
            let mut sorted = labels.to_vec();
            sorted.sort_by_key(|(k, _)| *k);
            let inner: Vec<String> = sorted.iter().map(|(k, v)| format!("{k}=\"{}\"", escape(v))).collect();
            format!("{{{}}}", inner.join(","))
        };
        let v = if value.is_finite() { format!("{value}") } else if value.is_nan() { "NaN".into() } else if value > 0.0 { "+Inf".into() } else { "-Inf".into() };
        self.out.push_str(&format!("tradewatch_{name}{labels} {v}\n"));
    }
    fn one(&mut self, name: &str, kind: &str, help: &str, value: f64) {
        self.head(name, kind, help);
        self.sample(name, &[], value);
    }
}

fn escape(v: &str) -> String {
    v.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

/// The console's state as gauges and counters, read now.
fn state(console: &Console) -> String {
    let now = Utc::now();
    let mut text = String::new();
    let mut f = Family { out: &mut text };
    let ingest = console.ingest_view();
    f.head("ingest_events_total", "counter", "Events offered to the ingest API since the start, by outcome (accepted = stored; duplicate = an event id already stored)");
    f.sample("ingest_events_total", &[("outcome", "accepted")], ingest.accepted_events as f64);
    f.sample("ingest_events_total", &[("outcome", "duplicate")], ingest.duplicate_events as f64);
    f.head("ingest_batches_total", "counter", "Ingest batches since the start, by outcome (rejected = refused whole with a 4xx, nothing stored)");
    f.sample("ingest_batches_total", &[("outcome", "accepted")], ingest.accepted_batches as f64);
    f.sample("ingest_batches_total", &[("outcome", "rejected")], ingest.rejected_batches as f64);
    let d = console.summary();
    f.one("head_seq", "gauge", "The log's head: the seq of the newest stored event", console.head_seq() as f64);
    f.one("fold_lag_events", "gauge", "Stored events the folds have not applied yet (0 between appends)", console.head_seq().saturating_sub(d.head_seq) as f64);
    f.one("sse_clients", "gauge", "Live-stream (SSE) subscribers connected now", console.live_subscribers() as f64);
    f.head("events_total", "counter", "Events in the book by kind (the log since it began)");
    for (kind, n) in [("market_snapshot", d.counts.market_snapshots), ("signal", d.counts.signals), ("risk_check", d.counts.risk_checks), ("order", d.counts.orders), ("fill", d.counts.fills), ("orphan_fill", d.counts.orphan_fills)] {
        f.sample("events_total", &[("kind", kind)], n as f64);
    }
    if let Some(p95) = console.latency_p95_ms() {
        f.one("order_to_fill_latency_p95_seconds", "gauge", "p95 of order -> fill latency (source timestamps) over the runbook's window of the console clock (60 s by default, 5 fills or more)", p95 / 1000.0);
    }
    let usd = |x: rust_decimal::Decimal| x.to_f64().unwrap_or(0.0);
    f.head("pnl_usd", "gauge", "PnL of the book in USD: realized (average cost, before fees), unrealized (at the last mid), total (realized + unrealized - fees), fees");
    for (kind, v) in [("realized", d.pnl.realized), ("unrealized", d.pnl.unrealized), ("total", d.pnl.total), ("fees", d.pnl.fees)] {
        f.sample("pnl_usd", &[("kind", kind)], usd(v));
    }
    f.one("equity_usd", "gauge", "Equity: starting capital + total PnL, USD", usd(d.equity));
    f.one("drawdown_ratio", "gauge", "Current drawdown from the equity peak, a fraction <= 0", d.drawdown);
    f.one("max_drawdown_ratio", "gauge", "Deepest drawdown so far, a fraction <= 0", d.max_drawdown);
    f.head("exposure_usd", "gauge", "Exposure at the marks, USD: gross (sum of |notional|) and net (signed sum)");
    f.sample("exposure_usd", &[("kind", "gross")], usd(d.gross_exposure));
    f.sample("exposure_usd", &[("kind", "net")], usd(d.net_exposure));
    let g = console.governance_view();
    f.head("paused", "gauge", "1 while trading is paused: scope all (the global pause) or one automation; breaker names the circuit breaker that paused it (empty: a person)");
    f.sample("paused", &[("scope", "all"), ("breaker", g.global_pause.as_ref().and_then(|p| p.rule.as_deref()).unwrap_or(""))], if g.global_pause.is_some() { 1.0 } else { 0.0 });
    for a in &g.automations {
        f.sample("paused", &[("scope", &a.automation_id), ("breaker", a.paused.as_ref().and_then(|p| p.rule.as_deref()).unwrap_or(""))], if a.paused.is_some() { 1.0 } else { 0.0 });
    }
    f.head("pending_approvals", "gauge", "Entry signals waiting for a person's approval");
    f.sample("pending_approvals", &[], g.pending_total as f64);
    f.head("compliance_issues_open", "gauge", "Compliance issues needing a person (open, acknowledged, waiver pending), by severity");
    for (i, sev) in ["info", "warning", "critical"].into_iter().enumerate() {
        f.sample("compliance_issues_open", &[("severity", sev)], d.compliance_active[i] as f64);
    }
    f.head("limit_utilisation_ratio", "gauge", "Each configured compliance limit's use now, value / limit (1 = at the limit)");
    for l in app::service::ConsoleService::compliance_limits(console) {
        f.sample("limit_utilisation_ratio", &[("scope", l.scope.as_str()), ("scope_id", l.scope_id.as_deref().unwrap_or("")), ("limit", &l.limit_name)], l.utilisation_pct / 100.0);
    }
    let alerts = console.all_alerts(now);
    f.head("alerts", "gauge", "Alerts by state (firing = unacknowledged and not silenced) and severity");
    for state in domain::anomaly::alerts::AlertState::ALL {
        for sev in domain::event::Severity::NAMES {
            let n = alerts.iter().filter(|a| a.state == state && a.severity.as_str() == *sev).count();
            f.sample("alerts", &[("state", state.as_str()), ("severity", sev)], n as f64);
        }
    }
    let (_, anomalies) = console.anomalies(None, None, 0);
    f.one("anomalies_total", "counter", "Values the statistical detectors flagged since the log began", anomalies as f64);
    f.head("heartbeat_age_seconds", "gauge", "Seconds since each watched component's last heartbeat (console clock)");
    for (component, age) in console.heartbeat_ages(now) {
        f.sample("heartbeat_age_seconds", &[("component", &component)], age);
    }
    f.head("clock_drift_seconds", "gauge", "Each source's clock against the console's, from its least-delayed recent heartbeat (positive: the source is behind); a source replaying market history has none");
    for c in console.source_clocks() {
        if let Some(ms) = c.drift_ms {
            f.sample("clock_drift_seconds", &[("source", &c.source)], ms as f64 / 1000.0);
        }
    }
    let receivers = console.receivers();
    f.head("alert_deliveries_total", "counter", "Alert notifications sent to each receiver since the start, by outcome");
    for h in &receivers {
        f.sample("alert_deliveries_total", &[("receiver", &h.receiver), ("outcome", "delivered")], h.delivered as f64);
        f.sample("alert_deliveries_total", &[("receiver", &h.receiver), ("outcome", "failed")], h.failed as f64);
    }
    f.head("alert_receiver_failing", "gauge", "Failed attempts in a row at each configured receiver (0: healthy)");
    for h in receivers.iter().filter(|h| h.configured) {
        f.sample("alert_receiver_failing", &[("receiver", &h.receiver)], f64::from(h.failing_for));
    }
    let pool = console.store().pool_stats();
    f.head("db_connections", "gauge", "Database pool connections: open and idle");
    f.sample("db_connections", &[("state", "open")], pool.0 as f64);
    f.sample("db_connections", &[("state", "idle")], pool.1 as f64);
    text
}

/// Records every request's route template (never the raw path: ids stay out of the label set),
/// method, status class and latency.
pub async fn track(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let route = req.extensions().get::<MatchedPath>().map(|p| p.as_str().to_string()).unwrap_or_else(|| if req.uri().path().starts_with("/pkg/") { "/pkg".into() } else { "other".into() });
    let method = req.method().as_str().to_string();
    let started = Instant::now();
    let res = next.run(req).await;
    let class = format!("{}xx", res.status().as_u16() / 100);
    let m = &state.metrics;
    m.requests.with_label_values(&[route.as_str(), method.as_str(), class.as_str()]).inc();
    let took = started.elapsed();
    m.request_seconds.with_label_values(&[route.as_str()]).observe(took.as_secs_f64());
    // A live stream stays open for its whole life: its "latency" is no request's.
    if route != "/live/dashboard" {
        m.note(&route, started, took, res.status().is_server_error());
    }
    res
}
