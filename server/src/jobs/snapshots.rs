//! Fold snapshots on a timer: one once the log has grown `every` events past the last, and at
//! most one per `min_gap` (a snapshot at 1M events costs ~0.9 s of a core to encode and its size
//! in memory while it is written; bursts of ingest should not pay that every 100k events). A
//! due snapshot also waits while a burst is under way (the log grew by [`BURST`] or more since
//! the previous check), for at most [`MAX_DEFER`]: during a 1M-event load the first snapshot,
//! at 100k events, took ~15% of the console's CPU for the seconds it ran (perf, 2026-12-02).
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Result;
use chrono::{DateTime, Utc};

use crate::console::Console;

/// The shortest time between two periodic snapshots (`tradewatch serve`).
pub const MIN_GAP: Duration = Duration::from_secs(600);
/// Growth between two checks that counts as a burst (at the 5 s tick of `serve`: 200 events/s).
pub const BURST: u64 = 1_000;
/// The longest a due snapshot waits for a burst to end.
pub const MAX_DEFER: Duration = Duration::from_secs(1800);

#[derive(Clone)]
pub struct Snapshots {
    pub console: Arc<Console>,
    /// Events between two snapshots (0: never).
    pub every: u64,
    pub min_gap: Duration,
    /// When this job last wrote one.
    last: Arc<Mutex<Option<DateTime<Utc>>>>,
    /// The head at the previous check, and since when a snapshot has waited for a burst to end.
    seen: Arc<Mutex<(Option<u64>, Option<DateTime<Utc>>)>>,
}

impl Snapshots {
    pub fn new(console: Arc<Console>, every: u64, min_gap: Duration) -> Self {
        Self { console, every, min_gap, last: Arc::default(), seen: Arc::default() }
    }

    /// Writes a snapshot when the head is `every` or more events past the last one, the last
    /// this job wrote is `min_gap` old, and no burst is under way (or one has held it back for
    /// [`MAX_DEFER`]); the seq it covers, or `None`.
    pub async fn run_once(&self, now: DateTime<Utc>) -> Result<Option<u64>> {
        let head = self.console.head_seq();
        let (previous, deferred_since) = {
            let mut seen = self.seen.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            let previous = seen.0.replace(head);
            (previous, seen.1)
        };
        if self.every == 0 || head.saturating_sub(self.console.snapshot_seq()) < self.every {
            return Ok(None);
        }
        let last = *self.last.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(last) = last
            && (now - last).to_std().unwrap_or_default() < self.min_gap
        {
            return Ok(None);
        }
        let burst = previous.is_none_or(|p| head.saturating_sub(p) >= BURST);
        let waited_long = deferred_since.is_some_and(|d| (now - d).to_std().unwrap_or_default() >= MAX_DEFER);
        if burst && !waited_long {
            if deferred_since.is_none() {
                self.seen.lock().unwrap_or_else(std::sync::PoisonError::into_inner).1 = Some(now);
            }
            return Ok(None);
        }
        let written = self.console.write_snapshot(now).await?;
        if written.is_some() {
            *self.last.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(now);
            self.seen.lock().unwrap_or_else(std::sync::PoisonError::into_inner).1 = None;
        }
        Ok(written)
    }

    /// Checks every `tick`, for the life of the process; a failed write is logged and tried
    /// again at the next tick.
    pub fn spawn(self, tick: Duration) {
        super::every(tick, "fold snapshot", self.console.clone(), move |now| {
            let job = self.clone();
            async move { job.run_once(now).await }
        });
    }
}
