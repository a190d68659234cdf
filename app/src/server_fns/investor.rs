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
    })
}
