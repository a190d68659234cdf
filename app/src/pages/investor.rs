//! The investor portal: the track record only, read-only (no signals, orders or config).
use domain::format;
use leptos::prelude::*;

use super::{Kpi, Loaded, time, tone};
use crate::server_fns::get_investor_summary;

#[component]
pub fn InvestorPage() -> impl IntoView {
    let data = Resource::new(|| (), |_| get_investor_summary());
    view! {
        <h1>"Investor portal"</h1>
        <p class="hint">"The fund's track record from the audited event log. Methodology: every figure is defined in docs/methodology.md; past performance does not guarantee future results."</p>
        <Loaded data view=move |v: domain::view::InvestorView| {
            let svg = charts::equity_svg(&v.equity_curve, 900, 280);
            view! {
                <p class="asof">"As of (market time) "{v.as_of.map(time).unwrap_or_else(|| "—".into())}</p>
                <div class="kpis" data-testid="investor-kpis">
                    <Kpi label="Equity (USD)" value=format::money(v.equity) title="Capital plus realized and unrealized PnL, net of fees."/>
                    <Kpi label="Total PnL (USD)" value=format::pnl(v.total_pnl) tone=Signal::derive(move || tone(v.total_pnl)) title="Realized + unrealized - fees since inception."/>
                    <Kpi label="Max drawdown" value=format::pct(v.max_drawdown) title="Largest fall of equity from a previous peak, as a fraction of that peak."/>
                    <Kpi label=format!("Sharpe ({} d)", v.sharpe_window) value=v.rolling_sharpe.map(|s| format!("{s:.2}")).unwrap_or_else(|| "—".into()) title="Annualised Sharpe of daily returns, sqrt(252) scaling, risk-free 0."/>
                </div>
                <section class="panel chart" inner_html=svg></section>
            }
        }/>
    }
}
