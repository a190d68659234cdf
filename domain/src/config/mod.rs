//! The console's versioned configuration: its schema, validation and field-by-field diff.
//! Shared: imports no feature.
use std::collections::{BTreeMap, BTreeSet};

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::text::MAX_ID_LEN;

pub mod alerting;
pub mod compliance;
pub mod form;
pub use compliance::Policy as CompliancePolicy;

/// One configuration field that changed: its dotted path and values before and after.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldChange {
    pub path: String,
    pub before: Option<String>,
    pub after: Option<String>,
}
/// The console's effective configuration. Versioned: each change is a `config_change` event
/// holding the whole new config, its version, author and reason.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub gating: Gating,
    pub breakers: Breakers,
    /// Admin-only policies (a change to them needs the admin role).
    pub security: Security,
    /// Automation id -> the traders (usernames) who decide its signals and pause it. An
    /// automation not listed here is open to every trader.
    pub owners: BTreeMap<String, Vec<String>>,
    /// Target bands of the exit-quality KPIs, drawn on their weekly trend charts.
    pub kpi_targets: KpiTargets,
    /// Compliance limits, prohibited instruments, market hours, wash trades, process rules.
    pub compliance: CompliancePolicy,
    /// Anomaly detection, alert routing and escalation.
    pub alerting: alerting::Alerting,
}

/// An acceptable range: a value below `min` or above `max` is off target (either may be open).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct Band {
    pub min: Option<f64>,
    pub max: Option<f64>,
}

impl Band {
    pub const fn at_least(x: f64) -> Band {
        Band { min: Some(x), max: None }
    }
    pub const fn at_most(x: f64) -> Band {
        Band { min: None, max: Some(x) }
    }
    /// `Some(true)` within the band, `Some(false)` outside, `None` without a value.
    pub fn holds(&self, x: Option<f64>) -> Option<bool> {
        x.map(|x| self.min.is_none_or(|m| x >= m) && self.max.is_none_or(|m| x <= m))
    }
}

/// Target bands of the exit-quality KPIs (rates as fractions, reaction times in ms).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct KpiTargets {
    pub slar: Band,
    pub prr: Band,
    pub ttdr: Band,
    pub fer: Band,
    pub ert_median_ms: Band,
    pub ert_p95_ms: Band,
    pub eaw: Band,
}

impl Default for KpiTargets {
    fn default() -> Self {
        Self {
            slar: Band::at_least(0.6),
            prr: Band::at_least(0.5),
            ttdr: Band::at_least(0.5),
            fer: Band::at_most(0.3),
            ert_median_ms: Band::at_most(60_000.0),
            ert_p95_ms: Band::at_most(300_000.0),
            eaw: Band::at_least(0.9),
        }
    }
}

impl KpiTargets {
    /// (KPI field name, band) in display order.
    pub fn bands(&self) -> [(&'static str, Band); 7] {
        [("slar", self.slar), ("prr", self.prr), ("ttdr", self.ttdr), ("fer", self.fer), ("ert_median_ms", self.ert_median_ms), ("ert_p95_ms", self.ert_p95_ms), ("eaw", self.eaw)]
    }
}

/// Security policies; only an admin may change them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct Security {
    /// Approvals, rejections, pauses, resumes and config changes need a fresh TOTP code (one not
    /// used before) from an account with two-factor on.
    pub fresh_totp_for_actions: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Gating {
    /// Approved trades an automation needs before it runs without a person (N).
    pub threshold: u32,
    /// Seconds a pending entry signal waits for a decision before it is recorded as a timeout.
    pub approval_timeout_secs: u32,
    /// Per-automation thresholds that replace `threshold`.
    pub overrides: BTreeMap<String, u32>,
}

impl Default for Gating {
    fn default() -> Self {
        Self { threshold: 10, approval_timeout_secs: 300, overrides: BTreeMap::new() }
    }
}

/// Circuit-breaker limits. A breach pauses the automation (or everything, for the global rules).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Breakers {
    /// Per automation, entry and exit signals in the last hour of source time.
    pub max_signals_per_hour: u32,
    /// Per automation, orders submitted and not yet filled, cancelled or rejected.
    pub max_open_orders: u32,
    /// Global: loss since the previous day's close, USD.
    pub max_daily_loss: Decimal,
    /// Global: loss since the previous day's close, % of that close.
    pub max_daily_loss_pct: f64,
    /// Global: drawdown from the equity peak, %.
    pub max_drawdown_pct: f64,
    /// Per automation: losing round trips in a row.
    pub max_consecutive_losses: u32,
    /// A fill whose slippage against the arrival mid exceeds this (bps) is a breach.
    pub slippage_limit_bps: f64,
    /// Per automation: slippage breaches in one day (source time).
    pub max_slippage_breaches: u32,
    /// Global: seconds without a heartbeat from a component that has sent one.
    pub heartbeat_timeout_secs: u32,
    /// Per automation: realized loss (net of fees) since the start of the day (source time), USD.
    pub automation_max_daily_loss: Decimal,
    /// Per automation: the same loss as % of the fund's starting capital.
    pub automation_max_daily_loss_pct: f64,
    /// Per automation: drop of its cumulative realized PnL from its peak, % of starting capital.
    pub automation_max_drawdown_pct: f64,
}

impl Default for Breakers {
    fn default() -> Self {
        Self {
            max_signals_per_hour: 120,
            max_open_orders: 20,
            max_daily_loss: Decimal::from(50_000),
            max_daily_loss_pct: 5.0,
            max_drawdown_pct: 25.0,
            max_consecutive_losses: 10,
            slippage_limit_bps: 50.0,
            max_slippage_breaches: 5,
            heartbeat_timeout_secs: 30,
            automation_max_daily_loss: Decimal::from(20_000),
            automation_max_daily_loss_pct: 2.0,
            automation_max_drawdown_pct: 10.0,
        }
    }
}

/// A configuration value out of range: the dotted field and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct ConfigError {
    pub field: String,
    pub reason: String,
}

impl Config {
    /// Parses a JSON object into a config and checks every range.
    pub fn parse_value(v: &Value) -> Result<Config, ConfigError> {
        let c: Config = serde_json::from_value(v.clone()).map_err(|e| ConfigError { field: "config".into(), reason: e.to_string() })?;
        c.validate()?;
        Ok(c)
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        let err = |field: &str, reason: &str| Err(ConfigError { field: field.to_string(), reason: reason.to_string() });
        let g = &self.gating;
        if g.threshold > 10_000 {
            return err("gating.threshold", "at most 10000");
        }
        if !(10..=86_400).contains(&g.approval_timeout_secs) {
            return err("gating.approval_timeout_secs", "between 10 and 86400 seconds");
        }
        for (k, v) in &g.overrides {
            if k.is_empty() || k.len() > MAX_ID_LEN {
                return err("gating.overrides", "automation ids are 1 to 128 bytes");
            }
            if *v > 10_000 {
                return err(&format!("gating.overrides.{k}"), "at most 10000");
            }
        }
        let b = &self.breakers;
        if b.max_signals_per_hour == 0 {
            return err("breakers.max_signals_per_hour", "must be at least 1");
        }
        if b.max_open_orders == 0 {
            return err("breakers.max_open_orders", "must be at least 1");
        }
        if b.max_daily_loss <= Decimal::ZERO {
            return err("breakers.max_daily_loss", "must be positive (USD)");
        }
        if b.automation_max_daily_loss <= Decimal::ZERO {
            return err("breakers.automation_max_daily_loss", "must be positive (USD)");
        }
        for (name, x) in [
            ("breakers.max_daily_loss_pct", b.max_daily_loss_pct),
            ("breakers.max_drawdown_pct", b.max_drawdown_pct),
            ("breakers.automation_max_daily_loss_pct", b.automation_max_daily_loss_pct),
            ("breakers.automation_max_drawdown_pct", b.automation_max_drawdown_pct),
        ] {
            if !(x.is_finite() && x > 0.0 && x <= 100.0) {
                return err(name, "a percentage above 0 and at most 100");
            }
        }
        if b.max_consecutive_losses == 0 {
            return err("breakers.max_consecutive_losses", "must be at least 1");
        }
        if !(b.slippage_limit_bps.is_finite() && b.slippage_limit_bps > 0.0) {
            return err("breakers.slippage_limit_bps", "must be a positive number of bps");
        }
        if b.max_slippage_breaches == 0 {
            return err("breakers.max_slippage_breaches", "must be at least 1");
        }
        if !(5..=86_400).contains(&b.heartbeat_timeout_secs) {
            return err("breakers.heartbeat_timeout_secs", "between 5 and 86400 seconds");
        }
        for (name, band) in self.kpi_targets.bands() {
            let rate = !name.starts_with("ert");
            for x in [band.min, band.max].into_iter().flatten() {
                if !x.is_finite() || x < 0.0 || (rate && x > 1.0) {
                    return err(&format!("kpi_targets.{name}"), if rate { "bounds are fractions from 0 to 1 (0.6 = 60%)" } else { "bounds are milliseconds, 0 or more" });
                }
            }
            if let (Some(lo), Some(hi)) = (band.min, band.max)
                && lo > hi
            {
                return err(&format!("kpi_targets.{name}"), "min is above max");
            }
        }
        for (k, users) in &self.owners {
            if k.is_empty() || k.len() > MAX_ID_LEN {
                return err("owners", "automation ids are 1 to 128 bytes");
            }
            if users.is_empty() || users.iter().any(|u| u.trim().is_empty() || u.len() > 64) {
                return err(&format!("owners.{k}"), "a list of 1 or more usernames (1 to 64 bytes each)");
            }
        }
        self.compliance.validate()?;
        self.alerting.validate()
    }

    /// Config paths only an admin may change.
    pub const ADMIN_ONLY: [&'static str; 1] = ["security."];

    /// Whether a change touches an admin-only path.
    pub fn touches_admin_only(changes: &[FieldChange]) -> bool {
        changes.iter().any(|c| Self::ADMIN_ONLY.iter().any(|p| c.path.starts_with(p)))
    }

    /// Whether this config asks fewer human approvals than `before` for some automation (the
    /// global `gating.threshold` lowered, or an override lowered or removed to a lower global):
    /// weakening the four-eyes control needs an admin. Raising it does not.
    pub fn lowers_gating(&self, before: &Config) -> bool {
        self.gating.threshold < before.gating.threshold
            || self.gating.overrides.keys().chain(before.gating.overrides.keys()).any(|a| self.threshold_for(a) < before.threshold_for(a))
    }

    /// Whether trader `username` may decide and pause `automation`: it has no owners listed, or
    /// lists them.
    pub fn may_operate(&self, username: &str, automation: &str) -> bool {
        self.owners.get(automation).is_none_or(|o| o.iter().any(|u| u == username))
    }

    pub fn owners_of(&self, automation: &str) -> Vec<String> {
        self.owners.get(automation).cloned().unwrap_or_default()
    }

    pub fn threshold_for(&self, automation: &str) -> u32 {
        self.gating.overrides.get(automation).copied().unwrap_or(self.gating.threshold)
    }

    /// Every leaf as `dotted.path -> value`, for diffs.
    pub fn flatten(&self) -> BTreeMap<String, String> {
        fn walk(prefix: &str, v: &Value, out: &mut BTreeMap<String, String>) {
            match v {
                Value::Object(m) => {
                    for (k, v) in m {
                        let p = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
                        walk(&p, v, out);
                    }
                }
                Value::String(s) => {
                    out.insert(prefix.to_string(), s.clone());
                }
                other => {
                    out.insert(prefix.to_string(), other.to_string());
                }
            }
        }
        let mut out = BTreeMap::new();
        walk("", &serde_json::to_value(self).unwrap_or(Value::Null), &mut out);
        out
    }

    /// Field-by-field differences from `before` to `self`.
    pub fn diff(&self, before: &Config) -> Vec<FieldChange> {
        let (a, b) = (before.flatten(), self.flatten());
        let keys: BTreeSet<&String> = a.keys().chain(b.keys()).collect();
        keys.into_iter()
            .filter(|k| a.get(*k) != b.get(*k))
            .map(|k| FieldChange { path: k.clone(), before: a.get(k).cloned(), after: b.get(k).cloned() })
            .collect()
    }
}

