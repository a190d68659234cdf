//! The compliance reports' content (numbers and rows; renderer-free): the monthly compliance
//! report from the issues, and the daily trade report's rows from a day's orders and fills.
use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::{Compliance, IssueState, Level};
use crate::event::{Body, Event, Severity};

/// Issues of one rule and severity in the month.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RuleCounts {
    pub rule: String,
    pub severity: String,
    /// Opened in the month.
    pub opened: u64,
    /// Of those opened in the month, closed in each way by now.
    pub resolved: u64,
    pub waived: u64,
    pub cleared: u64,
    /// Still needing a person.
    pub active: u64,
}

/// The highest utilisation a limit's issues of the month reached.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LimitPeak {
    pub rule: String,
    pub scope: String,
    pub scope_id: Option<String>,
    /// value / limit, 1.0 = 100%.
    pub peak_utilisation: f64,
    pub breached: bool,
}

/// The monthly compliance report (issues opened in the month, by their opening time).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MonthlyReport {
    /// `YYYY-MM`.
    pub month: String,
    pub opened: u64,
    pub breaches: u64,
    pub by_rule: Vec<RuleCounts>,
    /// Minutes from opening to the first acknowledgement, over the month's acknowledged issues.
    pub acknowledge_p50_min: Option<f64>,
    pub acknowledge_p95_min: Option<f64>,
    /// Minutes from opening to resolution or waiver, over the month's closed issues.
    pub resolve_p50_min: Option<f64>,
    pub resolve_p95_min: Option<f64>,
    pub peaks: Vec<LimitPeak>,
}

fn quantile(mut xs: Vec<f64>, q: f64) -> Option<f64> {
    xs.sort_by(f64::total_cmp);
    crate::metrics::percentile_sorted(&xs, q)
}

fn minutes(a: DateTime<Utc>, b: DateTime<Utc>) -> f64 {
    (b - a).num_milliseconds().max(0) as f64 / 60_000.0
}

impl Compliance {
    /// The report of the month of `first` (any day of it), over the issues `visible` admits.
    pub fn monthly_report(&self, first: NaiveDate, visible: &dyn Fn(&super::Issue) -> bool) -> MonthlyReport {
        let (y, m) = (first.year(), first.month());
        let mut by_rule: BTreeMap<(String, String), RuleCounts> = BTreeMap::new();
        let mut peaks: BTreeMap<(String, String, Option<String>), LimitPeak> = BTreeMap::new();
        let (mut ack, mut close) = (Vec::new(), Vec::new());
        let mut report = MonthlyReport { month: format!("{y:04}-{m:02}"), ..Default::default() };
        for i in self.issues.values().filter(|i| i.opened_at.year() == y && i.opened_at.month() == m && visible(i)) {
            report.opened += 1;
            let row = by_rule.entry((i.rule.clone(), i.severity.as_str().to_string())).or_insert_with(|| RuleCounts {
                rule: i.rule.clone(),
                severity: i.severity.as_str().to_string(),
                ..Default::default()
            });
            row.opened += 1;
            match i.state {
                IssueState::Resolved => row.resolved += 1,
                IssueState::Waived => row.waived += 1,
                IssueState::Cleared => row.cleared += 1,
                _ => row.active += 1,
            }
            let breached = i.level == Some(Level::Breach) || (i.level.is_none() && i.severity == Severity::Critical);
            if breached {
                report.breaches += 1;
            }
            if let Some(t) = i.acknowledged_at {
                ack.push(minutes(i.opened_at, t));
            }
            if let (Some(t), IssueState::Resolved | IssueState::Waived) = (i.closed_at, i.state) {
                close.push(minutes(i.opened_at, t));
            }
            if let Some(u) = i.peak_utilisation.or(i.utilisation) {
                let key = (i.rule.clone(), i.scope.as_str().to_string(), i.scope_id.clone());
                let p = peaks.entry(key).or_insert_with(|| LimitPeak { rule: i.rule.clone(), scope: i.scope.as_str().to_string(), scope_id: i.scope_id.clone(), peak_utilisation: u, breached });
                p.peak_utilisation = p.peak_utilisation.max(u);
                p.breached |= breached;
            }
        }
        report.acknowledge_p50_min = quantile(ack.clone(), 0.5);
        report.acknowledge_p95_min = quantile(ack, 0.95);
        report.resolve_p50_min = quantile(close.clone(), 0.5);
        report.resolve_p95_min = quantile(close, 0.95);
        report.by_rule = by_rule.into_values().collect();
        report.peaks = peaks.into_values().collect();
        report.peaks.sort_by(|a, b| b.peak_utilisation.total_cmp(&a.peak_utilisation));
        report
    }

    /// The daily trade report's rows from the day's order and fill events (log order): one row
    /// per order, with its fills and the compliance issues raised on it.
    pub fn trade_rows(&self, events: &[(u64, Event)]) -> Vec<TradeRow> {
        let mut rows: Vec<TradeRow> = Vec::new();
        let mut index: BTreeMap<String, usize> = BTreeMap::new();
        for (seq, e) in events {
            match &e.body {
                Body::Order(o) => {
                    let id = o.order_id.to_string();
                    match index.get(&id) {
                        Some(&i) => rows[i].status = o.status.as_str().to_string(),
                        None => {
                            index.insert(id.clone(), rows.len());
                            let issues = self.issues_of_order(&id).to_vec();
                            let rules = issues.iter().filter_map(|n| self.issue(*n)).map(|i| format!("{} ({})", i.rule, i.severity.as_str())).collect::<Vec<_>>();
                            rows.push(TradeRow {
                                seq: *seq,
                                ts: e.ts,
                                order_id: id,
                                signal_id: o.signal_id.as_ref().map(|s| s.to_string()),
                                instrument: o.instrument.to_string(),
                                side: o.side.as_str().to_string(),
                                quantity: o.quantity,
                                order_type: o.order_type.as_str().to_string(),
                                limit_price: o.limit_price,
                                status: o.status.as_str().to_string(),
                                fills: 0,
                                filled_quantity: Decimal::ZERO,
                                avg_fill_price: None,
                                fees: Decimal::ZERO,
                                compliance: if issues.is_empty() { "clean".into() } else { "flagged".into() },
                                issues,
                                rules: rules.join("; "),
                            });
                        }
                    }
                }
                Body::Fill(f) => {
                    if let Some(&i) = index.get(f.order_id.as_str()) {
                        let r = &mut rows[i];
                        let notional = r.avg_fill_price.unwrap_or_default() * r.filled_quantity + f.price * f.quantity;
                        r.fills += 1;
                        r.filled_quantity += f.quantity;
                        r.fees += f.fee;
                        r.avg_fill_price = (!r.filled_quantity.is_zero()).then(|| (notional / r.filled_quantity).round_dp(10));
                    }
                }
                _ => {}
            }
        }
        rows
    }
}

/// One order of the day with its fills and compliance status.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TradeRow {
    pub seq: u64,
    pub ts: DateTime<Utc>,
    pub order_id: String,
    pub signal_id: Option<String>,
    pub instrument: String,
    pub side: String,
    pub quantity: Decimal,
    pub order_type: String,
    pub limit_price: Option<Decimal>,
    /// Its last status that day.
    pub status: String,
    pub fills: u64,
    pub filled_quantity: Decimal,
    pub avg_fill_price: Option<Decimal>,
    pub fees: Decimal,
    /// `clean` or `flagged`.
    pub compliance: String,
    pub issues: Vec<u64>,
    /// The rules that flagged it, with their severities.
    pub rules: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compliance::{Issue, IssueState};
    use crate::event::Scope;

    fn issue(id: u64, opened: &str, rule: &str, severity: Severity, state: IssueState, ack_min: Option<i64>, close_min: Option<i64>) -> Issue {
        let at = DateTime::parse_from_rfc3339(opened).map(|t| t.with_timezone(&Utc)).unwrap_or_default();
        Issue {
            id,
            opened_at: at,
            updated_at: at,
            rule: rule.into(),
            severity,
            level: (severity == Severity::Critical).then_some(Level::Breach),
            scope: Scope::Portfolio,
            scope_id: None,
            value: None,
            limit: Some(1.0),
            utilisation: Some(0.9),
            peak_utilisation: Some(if severity == Severity::Critical { 1.2 } else { 0.85 }),
            evidence: vec![],
            order_id: None,
            signal_id: None,
            automation_id: None,
            instrument: None,
            detail: String::new(),
            state,
            episode_open: false,
            episode_ended_at: None,
            acknowledged_by: ack_min.map(|_| "risk".into()),
            acknowledged_at: ack_min.map(|m| at + chrono::Duration::minutes(m)),
            closed_at: close_min.map(|m| at + chrono::Duration::minutes(m)),
            waiver_by: None,
            history: vec![],
        }
    }

    #[test]
    fn the_monthly_report_counts_the_months_issues_and_their_timings() {
        let mut c = Compliance::new();
        for i in [
            issue(1, "2024-05-01T10:00:00Z", "max_gross_exposure", Severity::Critical, IssueState::Resolved, Some(10), Some(60)),
            issue(2, "2024-05-02T10:00:00Z", "max_gross_exposure", Severity::Critical, IssueState::Waived, Some(30), Some(120)),
            issue(3, "2024-05-03T10:00:00Z", "max_gross_exposure", Severity::Warning, IssueState::Cleared, None, Some(5)),
            issue(4, "2024-05-31T23:59:59Z", "wash_trade", Severity::Critical, IssueState::Open, None, None),
            issue(5, "2024-06-01T00:00:00Z", "wash_trade", Severity::Critical, IssueState::Open, None, None),
        ] {
            c.issues.insert(i.id, i);
        }
        let r = c.monthly_report(NaiveDate::from_ymd_opt(2024, 5, 17).unwrap_or_default(), &|_| true);
        assert_eq!((r.month.as_str(), r.opened, r.breaches), ("2024-05", 4, 3));
        let gross_critical = r.by_rule.iter().find(|x| x.rule == "max_gross_exposure" && x.severity == "critical").cloned().unwrap_or_default();
        assert_eq!((gross_critical.opened, gross_critical.resolved, gross_critical.waived), (2, 1, 1));
        assert_eq!(r.acknowledge_p50_min, Some(20.0));
        // Cleared issues closed themselves: only resolutions and waivers time a person.
        assert_eq!(r.resolve_p50_min, Some(90.0));
        assert_eq!(r.resolve_p95_min, Some(117.0));
        assert_eq!(r.peaks[0].peak_utilisation, 1.2);
    }
}
