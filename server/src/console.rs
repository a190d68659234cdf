//! The console service: the single writer of the log, the live projection, and what the pages
//! and the API read. Implements [`app::service::ConsoleService`] for the server functions.
use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use anyhow::Result;
use app::service::{ConsoleService, Internal};
use chrono::{DateTime, Utc};
use domain::chain::{self, Hash, Report};
use domain::event::Body;
use domain::projection::Projection;
use domain::view::{DashboardView, EventPage, EventQuery, EventRow, IngestView, Lineage, SignalRow};
use rust_decimal::Decimal;
use tokio::sync::{Mutex, watch};

use crate::store::{AppendError, Incoming, Store};

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
    projection: RwLock<Projection>,
    /// The chain head; holding this lock is what makes the console the single writer.
    head: Mutex<(u64, Hash)>,
    head_tx: watch::Sender<u64>,
    live_tx: watch::Sender<Arc<str>>,
    counters: Counters,
}

impl Console {
    /// Opens the console on a store: rebuilds the projection from the whole log.
    pub async fn open(store: Store, capital: Decimal) -> Result<Arc<Self>> {
        let mut projection = Projection::new(capital);
        let started = std::time::Instant::now();
        let n = store.for_each_event(|seq, e| {
            projection.apply(seq, &e);
        })
        .await?;
        let head = store.head().await?;
        tracing::info!(events = n, head_seq = head.0, elapsed_ms = started.elapsed().as_millis() as u64, "projection rebuilt");
        let (head_tx, _) = watch::channel(head.0);
        let (live_tx, _) = watch::channel(Arc::<str>::from("{}"));
        let console = Arc::new(Self {
            store,
            projection: RwLock::new(projection),
            head: Mutex::new(head),
            head_tx,
            live_tx,
            counters: Counters::default(),
        });
        console.publish();
        tokio::spawn(Arc::clone(&console).run_live());
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
            let projection = self.projection.read().map_err(|_| anyhow::anyhow!("projection lock poisoned"))?;
            let mut batch_orders = HashSet::new();
            for inc in batch.iter_mut() {
                match &inc.event.body {
                    Body::Order(o) => {
                        batch_orders.insert(o.order_id.as_str().to_string());
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
        let out = self.store.append(*head, batch, now).await?;
        *head = (out.head_seq, out.head_hash);
        {
            let mut projection = self.projection.write().map_err(|_| anyhow::anyhow!("projection lock poisoned"))?;
            for s in &out.stored {
                projection.apply(s.seq, &s.event);
            }
        }
        drop(head);
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

    pub fn summary(&self) -> DashboardView {
        let mut view = match self.projection.read() {
            Ok(p) => p.dashboard(DASHBOARD_FEED),
            Err(_) => DashboardView::default(),
        };
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
        self.projection.read().map(|p| p.signals(limit)).unwrap_or_default()
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
}
