//! Integration tests: the real server on port 0 with a fresh database, over real HTTP.
//! One test binary, so the server links once.
mod helpers;
mod ingest;
mod governance;
mod metrics;
mod reads;
mod hardening;
mod snapshots;
mod store;
mod compliance;
mod checkpoints;
mod reports;
mod export;
mod portal;
mod alerts;
mod monitoring;

pub use helpers::*;
