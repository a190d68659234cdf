//! The trading dashboard: PnL, equity and drawdown, risk and execution figures, positions and
//! the newest signals. The body is server HTML (charts drawn by the server with plotters); the
//! live stream (`/live/dashboard?fragment=dashboard`) pushes it again after every change and the
//! browser swaps it in, so the bundle carries no dashboard view, formatting or chart code. The
//! one island holds the breaker controls and the chart tabs.
use domain::format;
use domain::view::DashboardView;
use leptos::prelude::*;

use super::{Kpi, Loaded, opt_pct, time, tone};
use crate::server_fns::get_dashboard;

/// The dashboard page (server HTML around the controls island).
#[component]
pub fn Dashboard() -> impl IntoView {
    let data = Resource::new(|| (), |_| get_dashboard());
    view! {
        <h1>"Trading dashboard"</h1>
        <DashboardControls/>
        <div id="live-fragment" data-live="dashboard" data-chart="equity">
            <Loaded data view=|v: DashboardView| view! { <DashboardBody v/> }/>
        </div>
    }
}

/// The HTML the live stream pushes for the dashboard (the inside of `#live-fragment`).
#[cfg(feature = "ssr")]
pub fn body_html(v: DashboardView) -> String {
    super::render_fragment(move || view! { <DashboardBody v/> })
}

/// The breaker controls, and the chart tabs: a click shows the equity or drawdown chart the
/// server drew, and the choice survives the live stream's swaps (kept on `#live-fragment`).
#[island]
fn DashboardControls() -> impl IntoView {
    crate::components::island_ready();
    #[cfg(feature = "hydrate")]
    tabs::install();
    view! { <super::controls::Controls/> }
}

#[cfg(feature = "hydrate")]
mod tabs {
    use wasm_bindgen::JsCast;
    use wasm_bindgen::closure::Closure;

    const TITLES: [(&str, &str); 2] = [("equity", "Equity curve (USD)"), ("drawdown", "Drawdown (%)")];

    /// Shows the chart `which` names in the fragment (title, active tab, visible pane).
    fn apply(root: &web_sys::Element) {
        let which = root.get_attribute("data-chart").unwrap_or_else(|| "equity".into());
        if let Ok(Some(h)) = root.query_selector("[data-chart-title]") {
            let title = TITLES.iter().find(|(k, _)| *k == which).map(|(_, t)| *t).unwrap_or(TITLES[0].1);
            h.set_text_content(Some(title));
        }
        if let Ok(tabs) = root.query_selector_all("[data-chart-tab]") {
            for i in 0..tabs.length() {
                if let Some(t) = tabs.item(i).and_then(|n| n.dyn_into::<web_sys::Element>().ok()) {
                    let on = t.get_attribute("data-chart-tab").as_deref() == Some(which.as_str());
                    let _ = t.class_list().toggle_with_force("active", on);
                }
            }
        }
        if let Ok(panes) = root.query_selector_all("[data-chart-pane]") {
            for i in 0..panes.length() {
                if let Some(p) = panes.item(i).and_then(|n| n.dyn_into::<web_sys::Element>().ok()) {
                    let on = p.get_attribute("data-chart-pane").as_deref() == Some(which.as_str());
                    let _ = p.toggle_attribute_with_force("hidden", !on);
                }
            }
        }
    }

    pub fn install() {
        let Some(root) = leptos::prelude::document().get_element_by_id("live-fragment") else { return };
        let on_click = {
            let root = root.clone();
            Closure::<dyn FnMut(web_sys::Event)>::new(move |ev: web_sys::Event| {
                let tab = ev.target().and_then(|t| t.dyn_into::<web_sys::Element>().ok()).and_then(|t| t.closest("[data-chart-tab]").ok().flatten());
                if let Some(which) = tab.and_then(|t| t.get_attribute("data-chart-tab")) {
                    let _ = root.set_attribute("data-chart", &which);
                    apply(&root);
                }
            })
        };
        let on_swap = {
            let root = root.clone();
            Closure::<dyn FnMut(web_sys::Event)>::new(move |_| apply(&root))
        };
        let _ = root.add_event_listener_with_callback("click", on_click.as_ref().unchecked_ref());
        let _ = root.add_event_listener_with_callback(crate::live::SWAPPED, on_swap.as_ref().unchecked_ref());
        // Both live as long as the page.
        on_click.forget();
        on_swap.forget();
    }
}

#[component]
fn DashboardBody(v: DashboardView) -> impl IntoView {
    let pnl = |d: rust_decimal::Decimal| format::pnl(d);
    let counts = &v.counts;
    let l = &v.latency;
    let latency_rows = [("Signal → order", l.signal_to_order.clone()), ("Order → first fill", l.order_to_fill.clone())]
        .into_iter()
        .map(|(name, q)| view! {
            <tr><td>{name}</td><td class="num">{q.count}</td>
                <td class="num">{format::opt(q.p50_ms, format::ms)}</td>
                <td class="num">{format::opt(q.p95_ms, format::ms)}</td>
                <td class="num">{format::opt(q.p99_ms, format::ms)}</td></tr>
        })
        .collect_view();
    let positions = if v.positions.is_empty() {
        view! { <tr><td colspan="9" class="empty">"No positions yet: they appear with the first fill."</td></tr> }.into_any()
    } else {
        v.positions.iter().map(|p| view! {
            <tr>
                <td>{p.instrument.clone()}</td>
                <td class="num">{format::decimal(p.quantity, 6)}</td>
                <td class="num">{format::decimal(p.avg_cost, 6)}</td>
                <td class="num">{p.mark.map(|m| format::decimal(m, 6)).unwrap_or_else(|| "—".into())}</td>
                <td class="num">{format::money(p.exposure)}</td>
                <td class="num">{opt_pct(p.concentration)}</td>
                <td class=format!("num {}", tone(p.realized))>{format::pnl(p.realized)}</td>
                <td class=format!("num {}", tone(p.unrealized))>{format::pnl(p.unrealized)}</td>
                <td class=format!("num {}", tone(p.total))>{format::pnl(p.total)}</td>
            </tr>
        }).collect_view().into_any()
    };
    let equity_svg = charts::equity_svg(&v.equity_curve, 900, 280);
    let drawdown_svg = charts::drawdown_svg(&v.equity_curve, 900, 280);
    view! {
        {(counts.events == 0).then(|| view! {
            <div class="empty-state">
                <h2>"No events yet"</h2>
                <p>"Start an engine to see live figures: "
                   <code>"tradewatch replay --token <ingest token>"</code>
                   " replays real market data, or post your own engine's events to "
                   <code>"POST /api/v1/events"</code>" (see docs/api.md)."</p>
            </div>
        })}
        <p class="asof">
            "Market time "{v.as_of.map(time).unwrap_or_else(|| "—".into())}
            " · log seq "<span data-testid="head-seq">{v.head_seq}</span>
            " · starting capital "{format::money(v.capital)}" USD"
        </p>
        {(!v.alerts_critical.is_empty()).then(|| view! {
            <section class="alert-banner" data-testid="alerts-critical">
                <strong>"Critical alerts firing: "</strong>
                <ul>
                    {v.alerts_critical.iter().map(|a| view! {
                        <li><a href=format!("/alerts/{}", a.fingerprint)>{a.rule.clone()}</a>" since "{time(a.since)}": "{a.summary.clone()}</li>
                    }).collect_view()}
                </ul>
                <a href="/alerts">"Acknowledge them on the alerts page."</a>
            </section>
        })}
        {(v.compliance_active[1] + v.compliance_active[2] > 0).then(|| view! {
            <p class="compliance-banner" data-testid="compliance-banner">
                "Compliance issues needing a person: "
                <a class="badge bad" href="/compliance?severity=critical" data-testid="compliance-critical">{format!("{} critical", v.compliance_active[2])}</a>" "
                <a class="badge warn" href="/compliance?severity=warning" data-testid="compliance-warning">{format!("{} warning", v.compliance_active[1])}</a>
                " — open the compliance desk to acknowledge and resolve them."
            </p>
        })}
        <section class="kpis">
            <Kpi label="Total PnL (USD)" value=pnl(v.pnl.total) tone=tone(v.pnl.total) testid="pnl-total"
                 title="Realized + unrealized - fees, in USD"/>
            <Kpi label="Realized PnL (USD)" value=pnl(v.pnl.realized) tone=tone(v.pnl.realized) testid="pnl-realized"
                 title="Booked on fills that reduce a position, average-cost method, before fees"/>
            <Kpi label="Unrealized PnL (USD)" value=pnl(v.pnl.unrealized) tone=tone(v.pnl.unrealized) testid="pnl-unrealized"
                 title="(mark - average cost) x quantity; mark = last mid"/>
            <Kpi label="Daily PnL (USD)" value=pnl(v.pnl.daily) tone=tone(v.pnl.daily) testid="pnl-daily"
                 title="Equity now minus equity at the last mark of the previous UTC day (market time)"/>
            <Kpi label="Equity (USD)" value=format::money(v.equity) testid="equity"
                 title="Starting capital + total PnL"/>
            <Kpi label="Drawdown (current / max)" value=format!("{} / {}", format::pct(v.drawdown), format::pct(v.max_drawdown))
                 title="Equity below its running peak, as a % of the peak"/>
            <Kpi label="Rolling Sharpe (63 d)" value=format::opt(v.rolling_sharpe, format::ratio)
                 title="Annualised Sharpe of the last 63 daily returns: mean/std x sqrt(252), risk-free 0"/>
            <Kpi label="Hit rate (per trade)" value=format!("{} of {}", opt_pct(v.hit_rate), v.closed_trades)
                 title="Winning round trips (flat to flat, net of fees) / closed round trips"/>
            <Kpi label="Profit factor (per trade)" value=format::opt(v.profit_factor, format::ratio)
                 title="Gross profit / gross loss of closed round trips"/>
            <Kpi label="Avg slippage (bps)" value=format::opt(v.avg_slippage_bps, format::bps)
                 title="Mean over fills of side x (fill - arrival mid) / arrival mid x 10,000; positive = cost"/>
            <Kpi label="Fill rate" value=opt_pct(v.fill_rate)
                 title="Orders filled / orders that reached a final status"/>
            <Kpi label="Ingest error rate" value=opt_pct(v.ingest.error_rate)
                 title="Rejected batches / all batches since the console started"/>
        </section>

        <section class="panel">
            <div class="panel-head">
                <h2 data-chart-title>"Equity curve (USD)"</h2>
                <div class="tabs" role="tablist">
                    <button class="active" data-chart-tab="equity" data-testid="chart-equity">"Equity"</button>
                    <button data-chart-tab="drawdown" data-testid="chart-drawdown">"Drawdown"</button>
                </div>
            </div>
            <div class="chart" data-testid="chart">
                <div data-chart-pane="equity" inner_html=equity_svg></div>
                <div data-chart-pane="drawdown" hidden inner_html=drawdown_svg></div>
            </div>
        </section>

        <div class="grid2">
            <section class="panel">
                <h2>"Execution latency (ms, engine clock)"</h2>
                <table>
                    <thead><tr><th>"Step"</th><th class="num">"n"</th><th class="num">"p50"</th><th class="num">"p95"</th><th class="num">"p99"</th></tr></thead>
                    <tbody>{latency_rows}</tbody>
                </table>
            </section>
            <section class="panel">
                <h2>"Exposure and activity"</h2>
                <table>
                    <tbody>
                        <tr><td>"Gross exposure (USD)"</td><td class="num">{format::money(v.gross_exposure)}</td></tr>
                        <tr><td>"Net exposure (USD)"</td><td class="num">{format::money(v.net_exposure)}</td></tr>
                        <tr><td>"Fees paid (USD)"</td><td class="num">{format::money(v.pnl.fees)}</td></tr>
                        <tr><td>"Events / signals / orders / fills"</td><td class="num" data-testid="counts">
                            {format!("{} / {} / {} / {}", counts.events, counts.signals, counts.orders, counts.fills)}</td></tr>
                        <tr><td>"Fills for unknown orders (flagged)"</td><td class="num">{counts.orphan_fills}</td></tr>
                    </tbody>
                </table>
            </section>
        </div>

        <section class="panel">
            <h2>"Positions"</h2>
            <table data-testid="positions">
                <thead><tr>
                    <th>"Instrument"</th><th class="num">"Quantity"</th><th class="num">"Avg cost"</th><th class="num">"Mark"</th>
                    <th class="num">"Exposure (USD)"</th><th class="num">"Concentration"</th>
                    <th class="num">"Realized (USD)"</th><th class="num">"Unrealized (USD)"</th><th class="num">"Total PnL (USD)"</th>
                </tr></thead>
                <tbody>{positions}</tbody>
            </table>
        </section>

        <section class="panel">
            <div class="panel-head"><h2>"Newest signals"</h2><a href="/signals">"All signals →"</a></div>
            <SignalTable rows=v.signals.clone()/>
        </section>
    }
}

/// The signal table of the dashboard and the signal feed (server HTML).
#[component]
pub fn SignalTable(rows: Vec<domain::view::SignalRow>) -> impl IntoView {
    let body = if rows.is_empty() {
        view! { <tr><td colspan="12" class="empty">"No signals yet."</td></tr> }.into_any()
    } else {
        rows.into_iter().map(|s| {
            let href = format!("/trades/{}", s.signal_id);
            view! {
                <tr>
                    <td>{time(s.ts)}</td>
                    <td><a href=href>{s.signal_id.clone()}</a></td>
                    <td>{s.automation_id.clone()}</td>
                    <td>{s.instrument.clone()}</td>
                    <td>{s.intent.clone()}</td>
                    <td>{s.side.clone()}</td>
                    <td>{s.signal_type.clone()}</td>
                    <td class="num">{format!("{:.2}", s.strength)}</td>
                    <td>{s.risk_decision.clone().unwrap_or_else(|| "—".into())}</td>
                    <td><span class=format!("status {}", s.status.replace(' ', "-"))>{s.status.clone()}</span>
                        {s.compliance_issues.first().map(|id| view! {
                            " "<a class="badge bad" data-testid="compliance-flag" href=format!("/compliance/{id}")
                                title="A compliance rule flagged this signal's order">{format!("flagged #{id}")}</a>
                        })}</td>
                    <td class="num">{format::decimal(s.filled_quantity, 6)}</td>
                    <td class="num">{s.avg_fill_price.map(|p| format::decimal(p, 6)).unwrap_or_else(|| "—".into())}</td>
                </tr>
            }
        }).collect_view().into_any()
    };
    view! {
        <table data-testid="signals">
            <thead><tr>
                <th>"Time (market)"</th><th>"Signal"</th><th>"Automation"</th><th>"Instrument"</th><th>"Intent"</th>
                <th>"Side"</th><th>"Type"</th><th class="num">"Strength"</th><th>"Risk"</th><th>"Status"</th>
                <th class="num">"Filled"</th><th class="num">"Avg price"</th>
            </tr></thead>
            <tbody>{body}</tbody>
        </table>
    }
}
