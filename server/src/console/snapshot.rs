//! Fold snapshots: written by the console (periodically by `jobs::Snapshots`, and at shutdown),
//! read at start-up so that a restart folds only the events after the snapshot.
//!
//! A snapshot is a cache of what the log implies, never evidence: at start-up it is used only
//! when the event at its seq still has the hash it recorded, its format is this build's, and it
//! was folded with this console's starting capital. Otherwise (or when its bytes do not decode)
//! the console folds the whole log, as without one, and says why in its log.
use std::time::Instant;

use domain::folds::SNAPSHOT_FORMAT;

use super::*;
use crate::store::snapshots::Snapshot;

/// The reason of a full replay when the store holds no snapshot (not worth a warning).
const NO_SNAPSHOT: &str = "no snapshot";

/// How the folds were rebuilt at start-up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rebuilt {
    /// From the snapshot at `seq`, then the `replayed` events after it.
    FromSnapshot { seq: u64, replayed: u64 },
    /// From the first event (no snapshot, or it was refused for `reason`).
    FullReplay { replayed: u64, reason: String },
}

impl Console {
    /// The folds at the log's head: a checked snapshot plus the events after it, or the whole
    /// log. `head` is the store's head.
    pub(super) async fn rebuild(store: &Store, capital: Decimal, head: (u64, Hash)) -> Result<(Folds, Rebuilt)> {
        let started = Instant::now();
        let (mut folds, from, refused) = match Self::checked_snapshot(store, capital, head).await {
            Ok(Some((folds, seq))) => (folds, seq, None),
            Ok(None) => (Folds::new(capital), 0, Some(NO_SNAPSHOT.to_string())),
            Err(reason) => (Folds::new(capital), 0, Some(reason)),
        };
        let mut failures = Vec::new();
        let replayed = store
            .for_each_event_after(from, |seq, e, received_at| {
                // Up to `head`: what another writer appends meanwhile is the next catch-up's.
                if seq <= head.0 {
                    folds.apply(&Stored { seq, event: &e, received_at }, &mut failures);
                }
            })
            .await?;
        for f in &failures {
            tracing::error!(seq = f.seq, fold = f.fold, reason = %f.reason, "a fold failed on a stored event at start-up; skipped by that fold");
        }
        let elapsed_ms = started.elapsed().as_millis() as u64;
        let how = match refused {
            None => {
                tracing::info!(snapshot_seq = from, replayed, head_seq = head.0, elapsed_ms, "folds restored from the snapshot, the events after it folded");
                Rebuilt::FromSnapshot { seq: from, replayed }
            }
            Some(reason) => {
                if head.0 > 0 && reason != NO_SNAPSHOT {
                    tracing::warn!(%reason, "fold snapshot not used: folding the whole log");
                }
                tracing::info!(events = replayed, head_seq = head.0, elapsed_ms, "folds rebuilt from the whole log");
                Rebuilt::FullReplay { replayed, reason }
            }
        };
        Ok((folds, how))
    }

    /// The newest snapshot's folds and seq when it may be used; `Ok(None)` when there is none,
    /// `Err(why)` when it is refused.
    async fn checked_snapshot(store: &Store, capital: Decimal, head: (u64, Hash)) -> Result<Option<(Folds, u64)>, String> {
        let snap = match store.latest_snapshot().await {
            Ok(Some(s)) => s,
            Ok(None) => return Ok(None),
            Err(e) => return Err(format!("reading it failed: {e}")),
        };
        if snap.seq > head.0 {
            return Err(format!("it covers seq {} but the log ends at {}", snap.seq, head.0));
        }
        match store.hash_at(snap.seq).await {
            Ok(Some(h)) if h == snap.head_hash => {}
            Ok(_) => return Err(format!("the event at seq {} does not have the hash it recorded (another log?)", snap.seq)),
            Err(e) => return Err(format!("reading the hash at seq {} failed: {e}", snap.seq)),
        }
        if snap.format != SNAPSHOT_FORMAT {
            return Err(format!("format {}, this build reads {SNAPSHOT_FORMAT}", snap.format));
        }
        if snap.capital != capital.to_string() {
            return Err(format!("folded with a starting capital of {}, this console starts with {capital}", snap.capital));
        }
        let data = snap.data;
        let folds = tokio::task::spawn_blocking(move || Folds::restore(&data)).await.map_err(|e| format!("decoding: {e}"))?;
        match folds {
            Ok(f) if f.book.capital() == capital => Ok(Some((f, snap.seq))),
            Ok(_) => Err("its book has another starting capital".to_string()),
            Err(e) => Err(e.to_string()),
        }
    }

    /// Writes a snapshot of every fold at the current head, unless the newest one already covers
    /// it (or the log is empty). The folds are copied under both append locks (nothing folded
    /// and not yet written: a consistent, committed seq and state; ingest waits only for the
    /// copy) and encoded off the async threads.
    pub async fn write_snapshot(&self, now: DateTime<Utc>) -> Result<Option<u64>> {
        let (head, folds) = {
            let tip = self.tip.lock().await;
            let written = self.head.lock().await;
            if self.diverged.load(Ordering::Acquire) || *written != tip.head {
                return Ok(None);
            }
            let head = *written;
            if head.0 == 0 || head.0 == self.snapshot_seq.load(Ordering::Relaxed) {
                return Ok(None);
            }
            (head, read(&self.folds).clone())
        };
        let capital = folds.book.capital().to_string();
        let mut folds = folds;
        let data = tokio::task::spawn_blocking(move || folds.snapshot()).await??;
        let bytes = data.len();
        let started = Instant::now();
        self.store.save_snapshot(&Snapshot { seq: head.0, head_hash: head.1, format: SNAPSHOT_FORMAT, capital, data }, now).await?;
        self.snapshot_seq.store(head.0, Ordering::Relaxed);
        tracing::info!(seq = head.0, bytes, store_ms = started.elapsed().as_millis() as u64, "fold snapshot written");
        Ok(Some(head.0))
    }

    /// The seq the newest snapshot covers (0: none this process knows of).
    pub fn snapshot_seq(&self) -> u64 {
        self.snapshot_seq.load(Ordering::Relaxed)
    }

    /// How the folds were rebuilt when this console opened.
    pub fn rebuilt(&self) -> &Rebuilt {
        &self.rebuilt
    }
}
