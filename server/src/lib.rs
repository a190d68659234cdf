//! The `tradewatch` server: storage, the ingest API, live updates and the server-rendered console.
pub mod http;
pub mod auth;
pub mod checkpoints;
pub mod cli;
pub mod config;
pub mod export;
pub mod console;
pub mod jobs;
pub mod mail;
pub mod metrics;
pub mod quality;
pub mod reference;
pub mod startup;
pub mod store;


use std::sync::Arc;

use axum::extract::FromRef;
use leptos::config::LeptosOptions;

/// What every handler can reach.
#[derive(Clone, FromRef)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub console: Arc<console::Console>,
    /// The live stream's HTML fragments, rendered once per log head for every subscriber.
    pub fragments: Arc<http::live::Fragments>,
    /// What `/metrics` serves.
    pub metrics: Arc<metrics::Metrics>,
}
