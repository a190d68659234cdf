//! Signs a checkpoint of the log (see `crate::checkpoints`) and records it in the chain as a
//! `checkpoint` event: the first as soon as the log holds events, then whenever the log has
//! grown `every` events past the last one, and at least hourly while it grows.
use std::sync::Arc;
use std::time::Duration;

use anyhow::Result;
use chrono::{DateTime, Utc};
use domain::event::{Body, Checkpoint as CheckpointEvent};
use domain::event::Id;

use crate::checkpoints::{Checkpoints, Published};
use crate::console::Console;

/// The longest a growing log goes without a checkpoint.
pub const MAX_AGE: Duration = Duration::from_secs(3600);

#[derive(Clone)]
pub struct CheckpointJob {
    pub console: Arc<Console>,
    pub checkpoints: Arc<Checkpoints>,
    /// Events between two checkpoints (0: only the hourly one; `serve` runs no job then).
    pub every: u64,
    pub max_age: Duration,
}

impl CheckpointJob {
    /// Signs and records a checkpoint when one is due; the recorded one, or `None`.
    pub async fn run_once(&self, now: DateTime<Utc>) -> Result<Option<Published>> {
        let size = self.checkpoints.catch_up().await?;
        let last = crate::checkpoints::published(self.console.store(), 1).await?.into_iter().next();
        let due = match &last {
            None => size > 0,
            Some(p) => {
                // The checkpoint's own event is one more: growth beyond it is new.
                let grown = size.saturating_sub(p.seq);
                let old = (now - p.checkpoint.signed_at).to_std().unwrap_or_default() >= self.max_age;
                (self.every > 0 && grown >= self.every) || (grown > 0 && old)
            }
        };
        if !due {
            return Ok(None);
        }
        let Some(cp) = self.checkpoints.sign(now).await? else { return Ok(None) };
        let body = CheckpointEvent {
            origin: Id::parse(&cp.origin).map_err(|e| anyhow::anyhow!("origin: {e}"))?,
            tree_size: cp.tree_size,
            root: cp.root.clone(),
            head_hash: cp.head_hash.clone(),
            public_key: cp.public_key.clone(),
            signature: cp.signature.clone(),
        };
        let seqs = self.console.record(vec![Body::Checkpoint(body)], now).await.map_err(|e| anyhow::anyhow!("{e}"))?;
        let seq = seqs.first().copied().unwrap_or_default();
        tracing::info!(seq, tree_size = cp.tree_size, root = %cp.root, "checkpoint signed");
        Ok(Some(Published { seq, checkpoint: cp }))
    }

    /// Checks every `tick`, for the life of the process.
    pub fn spawn(self, tick: Duration) {
        super::every(tick, "checkpoint", self.console.clone(), move |now| {
            let job = self.clone();
            async move { job.run_once(now).await }
        });
    }
}
