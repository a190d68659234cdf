pub mod account;
pub mod admin;
pub mod alerts;
pub mod approvals;
pub mod attribution;
pub mod audit;
pub mod compliance;
pub mod compliance_config;
pub mod dashboard;
pub mod config;
pub mod controls;
pub mod execution;
pub mod health;
pub mod investor;
pub mod kpis;
pub mod performance;
pub mod lineage;
pub mod login;
pub mod reports;
pub mod risk;
pub mod settings;
pub mod signals;

pub use crate::components::{Empty, Kpi, Loaded, opt_pct, pnl_class, ratio, time, tone};

#[cfg(feature = "ssr")]
pub(crate) use crate::render::render_fragment;
