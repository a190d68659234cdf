//! Server functions of the operations pages: the dashboard, the signal feed, the audit trail
//! and a trade's lineage.
#[cfg(feature = "ssr")]
use domain::governance::Permission;
use leptos::prelude::*;

use crate::error::AppError;
#[cfg(feature = "ssr")]
use crate::error::with_status;
#[cfg(feature = "ssr")]
use super::console;
use domain::chain::Report;
use domain::view::{DashboardView, EventPage, EventQuery, EventRow, Lineage, SignalRow};

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
