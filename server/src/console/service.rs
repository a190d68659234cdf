//! [`app::service::ConsoleService`]: what the server functions call. Each operator action is
//! authorised here again (the server function checked the role; this checks ownership) and
//! appended as an event.

use anyhow::Result;
use app::service::{ConsoleService, Internal};
use chrono::Utc;
use domain::chain::Report;
use app::error::AppError;
use app::session::SessionUser;
use domain::event::{Body, ConfigChange, Control, ControlAction, OperatorResponse};
use domain::governance::{Config, Reason, Role};
use domain::view::{DashboardView, EventPage, EventQuery, EventRow, Lineage, SignalRow};


use super::*;

fn internal(e: anyhow::Error) -> Internal {
    tracing::error!(error = format!("{e:#}"), "console service");
    Internal
}

#[async_trait::async_trait]
impl ConsoleService for Console {
    fn dashboard(&self) -> DashboardView {
        self.summary()
    }
    fn signals(&self, limit: usize) -> Vec<SignalRow> {
        let folds = read(&self.folds);
        let mut rows = folds.book.signals(limit);
        folds.compliance.flag_signals(&mut rows);
        rows
    }
    async fn events(&self, q: EventQuery) -> Result<EventPage, Internal> {
        self.store.events(&q).await.map_err(internal)
    }
    async fn event(&self, seq: u64) -> Result<Option<EventRow>, Internal> {
        self.store.event(seq).await.map_err(internal)
    }
    async fn lineage(&self, signal_id: &str) -> Result<Option<Lineage>, Internal> {
        self.lineage_of(signal_id).await.map_err(internal)
    }
    async fn verify(&self) -> Result<Report, Internal> {
        self.store.verify().await.map_err(internal)
    }

    async fn governance(&self) -> domain::view::GovernanceView {
        self.governance_view_detailed().await
    }

    fn performance(&self, native: bool) -> domain::view::PerformanceView {
        let head = self.head_seq();
        if native {
            return self.reports.performance_native.get(head, || {
                let n = self.native_returns(None, None);
                let mut view = domain::metrics::performance_view_at(&n.dates, &n.times, &n.returns, None, self.trade_stats(), n.per_year.unwrap_or(domain::metrics::TRADING_DAYS));
                view.interval = "native".into();
                view
            });
        }
        self.reports.performance.get(head, || {
            let (dates, returns) = self.daily_returns(None, None);
            domain::metrics::performance_view(&dates, &returns, crate::reference::sp500(), self.trade_stats())
        })
    }

    fn kpi_view(&self) -> domain::view::KpiView {
        self.reports.kpis.get(self.head_seq(), || domain::view::KpiView { report: self.exit_kpis(), targets: self.current_config().1.kpi_targets })
    }

    fn kpi_week_view(&self, week: chrono::NaiveDate) -> domain::kpi::KpiWeek {
        self.kpi_week(week)
    }

    fn attribution_view(&self) -> domain::view::AttributionView {
        self.reports.attribution.get(self.head_seq(), || domain::view::AttributionView {
            attribution: self.attribution(),
            factors: self.factor_attribution(),
            regimes: self.regimes(None, None),
        })
    }

    fn execution_view(&self) -> domain::analytics::SlippageReport {
        self.reports.execution.get(self.head_seq(), || self.slippage())
    }

    fn risk_view(&self) -> domain::risk::RiskReport {
        self.reports.risk.get(self.head_seq(), || self.risk())
    }

    fn config(&self) -> (u32, Config) {
        self.current_config()
    }

    fn config_history(&self) -> Vec<domain::view::ConfigVersionView> {
        read(&self.folds).governance.versions().iter().rev().cloned().collect()
    }

    async fn decide(&self, actor: &SessionUser, signal_id: &str, action: &str, comment: Option<String>) -> Result<(), AppError> {
        let now = Utc::now();
        let comment = comment.map(|c| c.trim().to_string()).filter(|c| !c.is_empty());
        let response_ms = {
            let folds = read(&self.folds);
            let g = &folds.governance;
            let received = match action {
                "approve" | "reject" => g.pending(signal_id).map(|p| p.received_at),
                "acknowledge" => g.exit(signal_id).map(|e| e.received_at),
                _ => return Err(AppError::Invalid("the decision is approve, reject or acknowledge".into())),
            };
            let received = received.ok_or_else(|| AppError::Conflict("this signal is no longer waiting for a decision".into()))?;
            if let Some(a) = g.automation_of(signal_id) {
                may_operate(actor, g.config(), a)?;
            }
            (now - received).num_milliseconds().max(0)
        };
        let comment = if action == "reject" {
            let reason = Reason::parse(comment.as_deref().unwrap_or("")).map_err(|e| AppError::Invalid(format!("reject needs a reason: {e}")))?;
            Some(reason.to_string())
        } else {
            comment.map(|c| c.chars().take(2000).collect::<String>())
        };
        let body = OperatorResponse {
            signal_id: wire_id(signal_id).map_err(|_| AppError::NotFound)?,
            action: wire_id(action).map_err(internal)?,
            actor: wire_id(&actor.username).map_err(internal)?,
            comment,
            response_ms: Some(response_ms.unsigned_abs()),
        };
        self.record(vec![Body::OperatorResponse(body)], now)
        .await
        .map_err(|e| internal(anyhow::anyhow!("{e}")))?;
        self.evaluate(now).await;
        Ok(())
    }

    async fn control(&self, actor: &SessionUser, automation: Option<String>, pause: bool, reason: &str) -> Result<(), AppError> {
        let reason = Reason::parse(reason).map_err(|e| AppError::Invalid(e.to_string()))?;
        let now = Utc::now();
        {
            let folds = read(&self.folds);
            let g = &folds.governance;
            if let Some(a) = &automation {
                if !g.knows_automation(a) {
                    return Err(AppError::NotFound);
                }
                may_operate(actor, g.config(), a)?;
            }
            let paused_now = match &automation {
                Some(a) => g.automation_paused(a),
                None => g.is_paused(None),
            };
            if paused_now == pause {
                return Err(AppError::Conflict(if pause { "already paused".into() } else { "not paused".into() }));
            }
        }
        let body = Control {
            action: if pause { ControlAction::Pause } else { ControlAction::Resume },
            automation_id: automation.as_deref().map(wire_id).transpose().map_err(internal)?,
            actor: wire_id(&actor.username).map_err(internal)?,
            reason,
            rule: None,
            value: None,
            limit: None,
        };
        self.record(vec![Body::Control(body)], now)
        .await
        .map_err(|e| internal(anyhow::anyhow!("{e}")))?;
        Ok(())
    }

    fn compliance_issues(&self, viewer: Option<&SessionUser>, q: &domain::compliance::IssueQuery) -> domain::compliance::IssuePage {
        let folds = read(&self.folds);
        let config = folds.governance.config();
        // Everyone but a trader sees every issue: the fold's own counts serve them.
        match viewer {
            Some(v) if v.role == Role::Trader || v.role == Role::Investor => folds.compliance.query(q, Some(&|i| sees_issue(viewer, config, i))),
            _ => folds.compliance.query(q, None),
        }
    }

    fn compliance_issue(&self, viewer: Option<&SessionUser>, id: u64) -> Option<domain::compliance::Issue> {
        let folds = read(&self.folds);
        folds.compliance.issue(id).filter(|i| sees_issue(viewer, folds.governance.config(), i)).cloned()
    }

    fn compliance_limits(&self) -> Vec<domain::compliance::LimitRow> {
        read(&self.folds).compliance.limits().to_vec()
    }

    fn compliance_monthly(&self, viewer: Option<&SessionUser>, day: chrono::NaiveDate) -> domain::compliance::report::MonthlyReport {
        let folds = read(&self.folds);
        let config = folds.governance.config();
        folds.compliance.monthly_report(day, &|i| sees_issue(viewer, config, i))
    }

    fn export(&self, dataset: &str, format: &str, from: Option<&str>, to: Option<&str>, kind: Option<&str>) -> Result<(String, &'static str, app::service::ExportStream), AppError> {
        let mut params = std::collections::HashMap::new();
        for (k, v) in [("from", from), ("to", to), ("kind", kind)] {
            if let Some(v) = v.filter(|v| !v.trim().is_empty()) {
                params.insert(k.to_string(), v.to_string());
            }
        }
        let file = format!("{dataset}.{format}");
        let (dataset, format, filter) = crate::export::request(&file, &params).map_err(|r| AppError::Invalid(format!("{}: {}", r.field, r.message)))?;
        let mut rx = self.export_stream(dataset, format, filter);
        let stream = futures::stream::poll_fn(move |cx| rx.poll_recv(cx).map(|o| o.map(|r| r.map(|b| b.to_vec()))));
        let ext = if format == crate::export::Format::Csv { "csv" } else { "parquet" };
        Ok((format!("tradewatch-{}.{ext}", dataset.as_str()), format.mime(), Box::pin(stream)))
    }

    async fn reports(&self) -> Result<Vec<domain::view::ReportMeta>, Internal> {
        self.report_archive().await.map_err(internal)
    }

    async fn report_file(&self, week: &str, format: &str) -> Result<Option<Vec<u8>>, Internal> {
        self.store.report_file(week, format).await.map_err(internal)
    }

    async fn generate_report(&self, actor: &SessionUser, week: Option<&str>) -> Result<domain::view::ReportMeta, AppError> {
        let monday = match week {
            Some(w) => domain::report::parse_week(w.trim()).ok_or_else(|| AppError::Invalid("week: an ISO week YYYY-Www, e.g. 2024-W43".into()))?,
            None => self.last_complete_week().ok_or_else(|| AppError::Invalid("the log holds no market data yet".into()))?,
        };
        Ok(self.publish_report(monday, Some(&actor.username), Utc::now()).await.map_err(internal)?)
    }

    fn track_record(&self) -> domain::track_record::TrackRecord {
        Console::track_record(self)
    }
    fn backtest(&self) -> Option<Arc<domain::view::BacktestView>> {
        Console::backtest(self)
    }
    async fn decision_records(&self, limit: usize) -> Result<Vec<domain::view::DecisionRecordView>, Internal> {
        Console::decision_records(self, limit).await.map_err(internal)
    }
    async fn checkpoints(&self, limit: u32) -> Result<domain::view::CheckpointsView, Internal> {
        let key = self.checkpoints().map(|c| c.public_key());
        let published = crate::checkpoints::published(&self.store, limit).await.map_err(internal)?;
        let checkpoints = published
            .into_iter()
            .map(|p| domain::view::CheckpointRow { seq: p.seq, signature_ok: p.checkpoint.verify(key.as_deref()).is_ok(), checkpoint: p.checkpoint })
            .collect();
        Ok(domain::view::CheckpointsView { public_key: key, head_seq: self.head_seq(), checkpoints })
    }

    async fn trade_day(&self, day: chrono::NaiveDate) -> Result<Vec<domain::compliance::report::TradeRow>, Internal> {
        self.trade_day_rows(day).await.map_err(internal)
    }

    async fn config_refused(&self, actor: &SessionUser, why: &str) {
        let detail = format!("{} ({}) tried to change the config: {why}", actor.username, actor.role.as_str());
        tracing::warn!(user = %actor.username, role = actor.role.as_str(), why, "config change refused");
        match system_event("console.config", "refused", detail) {
            Ok(body) => {
                let now = Utc::now();
                if let Err(e) = self.record(vec![body], now).await {
                    tracing::error!(error = %e, "recording a refused config change");
                }
                // Its alert now, not at the rules' next tick.
                self.evaluate(now).await;
            }
            Err(e) => tracing::error!(error = %e, "a refused config change that cannot be written"),
        }
    }
    fn health(&self) -> domain::view::HealthView {
        Console::health(self, Utc::now())
    }
    fn alerts(&self, q: &domain::anomaly::alerts::AlertQuery) -> domain::anomaly::alerts::AlertPage {
        self.alerts_page(q, Utc::now())
    }
    fn alert(&self, fingerprint: &str) -> Option<domain::anomaly::alerts::AlertRow> {
        self.alert_row(fingerprint, Utc::now())
    }
    fn may_act_on_alert(&self, viewer: &SessionUser, alert: &domain::anomaly::alerts::AlertRow) -> bool {
        Console::may_act_on_alert(self, viewer, alert)
    }
    fn anomalies(&self, limit: usize) -> (Vec<domain::anomaly::AnomalyRecord>, u64) {
        Console::anomalies(self, None, None, limit)
    }
    async fn alert_step(&self, actor: &SessionUser, step: app::service::AlertStepRequest) -> Result<u64, AppError> {
        Console::alert_step(self, actor, step, Utc::now()).await
    }
    async fn review_issue(&self, actor: &SessionUser, id: u64, action: &str, note: Option<String>) -> Result<(), AppError> {
        use domain::event::{ComplianceReview, ReviewAction};
        let action = ReviewAction::parse(action).ok_or_else(|| AppError::Invalid("the action is acknowledge, resolve, waive or confirm_waiver".into()))?;
        let note = note.map(|n| n.trim().chars().take(2000).collect::<String>()).filter(|n| !n.is_empty());
        let now = Utc::now();
        // One review at a time: the state it was checked against is the one it applies to.
        let _one_at_a_time = self.review_lock.lock().await;
        {
            let folds = read(&self.folds);
            let issue = folds.compliance.issue(id).filter(|i| sees_issue(Some(actor), folds.governance.config(), i)).ok_or(AppError::NotFound)?;
            // Risk acts on every issue; a trader acknowledges his automations' issues only.
            let allowed = match actor.role {
                Role::Risk => true,
                Role::Trader => action == ReviewAction::Acknowledge && issue.automation_id.is_some(),
                _ => false,
            };
            if !allowed {
                return Err(AppError::Forbidden);
            }
            folds.compliance.check_review(id, action, &actor.username, note.as_deref()).map_err(|why| {
                if why.starts_with("a note") { AppError::Invalid(why.into()) } else { AppError::Conflict(why.into()) }
            })?;
        }
        let body = ComplianceReview { issue_id: id, action, actor: wire_id(&actor.username).map_err(internal)?, note };
        self.record(vec![Body::ComplianceReview(body)], now).await.map_err(|e| internal(anyhow::anyhow!("{e}")))?;
        Ok(())
    }

    async fn change_config(&self, actor: &SessionUser, base_version: u32, config: Config, reason: &str) -> Result<u32, AppError> {
        let reason = Reason::parse(reason).map_err(|e| AppError::Invalid(e.to_string()))?;
        config.validate().map_err(|e| AppError::Invalid(e.to_string()))?;
        let _one_at_a_time = self.config_lock.lock().await;
        let (current, old) = self.current_config();
        if base_version != current {
            return Err(AppError::Conflict(format!("the config changed meanwhile (now version {current}); reload and apply your change again")));
        }
        let changes = config.diff(&old);
        if changes.is_empty() {
            return Err(AppError::Invalid("nothing changed".into()));
        }
        if (Config::touches_admin_only(&changes) || config.lowers_gating(&old)) && actor.role != Role::Admin {
            drop(_one_at_a_time);
            let why = if Config::touches_admin_only(&changes) { "an admin-only setting (security.*)" } else { "fewer human approvals (gating lowered)" };
            ConsoleService::config_refused(self, actor, why).await;
            return Err(AppError::Forbidden);
        }
        let version = current + 1;
        let actor_id = wire_id(&actor.username).map_err(internal)?;
        self.record(vec![Body::ConfigChange(ConfigChange { version, actor: actor_id, reason, config })], Utc::now())
        .await
        .map_err(|e| internal(anyhow::anyhow!("{e}")))?;
        self.evaluate(Utc::now()).await;
        Ok(version)
    }
}

/// Who sees a compliance issue: an API token (`None`), admin, risk and auditors see all; a
/// trader sees the issues of the automations he may operate; an investor none.
fn sees_issue(viewer: Option<&SessionUser>, config: &Config, issue: &domain::compliance::Issue) -> bool {
    match viewer.map(|v| (v.role, v.username.as_str())) {
        None | Some((Role::Admin | Role::Risk | Role::Auditor, _)) => true,
        Some((Role::Trader, name)) => issue.automation_id.as_deref().is_some_and(|a| config.may_operate(name, a)),
        Some((Role::Investor, _)) => false,
    }
}

/// Traders act only on the automations they own (or on those without owners); risk may pause
/// any automation.
fn may_operate(actor: &SessionUser, config: &Config, automation: &str) -> Result<(), AppError> {
    if actor.role == Role::Trader && !config.may_operate(&actor.username, automation) {
        return Err(AppError::Forbidden);
    }
    Ok(())
}
