//! Background work, each job a `run_once(now)` that tests call directly, and a `spawn` that
//! calls it on a timer. A job takes `now` and never reads the clock itself.
pub mod alerts;
pub mod backtest;
pub mod checkpoints;
pub mod housekeeping;
pub mod reports;
pub mod rules;
pub mod snapshots;

pub use alerts::AlertDelivery;
pub use backtest::Backtest;
pub use checkpoints::CheckpointJob;
pub use reports::ReportSchedule;
pub use housekeeping::{Housekeeping, Swept};
pub use rules::Rules;
pub use snapshots::Snapshots;

/// Runs `step(now)` every `tick` for the life of the process (a late tick is delayed, not
/// bunched); a failed step is logged as `what` and tried again at the next tick. Each run's
/// outcome goes on the console's job board (`/health`).
pub(crate) fn every<F, Fut, T>(tick: std::time::Duration, what: &'static str, console: std::sync::Arc<crate::console::Console>, step: F)
where
    F: Fn(chrono::DateTime<chrono::Utc>) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = anyhow::Result<T>> + Send,
{
    tokio::spawn(async move {
        let mut timer = tokio::time::interval(tick);
        timer.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            timer.tick().await;
            let now = chrono::Utc::now();
            let result = step(now).await;
            if let Err(e) = &result {
                tracing::warn!(error = %e, "{what} failed; tried again at the next tick");
            }
            console.job_done(what, result.is_ok(), now);
        }
    });
}
