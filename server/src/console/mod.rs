//! The console service: the single writer of the log, the live projection, and what the pages
//! and the API read. Implements [`app::service::ConsoleService`] for the server functions.
use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard, Weak};
use std::time::Duration;

use anyhow::Result;
use chrono::{DateTime, Utc};
use domain::chain::{self, Hash};
use domain::event::{Body, Event, Intent, wire};
use domain::fold::Stored;
use domain::folds::{FoldFailure, Folds};
use rust_decimal::Decimal;
use tokio::sync::{Mutex, watch};

use crate::store::{AppendError, Incoming, Store};

mod actions;
mod alerting;
mod append;
mod health;
mod live;
mod reads;
mod service;
mod snapshot;
mod weekly;

pub use live::LiveFrame;
pub use snapshot::Rebuilt;
pub use weekly::{FUND, GRACE};
pub use actions::system_event;
pub use alerting::DELIVERY_MAX_AGE;
pub use health::RouteWindow;
use actions::wire_id;
use reads::{PerHead, Reports};

/// The automation whose first entries wait for a person in the demo.
pub const DEMO_GATED_AUTOMATION: &str = "mean_reversion-us-equity";

/// Signals shown on the dashboard's feed.
const DASHBOARD_FEED: usize = 15;
/// Shortest gap between two live dashboard pushes (coalesces bursts of batches).
const LIVE_MIN_GAP: Duration = Duration::from_millis(50);


#[derive(Default)]
struct Counters {
    accepted_events: AtomicU64,
    duplicate_events: AtomicU64,
    accepted_batches: AtomicU64,
    rejected_batches: AtomicU64,
    window: std::sync::Mutex<alerting::IngestWindow>,
}

impl Counters {
    /// One ingest batch accepted or rejected: the totals and the error-rate rule's window.
    fn batch(&self, ok: bool) {
        let total = if ok { &self.accepted_batches } else { &self.rejected_batches };
        total.fetch_add(1, Ordering::Relaxed);
        if let Ok(mut w) = self.window.lock() {
            w.add(ok, Utc::now());
        }
    }
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
    /// Seconds the durable append took (the store's transaction; `/metrics` only).
    #[serde(skip)]
    pub append_secs: f64,
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
    /// Where the folds stand (stage one of an append; see `append.rs`).
    tip: Mutex<append::Tip>,
    /// The committed head; holding this lock is what makes the console the single writer
    /// (stage two).
    head: Mutex<(u64, Hash)>,
    /// Set when a batch was folded and not written: the folds are ahead of the log until the
    /// next append folds it again.
    diverged: AtomicBool,
    /// This console, for the tasks appends run in.
    me: Weak<Console>,
    head_tx: watch::Sender<u64>,
    /// Held across a config change's version check and its append: no two saves share a base.
    config_lock: Mutex<()>,
    /// Held across a compliance review's state check and its append.
    review_lock: Mutex<()>,
    live_tx: watch::Sender<Arc<LiveFrame>>,
    counters: Counters,
    reports: Reports,
    /// The seq the newest fold snapshot covers (see `snapshot.rs`).
    snapshot_seq: AtomicU64,
    rebuilt: Rebuilt,
    /// The signed checkpoints of the log, once `startup` has loaded the key.
    checkpoints: std::sync::OnceLock<Arc<crate::checkpoints::Checkpoints>>,
    /// The fee terms of the investor track record (config `management_fee`, `performance_fee`).
    fees: std::sync::OnceLock<domain::track_record::FeeSchedule>,
    /// The paper engine's backtest on the bundled data, once computed (`jobs::backtest`).
    backtest: std::sync::OnceLock<Arc<domain::view::BacktestView>>,
    /// Emails each published report's PDF (config `smtp_url`, `report_recipients`).
    mailer: std::sync::OnceLock<crate::mail::Mailer>,
    /// The alert receivers' records (written by the delivery job).
    receivers: std::sync::Mutex<std::collections::BTreeMap<String, domain::view::ReceiverHealth>>,
    /// Background jobs' records (`/health`).
    jobs: std::sync::Mutex<std::collections::BTreeMap<String, domain::view::JobHealth>>,
    /// Each route's last five minutes (the request metrics; `/health`).
    routes: std::sync::OnceLock<Arc<dyn health::RouteWindow>>,
}

impl Console {
    /// Opens the console on a store: rebuilds the folds from the newest snapshot that checks
    /// out against the chain and the events after it, or from the whole log (see `snapshot.rs`).
    pub async fn open(store: Store, capital: Decimal) -> Result<Arc<Self>> {
        let head = store.head().await?;
        let (folds, rebuilt) = Self::rebuild(&store, capital, head).await?;
        let snapshot_seq = match &rebuilt {
            Rebuilt::FromSnapshot { seq, .. } => *seq,
            Rebuilt::FullReplay { .. } => 0,
        };
        let (head_tx, _) = watch::channel(head.0);
        let (live_tx, _) = watch::channel(Arc::new(LiveFrame::default()));
        let console = Arc::new_cyclic(|me| Self {
            store,
            folds: RwLock::new(folds),
            tip: Mutex::new(append::Tip::at(head)),
            head: Mutex::new(head),
            diverged: AtomicBool::new(false),
            me: me.clone(),
            head_tx,
            config_lock: Mutex::new(()),
            review_lock: Mutex::new(()),
            live_tx,
            counters: Counters::default(),
            reports: Reports {
                performance: PerHead::new(),
                performance_native: PerHead::new(),
                kpis: PerHead::new(),
                attribution: PerHead::new(),
                execution: PerHead::new(),
                risk: PerHead::new(),
                track_record: PerHead::new(),
            },
            snapshot_seq: AtomicU64::new(snapshot_seq),
            rebuilt,
            checkpoints: std::sync::OnceLock::new(),
            fees: std::sync::OnceLock::new(),
            backtest: std::sync::OnceLock::new(),
            mailer: std::sync::OnceLock::new(),
            receivers: Default::default(),
            jobs: Default::default(),
            routes: std::sync::OnceLock::new(),
        });
        console.publish();
        tokio::spawn(Arc::clone(&console).run_live());
        Ok(console)
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Starts signing checkpoints with `key`: rebuilds the Merkle tree from the log in the
    /// background. Once per console (later calls keep the first key).
    pub fn enable_checkpoints(&self, key: ed25519_dalek::SigningKey) -> Arc<crate::checkpoints::Checkpoints> {
        let made = self.checkpoints.get_or_init(|| {
            let c = crate::checkpoints::Checkpoints::new(self.store.clone(), key);
            c.spawn_rebuild();
            c
        });
        Arc::clone(made)
    }

    /// The checkpoints, when enabled.
    pub fn checkpoints(&self) -> Option<&Arc<crate::checkpoints::Checkpoints>> {
        self.checkpoints.get()
    }

    /// Appends a parsed batch (flagging orders and fills against the folds: see `append.rs`),
    /// records what a fold failed on, and runs the rules that are due.
    pub async fn ingest(&self, batch: Vec<Incoming>, now: DateTime<Utc>) -> Result<IngestOutcome, AppendError> {
        let out = self.append(batch, now, true).await?;
        self.record_fold_failures(out.failures, now).await;
        self.evaluate(now).await;
        self.counters.accepted_events.fetch_add(out.stored, Ordering::Relaxed);
        self.counters.duplicate_events.fetch_add(out.duplicates, Ordering::Relaxed);
        self.counters.batch(true);
        Ok(IngestOutcome {
            accepted: out.stored,
            duplicates: out.duplicates,
            first_seq: out.first_seq,
            last_seq: out.first_seq.map(|first| first + out.stored - 1),
            head_seq: out.head.0,
            head_hash: chain::to_hex(&out.head.1),
            flagged: out.flagged,
            append_secs: out.write_secs,
        })
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
        let out = self.append(batch, now, false).await?;
        for f in out.failures {
            tracing::error!(seq = f.seq, fold = f.fold, reason = %f.reason, "a fold failed on a console event; skipped by that fold");
        }
        Ok(out.first_seq.map(|first| (first..first + out.stored).collect()).unwrap_or_default())
    }
}
