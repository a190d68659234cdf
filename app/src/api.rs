//! Server functions: thin wrappers that check the caller's role, then reach the console service
//! from context.
use domain::chain::Report;
use domain::governance::Config;
#[cfg(feature = "ssr")]
use domain::governance::Permission;
use domain::view::{
    ConfigVersionView, DashboardView, EventPage, EventQuery, EventRow, GovernanceView, Lineage, LoginAttemptView, SignalRow, TokenView, UserAdminView,
};
use leptos::prelude::*;

pub use crate::error::AppError;
#[cfg(feature = "ssr")]
pub use crate::error::with_status;

/// The console service, for a caller allowed `p`.
#[cfg(feature = "ssr")]
fn console(p: Permission) -> Result<crate::service::Console, AppError> {
    crate::auth::require(p)?;
    use_context::<crate::service::Console>().ok_or(AppError::Internal)
}

/// The step-up check of the admin policy `security.fresh_totp_for_actions`: when it is on, an
/// action needs a TOTP code from the caller's authenticator that was not used before.
#[cfg(feature = "ssr")]
async fn fresh_second_factor(c: &crate::service::Console, user: &crate::auth::SessionUser, code: Option<String>) -> Result<(), AppError> {
    if !c.config().1.security.fresh_totp_for_actions {
        return Ok(());
    }
    with_status(crate::service::auth()?.step_up(user, code.as_deref().unwrap_or("")).await)
}

#[cfg(feature = "ssr")]
impl From<crate::service::Internal> for AppError {
    fn from(_: crate::service::Internal) -> Self {
        AppError::Internal
    }
}

#[server(endpoint = "get_dashboard")]
pub async fn get_dashboard() -> Result<DashboardView, AppError> {
    Ok(console(Permission::ViewOperations)?.dashboard())
}

#[server(endpoint = "get_signals")]
pub async fn get_signals(limit: usize) -> Result<Vec<SignalRow>, AppError> {
    Ok(console(Permission::ViewOperations)?.signals(limit.clamp(1, 500)))
}

#[server(endpoint = "get_events")]
pub async fn get_events(query: EventQuery) -> Result<EventPage, AppError> {
    if let Some(k) = &query.kind
        && domain::event::Kind::parse(k).is_none()
    {
        return Err(AppError::Invalid(format!("unknown kind '{k}'")));
    }
    Ok(console(Permission::ViewOperations)?.events(query).await?)
}

#[server(endpoint = "get_event")]
pub async fn get_event(seq: u64) -> Result<EventRow, AppError> {
    with_status(console(Permission::ViewOperations)?.event(seq).await?.ok_or(AppError::NotFound))
}

#[server(endpoint = "get_lineage")]
pub async fn get_lineage(signal_id: String) -> Result<Lineage, AppError> {
    with_status(console(Permission::ViewOperations)?.lineage(&signal_id).await?.ok_or(AppError::NotFound))
}

#[server(endpoint = "verify_chain")]
pub async fn verify_chain() -> Result<Report, AppError> {
    Ok(console(Permission::ViewOperations)?.verify().await?)
}

/// `interval`: `daily` (default) or `native`.
#[server(endpoint = "get_performance")]
pub async fn get_performance(interval: Option<String>) -> Result<domain::view::PerformanceView, AppError> {
    let c = console(Permission::ViewOperations)?;
    match interval.as_deref() {
        None | Some("daily") => Ok(c.performance(false)),
        Some("native") => Ok(c.performance(true)),
        Some(_) => Err(AppError::Invalid("interval: daily or native".into())),
    }
}

#[server(endpoint = "get_kpis")]
pub async fn get_kpis() -> Result<domain::view::KpiView, AppError> {
    Ok(console(Permission::ViewOperations)?.kpi_view())
}

/// The exits and trades behind one week of the KPIs; `week` is its Monday, `YYYY-MM-DD`.
#[server(endpoint = "get_kpi_week")]
pub async fn get_kpi_week(week: String) -> Result<domain::kpi::KpiWeek, AppError> {
    let c = console(Permission::ViewOperations)?;
    let week = chrono::NaiveDate::parse_from_str(&week, "%Y-%m-%d").map_err(|_| AppError::Invalid("week: a date YYYY-MM-DD".into()))?;
    Ok(c.kpi_week_view(week))
}

#[server(endpoint = "get_attribution")]
pub async fn get_attribution() -> Result<domain::view::AttributionView, AppError> {
    Ok(console(Permission::ViewOperations)?.attribution_view())
}

#[server(endpoint = "get_execution")]
pub async fn get_execution() -> Result<domain::analytics::SlippageReport, AppError> {
    Ok(console(Permission::ViewOperations)?.execution_view())
}

#[server(endpoint = "get_risk")]
pub async fn get_risk() -> Result<domain::risk::RiskReport, AppError> {
    Ok(console(Permission::ViewOperations)?.risk_view())
}

#[server(endpoint = "get_governance")]
pub async fn get_governance() -> Result<GovernanceView, AppError> {
    Ok(console(Permission::ViewOperations)?.governance().await)
}

/// Approve or reject a pending entry signal, or acknowledge an exit signal.
#[server(endpoint = "decide_signal")]
pub async fn decide_signal(signal_id: String, action: String, comment: Option<String>, totp: Option<String>) -> Result<(), AppError> {
    let user = crate::auth::require(Permission::DecideSignals)?;
    let c = console(Permission::DecideSignals)?;
    fresh_second_factor(&c, &user, totp).await?;
    with_status(c.decide(&user, &signal_id, &action, comment).await)
}

/// Pause or resume one automation, or (`automation` empty) everything.
#[server(endpoint = "set_paused")]
pub async fn set_paused(automation: Option<String>, pause: bool, reason: String, totp: Option<String>) -> Result<(), AppError> {
    let automation = automation.filter(|a| !a.trim().is_empty());
    let p = if automation.is_some() { Permission::PauseAutomation } else { Permission::PauseGlobal };
    let user = crate::auth::require(p)?;
    let c = console(p)?;
    fresh_second_factor(&c, &user, totp).await?;
    with_status(c.control(&user, automation, pause, &reason).await)
}

#[server(endpoint = "get_config")]
pub async fn get_config() -> Result<(u32, Config), AppError> {
    Ok(console(Permission::ViewOperations)?.config())
}

#[server(endpoint = "get_config_history")]
pub async fn get_config_history() -> Result<Vec<ConfigVersionView>, AppError> {
    Ok(console(Permission::ViewOperations)?.config_history())
}

/// Saves a new config version. The reason is parsed on the server whatever the form sent.
#[server(endpoint = "save_config")]
pub async fn save_config(base_version: u32, config: Config, reason: String, totp: Option<String>) -> Result<u32, AppError> {
    let user = crate::auth::require(Permission::ChangeConfig)?;
    let c = console(Permission::ChangeConfig)?;
    fresh_second_factor(&c, &user, totp).await?;
    with_status(c.change_config(&user, base_version, config, &reason).await)
}

/// Rolls back to an earlier version: a new version with that version's config, and a reason.
#[server(endpoint = "rollback_config")]
pub async fn rollback_config(to_version: u32, reason: String, totp: Option<String>) -> Result<u32, AppError> {
    let user = crate::auth::require(Permission::ChangeConfig)?;
    let c = console(Permission::ChangeConfig)?;
    fresh_second_factor(&c, &user, totp).await?;
    let history = c.config_history();
    let target = with_status(history.iter().find(|v| v.version == to_version).ok_or(AppError::NotFound))?;
    let config: Config = serde_json::from_str(&target.config).map_err(|_| AppError::Internal)?;
    let (current, _) = c.config();
    with_status(c.change_config(&user, current, config, &reason).await)
}

#[server(endpoint = "get_users")]
pub async fn get_users() -> Result<Vec<UserAdminView>, AppError> {
    crate::auth::require(Permission::ManageUsers)?;
    crate::service::auth()?.users().await
}

#[server(endpoint = "get_login_attempts")]
pub async fn get_login_attempts() -> Result<Vec<LoginAttemptView>, AppError> {
    crate::auth::require(Permission::ManageUsers)?;
    crate::service::auth()?.login_attempts(200).await
}

#[server(endpoint = "get_tokens")]
pub async fn get_tokens() -> Result<Vec<TokenView>, AppError> {
    crate::auth::require(Permission::ManageUsers)?;
    crate::service::auth()?.tokens().await
}

/// Creates an API token; its secret is in the answer once and never again.
#[server(endpoint = "create_token")]
pub async fn create_token(name: String, scopes: Vec<String>) -> Result<String, AppError> {
    let user = crate::auth::require(Permission::ManageUsers)?;
    with_status(crate::service::auth()?.create_token(&user, &name, &scopes).await)
}

#[server(endpoint = "revoke_token")]
pub async fn revoke_token(id: i64) -> Result<(), AppError> {
    let user = crate::auth::require(Permission::ManageUsers)?;
    with_status(crate::service::auth()?.revoke_token(&user, id).await)
}

/// What the investor portal shows: the track record only (no signals, orders or config).
#[server(endpoint = "get_investor_summary")]
pub async fn get_investor_summary() -> Result<domain::view::InvestorView, AppError> {
    crate::auth::require(Permission::ViewInvestor)?;
    let c = use_context::<crate::service::Console>().ok_or(AppError::Internal)?;
    let d = c.dashboard();
    Ok(domain::view::InvestorView {
        as_of: d.as_of,
        capital: d.capital,
        equity: d.equity,
        total_pnl: d.pnl.total,
        max_drawdown: d.max_drawdown,
        rolling_sharpe: d.rolling_sharpe,
        sharpe_window: d.sharpe_window,
        equity_curve: d.equity_curve,
    })
}
