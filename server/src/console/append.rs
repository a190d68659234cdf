//! An append in two stages, so that one batch is folded while the one before it is written.
//!
//! 1. **Fold** (under the tip lock): flag the batch against the folds, sort it against the log
//!    (duplicates out, re-used ids refused; the batch still being written counts as stored; only
//!    the event ids, and signal and order ids, the `event_ids` filters may hold are looked up),
//!    link it onto the chain after the tip, fold it, and move the tip to it.
//! 2. **Write** (under the head lock, taken before the tip lock is let go, so batches are written
//!    in the order they were linked): insert the linked rows in one transaction, committed only
//!    if the log still ends where they were linked; then the head moves and the batch is
//!    acknowledged.
//!
//! A profile of 1,000-event batches showed the folds and the store's insert each taking about a
//! third of a batch's time, one after the other under one lock; now they overlap.
//!
//! Pages may show a batch's effect a few milliseconds before its commit. If the write fails (a
//! storage error, or another writer appended: [`WriteError::Moved`]), the folds are ahead of the
//! log: the console is marked diverged, the batch linked after it is not written either, and the
//! next append folds the log again ([`Console::reconcile`]) before anything else. A batch that
//! found the log moved is sorted, linked and folded again (at most [`ATTEMPTS`] times); one whose
//! write failed is answered with the error. Each append runs in its own task: a request dropped
//! mid-way (a client that disconnects) cannot leave a batch folded and not written.
use std::sync::Arc;
use std::time::Instant;

use crate::store::{MayBeStored, Pending, WriteError, last_link, link_rows};

use super::*;

/// Attempts of one batch when the log moves under the console (another writer).
const ATTEMPTS: usize = 10;

/// Where the folds stand: the last batch folded (being written, or written).
pub(super) struct Tip {
    pub(super) head: (u64, Hash),
    /// That batch's events and when they were received: the next batch is sorted against them
    /// (their commit may still be under way).
    last: Arc<Vec<Incoming>>,
    last_received_ms: i64,
}

impl Tip {
    pub(super) fn at(head: (u64, Hash)) -> Self {
        Self { head, last: Arc::default(), last_received_ms: 0 }
    }
}

/// What one append stored.
pub(super) struct Appended {
    pub(super) first_seq: Option<u64>,
    pub(super) stored: u64,
    pub(super) duplicates: u64,
    pub(super) head: (u64, Hash),
    pub(super) flagged: Vec<Flagged>,
    pub(super) failures: Vec<FoldFailure>,
    /// Seconds the durable write took.
    pub(super) write_secs: f64,
}

enum Attempt {
    Done(Appended),
    /// The log moved (or an earlier batch was not written): these events, sorted once, again.
    Again(Vec<Incoming>, u64),
}

/// Marks the console diverged if an append stops between its two stages (a panic).
struct Unfinished<'a>(Option<&'a AtomicBool>);

impl Unfinished<'_> {
    fn done(mut self) {
        self.0 = None;
    }
}

impl Drop for Unfinished<'_> {
    fn drop(&mut self) {
        if let Some(diverged) = self.0 {
            diverged.store(true, Ordering::Release);
        }
    }
}

impl Console {
    /// Appends a batch: both stages, in a task of its own. `gate`: flag orders and fills against
    /// the folds (ingest); the console's own events are not flagged.
    pub(super) async fn append(&self, batch: Vec<Incoming>, now: DateTime<Utc>, gate: bool) -> Result<Appended, AppendError> {
        let me = self.me.upgrade().ok_or_else(|| AppendError::Storage(anyhow::anyhow!("the console is closing")))?;
        tokio::spawn(async move { me.append_in_order(batch, now, gate).await })
            .await
            .map_err(|e| AppendError::Storage(anyhow::anyhow!("the append task ended: {e}")))?
    }

    async fn append_in_order(&self, mut batch: Vec<Incoming>, now: DateTime<Utc>, gate: bool) -> Result<Appended, AppendError> {
        let mut duplicates = 0;
        for attempt in 0..ATTEMPTS {
            // Again after the log moved: every id looked up (the filter holds only what the folds
            // saw; an id the store refused as stored must be found).
            match self.attempt(batch, now, gate, attempt > 0).await? {
                Attempt::Done(mut a) => {
                    a.duplicates += duplicates;
                    return Ok(a);
                }
                Attempt::Again(rest, d) => {
                    batch = rest;
                    duplicates += d;
                }
            }
        }
        Err(AppendError::Storage(anyhow::anyhow!("the log moved under this console {ATTEMPTS} times in a row")))
    }

    async fn attempt(&self, mut batch: Vec<Incoming>, now: DateTime<Utc>, gate: bool, look_up_all: bool) -> Result<Attempt, AppendError> {
        // Folded with the receive time the log keeps (milliseconds), as a replay folds it.
        let now = chrono::SubsecRound::trunc_subsecs(now, 3);
        let received_ms = now.timestamp_millis();
        // Stage one: fold.
        let mut tip = self.tip.lock().await;
        self.reconcile(&mut tip).await?;
        let mut flagged = if gate { self.flag(&mut batch) } else { Vec::new() };
        let may_be_stored = (!look_up_all).then(|| {
            let folds = read(&self.folds);
            batch.iter().map(|inc| MayBeStored { event_id: folds.event_ids.may_hold(inc.event.event_id.as_str()), identity: folds.event_ids.may_hold_identity(&inc.event) }).collect()
        });
        let pending = Pending { events: &tip.last, received_ms: tip.last_received_ms };
        let (fresh, duplicates) = self.store.sort(batch, pending, may_be_stored).await?;
        if !flagged.is_empty() {
            // A flagged line that is a duplicate is not stored now: do not report it.
            let stored: HashSet<&str> = fresh.iter().map(|inc| inc.event.event_id.as_str()).collect();
            flagged.retain(|f| stored.contains(f.event_id.as_str()));
        }
        let after = tip.head;
        // The chain is linked (SHA-256 of each event) on a blocking thread while the folds run
        // here: neither needs the other, and both are in the part of an append that runs one
        // batch at a time.
        let fresh = Arc::new(fresh);
        let linking = {
            let fresh = Arc::clone(&fresh);
            tokio::task::spawn_blocking(move || link_rows(after, &fresh, received_ms))
        };
        // From here the folds hold this batch: until it is written, the console is diverged
        // if the append stops (a panic, or the task dropped at an await as the runtime stops).
        let unfinished = Unfinished(Some(&self.diverged));
        let failures = self.apply_events(fresh.iter().zip(after.0 + 1..).map(|(inc, seq)| (seq, &inc.event, now)));
        let rows = match linking.await {
            Ok(rows) => rows,
            Err(_) => link_rows(after, &fresh, received_ms),
        };
        let head = last_link(&rows).unwrap_or(after);
        *tip = Tip { head, last: Arc::clone(&fresh), last_received_ms: received_ms };
        // Stage two: write, in the order of stage one.
        let mut written = self.head.lock().await;
        drop(tip);
        let again = |fresh: Arc<Vec<Incoming>>| Attempt::Again(Arc::try_unwrap(fresh).unwrap_or_else(|shared| (*shared).clone()), duplicates);
        if self.diverged.load(Ordering::Acquire) {
            // Linked onto a batch that was not written.
            unfinished.done();
            return Ok(again(fresh));
        }
        // The checkpoint tree takes the written hashes from here rather than read them back.
        let handed: Option<(_, Vec<Hash>)> = self.checkpoints.get().map(|c| (c, rows.iter().filter_map(|r| Hash::try_from(r.hash.as_slice()).ok()).collect()));
        let writing = Instant::now();
        let result = if rows.is_empty() { Ok(()) } else { self.store.write(after, rows).await };
        let write_secs = writing.elapsed().as_secs_f64();
        match result {
            Ok(()) => {
                *written = head;
                if let Some((checkpoints, hashes)) = handed {
                    checkpoints.written(after.0 + 1, hashes);
                }
                drop(written);
                unfinished.done();
                if !fresh.is_empty() {
                    self.head_tx.send_replace(head.0);
                }
                Ok(Attempt::Done(Appended { first_seq: (!fresh.is_empty()).then_some(after.0 + 1), stored: fresh.len() as u64, duplicates, head, flagged, failures, write_secs }))
            }
            Err(e) => {
                self.diverged.store(true, Ordering::Release);
                unfinished.done();
                match e {
                    WriteError::Moved { expected, found } => {
                        tracing::warn!(expected, found, "the log moved under the console (another writer): folding it again");
                        Ok(again(fresh))
                    }
                    WriteError::Storage(e) => Err(AppendError::Storage(e.context("writing a folded batch; the folds are rebuilt from the log before the next append"))),
                }
            }
        }
    }

    /// Before a batch is folded: brings the folds back to the log when they diverged, and takes
    /// in what another writer appended (or a request that did not finish, before appends ran in
    /// tasks of their own). Called with the tip lock held.
    async fn reconcile(&self, tip: &mut Tip) -> Result<()> {
        let stored = self.store.head().await?;
        if !self.diverged.load(Ordering::Acquire) && stored.0 <= tip.head.0 {
            return Ok(());
        }
        // Wait for the batch being written, then compare.
        let mut written = self.head.lock().await;
        let stored = self.store.head().await?;
        if !self.diverged.load(Ordering::Acquire) {
            // Everything folded is written.
            if stored == tip.head {
                return Ok(());
            }
            let extends = stored.0 > tip.head.0 && (tip.head.0 == 0 || self.store.hash_at(tip.head.0).await? == Some(tip.head.1));
            if extends {
                // Up to the head read above: the other writer may append more meanwhile, and
                // those are taken in next time (folding them now and keeping `stored` as the
                // tip would fold them twice; the new test caught that on PostgreSQL).
                let mut missed = Vec::new();
                self.store
                    .for_each_event_after(tip.head.0, |seq, event, received_at| {
                        if seq <= stored.0 {
                            missed.push((seq, event, received_at));
                        }
                    })
                    .await?;
                for f in self.apply_events(missed.iter().map(|(seq, event, received_at)| (*seq, event, *received_at))) {
                    tracing::error!(seq = f.seq, fold = f.fold, reason = %f.reason, "a fold failed on a caught-up event; skipped by that fold");
                }
                tracing::warn!(events = missed.len(), from_seq = tip.head.0 + 1, to_seq = stored.0, "folded events another writer appended");
                *written = stored;
                *tip = Tip::at(stored);
                self.head_tx.send_replace(stored.0);
                return Ok(());
            }
        }
        // The folds hold events the log does not, or the log is not the one they folded.
        let capital = read(&self.folds).book.capital();
        let (folds, how) = Self::rebuild(&self.store, capital, stored).await?;
        *write(&self.folds) = folds;
        tracing::warn!(head_seq = stored.0, ?how, "folds rebuilt from the log after a batch that was folded and not written");
        *written = stored;
        *tip = Tip::at(stored);
        self.diverged.store(false, Ordering::Release);
        self.head_tx.send_replace(stored.0);
        Ok(())
    }

    /// Flags orders and fills of an ingest batch against the folds (and the batch itself):
    /// fills for orders neither in the log nor earlier in the batch are stored and flagged
    /// `unknown_order`: an engine's claim of a fill is evidence, and dropping it would hide
    /// exactly what an audit must see; it is kept out of positions until explained.
    fn flag(&self, batch: &mut [Incoming]) -> Vec<Flagged> {
        const PAUSED: &str = "order from a paused automation; stored and flagged, not dropped";
        const UNAPPROVED: &str = "order for a signal no person approved; stored and flagged, not dropped";
        const FINAL: &str = "fill for an order already final (filled in full, cancelled or rejected); stored, not applied to positions";
        const UNKNOWN: &str = "fill for an order id the log has not seen; stored, not applied to positions";
        let mut flags: Vec<Option<(&'static str, &'static str)>> = Vec::with_capacity(batch.len());
        {
            let folds = read(&self.folds);
            let (projection, governance) = (&folds.book, &folds.governance);
            // The batch's own ids, borrowed from its events.
            let mut batch_orders: domain::hash::HashSet<&str> = domain::hash::HashSet::default();
            // Entry signals of this batch that will wait for a person: their orders are unapproved.
            let mut batch_gated: domain::hash::HashSet<&str> = domain::hash::HashSet::default();
            let mut batch_automation: domain::hash::HashMap<&str, &str> = domain::hash::HashMap::default();
            for inc in batch.iter() {
                let flag = match &inc.event.body {
                    Body::Signal(s) => {
                        batch_automation.insert(s.signal_id.as_str(), s.automation_id.as_str());
                        if s.intent == Intent::Entry && governance.would_gate(s.automation_id.as_str()) {
                            batch_gated.insert(s.signal_id.as_str());
                        }
                        None
                    }
                    Body::Order(o) => {
                        let fresh = batch_orders.insert(o.order_id.as_str());
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
                        flag.map(|f| (f, if f == "paused" { PAUSED } else { UNAPPROVED }))
                    }
                    Body::Fill(f) if projection.order_is_final(f.order_id.as_str()) && !batch_orders.contains(f.order_id.as_str()) => Some(("final_order", FINAL)),
                    Body::Fill(f) if !projection.knows_order(f.order_id.as_str()) && !batch_orders.contains(f.order_id.as_str()) => Some(("unknown_order", UNKNOWN)),
                    _ => None,
                };
                flags.push(flag);
            }
        }
        let mut flagged = Vec::new();
        for (inc, flag) in batch.iter_mut().zip(flags) {
            inc.flags = flag.map(|(f, _)| f);
            if let Some((flag, reason)) = flag {
                flagged.push(Flagged { line: inc.line, event_id: inc.event.event_id.to_string(), flag, reason });
            }
        }
        flagged
    }
}
