//! The detectors' parameters, the alerts' routing and their escalation: the `alerting` section
//! of the versioned config (see `anomaly`).
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::ConfigError;

/// The receivers the console can deliver to; a route names them. Each is configured (its
/// address) in the console's settings, not here: `webhook` (`alert_webhook_url`, Slack-compatible
/// JSON), `email` (`smtp_url`, `alert_recipients`), `alertmanager` (`alertmanager_url`).
pub const RECEIVERS: [&str; 3] = ["webhook", "email", "alertmanager"];

/// The `alerting` section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Alerting {
    /// Detection on (alerts already firing still resolve and are still acknowledged when off).
    pub enabled: bool,
    /// Statistical detectors: observations in the rolling window of each series.
    pub window: u32,
    /// Fewest observations before a series is scored.
    pub min_samples: u32,
    /// z-score (mean, standard deviation of the window) above which a value is an outlier.
    pub zscore: f64,
    /// Tukey's fences: a value above Q3 + k x IQR is an outlier.
    pub iqr_k: f64,
    /// Robust z-score (0.6745 (x - median) / MAD) above which a value is an outlier.
    pub robust_z: f64,
    /// A value is an anomaly when at least this many of the three detectors flag it (1 to 3).
    pub votes: u32,
    /// Runbook: slippage above this (bps against the arrival mid) ...
    pub slippage_bps: f64,
    /// ... on this many consecutive fills of one automation.
    pub slippage_fills: u32,
    /// A slippage anomaly must also be at least this large (bps): a 2 bps fill is no one's
    /// emergency, however unusual against a window of 1 bps fills.
    pub slippage_floor_bps: f64,
    /// A latency anomaly (order -> fill, signal -> order) must also be at least this long (ms).
    pub latency_floor_ms: f64,
    /// Runbook: an automation's slippage above its model's expectation (half the spread at the
    /// order plus the impact model) by more than this fraction (0.5 = 50%) ...
    pub model_excess: f64,
    /// ... over its last this many fills (notional-weighted; at least half of them needed).
    pub model_fills: u32,
    /// The Isolation Forest's score (0..1; about 0.5 for an ordinary fill) above which a fill is
    /// an anomaly, if it is also above every score of the fills the forest grew on.
    pub forest_score: f64,
    /// A mark move must be at least this large (bps) to be a price gap.
    pub price_gap_bps: f64,
    /// An order must be at least this multiple of the usual notional to be a size anomaly.
    pub order_size_multiple: f64,
    /// Runbook: p95 of order -> fill latency over `latency_window_secs` above this (ms).
    pub latency_p95_ms: f64,
    pub latency_window_secs: u32,
    /// Runbook: equity drop (% of the peak within `pnl_window_secs`) that alerts.
    pub pnl_drop_pct: f64,
    pub pnl_window_secs: u32,
    /// Runbook: a compliance limit used above this fraction (0.9 = 90%) alerts.
    pub limit_utilisation: f64,
    /// Runbook: a heartbeat whose timestamp is further than this from the console's clock (ms).
    pub clock_drift_ms: f64,
    /// Runbook: signals in the last hour above this multiple of the automation's hourly median.
    pub signal_rate_multiple: f64,
    /// A statistical alert resolves after this long without a new anomaly of its series.
    pub resolve_after_secs: u32,
    /// An unacknowledged firing alert moves to the next escalation step after this long.
    pub escalate_after_secs: u32,
    /// Routes, first match wins; the last should match everything.
    pub routes: Vec<Route>,
}

/// Where the alerts whose labels include every matcher go, and who is next when nobody
/// acknowledges them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Route {
    pub matchers: BTreeMap<String, String>,
    pub receivers: Vec<String>,
    /// Escalation steps: step 1 goes to `escalation[0]`, and so on.
    pub escalation: Vec<String>,
}

impl Default for Route {
    fn default() -> Self {
        Route { matchers: BTreeMap::new(), receivers: vec!["webhook".into(), "alertmanager".into()], escalation: vec!["email".into()] }
    }
}

impl Default for Alerting {
    fn default() -> Self {
        Self {
            enabled: true,
            window: 200,
            min_samples: 30,
            zscore: 3.0,
            iqr_k: 1.5,
            robust_z: 3.5,
            votes: 2,
            slippage_bps: 50.0,
            slippage_fills: 3,
            slippage_floor_bps: 10.0,
            model_excess: 0.5,
            forest_score: 0.7,
            model_fills: 20,
            latency_floor_ms: 250.0,
            price_gap_bps: 2_000.0,
            order_size_multiple: 3.0,
            latency_p95_ms: 500.0,
            latency_window_secs: 60,
            pnl_drop_pct: 5.0,
            pnl_window_secs: 3600,
            limit_utilisation: 0.9,
            clock_drift_ms: 100.0,
            signal_rate_multiple: 3.0,
            resolve_after_secs: 300,
            escalate_after_secs: 600,
            routes: vec![
                Route { matchers: BTreeMap::from([("severity".to_string(), "critical".to_string())]), receivers: vec!["webhook".into(), "alertmanager".into(), "email".into()], escalation: vec!["email".into()] },
                Route::default(),
            ],
        }
    }
}

impl Alerting {
    /// The route of an alert with these labels (none: nobody is told, it still shows on /alerts).
    pub fn route(&self, labels: &BTreeMap<String, String>) -> Option<&Route> {
        self.routes.iter().find(|r| r.matchers.iter().all(|(k, v)| labels.get(k) == Some(v)))
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        let err = |field: &str, reason: &str| Err(ConfigError { field: format!("alerting.{field}"), reason: reason.to_string() });
        if !(10..=10_000).contains(&self.window) {
            return err("window", "between 10 and 10000 observations");
        }
        if self.min_samples < 5 || self.min_samples > self.window {
            return err("min_samples", "at least 5 and at most the window");
        }
        for (name, x) in [("zscore", self.zscore), ("iqr_k", self.iqr_k), ("robust_z", self.robust_z), ("slippage_bps", self.slippage_bps), ("latency_p95_ms", self.latency_p95_ms), ("clock_drift_ms", self.clock_drift_ms), ("signal_rate_multiple", self.signal_rate_multiple), ("price_gap_bps", self.price_gap_bps), ("slippage_floor_bps", self.slippage_floor_bps), ("latency_floor_ms", self.latency_floor_ms), ("model_excess", self.model_excess), ("order_size_multiple", self.order_size_multiple)] {
            if !(x.is_finite() && x > 0.0 && x <= 1e9) {
                return err(name, "a positive number");
            }
        }
        if !(1..=3).contains(&self.votes) {
            return err("votes", "1, 2 or 3 detectors");
        }
        if !(self.forest_score.is_finite() && self.forest_score > 0.5 && self.forest_score < 1.0) {
            return err("forest_score", "a score between 0.5 and 1");
        }
        if !(2..=1000).contains(&self.model_fills) {
            return err("model_fills", "between 2 and 1000 fills");
        }
        if !(1..=1000).contains(&self.slippage_fills) {
            return err("slippage_fills", "between 1 and 1000 fills");
        }
        if !(self.pnl_drop_pct.is_finite() && self.pnl_drop_pct > 0.0 && self.pnl_drop_pct <= 100.0) {
            return err("pnl_drop_pct", "a percentage above 0 and at most 100");
        }
        if !(self.limit_utilisation.is_finite() && self.limit_utilisation > 0.0 && self.limit_utilisation <= 10.0) {
            return err("limit_utilisation", "a fraction above 0 (0.9 = 90%)");
        }
        for (name, x) in [("latency_window_secs", self.latency_window_secs), ("pnl_window_secs", self.pnl_window_secs), ("resolve_after_secs", self.resolve_after_secs), ("escalate_after_secs", self.escalate_after_secs)] {
            if !(10..=7 * 86_400).contains(&x) {
                return err(name, "between 10 seconds and 7 days");
            }
        }
        if self.routes.len() > 32 {
            return err("routes", "at most 32 routes");
        }
        for (n, r) in self.routes.iter().enumerate() {
            if r.matchers.len() > crate::text::MAX_LABELS || r.matchers.iter().any(|(k, v)| k.is_empty() || k.len() > 64 || v.len() > crate::text::MAX_LABEL_VALUE) {
                return err(&format!("routes.{n}.matchers"), "at most 16 label -> value pairs");
            }
            for name in r.receivers.iter().chain(&r.escalation) {
                if !RECEIVERS.contains(&name.as_str()) {
                    return err(&format!("routes.{n}"), "receivers are webhook, email or alertmanager");
                }
            }
            if r.escalation.len() > 8 {
                return err(&format!("routes.{n}.escalation"), "at most 8 steps");
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_validate_and_route_criticals_first() {
        let a = Alerting::default();
        assert_eq!(a.validate(), Ok(()));
        let critical = BTreeMap::from([("severity".to_string(), "critical".to_string())]);
        assert!(a.route(&critical).is_some_and(|r| r.receivers.contains(&"email".to_string())));
        assert!(a.route(&BTreeMap::new()).is_some_and(|r| !r.receivers.contains(&"email".to_string())));
    }

    #[test]
    fn an_unknown_receiver_or_a_zero_window_is_refused_by_name() {
        let mut a = Alerting::default();
        a.routes[0].receivers.push("pager".into());
        assert_eq!(a.validate().map_err(|e| e.field), Err("alerting.routes.0".to_string()));
        let a = Alerting { window: 0, ..Alerting::default() };
        assert_eq!(a.validate().map_err(|e| e.field), Err("alerting.window".to_string()));
    }
}
