//! Fold snapshots on a timer: one once the log has grown `every` events past the last.
use std::sync::Arc;
use std::time::Duration;

use anyhow::Result;
use chrono::{DateTime, Utc};

use crate::console::Console;

#[derive(Clone)]
pub struct Snapshots {
    pub console: Arc<Console>,
    /// Events between two snapshots (0: never).
    pub every: u64,
}

impl Snapshots {
    /// Writes a snapshot when the head is `every` or more events past the last one; the seq it
    /// covers, or `None`.
    pub async fn run_once(&self, now: DateTime<Utc>) -> Result<Option<u64>> {
        if self.every == 0 || self.console.head_seq().saturating_sub(self.console.snapshot_seq()) < self.every {
            return Ok(None);
        }
        self.console.write_snapshot(now).await
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
