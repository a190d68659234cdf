//! The console service: the single writer of the log, the live projection, and what the pages
//! and the API read. Implements [`app::service::ConsoleService`] for the server functions.
use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::Duration;

use anyhow::Result;
use app::service::{ConsoleService, Internal};
use chrono::{DateTime, Utc};
use domain::chain::{self, Hash, Report};
use app::api::AppError;
use app::auth::SessionUser;
use domain::event::{Body, ConfigChange, Control, ControlAction, Event, Id, Intent, OperatorResponse, Status, wire};
use domain::fold::{Action, Stored};
use domain::folds::{FoldFailure, Folds};
use domain::governance::{Config, Reason, Role};
use domain::view::{DashboardView, EventPage, EventQuery, EventRow, IngestView, Lineage, SignalRow};
use rust_decimal::Decimal;
use tokio::sync::{Mutex, watch};

use crate::store::{AppendError, Incoming, Store};

/// The automation whose first entries wait for a person in the demo.
pub const DEMO_GATED_AUTOMATION: &str = "mean_reversion-us-equity";

/// Signals shown on the dashboard's feed.
const DASHBOARD_FEED: usize = 15;
/// Shortest gap between two live dashboard pushes (coalesces bursts of batches).
const LIVE_MIN_GAP: Duration = Duration::from_millis(50);

/// A report computed once per version of the log (its head seq): pages and API reads between
/// two appends share one computation.
struct PerHead<T> {
    slot: std::sync::Mutex<Option<(u64, T)>>,
}

impl<T: Clone> PerHead<T> {
    fn new() -> Self {
        Self { slot: std::sync::Mutex::new(None) }
    }

    fn get(&self, head: u64, compute: impl FnOnce() -> T) -> T {
        if let Ok(slot) = self.slot.lock()
            && let Some((h, v)) = slot.as_ref()
            && *h == head
        {
            return v.clone();
        }
        // Computed outside the lock: a slow report never blocks a reader of a cached one.
        let v = compute();
        if let Ok(mut slot) = self.slot.lock() {
            *slot = Some((head, v.clone()));
        }
        v
    }
}

/// The analytics pages' reports, each cached per head seq.
struct Reports {
    performance: PerHead<domain::view::PerformanceView>,
    performance_native: PerHead<domain::view::PerformanceView>,
    kpis: PerHead<domain::view::KpiView>,
    attribution: PerHead<domain::view::AttributionView>,
    execution: PerHead<domain::analytics::SlippageReport>,
    risk: PerHead<domain::risk::RiskReport>,
}

#[derive(Default)]
struct Counters {
    accepted_events: AtomicU64,
    duplicate_events: AtomicU64,
    accepted_batches: AtomicU64,
    rejected_batches: AtomicU64,
}

/// Read access that never answers a poisoned lock with made-up defaults: folds cannot poison
/// (see `domain::folds::Folds::apply`), and if anything else ever did, the state itself is still the truth.
fn read<T>(lock: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(PoisonError::into_inner)
}

fn write<T>(lock: &RwLock<T>) -> RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(PoisonError::into_inner)
}

/// What an accepted batch did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct IngestOutcome {
    pub accepted: u64,
    pub duplicates: u64,
    pub first_seq: Option<u64>,
    pub last_seq: Option<u64>,
    pub head_seq: u64,
    pub head_hash: String,
    /// Events stored but flagged (e.g. a fill for an unknown order), by 1-based line.
    pub flagged: Vec<Flagged>,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct Flagged {
    pub line: usize,
    pub event_id: String,
    pub flag: &'static str,
    pub reason: &'static str,
}

pub struct Console {
    store: Store,
    /// Every fold over the log (the book first; see `domain::folds`), behind one lock: a batch
    /// is applied to all of them at once, and a read sees them at one log position.
    folds: RwLock<Folds>,
    /// The chain head; holding this lock is what makes the console the single writer.
    head: Mutex<(u64, Hash)>,
    head_tx: watch::Sender<u64>,
    /// Held across a config change's version check and its append: no two saves share a base.
    config_lock: Mutex<()>,
    live_tx: watch::Sender<Arc<str>>,
    counters: Counters,
    reports: Reports,
}

impl Console {
    /// Opens the console on a store: rebuilds the projection from the whole log.
    pub async fn open(store: Store, capital: Decimal) -> Result<Arc<Self>> {
        let mut folds = Folds::new(capital);
        let started = std::time::Instant::now();
        let mut failures = Vec::new();
        let n = store.for_each_event(|seq, e, received_at| {
            folds.apply(&Stored { seq, event: &e, received_at }, &mut failures);
        })
        .await?;
        for f in &failures {
            tracing::error!(seq = f.seq, fold = f.fold, reason = %f.reason, "a fold failed on a stored event at start-up; skipped by that fold");
        }
        let head = store.head().await?;
        tracing::info!(events = n, head_seq = head.0, elapsed_ms = started.elapsed().as_millis() as u64, "projection rebuilt");
        let (head_tx, _) = watch::channel(head.0);
        let (live_tx, _) = watch::channel(Arc::<str>::from("{}"));
        let console = Arc::new(Self {
            store,
            folds: RwLock::new(folds),
            head: Mutex::new(head),
            head_tx,
            config_lock: Mutex::new(()),
            live_tx,
            counters: Counters::default(),
            reports: Reports {
                performance: PerHead::new(),
                performance_native: PerHead::new(),
                kpis: PerHead::new(),
                attribution: PerHead::new(),
                execution: PerHead::new(),
                risk: PerHead::new(),
            },
        });
        console.publish();
        tokio::spawn(Arc::clone(&console).run_live());
        tokio::spawn(Arc::clone(&console).run_rules());
        Ok(console)
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Appends a parsed batch. Fills for orders neither in the log nor earlier in the batch are
    /// stored and flagged `unknown_order`: an engine's claim of a fill is evidence, and dropping
    /// it would hide exactly what an audit must see; it is kept out of positions until explained.
    pub async fn ingest(&self, mut batch: Vec<Incoming>, now: DateTime<Utc>) -> Result<IngestOutcome, AppendError> {
        let mut head = self.head.lock().await;
        let mut flagged = Vec::new();
        {
            let folds = read(&self.folds);
            let (projection, governance) = (&folds.book, &folds.governance);
            let mut batch_orders = HashSet::new();
            // Entry signals of this batch that will wait for a person: their orders are unapproved.
            let mut batch_gated: HashSet<String> = HashSet::new();
            let mut batch_automation: std::collections::HashMap<String, String> = std::collections::HashMap::new();
            for inc in batch.iter_mut() {
                match &inc.event.body {
                    Body::Signal(s) => {
                        batch_automation.insert(s.signal_id.to_string(), s.automation_id.to_string());
                        if s.intent == Intent::Entry && governance.would_gate(s.automation_id.as_str()) {
                            batch_gated.insert(s.signal_id.to_string());
                        }
                    }
                    Body::Order(o) => {
                        let fresh = batch_orders.insert(o.order_id.as_str().to_string());
                        let signal = o.signal_id.as_ref().map(|s| s.as_str());
                        let flag = if !fresh {
                            None
                        } else if let Some(a) = signal.and_then(|s| batch_automation.get(s)) {
                            if governance.is_paused(Some(a)) {
                                Some("paused")
                            } else if signal.is_some_and(|s| batch_gated.contains(s)) {
                                Some("unapproved_signal")
                            } else {
                                None
                            }
                        } else {
                            governance.order_flag(o.order_id.as_str(), signal)
                        };
                        if let Some(flag) = flag {
                            inc.flags = Some(flag);
                            flagged.push(Flagged {
                                line: inc.line,
                                event_id: inc.event.event_id.to_string(),
                                flag,
                                reason: if flag == "paused" {
                                    "order from a paused automation; stored and flagged, not dropped"
                                } else {
                                    "order for a signal no person approved; stored and flagged, not dropped"
                                },
                            });
                        }
                    }
                    Body::Fill(f) if !projection.knows_order(f.order_id.as_str()) && !batch_orders.contains(f.order_id.as_str()) => {
                        inc.flags = Some("unknown_order");
                        flagged.push(Flagged {
                            line: inc.line,
                            event_id: inc.event.event_id.to_string(),
                            flag: "unknown_order",
                            reason: "fill for an order id the log has not seen; stored, not applied to positions",
                        });
                    }
                    _ => {}
                }
            }
        }
        self.catch_up(&mut head).await?;
        let out = self.store.append(*head, batch, now).await?;
        *head = (out.head_seq, out.head_hash);
        let failures = self.apply_stored(&out.stored, now);
        drop(head);
        self.record_fold_failures(failures, now).await;
        self.evaluate(now).await;
        // A flagged line that turned out to be a duplicate was not stored now: do not report it.
        let stored_ids: HashSet<&str> = out.stored.iter().map(|s| s.event.event_id.as_str()).collect();
        flagged.retain(|f| stored_ids.contains(f.event_id.as_str()));
        let accepted = out.stored.len() as u64;
        self.counters.accepted_events.fetch_add(accepted, Ordering::Relaxed);
        self.counters.duplicate_events.fetch_add(out.duplicates, Ordering::Relaxed);
        self.counters.accepted_batches.fetch_add(1, Ordering::Relaxed);
        if accepted > 0 {
            self.head_tx.send_replace(out.head_seq);
        }
        Ok(IngestOutcome {
            accepted,
            duplicates: out.duplicates,
            first_seq: out.stored.first().map(|s| s.seq),
            last_seq: out.stored.last().map(|s| s.seq),
            head_seq: out.head_seq,
            head_hash: chain::to_hex(&out.head_hash),
            flagged,
        })
    }

    /// Brings the head and the folds up to the log before an append (called with the head lock
    /// held). A request dropped while its commit was in flight (a client that disconnects, an
    /// engine killed mid-batch) leaves events committed that the head and the folds never saw;
    /// without this the next append would reuse their seqs and fail, and every one after it.
    async fn catch_up(&self, head: &mut (u64, Hash)) -> Result<()> {
        let stored_head = self.store.head().await?;
        if stored_head.0 <= head.0 {
            return Ok(());
        }
        let mut missed = Vec::new();
        self.store.for_each_event_after(head.0, |seq, event, received_at| missed.push((seq, event, received_at))).await?;
        for f in self.apply_events(missed.iter().map(|(seq, event, received_at)| (*seq, event, *received_at))) {
            tracing::error!(seq = f.seq, fold = f.fold, reason = %f.reason, "a fold failed on a caught-up event; skipped by that fold");
        }
        tracing::warn!(events = missed.len(), from_seq = head.0 + 1, to_seq = stored_head.0, "applied events committed by a request that did not finish");
        *head = stored_head;
        self.head_tx.send_replace(head.0);
        Ok(())
    }

    fn apply_stored(&self, stored: &[crate::store::Stored], now: DateTime<Utc>) -> Vec<FoldFailure> {
        self.apply_events(stored.iter().map(|s| (s.seq, &s.event, now)))
    }

    /// Folds stored events `(seq, event, received_at)` into every fold, under their write locks.
    /// A fold that fails on an event skips it and the others go on (see `domain::folds::Folds::apply`).
    fn apply_events<'a>(&self, events: impl Iterator<Item = (u64, &'a Event, DateTime<Utc>)>) -> Vec<FoldFailure> {
        let mut folds = write(&self.folds);
        let mut failures = Vec::new();
        for (seq, event, received_at) in events {
            folds.apply(&Stored { seq, event, received_at }, &mut failures);
        }
        failures
    }

    /// Marks events a fold failed on: one `system` event each (component `console.fold`, status
    /// `fold_error`, naming the seq, the fold and the reason), in the chain and on the audit page.
    async fn record_fold_failures(&self, failures: Vec<FoldFailure>, now: DateTime<Utc>) {
        if failures.is_empty() {
            return;
        }
        let bodies = failures
            .iter()
            .filter_map(|f| {
                tracing::error!(seq = f.seq, fold = f.fold, reason = %f.reason, "a fold failed on a stored event; skipped by that fold");
                system_event("console.fold", "fold_error", format!("event seq {} skipped by the {} fold: {}", f.seq, f.fold, f.reason)).ok()
            })
            .collect();
        if let Err(e) = self.record(bodies, now).await {
            tracing::error!(error = %e, "recording fold failures");
        }
    }

    /// Appends events the console itself writes (decisions, config, pauses, breaker trips): each
    /// gets a console event id and `ts = now`, and goes through the same parser as ingest.
    pub async fn record(&self, bodies: Vec<Body>, now: DateTime<Utc>) -> Result<Vec<u64>, AppendError> {
        let ts = chrono::SubsecRound::trunc_subsecs(now, 3);
        let mut batch = Vec::with_capacity(bodies.len());
        for (i, body) in bodies.into_iter().enumerate() {
            let event_id = wire_id(&format!("tw-{}-{:016x}", now.timestamp_millis(), rand::random::<u64>()))?;
            let raw = wire::to_json(&Event { event_id, ts, body });
            // The same gate as ingest: what the console writes must parse, within every bound.
            let event = Event::parse_json(&raw, now).map_err(|e| anyhow::anyhow!("console event does not parse: {e}"))?;
            batch.push(Incoming { line: i + 1, event, raw, flags: None });
        }
        let mut head = self.head.lock().await;
        self.catch_up(&mut head).await?;
        let out = self.store.append(*head, batch, now).await?;
        *head = (out.head_seq, out.head_hash);
        for f in self.apply_stored(&out.stored, now) {
            tracing::error!(seq = f.seq, fold = f.fold, reason = %f.reason, "a fold failed on a console event; skipped by that fold");
        }
        drop(head);
        if !out.stored.is_empty() {
            self.head_tx.send_replace(out.head_seq);
        }
        Ok(out.stored.iter().map(|s| s.seq).collect())
    }

    /// The demo's first config version: every automation trades on its own from the start except
    /// [`DEMO_GATED_AUTOMATION`], whose first 3 entries wait for a person on /signals (the
    /// default threshold stays 10). Recorded like any change, with its reason.
    pub async fn demo_config(&self) -> Result<()> {
        let mut config = Config::default();
        config.gating.threshold = 0;
        config.gating.overrides.insert(DEMO_GATED_AUTOMATION.to_string(), 3);
        let reason = Reason::parse(&format!(
            "demo set-up: automations trade automatically, except {DEMO_GATED_AUTOMATION}, whose first 3 entries need a person's approval"
        ))?;
        self.record(vec![Body::ConfigChange(ConfigChange { version: 1, actor: wire_id("demo")?, reason, config })], Utc::now())
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
        Ok(())
    }

    /// Whether a new entry signal of this automation would wait for a person.
    pub fn gates(&self, automation: &str) -> bool {
        read(&self.folds).governance.would_gate(automation)
    }

    /// Runs the rules once: times out pending signals, unlocks automations, trips breakers.
    pub async fn evaluate(&self, now: DateTime<Utc>) {
        let due = write(&self.folds).due(now);
        if due.is_empty() {
            return;
        }
        let bodies: Vec<Body> = due
            .into_iter()
            .filter_map(|a| match action_event(a) {
                Ok(b) => Some(b),
                Err(e) => {
                    tracing::error!(error = %e, "a rule action that cannot be written");
                    None
                }
            })
            .collect();
        if let Err(e) = self.record(bodies, now).await {
            tracing::error!(error = %e, "appending rule actions");
        }
    }

    /// Evaluates the rules every second (timeouts and heartbeats need a clock, not an event).
    async fn run_rules(self: Arc<Self>) {
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        loop {
            tick.tick().await;
            self.evaluate(Utc::now()).await;
        }
    }

    /// The governance state: pending rows compact (no features, checks or LLM text).
    pub fn governance_view(&self) -> domain::view::GovernanceView {
        read(&self.folds).governance.view(Utc::now())
    }

    /// The governance state with each listed pending row's detail read from the log (at most
    /// `governance::PENDING_LISTED` rows, one query). If the store cannot answer, the rows come
    /// without detail rather than not at all.
    pub async fn governance_view_detailed(&self) -> domain::view::GovernanceView {
        let mut view = self.governance_view();
        let ids: Vec<&str> = view.pending.iter().map(|p| p.signal_id.as_str()).collect();
        match self.store.signal_details(&ids).await {
            Ok(events) => {
                for row in &mut view.pending {
                    domain::governance::fill_pending_detail(row, &events);
                }
            }
            Err(e) => tracing::error!(error = %e, "reading pending signals' detail"),
        }
        view
    }

    pub fn decisions(&self, automation: Option<&str>, after_seq: u64, limit: usize) -> Vec<domain::view::DecisionRow> {
        read(&self.folds).governance.decisions(automation, after_seq, limit)
    }

    pub fn current_config(&self) -> (u32, Config) {
        {
        let folds = read(&self.folds);
            let g = &folds.governance;
        (g.config_version(), g.config().clone())
    }
    }

    pub fn record_rejected_batch(&self) {
        self.counters.rejected_batches.fetch_add(1, Ordering::Relaxed);
    }

    fn ingest_view(&self) -> IngestView {
        let c = &self.counters;
        let (ok, bad) = (c.accepted_batches.load(Ordering::Relaxed), c.rejected_batches.load(Ordering::Relaxed));
        IngestView {
            accepted_events: c.accepted_events.load(Ordering::Relaxed),
            duplicate_events: c.duplicate_events.load(Ordering::Relaxed),
            accepted_batches: ok,
            rejected_batches: bad,
            error_rate: (ok + bad > 0).then(|| bad as f64 / (ok + bad) as f64),
        }
    }

    /// Daily returns of the console's equity (last equity of each UTC day), between two dates
    /// (inclusive) when given.
    pub fn daily_returns(&self, from: Option<chrono::NaiveDate>, to: Option<chrono::NaiveDate>) -> (Vec<chrono::NaiveDate>, Vec<f64>) {
        let (dates, returns) = domain::metrics::daily_returns(read(&self.folds).book.daily_closes());
        dates.into_iter().zip(returns).filter(|(d, _)| from.is_none_or(|f| *d >= f) && to.is_none_or(|t| *d <= t)).unzip()
    }

    /// Returns of the console's equity at the native bar interval (one per distinct market
    /// timestamp) and the observed periods per year, between two dates when given.
    pub fn native_returns(&self, from: Option<chrono::NaiveDate>, to: Option<chrono::NaiveDate>) -> domain::metrics::NativeReturns {
        {
        let folds = read(&self.folds);
        let p = &folds.book;
        domain::metrics::native_returns(p.equity_points(), from, to)
    }
    }

    /// The seq of the last event applied (a version of everything folded from the log).
    fn head_seq(&self) -> u64 {
        *self.head_tx.borrow()
    }

    /// Exit-quality KPIs as of the latest market time in the log.
    pub fn exit_kpis(&self) -> domain::kpi::KpiReport {
        let now = read(&self.folds).book.as_of().unwrap_or_else(Utc::now);
        read(&self.folds).kpis.report(now)
    }

    /// Execution cost of every fill against its decision price, in parts.
    pub fn slippage(&self) -> domain::analytics::SlippageReport {
        read(&self.folds).slippage.report().clone()
    }

    /// Realized PnL of the closed round trips, broken down four ways.
    pub fn attribution(&self) -> domain::analytics::Attribution {
        {
        let folds = read(&self.folds);
        let p = &folds.book;
        domain::analytics::Attribution::compute(p.closed_trades())
    }
    }

    /// Realized PnL of the closed round trips by factor (exposures of the opening signal times
    /// the factor ETFs' returns over the holding span) and residual.
    pub fn factor_attribution(&self) -> domain::analytics::FactorAttribution {
        let empty = domain::analytics::FactorReturns::default();
        let factors = crate::reference::factors().unwrap_or(&empty);
        {
        let folds = read(&self.folds);
        let p = &folds.book;
        domain::analytics::FactorAttribution::compute(p.closed_trades(), factors)
    }
    }

    /// The fund's daily returns and closed trades by the S&P 500's regime.
    pub fn regimes(&self, from: Option<chrono::NaiveDate>, to: Option<chrono::NaiveDate>) -> domain::regime::RegimeReport {
        let (Some(index), Some(labels)) = (crate::reference::sp500(), crate::reference::sp500_regimes()) else { return Default::default() };
        let (dates, returns) = self.daily_returns(from, to);
        let params = domain::regime::RegimeParams::default();
        {
        let folds = read(&self.folds);
        let p = &folds.book;
        domain::regime::RegimeReport::compute_with(&dates, &returns, p.closed_trades(), index, labels, &params)
    }
    }

    /// Exposure, leverage, concentration and correlation of the book.
    pub fn risk(&self) -> domain::risk::RiskReport {
        let folds = read(&self.folds);
        let p = &folds.book;
        domain::risk::RiskReport::compute(&p.daily_exposure(), &p.position_notionals(), p.daily_marks())
    }

    /// The exits and trades behind one week of the KPIs.
    pub fn kpi_week(&self, week: chrono::NaiveDate) -> domain::kpi::KpiWeek {
        let now = read(&self.folds).book.as_of().unwrap_or_else(Utc::now);
        read(&self.folds).kpis.week(week, now)
    }

    /// Per-trade figures of every closed round trip.
    pub fn trade_stats(&self) -> domain::metrics::TradeStats {
        {
        let folds = read(&self.folds);
        let p = &folds.book;
        domain::metrics::TradeStats::compute(p.closed_trades())
    }
    }

    pub fn summary(&self) -> DashboardView {
        let mut view = read(&self.folds).book.dashboard(DASHBOARD_FEED);
        view.ingest = self.ingest_view();
        view
    }

    /// The dashboard as JSON, re-rendered after each change (see [`Console::run_live`]).
    pub fn live(&self) -> watch::Receiver<Arc<str>> {
        self.live_tx.subscribe()
    }

    fn publish(&self) {
        match serde_json::to_string(&self.summary()) {
            Ok(json) => {
                self.live_tx.send_replace(Arc::from(json));
            }
            Err(e) => tracing::error!(error = %e, "serialising the dashboard"),
        }
    }

    /// Renders the dashboard once per burst of appends, for every SSE subscriber at once.
    async fn run_live(self: Arc<Self>) {
        let mut rx = self.head_tx.subscribe();
        while rx.changed().await.is_ok() {
            self.publish();
            tokio::time::sleep(LIVE_MIN_GAP).await;
        }
    }

    pub async fn lineage_of(&self, signal_id: &str) -> Result<Option<Lineage>> {
        let events = self.store.trade_events(signal_id).await?;
        Ok(domain::lineage::build(signal_id, &events))
    }
}

fn internal(e: anyhow::Error) -> Internal {
    tracing::error!(error = format!("{e:#}"), "console service");
    Internal
}

#[async_trait::async_trait]
impl ConsoleService for Console {
    fn dashboard(&self) -> DashboardView {
        self.summary()
    }
    fn signals(&self, limit: usize) -> Vec<SignalRow> {
        read(&self.folds).book.signals(limit)
    }
    async fn events(&self, q: EventQuery) -> Result<EventPage, Internal> {
        self.store.events(&q).await.map_err(internal)
    }
    async fn event(&self, seq: u64) -> Result<Option<EventRow>, Internal> {
        self.store.event(seq).await.map_err(internal)
    }
    async fn lineage(&self, signal_id: &str) -> Result<Option<Lineage>, Internal> {
        self.lineage_of(signal_id).await.map_err(internal)
    }
    async fn verify(&self) -> Result<Report, Internal> {
        self.store.verify().await.map_err(internal)
    }

    async fn governance(&self) -> domain::view::GovernanceView {
        self.governance_view_detailed().await
    }

    fn performance(&self, native: bool) -> domain::view::PerformanceView {
        let head = self.head_seq();
        if native {
            return self.reports.performance_native.get(head, || {
                let n = self.native_returns(None, None);
                let mut view = domain::metrics::performance_view_at(&n.dates, &n.times, &n.returns, None, self.trade_stats(), n.per_year.unwrap_or(domain::metrics::TRADING_DAYS));
                view.interval = "native".into();
                view
            });
        }
        self.reports.performance.get(head, || {
            let (dates, returns) = self.daily_returns(None, None);
            domain::metrics::performance_view(&dates, &returns, crate::reference::sp500(), self.trade_stats())
        })
    }

    fn kpi_view(&self) -> domain::view::KpiView {
        self.reports.kpis.get(self.head_seq(), || domain::view::KpiView { report: self.exit_kpis(), targets: self.current_config().1.kpi_targets })
    }

    fn kpi_week_view(&self, week: chrono::NaiveDate) -> domain::kpi::KpiWeek {
        self.kpi_week(week)
    }

    fn attribution_view(&self) -> domain::view::AttributionView {
        self.reports.attribution.get(self.head_seq(), || domain::view::AttributionView {
            attribution: self.attribution(),
            factors: self.factor_attribution(),
            regimes: self.regimes(None, None),
        })
    }

    fn execution_view(&self) -> domain::analytics::SlippageReport {
        self.reports.execution.get(self.head_seq(), || self.slippage())
    }

    fn risk_view(&self) -> domain::risk::RiskReport {
        self.reports.risk.get(self.head_seq(), || self.risk())
    }

    fn config(&self) -> (u32, Config) {
        self.current_config()
    }

    fn config_history(&self) -> Vec<domain::view::ConfigVersionView> {
        read(&self.folds).governance.versions().iter().rev().cloned().collect()
    }

    async fn decide(&self, actor: &SessionUser, signal_id: &str, action: &str, comment: Option<String>) -> Result<(), AppError> {
        let now = Utc::now();
        let comment = comment.map(|c| c.trim().to_string()).filter(|c| !c.is_empty());
        let response_ms = {
            let folds = read(&self.folds);
            let g = &folds.governance;
            let received = match action {
                "approve" | "reject" => g.pending(signal_id).map(|p| p.received_at),
                "acknowledge" => g.exit(signal_id).map(|e| e.received_at),
                _ => return Err(AppError::Invalid("the decision is approve, reject or acknowledge".into())),
            };
            let received = received.ok_or_else(|| AppError::Conflict("this signal is no longer waiting for a decision".into()))?;
            if let Some(a) = g.automation_of(signal_id) {
                may_operate(actor, g.config(), a)?;
            }
            (now - received).num_milliseconds().max(0)
        };
        let comment = if action == "reject" {
            let reason = Reason::parse(comment.as_deref().unwrap_or("")).map_err(|e| AppError::Invalid(format!("reject needs a reason: {e}")))?;
            Some(reason.to_string())
        } else {
            comment.map(|c| c.chars().take(2000).collect::<String>())
        };
        let body = OperatorResponse {
            signal_id: wire_id(signal_id).map_err(|_| AppError::NotFound)?,
            action: wire_id(action).map_err(internal)?,
            actor: wire_id(&actor.username).map_err(internal)?,
            comment,
            response_ms: Some(response_ms.unsigned_abs()),
        };
        self.record(vec![Body::OperatorResponse(body)], now)
        .await
        .map_err(|e| internal(anyhow::anyhow!("{e}")))?;
        self.evaluate(now).await;
        Ok(())
    }

    async fn control(&self, actor: &SessionUser, automation: Option<String>, pause: bool, reason: &str) -> Result<(), AppError> {
        let reason = Reason::parse(reason).map_err(|e| AppError::Invalid(e.to_string()))?;
        let now = Utc::now();
        {
            let folds = read(&self.folds);
            let g = &folds.governance;
            if let Some(a) = &automation {
                if !g.knows_automation(a) {
                    return Err(AppError::NotFound);
                }
                may_operate(actor, g.config(), a)?;
            }
            let paused_now = match &automation {
                Some(a) => g.automation_paused(a),
                None => g.is_paused(None),
            };
            if paused_now == pause {
                return Err(AppError::Conflict(if pause { "already paused".into() } else { "not paused".into() }));
            }
        }
        let body = Control {
            action: if pause { ControlAction::Pause } else { ControlAction::Resume },
            automation_id: automation.as_deref().map(wire_id).transpose().map_err(internal)?,
            actor: wire_id(&actor.username).map_err(internal)?,
            reason,
            rule: None,
            value: None,
            limit: None,
        };
        self.record(vec![Body::Control(body)], now)
        .await
        .map_err(|e| internal(anyhow::anyhow!("{e}")))?;
        Ok(())
    }

    async fn change_config(&self, actor: &SessionUser, base_version: u32, config: Config, reason: &str) -> Result<u32, AppError> {
        let reason = Reason::parse(reason).map_err(|e| AppError::Invalid(e.to_string()))?;
        config.validate().map_err(|e| AppError::Invalid(e.to_string()))?;
        let _one_at_a_time = self.config_lock.lock().await;
        let (current, old) = self.current_config();
        if base_version != current {
            return Err(AppError::Conflict(format!("the config changed meanwhile (now version {current}); reload and apply your change again")));
        }
        let changes = config.diff(&old);
        if changes.is_empty() {
            return Err(AppError::Invalid("nothing changed".into()));
        }
        if (Config::touches_admin_only(&changes) || config.lowers_gating(&old)) && actor.role != Role::Admin {
            return Err(AppError::Forbidden);
        }
        let version = current + 1;
        let actor_id = wire_id(&actor.username).map_err(internal)?;
        self.record(vec![Body::ConfigChange(ConfigChange { version, actor: actor_id, reason, config })], Utc::now())
        .await
        .map_err(|e| internal(anyhow::anyhow!("{e}")))?;
        self.evaluate(Utc::now()).await;
        Ok(version)
    }
}

/// An id the console writes (its own names, a user's name, an id a page sent back).
fn wire_id(s: &str) -> anyhow::Result<Id> {
    Id::parse(s).map_err(|e| anyhow::anyhow!("id '{}': {e}", s.chars().take(40).collect::<String>()))
}

/// A `system` event from one of the console's components.
pub fn system_event(component: &str, status: &str, detail: String) -> anyhow::Result<Body> {
    Ok(Body::System(Status { component: wire_id(component)?, status: wire_id(status)?, detail: Some(detail) }))
}

/// The event that carries out a fold's action.
fn action_event(action: Action) -> anyhow::Result<Body> {
    Ok(match action {
        Action::Timeout { signal_id, response_ms, .. } => Body::OperatorResponse(OperatorResponse {
            signal_id: wire_id(&signal_id)?,
            action: wire_id("timeout")?,
            actor: wire_id("console")?,
            comment: Some("no decision within the approval timeout".into()),
            response_ms: Some(response_ms.max(0).unsigned_abs()),
        }),
        Action::Unlock { automation_id, approved, threshold } => Body::Control(Control {
            action: ControlAction::Unlock,
            automation_id: Some(wire_id(&automation_id)?),
            actor: wire_id("console")?,
            reason: Reason::parse(&format!("{approved} approved trades reached the gating threshold of {threshold}; entries now run without a person"))?,
            rule: None,
            value: None,
            limit: None,
        }),
        Action::Trip { automation_id, rule, value, limit } => Body::Control(Control {
            action: ControlAction::Pause,
            automation_id: automation_id.as_deref().map(wire_id).transpose()?,
            actor: wire_id("circuit_breaker")?,
            reason: Reason::parse(&format!("circuit breaker {rule}: value {value:.2} beyond limit {limit:.2}"))?,
            rule: Some(wire_id(rule)?),
            value: Some(value),
            limit: Some(limit),
        }),
    })
}

/// Traders act only on the automations they own (or on those without owners); risk may pause
/// any automation.
fn may_operate(actor: &SessionUser, config: &Config, automation: &str) -> Result<(), AppError> {
    if actor.role == Role::Trader && !config.may_operate(&actor.username, automation) {
        return Err(AppError::Forbidden);
    }
    Ok(())
}
