//! The HTTP API under `/api/v1`, health checks, and the live dashboard stream: a `router()` per
//! theme, merged here. Every error is JSON (see [`error`]); who may call what is checked by the
//! extractors in [`extract`] and by each handler.
use axum::Router;

use crate::AppState;

mod alerts;
mod analytics;
pub mod checkpoints;
pub mod compliance;
pub mod error;
pub mod events;
pub mod export;
pub mod extract;
pub mod governance;
pub mod health;
pub mod live;
pub mod reports;

pub use error::{ApiError, ApiResult};
pub(crate) use error::{bad, bad_field};
pub use events::{MAX_BATCH_EVENTS, MAX_BODY_BYTES, parse_batch};
pub use analytics::MAX_RETURNS;

/// Every route of the API, the health checks and the live stream.
pub fn router() -> Router<AppState> {
    Router::new().merge(events::router()).merge(analytics::router()).merge(compliance::router()).merge(alerts::router()).merge(checkpoints::router()).merge(reports::router()).merge(export::router()).merge(governance::router()).merge(live::router()).merge(health::router())
}
