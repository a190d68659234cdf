//! Housekeeping: expired sessions and old sign-in attempts.
use std::time::Duration;

use anyhow::Result;
use chrono::{DateTime, Utc};

use crate::auth::Sessions;
use crate::store::Store;

/// Housekeeping: expired sessions and sign-in attempts older than the retention period go.
#[derive(Clone)]
pub struct Housekeeping {
    pub sessions: Sessions,
    pub store: Store,
}

/// What one housekeeping run removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Swept {
    pub sessions: u64,
    pub login_attempts: u64,
}

impl Housekeeping {
    pub async fn run_once(&self, now: DateTime<Utc>) -> Result<Swept> {
        Ok(Swept { sessions: self.sessions.delete_expired(now).await?, login_attempts: self.store.prune_attempts(now).await? })
    }

    /// Runs every `every`, for the life of the process; a failed run is logged and retried at
    /// the next tick.
    pub fn spawn(self, every: Duration) {
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            loop {
                tick.tick().await;
                match self.run_once(Utc::now()).await {
                    Ok(s) if s != Swept::default() => tracing::info!(sessions = s.sessions, login_attempts = s.login_attempts, "housekeeping"),
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "housekeeping failed; retried at the next tick"),
                }
            }
        });
    }
}
