//! `/health`: each heartbeat's age, the background jobs' and the alert receivers' records, each
//! route's last five minutes, the market data's quality and the sources' clocks, and the list of
//! what is wrong, in words.
use chrono::{DateTime, Utc};
use domain::view::{ComponentHealth, HealthView, JobHealth, ReceiverHealth};

use super::*;

/// A route is degraded above this p95 over the window, ms (the live stream excepted).
pub const DEGRADED_P95_MS: f64 = 1_000.0;
/// ... or above this share of 5xx answers.
pub const DEGRADED_ERROR_RATE: f64 = 0.05;

/// Each route's requests, p95 latency and 5xx share over the last five minutes (the request
/// metrics keep them).
pub trait RouteWindow: Send + Sync {
    fn routes(&self) -> Vec<domain::view::RouteHealth>;
}

impl Console {
    /// Records one run of a background job.
    pub fn job_done(&self, job: &str, ok: bool, now: DateTime<Utc>) {
        let Ok(mut jobs) = self.jobs.lock() else { return };
        let j = jobs.entry(job.to_string()).or_insert_with(|| JobHealth { job: job.to_string(), ..Default::default() });
        j.runs += 1;
        if ok {
            j.failing_for = 0;
            j.last_ok = Some(now);
        } else {
            j.failures += 1;
            j.failing_for = j.failing_for.saturating_add(1);
            j.last_failure = Some(now);
        }
    }

    /// Where `/health` reads each route's last five minutes from.
    pub fn set_route_window(&self, window: Arc<dyn RouteWindow>) {
        let _ = self.routes.set(window);
    }

    /// The health of every part at `now`.
    pub fn health(&self, now: DateTime<Utc>) -> HealthView {
        let (timeout, drift_limit, instruments, clocks) = {
            let folds = read(&self.folds);
            let q = folds.anomaly.quality();
            let config = folds.governance.config();
            (f64::from(config.breakers.heartbeat_timeout_secs), config.alerting.clock_drift_ms, q.instruments(), q.clocks())
        };
        let components: Vec<ComponentHealth> = self.heartbeat_ages(now).into_iter().map(|(component, age_secs)| ComponentHealth { component, age_secs, timeout_secs: timeout }).collect();
        let jobs: Vec<JobHealth> = self.jobs.lock().map(|j| j.values().cloned().collect()).unwrap_or_default();
        let receivers: Vec<ReceiverHealth> = self.receivers();
        let routes = self.routes.get().map(|m| m.routes()).unwrap_or_default();
        let mut problems = Vec::new();
        for c in components.iter().filter(|c| c.age_secs > c.timeout_secs) {
            problems.push(format!("no heartbeat from {} for {:.0} s (timeout {:.0} s)", c.component, c.age_secs, c.timeout_secs));
        }
        for j in jobs.iter().filter(|j| j.failing_for > 0) {
            problems.push(format!("background job {} failed its last {} runs", j.job, j.failing_for));
        }
        for r in receivers.iter().filter(|r| r.configured && r.failing_for > 0) {
            problems.push(format!("alert receiver {} failing ({} attempts in a row)", r.receiver, r.failing_for));
        }
        for r in &routes {
            if r.p95_ms.is_some_and(|p| p > DEGRADED_P95_MS) {
                problems.push(format!("{}: p95 {:.0} ms over 5 minutes", r.route, r.p95_ms.unwrap_or(0.0)));
            }
            if r.error_rate > DEGRADED_ERROR_RATE {
                problems.push(format!("{}: {:.1}% server errors over 5 minutes", r.route, r.error_rate * 100.0));
            }
        }
        let stale: Vec<&str> = instruments.iter().filter(|i| i.stale).map(|i| i.instrument.as_str()).collect();
        if !stale.is_empty() {
            problems.push(format!("stale marks: {}", stale.join(", ")));
        }
        for i in instruments.iter().filter(|i| i.out_of_order > 0) {
            problems.push(format!("{}: {} marks stamped before the one before them", i.instrument, i.out_of_order));
        }
        for c in clocks.iter().filter(|c| c.drift_ms.is_some_and(|d| d.unsigned_abs() as f64 > drift_limit)) {
            problems.push(format!("clock of {} off by {} ms", c.source, c.drift_ms.unwrap_or(0)));
        }
        HealthView { now: Some(now), problems, components, jobs, receivers, routes, instruments, clocks }
    }
}
