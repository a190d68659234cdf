//! The investor portal's server function: the track record only.
#[cfg(feature = "ssr")]
use domain::governance::Permission;
use leptos::prelude::*;

use crate::error::AppError;

/// The log's newest signed checkpoints, for anyone who checks the records (investors included):
/// tree sizes, roots and signatures, never an event.
#[server(endpoint = "get_checkpoints")]
pub async fn get_checkpoints() -> Result<domain::view::CheckpointsView, AppError> {
    crate::session::require(Permission::ViewInvestor)?;
    let c = use_context::<crate::service::Console>().ok_or(AppError::Internal)?;
    c.checkpoints(10).await.map_err(|_| AppError::Internal)
}

/// What the investor portal shows: the track record only (no signals, orders or config).
#[server(endpoint = "get_investor_summary")]
pub async fn get_investor_summary() -> Result<domain::view::InvestorView, AppError> {
    crate::session::require(Permission::ViewInvestor)?;
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
        track_record: c.track_record(),
    })
}

/// A page of the methodology (`docs/methodology.md`, one page per section) with the list of
/// all sections.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct MethodologyPage {
    /// (slug, title) of every section, in order.
    pub sections: Vec<(String, String)>,
    pub slug: String,
    pub title: String,
    /// Rendered on the server from our own file; raw HTML in it is escaped.
    pub html: String,
}

/// One section of the methodology by its slug (empty: the first).
#[server(endpoint = "get_methodology")]
pub async fn get_methodology(slug: String) -> Result<Option<MethodologyPage>, AppError> {
    crate::session::require(Permission::ViewInvestor)?;
    let all = crate::docs::methodology();
    let Some(page) = all.iter().find(|s| s.slug == slug).or_else(|| if slug.is_empty() { all.first() } else { None }) else {
        return Ok(None);
    };
    Ok(Some(MethodologyPage {
        sections: all.iter().map(|s| (s.slug.clone(), s.title.clone())).collect(),
        slug: page.slug.clone(),
        title: page.title.clone(),
        html: page.html.clone(),
    }))
}

/// The backtest page: the results once computed, and the engine's models as the methodology
/// states them.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct BacktestPage {
    pub results: Option<domain::view::BacktestView>,
    /// The methodology's section on the paper engine's models, rendered.
    pub models_html: String,
}

/// The paper engine's simulated results on the bundled data.
#[server(endpoint = "get_backtest")]
pub async fn get_backtest() -> Result<BacktestPage, AppError> {
    crate::session::require(Permission::ViewInvestor)?;
    let c = use_context::<crate::service::Console>().ok_or(AppError::Internal)?;
    let models_html = crate::docs::methodology().iter().find(|s| s.slug.starts_with("the-paper-engine-s-models")).map(|s| s.html.clone()).unwrap_or_default();
    Ok(BacktestPage { results: c.backtest().map(|b| (*b).clone()), models_html })
}

/// The decision records: exit signals older than a day with the desk's answers and the
/// reviewer's reasoning; no order, quantity, price or open position.
#[server(endpoint = "get_decision_records")]
pub async fn get_decision_records() -> Result<Vec<domain::view::DecisionRecordView>, AppError> {
    crate::session::require(Permission::ViewInvestor)?;
    let c = use_context::<crate::service::Console>().ok_or(AppError::Internal)?;
    c.decision_records(100).await.map_err(|_| AppError::Internal)
}
