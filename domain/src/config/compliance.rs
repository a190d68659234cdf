//! The compliance policy (config section `compliance`): limits per instrument, per automation
//! and for the portfolio, prohibited instruments, market hours, wash-trade detection and process
//! rules. Evaluated by the compliance fold; versioned with the rest of the config.
use std::collections::{BTreeMap, BTreeSet};

use chrono::{NaiveDate, NaiveTime, Weekday};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::ConfigError;
use crate::text::MAX_ID_LEN;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Policy {
    /// Off: no rule is evaluated (issues already raised keep their workflow).
    pub enabled: bool,
    /// Utilisation levels of every limit, in % of the limit.
    pub thresholds: Thresholds,
    /// Per limit name (e.g. `max_position_notional`): levels that replace `thresholds`.
    pub threshold_overrides: BTreeMap<String, Thresholds>,
    /// Limits of the whole book.
    pub portfolio: Limits,
    /// Limits per instrument (by instrument id).
    pub instruments: BTreeMap<String, Limits>,
    /// Limits per automation (strategy id): its own positions and orders.
    pub automations: BTreeMap<String, Limits>,
    /// Instruments no order may name.
    pub prohibited: BTreeMap<String, Prohibition>,
    pub market_hours: MarketHours,
    pub wash_trades: WashTrades,
    pub process: Process,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            enabled: true,
            thresholds: Thresholds::default(),
            threshold_overrides: BTreeMap::new(),
            portfolio: Limits::default(),
            instruments: BTreeMap::new(),
            automations: BTreeMap::new(),
            prohibited: BTreeMap::new(),
            market_hours: MarketHours::default(),
            wash_trades: WashTrades::default(),
            process: Process::default(),
        }
    }
}

/// Utilisation levels, % of a limit: warning (pre-breach), alert, breach.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Thresholds {
    pub warning_pct: f64,
    pub alert_pct: f64,
    pub breach_pct: f64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Self { warning_pct: 80.0, alert_pct: 90.0, breach_pct: 100.0 }
    }
}

/// Limits of one scope; a limit left out (`null`) is not checked. Money in USD, quantities in
/// units of the instrument, ratios as fractions (1.5 = 150%).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// |position| in units (instrument scope).
    pub max_position_quantity: Option<Decimal>,
    /// |position| x mark, USD (instrument scope); for an automation the sum over its positions.
    pub max_position_notional: Option<Decimal>,
    /// One order's quantity, units.
    pub max_order_quantity: Option<Decimal>,
    /// One order's quantity x its limit price (or the mark), USD.
    pub max_order_notional: Option<Decimal>,
    /// Sum of |notional| of the positions in scope, USD.
    pub max_gross_exposure: Option<Decimal>,
    /// |sum of signed notional|, USD.
    pub max_net_exposure: Option<Decimal>,
    /// Gross exposure / equity (portfolio).
    pub max_leverage: Option<f64>,
    /// Largest |position notional| / gross exposure (portfolio), a fraction.
    pub max_concentration: Option<f64>,
    /// Herfindahl index of the position weights (portfolio), 0..1.
    pub max_herfindahl: Option<f64>,
    /// 1-day historical VaR 95 of the book, USD (portfolio).
    pub max_var_95: Option<Decimal>,
    /// Loss today (realized + unrealized since the previous close), USD (portfolio).
    pub max_daily_loss: Option<Decimal>,
    /// Entries must carry a stop-loss no further than this % of the mark from it.
    pub max_stop_distance_pct: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Prohibition {
    pub reason: String,
    pub since: NaiveDate,
}

/// Trading sessions per instrument class, each in its own time zone.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MarketHours {
    pub enabled: bool,
    /// Class name -> its session.
    pub classes: BTreeMap<String, Session>,
    /// Instrument -> class; instruments not listed use `default_class` (none: not checked).
    pub instruments: BTreeMap<String, String>,
    pub default_class: Option<String>,
}

impl Default for MarketHours {
    fn default() -> Self {
        let mut classes = BTreeMap::new();
        classes.insert("us_equity".to_string(), Session::us_equity());
        classes.insert("fx".to_string(), Session::fx());
        Self { enabled: true, classes, instruments: BTreeMap::new(), default_class: None }
    }
}

/// A session: daily (`open`..`close` on `days`, not on `holidays`) or, with `open_day` and
/// `close_day`, one weekly window (FX: Sunday 17:00 to Friday 17:00 New York). Times are local
/// to `time_zone` (IANA name), so DST changes follow the exchange's clock.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Session {
    pub time_zone: String,
    pub open: NaiveTime,
    pub close: NaiveTime,
    #[serde(default)]
    pub days: Vec<Weekday>,
    #[serde(default)]
    pub open_day: Option<Weekday>,
    #[serde(default)]
    pub close_day: Option<Weekday>,
    #[serde(default)]
    pub holidays: BTreeSet<NaiveDate>,
}

fn hm(h: u32, m: u32) -> NaiveTime {
    NaiveTime::from_hms_opt(h, m, 0).unwrap_or_default()
}

impl Session {
    /// NYSE / Nasdaq regular hours, with the exchanges' full-day holidays of 2024-2026.
    pub fn us_equity() -> Self {
        let holidays = [
            "2024-01-01", "2024-01-15", "2024-02-19", "2024-03-29", "2024-05-27", "2024-06-19", "2024-07-04", "2024-09-02", "2024-11-28", "2024-12-25",
            "2025-01-01", "2025-01-09", "2025-01-20", "2025-02-17", "2025-04-18", "2025-05-26", "2025-06-19", "2025-07-04", "2025-09-01", "2025-11-27", "2025-12-25",
            "2026-01-01", "2026-01-19", "2026-02-16", "2026-04-03", "2026-05-25", "2026-06-19", "2026-07-03", "2026-09-07", "2026-11-26", "2026-12-25",
        ];
        Self {
            time_zone: "America/New_York".into(),
            open: hm(9, 30),
            close: hm(16, 0),
            days: vec![Weekday::Mon, Weekday::Tue, Weekday::Wed, Weekday::Thu, Weekday::Fri],
            open_day: None,
            close_day: None,
            holidays: holidays.iter().filter_map(|d| d.parse().ok()).collect(),
        }
    }

    /// Spot FX: from Sunday 17:00 to Friday 17:00 New York.
    pub fn fx() -> Self {
        Self {
            time_zone: "America/New_York".into(),
            open: hm(17, 0),
            close: hm(17, 0),
            days: Vec::new(),
            open_day: Some(Weekday::Sun),
            close_day: Some(Weekday::Fri),
            holidays: BTreeSet::new(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WashTrades {
    pub enabled: bool,
    /// A buy and a sell of one instrument by different automations this close in time...
    pub window_secs: u32,
    /// ...at prices this close (bps of the first price) are a wash trade.
    pub price_bps: f64,
}

impl Default for WashTrades {
    fn default() -> Self {
        Self { enabled: true, window_secs: 60, price_bps: 10.0 }
    }
}

/// Process rules on the way an order came about.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct Process {
    /// An order for a signal whose risk check rejected it is an override (critical).
    pub flag_risk_overrides: bool,
    /// An order without a risk check of its signal (or without a signal) is flagged.
    pub require_risk_check: bool,
    /// Automations whose signals need an LLM review before an order.
    pub llm_review_automations: BTreeSet<String>,
    /// Signal types that need an LLM review before an order.
    pub llm_review_signal_types: BTreeSet<String>,
    /// LLM decisions after which no order may follow (e.g. `reject`).
    pub forbidden_llm_decisions: BTreeSet<String>,
}

impl Policy {
    pub fn thresholds_for(&self, limit: &str) -> Thresholds {
        self.threshold_overrides.get(limit).copied().unwrap_or(self.thresholds)
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        let err = |field: String, reason: &str| Err(ConfigError { field, reason: reason.to_string() });
        let check_thresholds = |field: String, t: &Thresholds| {
            let ok = [t.warning_pct, t.alert_pct, t.breach_pct].iter().all(|x| x.is_finite() && *x > 0.0 && *x <= 1000.0)
                && t.warning_pct <= t.alert_pct
                && t.alert_pct <= t.breach_pct;
            if ok { Ok(()) } else { err(field, "percentages above 0 and at most 1000, warning <= alert <= breach") }
        };
        check_thresholds("compliance.thresholds".into(), &self.thresholds)?;
        for (name, t) in &self.threshold_overrides {
            if !Limits::NAMES.contains(&name.as_str()) {
                return err(format!("compliance.threshold_overrides.{name}"), "not a limit name");
            }
            check_thresholds(format!("compliance.threshold_overrides.{name}"), t)?;
        }
        self.portfolio.validate("compliance.portfolio")?;
        for (scope, map) in [("instruments", &self.instruments), ("automations", &self.automations)] {
            for (k, limits) in map {
                id(&format!("compliance.{scope}"), k)?;
                limits.validate(&format!("compliance.{scope}.{k}"))?;
            }
        }
        for (k, p) in &self.prohibited {
            id("compliance.prohibited", k)?;
            if p.reason.trim().len() < 3 || p.reason.len() > 500 {
                return err(format!("compliance.prohibited.{k}.reason"), "3 to 500 characters");
            }
        }
        let h = &self.market_hours;
        for (name, s) in &h.classes {
            id("compliance.market_hours.classes", name)?;
            let field = format!("compliance.market_hours.classes.{name}");
            if s.time_zone.parse::<chrono_tz::Tz>().is_err() {
                return err(format!("{field}.time_zone"), "an IANA time zone, e.g. America/New_York");
            }
            match (s.open_day, s.close_day) {
                (Some(_), Some(_)) => {}
                (None, None) => {
                    if s.open >= s.close {
                        return err(format!("{field}.close"), "after open");
                    }
                    if s.days.is_empty() {
                        return err(format!("{field}.days"), "at least one weekday");
                    }
                }
                _ => return err(format!("{field}.open_day"), "open_day and close_day go together"),
            }
            if s.holidays.len() > 1000 {
                return err(format!("{field}.holidays"), "at most 1000 dates");
            }
        }
        for (inst, class) in &h.instruments {
            id("compliance.market_hours.instruments", inst)?;
            if !h.classes.contains_key(class) {
                return err(format!("compliance.market_hours.instruments.{inst}"), "names no class");
            }
        }
        if let Some(c) = &h.default_class
            && !h.classes.contains_key(c)
        {
            return err("compliance.market_hours.default_class".into(), "names no class");
        }
        let w = &self.wash_trades;
        if !(1..=86_400).contains(&w.window_secs) {
            return err("compliance.wash_trades.window_secs".into(), "between 1 and 86400 seconds");
        }
        if !(w.price_bps.is_finite() && w.price_bps >= 0.0 && w.price_bps <= 10_000.0) {
            return err("compliance.wash_trades.price_bps".into(), "0 to 10000 bps");
        }
        let p = &self.process;
        for (name, set) in [("llm_review_automations", &p.llm_review_automations), ("llm_review_signal_types", &p.llm_review_signal_types), ("forbidden_llm_decisions", &p.forbidden_llm_decisions)] {
            for k in set {
                id(&format!("compliance.process.{name}"), k)?;
            }
        }
        Ok(())
    }
}

fn id(field: &str, k: &str) -> Result<(), ConfigError> {
    if k.is_empty() || k.len() > MAX_ID_LEN || k.trim() != k {
        return Err(ConfigError { field: field.to_string(), reason: "names are 1 to 128 bytes without surrounding blanks".into() });
    }
    Ok(())
}

impl Limits {
    /// Every limit's name, in display order.
    pub const NAMES: [&'static str; 12] = [
        "max_position_quantity",
        "max_position_notional",
        "max_order_quantity",
        "max_order_notional",
        "max_gross_exposure",
        "max_net_exposure",
        "max_leverage",
        "max_concentration",
        "max_herfindahl",
        "max_var_95",
        "max_daily_loss",
        "max_stop_distance_pct",
    ];

    /// The unit a limit is stated in, for forms and tables.
    pub fn unit(name: &str) -> &'static str {
        match name {
            "max_position_quantity" | "max_order_quantity" => "units",
            "max_leverage" => "x equity",
            "max_concentration" | "max_herfindahl" => "fraction",
            "max_stop_distance_pct" => "% of mark",
            _ => "USD",
        }
    }

    fn validate(&self, scope: &str) -> Result<(), ConfigError> {
        let err = |name: &str, reason: &str| Err(ConfigError { field: format!("{scope}.{name}"), reason: reason.to_string() });
        let max = Decimal::from(1_000_000_000_000_000_000u64);
        for (name, d) in [
            ("max_position_quantity", self.max_position_quantity),
            ("max_position_notional", self.max_position_notional),
            ("max_order_quantity", self.max_order_quantity),
            ("max_order_notional", self.max_order_notional),
            ("max_gross_exposure", self.max_gross_exposure),
            ("max_net_exposure", self.max_net_exposure),
            ("max_var_95", self.max_var_95),
            ("max_daily_loss", self.max_daily_loss),
        ] {
            if let Some(d) = d
                && (d <= Decimal::ZERO || d > max)
            {
                return err(name, "a positive amount, at most 1e18");
            }
        }
        for (name, x, hi) in [
            ("max_leverage", self.max_leverage, 1000.0),
            ("max_concentration", self.max_concentration, 1.0),
            ("max_herfindahl", self.max_herfindahl, 1.0),
            ("max_stop_distance_pct", self.max_stop_distance_pct, 100.0),
        ] {
            if let Some(x) = x
                && !(x.is_finite() && x > 0.0 && x <= hi)
            {
                return err(name, if hi == 1.0 { "a fraction above 0 and at most 1" } else { "a positive number within range" });
            }
        }
        Ok(())
    }
}
