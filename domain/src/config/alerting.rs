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
    /// The routing tree's top level: the first route whose matchers the labels include, then
    /// the first of its children that matches, and so on down (Alertmanager's tree). An alert no
    /// route matches is shown on `/alerts` and told to nobody.
    pub routes: Vec<Route>,
    /// Grouping, inherited by every route that does not set its own: the labels whose values
    /// make one group. A group's webhook and email notifications go out as one message.
    pub group_by: Vec<String>,
    /// A new group's first notification waits this long for more alerts of it (s; 0: at once).
    pub group_wait_secs: u32,
    /// A group already notified waits at least this long before telling its changes (s).
    pub group_interval_secs: u32,
    /// A group still firing (not acknowledged, not silenced) is notified again after this long
    /// without news (s).
    pub repeat_interval_secs: u32,
}

/// A node of the routing tree: where the alerts whose labels include every matcher go, who is
/// next when nobody acknowledges them, how they are grouped. Unset fields are inherited from
/// the parent route (at the top, from the `alerting` section).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Route {
    pub matchers: BTreeMap<String, String>,
    /// Receivers of `firing` and `resolved` (`None`: the parent's; `[]`: nobody).
    pub receivers: Option<Vec<String>>,
    /// Escalation steps: step 1 goes to `escalation[0]`, and so on (`None`: the parent's).
    pub escalation: Option<Vec<String>>,
    pub group_by: Option<Vec<String>>,
    pub group_wait_secs: Option<u32>,
    pub group_interval_secs: Option<u32>,
    pub repeat_interval_secs: Option<u32>,
    /// Children, tried in order once this route matches; none matching: this route.
    pub routes: Vec<Route>,
}

/// The route an alert takes, with everything inherited filled in.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resolved {
    /// Where in the tree: the index at each level, `0.1` = the second child of the first route.
    pub path: String,
    pub receivers: Vec<String>,
    pub escalation: Vec<String>,
    pub group_by: Vec<String>,
    pub group_wait_secs: u32,
    pub group_interval_secs: u32,
    pub repeat_interval_secs: u32,
}

impl Resolved {
    /// The group of an alert with these labels on this route: the path and the values of the
    /// `group_by` labels (a missing label counts as empty).
    pub fn group_key(&self, labels: &BTreeMap<String, String>) -> String {
        let values: Vec<String> = self.group_by.iter().map(|k| format!("{k}={}", labels.get(k).map(String::as_str).unwrap_or(""))).collect();
        format!("{}:{{{}}}", self.path, values.join(","))
    }
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

/// Routes deeper than this are refused.
const MAX_DEPTH: usize = 4;
/// Routes in the whole tree, at most.
const MAX_ROUTES: usize = 64;

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
            // Criticals to everyone, escalated by email; the rest to the webhook and
            // Alertmanager, escalated by email, except information, which only Alertmanager
            // hears, never escalated, repeated daily.
            routes: vec![
                Route { matchers: BTreeMap::from([("severity".to_string(), "critical".to_string())]), receivers: Some(strings(&["webhook", "alertmanager", "email"])), escalation: Some(strings(&["email"])), ..Route::default() },
                Route {
                    receivers: Some(strings(&["webhook", "alertmanager"])),
                    escalation: Some(strings(&["email"])),
                    routes: vec![Route { matchers: BTreeMap::from([("severity".to_string(), "info".to_string())]), receivers: Some(strings(&["alertmanager"])), escalation: Some(Vec::new()), repeat_interval_secs: Some(86_400), ..Route::default() }],
                    ..Route::default()
                },
            ],
            group_by: strings(&["alertname"]),
            group_wait_secs: 0,
            group_interval_secs: 60,
            repeat_interval_secs: 4 * 3600,
        }
    }
}

impl Alerting {
    /// The route of an alert with these labels (none: nobody is told, it still shows on /alerts).
    pub fn route(&self, labels: &BTreeMap<String, String>) -> Option<Resolved> {
        let top = Resolved {
            path: String::new(),
            receivers: Vec::new(),
            escalation: Vec::new(),
            group_by: self.group_by.clone(),
            group_wait_secs: self.group_wait_secs,
            group_interval_secs: self.group_interval_secs,
            repeat_interval_secs: self.repeat_interval_secs,
        };
        descend(&self.routes, labels, &top, 0)
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
        let mut count = 0;
        check_routes(&self.routes, "routes", 1, &mut count)?;
        check_grouping(Some(&self.group_by), Some(self.group_wait_secs), Some(self.group_interval_secs), Some(self.repeat_interval_secs), "")
    }
}

/// The first of `routes` matching `labels`, and the deepest match below it.
fn descend(routes: &[Route], labels: &BTreeMap<String, String>, parent: &Resolved, depth: usize) -> Option<Resolved> {
    if depth >= MAX_DEPTH {
        return None;
    }
    let (i, r) = routes.iter().enumerate().find(|(_, r)| r.matchers.iter().all(|(k, v)| labels.get(k) == Some(v)))?;
    let here = Resolved {
        path: if parent.path.is_empty() { i.to_string() } else { format!("{}.{i}", parent.path) },
        receivers: r.receivers.clone().unwrap_or_else(|| parent.receivers.clone()),
        escalation: r.escalation.clone().unwrap_or_else(|| parent.escalation.clone()),
        group_by: r.group_by.clone().unwrap_or_else(|| parent.group_by.clone()),
        group_wait_secs: r.group_wait_secs.unwrap_or(parent.group_wait_secs),
        group_interval_secs: r.group_interval_secs.unwrap_or(parent.group_interval_secs),
        repeat_interval_secs: r.repeat_interval_secs.unwrap_or(parent.repeat_interval_secs),
    };
    descend(&r.routes, labels, &here, depth + 1).or(Some(here))
}

fn check_routes(routes: &[Route], at: &str, depth: usize, count: &mut usize) -> Result<(), ConfigError> {
    let err = |field: String, reason: &str| Err(ConfigError { field: format!("alerting.{field}"), reason: reason.to_string() });
    if routes.is_empty() {
        return Ok(());
    }
    if depth > MAX_DEPTH {
        return err(at.to_string(), "routes nest at most 4 deep");
    }
    *count += routes.len();
    if *count > MAX_ROUTES {
        return err(at.to_string(), "at most 64 routes in the tree");
    }
    for (n, r) in routes.iter().enumerate() {
        let here = format!("{at}.{n}");
        if r.matchers.len() > crate::text::MAX_LABELS || r.matchers.iter().any(|(k, v)| k.is_empty() || k.len() > 64 || v.len() > crate::text::MAX_LABEL_VALUE) {
            return err(format!("{here}.matchers"), "at most 16 label -> value pairs");
        }
        for name in r.receivers.iter().flatten().chain(r.escalation.iter().flatten()) {
            if !RECEIVERS.contains(&name.as_str()) {
                return err(here, "receivers are webhook, email or alertmanager");
            }
        }
        if r.escalation.as_ref().is_some_and(|e| e.len() > 8) {
            return err(format!("{here}.escalation"), "at most 8 steps");
        }
        check_grouping(r.group_by.as_ref(), r.group_wait_secs, r.group_interval_secs, r.repeat_interval_secs, &format!("{here}."))?;
        check_routes(&r.routes, &format!("{here}.routes"), depth + 1, count)?;
    }
    Ok(())
}

fn check_grouping(group_by: Option<&Vec<String>>, wait: Option<u32>, interval: Option<u32>, repeat: Option<u32>, at: &str) -> Result<(), ConfigError> {
    let err = |field: &str, reason: &str| Err(ConfigError { field: format!("alerting.{at}{field}"), reason: reason.to_string() });
    if group_by.is_some_and(|g| g.len() > crate::text::MAX_LABELS || g.iter().any(|k| k.is_empty() || k.len() > 64)) {
        return err("group_by", "at most 16 label names");
    }
    if wait.is_some_and(|w| w > 3_600) {
        return err("group_wait_secs", "between 0 and 3600 seconds");
    }
    if interval.is_some_and(|i| !(1..=86_400).contains(&i)) {
        return err("group_interval_secs", "between 1 second and 1 day");
    }
    if repeat.is_some_and(|r| !(60..=7 * 86_400).contains(&r)) {
        return err("repeat_interval_secs", "between 1 minute and 7 days");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_validate_and_route_criticals_first() {
        let a = Alerting::default();
        assert_eq!(a.validate(), Ok(()));
        let critical = BTreeMap::from([("severity".to_string(), "critical".to_string())]);
        assert!(a.route(&critical).is_some_and(|r| r.receivers.contains(&"email".to_string()) && r.path == "0"));
        assert!(a.route(&BTreeMap::new()).is_some_and(|r| !r.receivers.contains(&"email".to_string()) && r.escalation == vec!["email".to_string()]));
    }

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn the_tree_descends_to_the_deepest_match_and_inherits_what_a_route_leaves_unset() {
        let mut a = Alerting::default();
        // Information: the default tree's child of the catch-all: Alertmanager only, no escalation.
        let info = a.route(&labels(&[("severity", "info")])).unwrap_or_default();
        assert_eq!((info.path.as_str(), info.receivers.clone(), info.escalation.len(), info.repeat_interval_secs), ("1.0", vec!["alertmanager".to_string()], 0, 86_400));
        assert_eq!((info.group_by.clone(), info.group_interval_secs), (vec!["alertname".to_string()], 60), "inherited from the section");
        // A team's automation under the criticals: its own grouping, the parent's receivers.
        a.routes[0].routes.push(Route { matchers: labels(&[("automation", "momentum-1")]), group_by: Some(vec!["alertname".into(), "instrument".into()]), group_wait_secs: Some(30), ..Route::default() });
        let r = a.route(&labels(&[("severity", "critical"), ("automation", "momentum-1"), ("instrument", "AAPL")])).unwrap_or_default();
        assert_eq!((r.path.as_str(), r.receivers.len(), r.group_wait_secs), ("0.0", 3, 30));
        assert_eq!(r.group_key(&labels(&[("alertname", "x"), ("instrument", "AAPL")])), "0.0:{alertname=x,instrument=AAPL}");
        // Another automation's critical stops at the parent.
        assert_eq!(a.route(&labels(&[("severity", "critical"), ("automation", "b")])).map(|r| r.path), Some("0".to_string()));
        // Nothing matching: no route.
        a.routes.truncate(1);
        assert_eq!(a.route(&labels(&[("severity", "warning")])), None);
    }

    #[test]
    fn a_tree_too_deep_or_a_bad_interval_is_refused_by_its_path() {
        let mut a = Alerting::default();
        let mut deep = Route::default();
        for _ in 0..4 {
            deep = Route { routes: vec![deep], ..Route::default() };
        }
        a.routes.push(deep);
        assert_eq!(a.validate().map_err(|e| e.field), Err("alerting.routes.2.routes.0.routes.0.routes.0.routes".to_string()));
        let mut a = Alerting::default();
        a.routes[1].routes[0].group_interval_secs = Some(0);
        assert_eq!(a.validate().map_err(|e| e.field), Err("alerting.routes.1.routes.0.group_interval_secs".to_string()));
        let a = Alerting { repeat_interval_secs: 5, ..Alerting::default() };
        assert_eq!(a.validate().map_err(|e| e.field), Err("alerting.repeat_interval_secs".to_string()));
    }

    #[test]
    fn an_unknown_receiver_or_a_zero_window_is_refused_by_name() {
        let mut a = Alerting::default();
        a.routes[0].receivers = Some(vec!["pager".into()]);
        assert_eq!(a.validate().map_err(|e| e.field), Err("alerting.routes.0".to_string()));
        let a = Alerting { window: 0, ..Alerting::default() };
        assert_eq!(a.validate().map_err(|e| e.field), Err("alerting.window".to_string()));
    }
}
