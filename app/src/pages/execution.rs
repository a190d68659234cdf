//! Execution quality: the cost of every fill against the decision price (the mid when the
//! signal came), in parts that add up: timing, spread, impact and opportunity.
use domain::analytics::{CostParts, SlippageReport};
use domain::format;
use leptos::prelude::*;
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;

use super::{Empty, Loaded};
use crate::server_fns::get_execution;

fn cell(c: &CostParts, part: Decimal) -> String {
    format!("{} ({})", format::pnl(part), format::opt(c.bps(part), format::bps))
}

#[component]
fn SlippageTable(r: SlippageReport) -> impl IntoView {
    let row = move |label: String, c: &CostParts| {
        view! {
            <tr>
                <td>{label}</td><td class="num">{c.fills}</td><td class="num">{format::pnl(c.notional)}</td>
                <td class="num">{cell(c, c.timing)}</td><td class="num">{cell(c, c.spread)}</td><td class="num">{cell(c, c.impact)}</td>
                <td class="num">{cell(c, c.opportunity)}</td><td class="num"><strong>{cell(c, c.total())}</strong></td>
            </tr>
        }
    };
    let groups = [("instrument", &r.by_instrument), ("order type", &r.by_order_type), ("liquidity", &r.by_liquidity)];
    view! {
        <table class="grid compact" data-testid="slippage-table">
            <thead><tr>
                <th></th><th class="num">"Fills"</th><th class="num" title="Filled notional, the base of the bps figures">"Notional (USD)"</th>
                <th class="num" title="s x (mid at order - mid at signal) x filled quantity">"Timing"</th>
                <th class="num" title="s x (touch at order - mid at order) x filled quantity: half the spread">"Spread"</th>
                <th class="num" title="s x (fill price - touch at order) x filled quantity">"Impact"</th>
                <th class="num" title="s x (mid at the final status - mid at signal) x unfilled quantity, for cancelled or rejected remainders">"Opportunity"</th>
                <th class="num" title="Sum of the four parts">"Total"</th>
            </tr></thead>
            <tbody>
                {row("All fills".into(), &r.total)}
                {groups.into_iter().flat_map(|(name, map)| map.iter().map(move |(k, c)| row(format!("{name}: {k}"), c)).collect::<Vec<_>>()).collect_view()}
            </tbody>
        </table>
    }
}

#[component]
pub fn ExecutionPage() -> impl IntoView {
    let data = Resource::new(|| (), |_| get_execution());
    view! {
        <h1>"Execution quality"</h1>
        <p class="hint">"Cost of the fills against the decision price, in USD and in bps of filled notional; positive is a cost. s is +1 for a buy and -1 for a sell. The parts add up to the total exactly (decimals). The same figures are in GET /api/v1/metrics (slippage); definitions in docs/methodology.md."</p>
        <Loaded data empty=Empty { when: |v: &SlippageReport| v.total.fills == 0 && v.total.opportunity.is_zero(), text: "No fills yet.", testid: "execution-empty" } view=|v: SlippageReport| {
            let t = &v.total;
            let parts = [("Timing", t.timing), ("Spread", t.spread), ("Impact", t.impact), ("Opportunity", t.opportunity), ("Total", t.total())];
            let bars: Vec<(String, f64)> = parts.iter().map(|(k, x)| (k.to_string(), x.to_f64().unwrap_or(0.0))).collect();
            let svg = charts::bars_svg(&bars, "USD", 640);
            let by_instrument: Vec<(String, f64)> = v.by_instrument.iter().map(|(k, c)| (k.clone(), c.bps(c.total()).unwrap_or(0.0))).collect();
            let svg_bps = charts::bars_svg(&by_instrument, "bps", 640);
            view! {
                <div class="cols">
                    <section class="panel"><h2>"All fills: cost by part (USD)"</h2><div class="chart" data-testid="execution-parts" inner_html=svg></div></section>
                    <section class="panel"><h2>"Total cost by instrument (bps of filled notional)"</h2><div class="chart" inner_html=svg_bps></div></section>
                </div>
                <section class="panel"><h2>"By instrument, order type and liquidity"</h2><SlippageTable r=v.clone()/></section>
            }
        }/>
    }
}
