//! Server functions of the analytics pages: performance, KPIs, attribution, execution, risk.
#[cfg(feature = "ssr")]
use domain::governance::Permission;
use leptos::prelude::*;

use crate::error::AppError;
#[cfg(feature = "ssr")]
use super::console;

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
