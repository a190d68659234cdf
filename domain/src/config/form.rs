//! The compliance policy as the fields of an HTML form and back, with an error per field: what
//! the limits form on `/config/compliance` posts. Field names are dotted paths, rows numbered:
//! `thresholds.warning_pct`, `portfolio.max_gross_exposure`, `instruments.0.id`,
//! `instruments.0.max_position_notional`, `automations.1.max_order_quantity`,
//! `prohibited.0.id` / `.reason` / `.since`, `wash_trades.window_secs`, `process.require_risk_check`.
//! Market hours, per-limit thresholds and the LLM review lists are kept as they are (the JSON view
//! edits them).
use std::collections::BTreeMap;
use std::str::FromStr;

use chrono::NaiveDate;
use rust_decimal::Decimal;

use super::compliance::{Limits, Policy, Prohibition};

/// Form field -> value.
pub type Fields = BTreeMap<String, String>;
/// Form field -> what is wrong with it (`_` for the form as a whole).
pub type FieldErrors = BTreeMap<String, String>;

/// Blank rows the form offers after the configured ones.
pub const BLANK_ROWS: usize = 2;

fn limit_fields(prefix: &str, l: &Limits, out: &mut Fields) {
    let dec = |d: Option<Decimal>| d.map(|d| d.normalize().to_string()).unwrap_or_default();
    let num = |x: Option<f64>| x.map(|x| x.to_string()).unwrap_or_default();
    for (name, value) in [
        ("max_position_quantity", dec(l.max_position_quantity)),
        ("max_position_notional", dec(l.max_position_notional)),
        ("max_order_quantity", dec(l.max_order_quantity)),
        ("max_order_notional", dec(l.max_order_notional)),
        ("max_gross_exposure", dec(l.max_gross_exposure)),
        ("max_net_exposure", dec(l.max_net_exposure)),
        ("max_leverage", num(l.max_leverage)),
        ("max_concentration", num(l.max_concentration)),
        ("max_herfindahl", num(l.max_herfindahl)),
        ("max_var_95", dec(l.max_var_95)),
        ("max_daily_loss", dec(l.max_daily_loss)),
        ("max_stop_distance_pct", num(l.max_stop_distance_pct)),
    ] {
        out.insert(format!("{prefix}.{name}"), value);
    }
}

/// The policy as form fields (configured rows, then [`BLANK_ROWS`] empty ones per table).
pub fn to_fields(p: &Policy) -> Fields {
    let mut f = Fields::new();
    let flag = |b: bool| if b { "on".to_string() } else { String::new() };
    f.insert("enabled".into(), flag(p.enabled));
    f.insert("thresholds.warning_pct".into(), p.thresholds.warning_pct.to_string());
    f.insert("thresholds.alert_pct".into(), p.thresholds.alert_pct.to_string());
    f.insert("thresholds.breach_pct".into(), p.thresholds.breach_pct.to_string());
    limit_fields("portfolio", &p.portfolio, &mut f);
    for (table, map) in [("instruments", &p.instruments), ("automations", &p.automations)] {
        for (n, (id, l)) in map.iter().enumerate() {
            f.insert(format!("{table}.{n}.id"), id.clone());
            limit_fields(&format!("{table}.{n}"), l, &mut f);
        }
        for n in map.len()..map.len() + BLANK_ROWS {
            f.insert(format!("{table}.{n}.id"), String::new());
            limit_fields(&format!("{table}.{n}"), &Limits::default(), &mut f);
        }
    }
    for (n, (id, ban)) in p.prohibited.iter().enumerate() {
        f.insert(format!("prohibited.{n}.id"), id.clone());
        f.insert(format!("prohibited.{n}.reason"), ban.reason.clone());
        f.insert(format!("prohibited.{n}.since"), ban.since.to_string());
    }
    for n in p.prohibited.len()..p.prohibited.len() + BLANK_ROWS {
        for k in ["id", "reason", "since"] {
            f.insert(format!("prohibited.{n}.{k}"), String::new());
        }
    }
    f.insert("wash_trades.enabled".into(), flag(p.wash_trades.enabled));
    f.insert("wash_trades.window_secs".into(), p.wash_trades.window_secs.to_string());
    f.insert("wash_trades.price_bps".into(), p.wash_trades.price_bps.to_string());
    f.insert("market_hours.enabled".into(), flag(p.market_hours.enabled));
    f.insert("process.flag_risk_overrides".into(), flag(p.process.flag_risk_overrides));
    f.insert("process.require_risk_check".into(), flag(p.process.require_risk_check));
    f
}

/// Row numbers of a table present in the fields, ascending.
pub fn rows(fields: &Fields, table: &str) -> Vec<usize> {
    let prefix = format!("{table}.");
    let mut out: Vec<usize> = fields.keys().filter_map(|k| k.strip_prefix(&prefix)).filter_map(|rest| rest.split('.').next()?.parse().ok()).collect();
    out.sort_unstable();
    out.dedup();
    out.truncate(10_000);
    out
}

struct Reader<'a> {
    fields: &'a Fields,
    errors: FieldErrors,
}

impl Reader<'_> {
    fn text(&self, key: &str) -> &str {
        self.fields.get(key).map(|s| s.trim()).unwrap_or("")
    }
    fn flag(&self, key: &str) -> bool {
        matches!(self.text(key), "on" | "true" | "1")
    }
    fn fail(&mut self, key: &str, why: &str) {
        self.errors.entry(key.to_string()).or_insert_with(|| why.to_string());
    }
    /// An optional positive number (`ok` says what counts as one): empty is none, anything else
    /// that is not one fails the field. Thousands separators and blanks are ignored.
    fn positive<T: FromStr>(&mut self, key: &str, ok: impl Fn(&T) -> bool) -> Option<T> {
        let t = self.text(key).replace([',', '_', ' '], "");
        if t.is_empty() {
            return None;
        }
        match t.parse::<T>() {
            Ok(x) if ok(&x) => Some(x),
            Ok(_) => {
                self.fail(key, "must be above 0 (leave it empty for no limit)");
                None
            }
            Err(_) => {
                self.fail(key, "not a number");
                None
            }
        }
    }
    fn decimal(&mut self, key: &str) -> Option<Decimal> {
        self.positive(key, |d: &Decimal| *d > Decimal::ZERO)
    }
    fn number(&mut self, key: &str) -> Option<f64> {
        self.positive(key, |x: &f64| x.is_finite() && *x > 0.0)
    }
    fn limits(&mut self, prefix: &str) -> Limits {
        let d = |s: &mut Self, name: &str| s.decimal(&format!("{prefix}.{name}"));
        let max_position_quantity = d(self, "max_position_quantity");
        let max_position_notional = d(self, "max_position_notional");
        let max_order_quantity = d(self, "max_order_quantity");
        let max_order_notional = d(self, "max_order_notional");
        let max_gross_exposure = d(self, "max_gross_exposure");
        let max_net_exposure = d(self, "max_net_exposure");
        let max_var_95 = d(self, "max_var_95");
        let max_daily_loss = d(self, "max_daily_loss");
        Limits {
            max_position_quantity,
            max_position_notional,
            max_order_quantity,
            max_order_notional,
            max_gross_exposure,
            max_net_exposure,
            max_leverage: self.number(&format!("{prefix}.max_leverage")),
            max_concentration: self.number(&format!("{prefix}.max_concentration")),
            max_herfindahl: self.number(&format!("{prefix}.max_herfindahl")),
            max_var_95,
            max_daily_loss,
            max_stop_distance_pct: self.number(&format!("{prefix}.max_stop_distance_pct")),
        }
    }
}

/// Reads the posted fields over `base` (what the form does not edit stays as it was): the new
/// policy, or an error per field. The whole policy is validated as the JSON editor's would be;
/// its error is put on the field it names.
pub fn from_fields(base: &Policy, fields: &Fields) -> Result<Policy, FieldErrors> {
    let mut r = Reader { fields, errors: FieldErrors::new() };
    let mut p = base.clone();
    p.enabled = r.flag("enabled");
    for (name, slot) in [("warning_pct", 0), ("alert_pct", 1), ("breach_pct", 2)] {
        let key = format!("thresholds.{name}");
        match r.number(&key) {
            Some(x) => match slot {
                0 => p.thresholds.warning_pct = x,
                1 => p.thresholds.alert_pct = x,
                _ => p.thresholds.breach_pct = x,
            },
            None => r.fail(&key, "required: a percentage of the limit"),
        }
    }
    p.portfolio = r.limits("portfolio");
    for table in ["instruments", "automations"] {
        let mut map = BTreeMap::new();
        for n in rows(fields, table) {
            let prefix = format!("{table}.{n}");
            let limits = r.limits(&prefix);
            let id = r.text(&format!("{prefix}.id")).to_string();
            if id.is_empty() {
                if limits != Limits::default() {
                    r.fail(&format!("{prefix}.id"), "name the instrument or automation these limits are for");
                }
                continue;
            }
            if map.insert(id, limits).is_some() {
                r.fail(&format!("{prefix}.id"), "listed twice");
            }
        }
        match table {
            "instruments" => p.instruments = map,
            _ => p.automations = map,
        }
    }
    p.prohibited = BTreeMap::new();
    for n in rows(fields, "prohibited") {
        let key = |k: &str| format!("prohibited.{n}.{k}");
        let id = r.text(&key("id")).to_string();
        let reason = r.text(&key("reason")).to_string();
        let since = r.text(&key("since")).to_string();
        if id.is_empty() {
            if !reason.is_empty() || !since.is_empty() {
                r.fail(&key("id"), "name the instrument");
            }
            continue;
        }
        let Ok(since) = NaiveDate::parse_from_str(&since, "%Y-%m-%d") else {
            r.fail(&key("since"), "a date, YYYY-MM-DD");
            continue;
        };
        if p.prohibited.insert(id, Prohibition { reason, since }).is_some() {
            r.fail(&key("id"), "listed twice");
        }
    }
    p.wash_trades.enabled = r.flag("wash_trades.enabled");
    match r.text("wash_trades.window_secs").parse::<u32>() {
        Ok(s) => p.wash_trades.window_secs = s,
        Err(_) => r.fail("wash_trades.window_secs", "a whole number of seconds"),
    }
    match r.text("wash_trades.price_bps").parse::<f64>() {
        Ok(x) => p.wash_trades.price_bps = x,
        Err(_) => r.fail("wash_trades.price_bps", "a number of bps"),
    }
    p.market_hours.enabled = r.flag("market_hours.enabled");
    p.process.flag_risk_overrides = r.flag("process.flag_risk_overrides");
    p.process.require_risk_check = r.flag("process.require_risk_check");
    if r.errors.is_empty()
        && let Err(e) = p.validate()
    {
        let key = form_key(&p, fields, &e.field);
        r.fail(&key, &e.reason);
    }
    if r.errors.is_empty() { Ok(p) } else { Err(r.errors) }
}

/// The form field a validation error's config path names (`compliance.instruments.AAPL.max_leverage`
/// -> `instruments.0.max_leverage`), or `_`.
fn form_key(_p: &Policy, fields: &Fields, path: &str) -> String {
    let Some(rest) = path.strip_prefix("compliance.") else { return "_".into() };
    for table in ["instruments", "automations", "prohibited"] {
        if let Some(tail) = rest.strip_prefix(&format!("{table}.")) {
            for n in rows(fields, table) {
                let id = fields.get(&format!("{table}.{n}.id")).map(|s| s.trim()).unwrap_or("");
                if !id.is_empty()
                    && let Some(field) = tail.strip_prefix(id)
                {
                    let field = field.trim_start_matches('.');
                    return if field.is_empty() { format!("{table}.{n}.id") } else { format!("{table}.{n}.{field}") };
                }
            }
            return "_".into();
        }
    }
    if fields.contains_key(rest) { rest.to_string() } else { "_".into() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_form_reads_back_what_it_wrote() {
        let mut p = Policy::default();
        p.portfolio.max_gross_exposure = Some(Decimal::from(400_000));
        p.instruments.insert("AAPL".into(), Limits { max_position_notional: Some(Decimal::from(50_000)), max_leverage: Some(1.5), ..Limits::default() });
        p.prohibited.insert("GE".into(), Prohibition { reason: "restricted list".into(), since: NaiveDate::from_ymd_opt(2024, 1, 1).unwrap_or_default() });
        let fields = to_fields(&p);
        assert_eq!(fields.get("instruments.0.max_position_notional").map(String::as_str), Some("50000"));
        assert_eq!(fields.get("instruments.1.id").map(String::as_str), Some(""), "blank rows for new entries");
        assert_eq!(from_fields(&p, &fields), Ok(p));
    }

    #[test]
    fn each_wrong_field_gets_its_own_message() {
        let p = Policy::default();
        let mut fields = to_fields(&p);
        fields.insert("portfolio.max_gross_exposure".into(), "lots".into());
        fields.insert("instruments.0.max_order_quantity".into(), "-5".into());
        fields.insert("automations.1.max_leverage".into(), "2".into());
        fields.insert("thresholds.alert_pct".into(), String::new());
        let errors = from_fields(&p, &fields).err().unwrap_or_default();
        assert_eq!(errors.get("portfolio.max_gross_exposure").map(String::as_str), Some("not a number"));
        assert_eq!(errors.get("instruments.0.max_order_quantity").map(String::as_str), Some("must be above 0 (leave it empty for no limit)"));
        assert_eq!(errors.get("instruments.0.id"), None, "a row with only a bad number is named by its number's error");
        assert!(errors.contains_key("automations.1.id"), "limits without a name: {errors:?}");
        assert!(errors.contains_key("thresholds.alert_pct"));
        // The policy's own validation lands on the field it names.
        let mut fields = to_fields(&p);
        fields.insert("instruments.0.id".into(), "AAPL".into());
        fields.insert("instruments.0.max_concentration".into(), "1.5".into());
        let errors = from_fields(&p, &fields).err().unwrap_or_default();
        assert_eq!(errors.get("instruments.0.max_concentration").map(String::as_str), Some("a fraction above 0 and at most 1"));
    }
}

/// The other config sections as form fields: one per leaf, keyed by its JSON pointer
/// (`/breakers/max_open_orders`, `/gating/overrides/momentum-1`), the compliance section left out
/// (it has its own form). A value is its JSON text, a string's without quotes.
pub fn settings_fields(c: &super::Config) -> Fields {
    fn walk(pointer: &str, v: &serde_json::Value, out: &mut Fields) {
        match v {
            serde_json::Value::Object(m) if !m.is_empty() => {
                for (k, v) in m {
                    walk(&format!("{pointer}/{}", k.replace('~', "~0").replace('/', "~1")), v, out);
                }
            }
            serde_json::Value::String(s) => {
                out.insert(pointer.to_string(), s.clone());
            }
            other => {
                out.insert(pointer.to_string(), other.to_string());
            }
        }
    }
    let mut out = Fields::new();
    if let Ok(serde_json::Value::Object(m)) = serde_json::to_value(c) {
        for (k, v) in m.iter().filter(|(k, _)| k.as_str() != "compliance") {
            walk(&format!("/{k}"), v, &mut out);
        }
    }
    out
}

/// Reads the posted leaves over `base`: each replaces the leaf its pointer names (a string as
/// typed, anything else parsed as JSON), then the whole config is validated; an error per field.
/// Keys and entries are added or removed in the JSON view, not here.
pub fn settings_from_fields(base: &super::Config, fields: &Fields) -> Result<super::Config, FieldErrors> {
    let mut errors = FieldErrors::new();
    let Ok(mut v) = serde_json::to_value(base) else {
        errors.insert("_".into(), "the current config cannot be read".into());
        return Err(errors);
    };
    let known = settings_fields(base);
    for (pointer, text) in fields {
        if !known.contains_key(pointer) {
            errors.insert(pointer.clone(), "not a setting of this form".into());
            continue;
        }
        let Some(slot) = v.pointer_mut(pointer) else { continue };
        let parsed = match slot {
            serde_json::Value::String(_) => Ok(serde_json::Value::String(text.trim().to_string())),
            _ => serde_json::from_str::<serde_json::Value>(text.trim()).map_err(|_| "not a number, true / false, null or a JSON list".to_string()),
        };
        match parsed {
            Ok(x) => *slot = x,
            Err(e) => {
                errors.insert(pointer.clone(), e);
            }
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    match super::Config::parse_value(&v) {
        Ok(c) => Ok(c),
        Err(e) => {
            let pointer = format!("/{}", e.field.replace('.', "/"));
            let key = if fields.contains_key(&pointer) { pointer } else { "_".into() };
            errors.insert(key, if e.field == "config" { e.reason } else { format!("{}: {}", e.field, e.reason) });
            Err(errors)
        }
    }
}

#[cfg(test)]
mod settings_tests {
    use super::*;
    use crate::config::Config;

    #[test]
    fn every_other_setting_is_a_field_and_reads_back() {
        let mut c = Config::default();
        c.gating.overrides.insert("momentum.v2".into(), 3);
        c.owners.insert("momentum.v2".into(), vec!["alice".into()]);
        let f = settings_fields(&c);
        assert_eq!(f.get("/breakers/max_open_orders").map(String::as_str), Some("20"));
        assert_eq!(f.get("/gating/overrides/momentum.v2").map(String::as_str), Some("3"));
        assert_eq!(f.get("/owners/momentum.v2").map(String::as_str), Some("[\"alice\"]"));
        assert!(!f.keys().any(|k| k.starts_with("/compliance")));
        assert_eq!(settings_from_fields(&c, &f).ok(), Some(c.clone()));
        let mut bad = f.clone();
        bad.insert("/breakers/max_open_orders".into(), "many".into());
        assert_eq!(settings_from_fields(&c, &bad).err().and_then(|e| e.get("/breakers/max_open_orders").cloned()).as_deref(), Some("not a number, true / false, null or a JSON list"));
        let mut out_of_range = f;
        out_of_range.insert("/breakers/max_open_orders".into(), "0".into());
        let e = settings_from_fields(&c, &out_of_range).err().unwrap_or_default();
        assert_eq!(e.get("/breakers/max_open_orders").map(String::as_str), Some("breakers.max_open_orders: must be at least 1"));
    }
}
