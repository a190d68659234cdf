//! Fold snapshots on a timer: one once the log has grown `every` events past the last, and at
//! most one per `min_gap` (a snapshot at 1M events costs ~0.9 s of a core to encode and its size
//! in memory while it is written; bursts of ingest should not pay that every 100k events).
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Result;
use chrono::{DateTime, Utc};

use crate::console::Console;

/// The shortest time between two periodic snapshots (`tradewatch serve`).
pub const MIN_GAP: Duration = Duration::from_secs(600);

#[derive(Clone)]
pub struct Snapshots {
    pub console: Arc<Console>,
    /// Events between two snapshots (0: never).
    pub every: u64,
    pub min_gap: Duration,
    /// When this job last wrote one.
    last: Arc<Mutex<Option<DateTime<Utc>>>>,
}

impl Snapshots {
    pub fn new(console: Arc<Console>, every: u64, min_gap: Duration) -> Self {
        Self { console, every, min_gap, last: Arc::default() }
    }

    /// Writes a snapshot when the head is `every` or more events past the last one and the last
    /// this job wrote is `min_gap` old; the seq it covers, or `None`.
    pub async fn run_once(&self, now: DateTime<Utc>) -> Result<Option<u64>> {
        if self.every == 0 || self.console.head_seq().saturating_sub(self.console.snapshot_seq()) < self.every {
            return Ok(None);
        }
        let last = *self.last.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(last) = last
            && (now - last).to_std().unwrap_or_default() < self.min_gap
        {
            return Ok(None);
        }
        let written = self.console.write_snapshot(now).await?;
        if written.is_some() {
            *self.last.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(now);
        }
        Ok(written)
    }

    /// Checks every `tick`, for the life of the process; a failed write is logged and tried
    /// again at the next tick.
    pub fn spawn(self, tick: Duration) {
        tokio::spawn(async move {
            let mut timer = tokio::time::interval(tick);
            timer.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                timer.tick().await;
                if let Err(e) = self.run_once(Utc::now()).await {
                    tracing::warn!(error = %e, "fold snapshot failed; tried again at the next tick");
                }
            }
        });
    }
}
