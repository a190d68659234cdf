//! Tradewatch's paper-trading engine.
//!
//! It replays the bundled real market data, runs three strategy families with capped-Kelly sizing
//! and pre-trade risk checks, simulates execution (spread, size-dependent impact, log-normal
//! latency) and sends every event to the console over the public ingest API, exactly as an
//! external engine would. It never touches the console's database.
pub mod data;
pub mod replay;
pub mod sim;
pub mod strategy;
pub mod synthetic;

pub use replay::{Dataset, ReplayConfig, ReplayStats, Speed, run};
