//! The governance rules that need a clock, not an event: pending approvals time out, breakers
//! trip on a missing heartbeat. Each run asks the folds what is due at `now` and appends the
//! resulting events through the console's normal path.
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::console::Console;

#[derive(Clone)]
pub struct Rules {
    pub console: Arc<Console>,
}

impl Rules {
    /// One evaluation at `now` (what is due is appended; failures are logged by the console).
    pub async fn run_once(&self, now: DateTime<Utc>) {
        self.console.evaluate(now).await;
    }

    /// Runs every `every` for the life of the process.
    pub fn spawn(self, every: Duration) {
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            loop {
                tick.tick().await;
                let now = Utc::now();
                self.run_once(now).await;
                self.console.job_done("rules", true, now);
            }
        });
    }
}
