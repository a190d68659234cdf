//! What the server functions need from the server (ssr only). `server` implements it and
//! provides it by context; the UI never touches SQL.
use std::sync::Arc;

use domain::chain::Report;
use domain::view::{DashboardView, EventPage, EventQuery, EventRow, Lineage, SignalRow};

/// An internal failure; its details are logged by the server, never sent to a browser.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("internal error")]
pub struct Internal;

#[async_trait::async_trait]
pub trait ConsoleService: Send + Sync + 'static {
    fn dashboard(&self) -> DashboardView;
    fn signals(&self, limit: usize) -> Vec<SignalRow>;
    async fn events(&self, q: EventQuery) -> Result<EventPage, Internal>;
    async fn event(&self, seq: u64) -> Result<Option<EventRow>, Internal>;
    async fn lineage(&self, signal_id: &str) -> Result<Option<Lineage>, Internal>;
    async fn verify(&self) -> Result<Report, Internal>;
}

pub type Console = Arc<dyn ConsoleService>;
