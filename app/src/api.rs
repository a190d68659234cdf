//! Server functions: thin wrappers that reach the console service from context.
//! (Accounts and roles arrive with the governance issue; until then every page is open, like
//! the pages themselves, and the HTTP API keeps its own token check.)
use domain::chain::Report;
use domain::view::{DashboardView, EventPage, EventQuery, EventRow, Lineage, SignalRow};
use leptos::prelude::*;
use leptos::server_fn::codec::JsonEncoding;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use serde::{Deserialize, Serialize};

/// What a page may learn about a failure: never internal details.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, thiserror::Error)]
pub enum AppError {
    #[error("not found")]
    NotFound,
    #[error("{0}")]
    Invalid(String),
    #[error("the console could not answer; the details are in its log")]
    Internal,
    #[error("request failed: {0}")]
    Transport(String),
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;
    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        AppError::Transport(value.to_string())
    }
}

#[cfg(feature = "ssr")]
fn console() -> Result<crate::service::Console, AppError> {
    use_context::<crate::service::Console>().ok_or(AppError::Internal)
}

#[cfg(feature = "ssr")]
impl From<crate::service::Internal> for AppError {
    fn from(_: crate::service::Internal) -> Self {
        AppError::Internal
    }
}

#[server]
pub async fn get_dashboard() -> Result<DashboardView, AppError> {
    Ok(console()?.dashboard())
}

#[server]
pub async fn get_signals(limit: usize) -> Result<Vec<SignalRow>, AppError> {
    Ok(console()?.signals(limit.clamp(1, 500)))
}

#[server]
pub async fn get_events(query: EventQuery) -> Result<EventPage, AppError> {
    if let Some(k) = &query.kind
        && domain::event::Kind::parse(k).is_none()
    {
        return Err(AppError::Invalid(format!("unknown kind '{k}'")));
    }
    Ok(console()?.events(query).await?)
}

#[server]
pub async fn get_event(seq: u64) -> Result<EventRow, AppError> {
    console()?.event(seq).await?.ok_or(AppError::NotFound)
}

#[server]
pub async fn get_lineage(signal_id: String) -> Result<Lineage, AppError> {
    console()?.lineage(&signal_id).await?.ok_or(AppError::NotFound)
}

#[server]
pub async fn verify_chain() -> Result<Report, AppError> {
    Ok(console()?.verify().await?)
}
