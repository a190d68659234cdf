//! Risk: gross / net exposure and leverage over time, concentration (Herfindahl index, top-N
//! share) and the correlation matrix of the instruments' daily returns.
use domain::format;
use domain::risk::RiskReport;
use domain::view::Point;
use leptos::prelude::*;
use rust_decimal::prelude::ToPrimitive;

use super::{opt_pct, ratio};
use super::{Empty, Loaded};
use crate::server_fns::get_risk;

fn at(d: &chrono::NaiveDate) -> i64 {
    d.and_hms_opt(21, 0, 0).map(|t| t.and_utc().timestamp_millis()).unwrap_or_default()
}

#[component]
fn RiskBody(r: RiskReport) -> impl IntoView {
    let c = r.concentration.clone();
    let millions = |x: rust_decimal::Decimal| x.to_f64().unwrap_or(0.0) / 1e6;
    let gross: Vec<Point> = r.exposure.iter().map(|e| Point { t: at(&e.date), v: millions(e.gross) }).collect();
    let net: Vec<Point> = r.exposure.iter().map(|e| Point { t: at(&e.date), v: millions(e.net) }).collect();
    let leverage: Vec<Point> = r.exposure.iter().filter_map(|e| e.leverage.map(|v| Point { t: at(&e.date), v })).collect();
    let hhi: Vec<Point> = r.exposure.iter().filter_map(|e| e.hhi.map(|v| Point { t: at(&e.date), v })).collect();
    let wait = "The chart appears once the book has two days of marks.";
    let exposure_svg = charts::lines_svg(&[("Gross", &gross, true), ("Net", &net, false)], "Exposure (USD millions)", false, wait, 900, 240);
    let leverage_svg = charts::lines_svg(&[("Leverage", &leverage, true)], "Gross / equity (x)", false, wait, 900, 180);
    let hhi_svg = charts::lines_svg(&[("Herfindahl", &hhi, true)], "Herfindahl index", false, wait, 900, 180);
    let corr = &r.correlation;
    let heat = charts::heatmap_svg(&corr.instruments, &corr.matrix, 900);
    let span = match (corr.first, corr.last) {
        (Some(a), Some(b)) => format!("Daily returns of the last mid of each day, {a} to {b}; pairs over the dates both instruments have (at least 20)."),
        _ => "No marks yet.".into(),
    };
    view! {
        <div class="kpis">
            <div class="kpi" title="Sum of |quantity x mark| over open positions"><div class="kpi-label">"Gross exposure"</div><div class="kpi-value" data-testid="risk-gross">{format::pnl(r.gross)}</div></div>
            <div class="kpi" title="Sum of quantity x mark: long minus short"><div class="kpi-label">"Net exposure"</div><div class="kpi-value" data-testid="risk-net">{format::pnl(r.net)}</div></div>
            <div class="kpi" title="Gross exposure / equity"><div class="kpi-label">"Leverage"</div><div class="kpi-value" data-testid="risk-leverage">{r.leverage.map(|x| format!("{x:.2}x")).unwrap_or_else(|| "—".into())}</div></div>
            <div class="kpi" title="Sum of squared weights |notional| / gross: 1 / n for n equal positions, 1 for one"><div class="kpi-label">"Herfindahl index"</div><div class="kpi-value" data-testid="risk-hhi">{format::opt(c.hhi, |x| format!("{x:.3}"))}</div></div>
            <div class="kpi" title="1 / Herfindahl: the number of equal positions with the same concentration"><div class="kpi-label">"Effective positions"</div><div class="kpi-value">{ratio(c.effective_positions)}</div></div>
            <div class="kpi" title="Share of gross exposure in the largest 1 / 3 / 5 positions"><div class="kpi-label">"Top 1 / 3 / 5"</div><div class="kpi-value" data-testid="risk-top">{format!("{} / {} / {}", opt_pct(c.top1), opt_pct(c.top3), opt_pct(c.top5))}</div></div>
        </div>
        <section class="panel chart" data-testid="exposure-chart" inner_html=exposure_svg></section>
        <section class="panel chart" inner_html=leverage_svg></section>
        <div class="cols">
            <section class="panel">
                <h2>"Largest positions"</h2>
                <table class="grid compact" data-testid="risk-positions">
                    <thead><tr><th>"Instrument"</th><th class="num">"Notional (USD)"</th><th class="num">"Share of gross"</th></tr></thead>
                    <tbody>
                        {r.largest.iter().map(|(i, x, w)| view! { <tr><td>{i.clone()}</td><td class="num">{format::pnl(*x)}</td><td class="num">{format::pct(*w)}</td></tr> }).collect_view()}
                    </tbody>
                </table>
            </section>
            <section class="panel chart" inner_html=hhi_svg></section>
        </div>
        <section class="panel">
            <h2>"Correlation of daily returns"</h2>
            <p class="hint">{span}" Pearson; blue positive, red negative, grey too few pairs."</p>
            <div class="chart" data-testid="correlation-heatmap" inner_html=heat></div>
        </section>
    }
}

#[component]
pub fn RiskPage() -> impl IntoView {
    let data = Resource::new(|| (), |_| get_risk());
    view! {
        <h1>"Risk"</h1>
        <p class="hint">"The book at each day's close (market time) and now: exposure at the marks, leverage, concentration, and how the instruments move together. The same figures are in GET /api/v1/metrics (risk); definitions in docs/methodology.md."</p>
        <Loaded data empty=Empty { when: |v: &RiskReport| v.exposure.is_empty(), text: "No marks yet.", testid: "risk-empty" } view=|v: RiskReport| view! { <RiskBody r=v/> }/>
    }
}
