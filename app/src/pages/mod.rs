pub mod account;
pub mod admin;
pub mod approvals;
pub mod attribution;
pub mod audit;
pub mod compliance;
pub mod compliance_config;
pub mod dashboard;
pub mod config;
pub mod controls;
pub mod execution;
pub mod investor;
pub mod kpis;
pub mod performance;
pub mod lineage;
pub mod login;
pub mod risk;
pub mod signals;

pub use crate::components::{Empty, Kpi, Loaded, opt_pct, pnl_class, ratio, time, tone};

/// Renders a server-only view to an HTML string outside a request (the live stream's
/// fragments), in its own reactive owner.
#[cfg(feature = "ssr")]
pub(crate) fn render_fragment<V: leptos::prelude::IntoView + 'static>(f: impl FnOnce() -> V) -> String {
    use leptos::prelude::*;
    let owner = Owner::new();
    // `\r` would end an SSE line early (text content is not escaped for it).
    owner.with(|| f().into_view().to_html()).replace('\r', "&#13;")
}
