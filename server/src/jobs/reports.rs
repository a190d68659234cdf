//! The weekly report schedule: once market time (the newest event's `ts`) has passed a week's
//! end by `console::GRACE`, that week's report is generated, archived and recorded. On a log with
//! no report yet only the newest complete week is generated; after that every week in turn, one
//! per run, so a replay that races through months catches up without a burst.
use std::sync::Arc;
use std::time::Duration;

use anyhow::Result;
use chrono::{DateTime, TimeDelta, Utc};
use domain::report::parse_week;
use domain::view::ReportMeta;

use crate::console::Console;

#[derive(Clone)]
pub struct ReportSchedule {
    pub console: Arc<Console>,
}

impl ReportSchedule {
    /// Publishes the next due week's report; the one published, or `None`.
    pub async fn run_once(&self, now: DateTime<Utc>) -> Result<Option<ReportMeta>> {
        let Some(last_complete) = self.console.last_complete_week() else { return Ok(None) };
        let archived = self.console.store().reports().await?;
        let newest = archived.iter().filter_map(|m| parse_week(&m.week)).max();
        let due = match newest {
            None => last_complete,
            Some(n) if n < last_complete => n + TimeDelta::days(7),
            Some(_) => return Ok(None),
        };
        Ok(Some(self.console.publish_report(due, None, now).await?))
    }

    pub fn spawn(self, tick: Duration) {
        super::every(tick, "weekly report", self.console.clone(), move |now| {
            let job = self.clone();
            async move { job.run_once(now).await }
        });
    }
}
