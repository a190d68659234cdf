pub mod attribution;
pub mod audit;
pub mod dashboard;
pub mod execution;
pub mod governance;
pub mod investor;
pub mod kpis;
pub mod performance;
pub mod lineage;
pub mod risk;
pub mod signals;

use domain::format;
use leptos::prelude::*;

/// A headline figure with its unit and a one-line definition (shown on hover).
#[component]
pub fn Kpi(
    #[prop(into)] label: String,
    #[prop(into)] value: Signal<String>,
    #[prop(into)] title: String,
    #[prop(optional, into)] tone: Option<Signal<&'static str>>,
    #[prop(optional, into)] testid: String,
) -> impl IntoView {
    view! {
        <div class="kpi" title=title>
            <div class="kpi-label">{label}</div>
            <div class=move || format!("kpi-value {}", tone.map(|t| t.get()).unwrap_or(""))
                 data-testid=testid>{value}</div>
        </div>
    }
}

pub fn tone(d: rust_decimal::Decimal) -> &'static str {
    if d.is_sign_negative() && !d.is_zero() { "neg" } else if d.is_zero() { "" } else { "pos" }
}

pub fn time(t: chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S%.3f").to_string()
}

pub fn opt_pct(x: Option<f64>) -> String {
    format::opt(x, format::pct)
}

pub fn ratio(x: Option<f64>) -> String {
    format::opt(x, format::ratio)
}

/// Money with a sign class for table cells.
pub fn pnl_class(d: rust_decimal::Decimal) -> &'static str {
    if d.is_sign_negative() && !d.is_zero() { "num neg" } else { "num pos" }
}
