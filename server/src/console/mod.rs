//! The console service: the single writer of the log, the live projection, and what the pages
//! and the API read. Implements [`app::service::ConsoleService`] for the server functions.
use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};
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
    /// The chain head; holding this lock is what makes the console the single writer.
    head: Mutex<(u64, Hash)>,
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
        let console = Arc::new(Self {
            store,
            folds: RwLock::new(folds),
            head: Mutex::new(head),
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
                    Body::Fill(f) if projection.order_is_final(f.order_id.as_str()) && !batch_orders.contains(f.order_id.as_str()) => {
                        inc.flags = Some("final_order");
                        flagged.push(Flagged {
                            line: inc.line,
                            event_id: inc.event.event_id.to_string(),
                            flag: "final_order",
                            reason: "fill for an order already final (filled in full, cancelled or rejected); stored, not applied to positions",
                        });
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
        let appending = std::time::Instant::now();
        let out = self.store.append(*head, batch, now).await?;
        let append_secs = appending.elapsed().as_secs_f64();
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
        self.counters.batch(true);
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
            append_secs,
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
}
