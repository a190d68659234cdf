//! What the server functions need from the server (ssr only). `server` implements it and
//! provides it by context; the UI never touches SQL.
use std::sync::Arc;

use domain::chain::Report;
use domain::governance::Config;
use domain::view::{
    ConfigVersionView, DashboardView, EventPage, EventQuery, EventRow, GovernanceView, Lineage, LoginAttemptView, SignalRow, TokenView, UserAdminView,
};

use crate::error::AppError;
use crate::session::SessionUser;

/// Reverse proxies whose `X-Forwarded-For` names the client (the server's setting
/// `trusted_proxies`); empty: the header is never believed.
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(pub Arc<Vec<std::net::IpAddr>>);

/// An internal failure; its details are logged by the server, never sent to a browser.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("internal error")]
pub struct Internal;

/// A step a person asks for on the alerts page (the server checks role, ownership and state).
#[derive(Debug, Clone)]
pub enum AlertStepRequest {
    Acknowledge { fingerprint: String, note: Option<String> },
    /// Silence this alert (`whole_rule`: every alert of its rule, of its automation when it
    /// names one) for `minutes`, optionally only until it resolves.
    Silence { fingerprint: String, whole_rule: bool, minutes: u32, until_resolved: bool, reason: String },
    ExpireSilence { id: u64 },
}

/// The bytes of a data export, as they are produced.
pub type ExportStream = std::pin::Pin<Box<dyn futures::Stream<Item = Result<Vec<u8>, std::io::Error>> + Send>>;

#[async_trait::async_trait]
pub trait ConsoleService: Send + Sync + 'static {
    fn dashboard(&self) -> DashboardView;
    fn signals(&self, limit: usize) -> Vec<SignalRow>;
    async fn events(&self, q: EventQuery) -> Result<EventPage, Internal>;
    async fn event(&self, seq: u64) -> Result<Option<EventRow>, Internal>;
    async fn lineage(&self, signal_id: &str) -> Result<Option<Lineage>, Internal>;
    async fn verify(&self) -> Result<Report, Internal>;

    /// Governance state; pending rows carry their features, risk checks and LLM reasoning.
    async fn governance(&self) -> GovernanceView;
    /// The Performance page: metrics of the daily equity returns against the S&P 500, or
    /// (`native`) of the returns between consecutive market timestamps.
    fn performance(&self, native: bool) -> domain::view::PerformanceView;
    /// The KPIs page: exit-quality KPIs per week with their target bands.
    fn kpi_view(&self) -> domain::view::KpiView;
    /// The exits and trades behind one week (Monday) of the KPIs.
    fn kpi_week_view(&self, week: chrono::NaiveDate) -> domain::kpi::KpiWeek;
    /// The Attribution page: PnL by instrument, horizon, time, factor and regime.
    fn attribution_view(&self) -> domain::view::AttributionView;
    /// The Execution page: the slippage decomposition.
    fn execution_view(&self) -> domain::analytics::SlippageReport;
    /// The Risk page: exposure, leverage, concentration, correlation.
    fn risk_view(&self) -> domain::risk::RiskReport;
    fn config(&self) -> (u32, Config);
    fn config_history(&self) -> Vec<ConfigVersionView>;
    /// approve / reject (reason required) / acknowledge (exit signals).
    async fn decide(&self, actor: &SessionUser, signal_id: &str, action: &str, comment: Option<String>) -> Result<(), AppError>;
    /// Pause or resume an automation, or everything (`None`).
    async fn control(&self, actor: &SessionUser, automation: Option<String>, pause: bool, reason: &str) -> Result<(), AppError>;
    /// One page of the compliance issues `viewer` may see (`None`: an API token, which sees all;
    /// a trader sees his automations' issues).
    fn compliance_issues(&self, viewer: Option<&SessionUser>, q: &domain::compliance::IssueQuery) -> domain::compliance::IssuePage;
    /// One issue with its history, if `viewer` may see it.
    fn compliance_issue(&self, viewer: Option<&SessionUser>, id: u64) -> Option<domain::compliance::Issue>;
    /// Every configured limit's utilisation now.
    fn compliance_limits(&self) -> Vec<domain::compliance::LimitRow>;
    /// The monthly compliance report of the month of `day`, over the issues `viewer` may see.
    fn compliance_monthly(&self, viewer: Option<&SessionUser>, day: chrono::NaiveDate) -> domain::compliance::report::MonthlyReport;
    /// Every order of a UTC day (source time) with its fills and compliance status.
    /// A raw data export as a stream of bytes (`dataset` events, fills, trades or returns;
    /// `format` csv or parquet; `from` / `to` RFC 3339 or dates; `kind` for events): its file
    /// name, its type and the stream.
    fn export(&self, dataset: &str, format: &str, from: Option<&str>, to: Option<&str>, kind: Option<&str>) -> Result<(String, &'static str, ExportStream), AppError>;
    /// The weekly report archive, newest week first.
    async fn reports(&self) -> Result<Vec<domain::view::ReportMeta>, Internal>;
    /// One archived report file (`format` `html` or `pdf`).
    async fn report_file(&self, week: &str, format: &str) -> Result<Option<Vec<u8>>, Internal>;
    /// Generates and archives the report of the ISO week `week` (`YYYY-Www`; none: the newest
    /// complete week of market time), as `actor` asked.
    async fn generate_report(&self, actor: &SessionUser, week: Option<&str>) -> Result<domain::view::ReportMeta, AppError>;
    /// The investor track record: monthly, annual and since inception, gross and net of fees.
    fn track_record(&self) -> domain::track_record::TrackRecord;
    /// The paper engine's backtest on the bundled data; `None` until computed (or without data).
    fn backtest(&self) -> Option<Arc<domain::view::BacktestView>>;
    /// The newest `limit` exit signals older than a day, with the desk's answers.
    async fn decision_records(&self, limit: usize) -> Result<Vec<domain::view::DecisionRecordView>, Internal>;
    /// The newest `limit` signed checkpoints and the key that signs them.
    async fn checkpoints(&self, limit: u32) -> Result<domain::view::CheckpointsView, Internal>;
    async fn trade_day(&self, day: chrono::NaiveDate) -> Result<Vec<domain::compliance::report::TradeRow>, Internal>;
    /// A step of an issue's workflow (acknowledge, resolve, waive, confirm_waiver) by a person.
    /// Records that `actor` tried to change the config and was refused (`why`, in words): a
    /// `system` event (`console.config` / `refused`) the alerts turn into `config_refused`.
    async fn config_refused(&self, actor: &SessionUser, why: &str);
    /// Every part's health now (`/health`).
    fn health(&self) -> domain::view::HealthView;
    /// A page of alerts at the server's clock.
    fn alerts(&self, q: &domain::anomaly::alerts::AlertQuery) -> domain::anomaly::alerts::AlertPage;
    /// One alert with its history.
    fn alert(&self, fingerprint: &str) -> Option<domain::anomaly::alerts::AlertRow>;
    /// Whether `viewer` may acknowledge or silence this alert (risk: all; a trader: his automations').
    fn may_act_on_alert(&self, viewer: &SessionUser, alert: &domain::anomaly::alerts::AlertRow) -> bool;
    /// The newest anomalies (up to `limit`) and how many were ever found.
    fn anomalies(&self, limit: usize) -> (Vec<domain::anomaly::AnomalyRecord>, u64);
    /// A person's step on alerts, appended as an `alert_action` event; its seq.
    async fn alert_step(&self, actor: &SessionUser, step: AlertStepRequest) -> Result<u64, AppError>;
    async fn review_issue(&self, actor: &SessionUser, id: u64, action: &str, note: Option<String>) -> Result<(), AppError>;
    /// A new config version; `base_version` must be the current one (no lost updates).
    async fn change_config(&self, actor: &SessionUser, base_version: u32, config: Config, reason: &str) -> Result<u32, AppError>;
}

#[async_trait::async_trait]
pub trait AuthService: Send + Sync + 'static {
    /// `code`: the TOTP or a recovery code, needed once the account has two-factor on.
    async fn login(&self, username: &str, password: &str, code: Option<&str>, ip: &str) -> Result<SessionUser, AppError>;
    /// A new TOTP secret for the user: (base32 secret, otpauth URL, QR code SVG).
    async fn totp_enrolment(&self, user: &SessionUser) -> Result<(String, String, String), AppError>;
    /// Turns two-factor on if `code` proves `secret`; returns the recovery codes (shown once).
    /// Replacing an enabled second factor needs `proof`: the current password and a current
    /// code (or a recovery code). The user's other sessions end (`keep_session` stays).
    async fn totp_enable(&self, user: &SessionUser, secret: &str, code: &str, proof: Option<(&str, &str)>, keep_session: Option<&str>) -> Result<Vec<String>, AppError>;
    async fn totp_enabled(&self, user_id: i64) -> Result<bool, AppError>;
    /// Needs the current password, and with two-factor on a current code (or a recovery code).
    /// The user's other sessions end (`keep_session` stays).
    async fn change_password(&self, user: &SessionUser, current: &str, new: &str, code: Option<&str>, keep_session: Option<&str>) -> Result<(), AppError>;
    /// Step-up for a sensitive action: a TOTP code (not a recovery code) newer than any the user
    /// has used; `SecondFactor` when two-factor is off for the account or the code fails.
    async fn step_up(&self, user: &SessionUser, code: &str) -> Result<(), AppError>;
    async fn users(&self) -> Result<Vec<UserAdminView>, AppError>;
    async fn tokens(&self) -> Result<Vec<TokenView>, AppError>;
    /// A new API token (scopes from `ingest`, `engine`, `read`); the secret is returned once.
    async fn create_token(&self, actor: &SessionUser, name: &str, scopes: &[String]) -> Result<String, AppError>;
    async fn revoke_token(&self, actor: &SessionUser, id: i64) -> Result<(), AppError>;
    async fn login_attempts(&self, limit: i64) -> Result<Vec<LoginAttemptView>, AppError>;
}

pub type Console = Arc<dyn ConsoleService>;
pub type Auth = Arc<dyn AuthService>;

pub fn auth() -> Result<Auth, AppError> {
    leptos::prelude::use_context::<Auth>().ok_or(AppError::Internal)
}
