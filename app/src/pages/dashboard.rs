//! The trading dashboard: PnL, equity and drawdown, risk and execution figures, positions and
//! the newest signals, updated live over SSE.
use domain::format;
use domain::view::DashboardView;
use leptos::prelude::*;

use super::{Kpi, opt_pct, time, tone};
use crate::server_fns::get_dashboard;
use crate::live::use_live;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Chart {
    Equity,
    Drawdown,
}

#[island]
pub fn Dashboard() -> impl IntoView {
    crate::components::island_ready();
    let initial = Resource::new(|| (), |_| get_dashboard());
    let live = use_live();
    // The newest of: what the server rendered, and what the live stream pushed since.
    let data = Signal::derive(move || {
        let first = initial.get().and_then(Result::ok);
        let pushed = live.and_then(|l| l.view.get());
        match (first, pushed) {
            (Some(a), Some(b)) => Some(if b.head_seq >= a.head_seq { b } else { a }),
            (a, b) => b.or(a),
        }
    });
    view! {
        <h1>"Trading dashboard"</h1>
        <super::controls::Controls/>
        <Suspense fallback=|| view! { <p class="empty">"Loading the dashboard…"</p> }>
            {move || match initial.get() {
                Some(Err(e)) => view! { <p class="error">{e.to_string()}</p> }.into_any(),
                _ => view! { <Body data/> }.into_any(),
            }}
        </Suspense>
    }
}

#[component]
fn Body(data: Signal<Option<DashboardView>>) -> impl IntoView {
    let v = move || data.get().unwrap_or_default();
    let chart = RwSignal::new(Chart::Equity);
    let pnl = move |f: fn(&DashboardView) -> rust_decimal::Decimal| Signal::derive(move || format::pnl(f(&v())));
    let pnl_tone = move |f: fn(&DashboardView) -> rust_decimal::Decimal| Signal::derive(move || tone(f(&v())));
    view! {
        <Show when=move || v().counts.events == 0>
            <div class="empty-state">
                <h2>"No events yet"</h2>
                <p>"Start an engine to see live figures: "
                   <code>"tradewatch replay --token <ingest token>"</code>
                   " replays real market data, or post your own engine's events to "
                   <code>"POST /api/v1/events"</code>" (see docs/api.md)."</p>
            </div>
        </Show>
        <p class="asof">
            "Market time "{move || v().as_of.map(time).unwrap_or_else(|| "—".into())}
            " · log seq "<span data-testid="head-seq">{move || v().head_seq}</span>
            " · starting capital "{move || format::money(v().capital)}" USD"
        </p>
        <section class="kpis">
            <Kpi label="Total PnL (USD)" value=pnl(|d| d.pnl.total) tone=pnl_tone(|d| d.pnl.total) testid="pnl-total"
                 title="Realized + unrealized - fees, in USD"/>
            <Kpi label="Realized PnL (USD)" value=pnl(|d| d.pnl.realized) tone=pnl_tone(|d| d.pnl.realized) testid="pnl-realized"
                 title="Booked on fills that reduce a position, average-cost method, before fees"/>
            <Kpi label="Unrealized PnL (USD)" value=pnl(|d| d.pnl.unrealized) tone=pnl_tone(|d| d.pnl.unrealized) testid="pnl-unrealized"
                 title="(mark - average cost) x quantity; mark = last mid"/>
            <Kpi label="Daily PnL (USD)" value=pnl(|d| d.pnl.daily) tone=pnl_tone(|d| d.pnl.daily) testid="pnl-daily"
                 title="Equity now minus equity at the last mark of the previous UTC day (market time)"/>
            <Kpi label="Equity (USD)" value=Signal::derive(move || format::money(v().equity)) testid="equity"
                 title="Starting capital + total PnL"/>
            <Kpi label="Drawdown (current / max)" value=Signal::derive(move || format!("{} / {}", format::pct(v().drawdown), format::pct(v().max_drawdown)))
                 title="Equity below its running peak, as a % of the peak"/>
            <Kpi label="Rolling Sharpe (63 d)" value=Signal::derive(move || format::opt(v().rolling_sharpe, format::ratio))
                 title="Annualised Sharpe of the last 63 daily returns: mean/std x sqrt(252), risk-free 0"/>
            <Kpi label="Hit rate (per trade)" value=Signal::derive(move || format!("{} of {}", opt_pct(v().hit_rate), v().closed_trades))
                 title="Winning round trips (flat to flat, net of fees) / closed round trips"/>
            <Kpi label="Profit factor (per trade)" value=Signal::derive(move || format::opt(v().profit_factor, format::ratio))
                 title="Gross profit / gross loss of closed round trips"/>
            <Kpi label="Avg slippage (bps)" value=Signal::derive(move || format::opt(v().avg_slippage_bps, format::bps))
                 title="Mean over fills of side x (fill - arrival mid) / arrival mid x 10,000; positive = cost"/>
            <Kpi label="Fill rate" value=Signal::derive(move || opt_pct(v().fill_rate))
                 title="Orders filled / orders that reached a final status"/>
            <Kpi label="Ingest error rate" value=Signal::derive(move || opt_pct(v().ingest.error_rate))
                 title="Rejected batches / all batches since the console started"/>
        </section>

        <section class="panel">
            <div class="panel-head">
                <h2>{move || if chart.get() == Chart::Equity { "Equity curve (USD)" } else { "Drawdown (%)" }}</h2>
                <div class="tabs" role="tablist">
                    <button class:active=move || chart.get() == Chart::Equity on:click=move |_| chart.set(Chart::Equity)
                            data-testid="chart-equity">"Equity"</button>
                    <button class:active=move || chart.get() == Chart::Drawdown on:click=move |_| chart.set(Chart::Drawdown)
                            data-testid="chart-drawdown">"Drawdown"</button>
                </div>
            </div>
            <div class="chart" data-testid="chart" inner_html=move || {
                let pts = v().equity_curve;
                match chart.get() {
                    Chart::Equity => charts::equity_svg(&pts, 900, 280),
                    Chart::Drawdown => charts::drawdown_svg(&pts, 900, 280),
                }
            }></div>
        </section>

        <div class="grid2">
            <section class="panel">
                <h2>"Execution latency (ms, engine clock)"</h2>
                <table>
                    <thead><tr><th>"Step"</th><th class="num">"n"</th><th class="num">"p50"</th><th class="num">"p95"</th><th class="num">"p99"</th></tr></thead>
                    <tbody>
                        {move || {
                            let l = v().latency;
                            [("Signal → order", l.signal_to_order), ("Order → first fill", l.order_to_fill)]
                                .into_iter()
                                .map(|(name, q)| view! {
                                    <tr><td>{name}</td><td class="num">{q.count}</td>
                                        <td class="num">{format::opt(q.p50_ms, format::ms)}</td>
                                        <td class="num">{format::opt(q.p95_ms, format::ms)}</td>
                                        <td class="num">{format::opt(q.p99_ms, format::ms)}</td></tr>
                                })
                                .collect_view()
                        }}
                    </tbody>
                </table>
            </section>
            <section class="panel">
                <h2>"Exposure and activity"</h2>
                <table>
                    <tbody>
                        <tr><td>"Gross exposure (USD)"</td><td class="num">{move || format::money(v().gross_exposure)}</td></tr>
                        <tr><td>"Net exposure (USD)"</td><td class="num">{move || format::money(v().net_exposure)}</td></tr>
                        <tr><td>"Fees paid (USD)"</td><td class="num">{move || format::money(v().pnl.fees)}</td></tr>
                        <tr><td>"Events / signals / orders / fills"</td><td class="num" data-testid="counts">
                            {move || { let c = v().counts; format!("{} / {} / {} / {}", c.events, c.signals, c.orders, c.fills) }}</td></tr>
                        <tr><td>"Fills for unknown orders (flagged)"</td><td class="num">{move || v().counts.orphan_fills}</td></tr>
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
                <tbody>
                    {move || {
                        let rows = v().positions;
                        if rows.is_empty() {
                            return view! { <tr><td colspan="9" class="empty">"No positions yet: they appear with the first fill."</td></tr> }.into_any();
                        }
                        rows.into_iter().map(|p| view! {
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
                    }}
                </tbody>
            </table>
        </section>

        <section class="panel">
            <div class="panel-head"><h2>"Newest signals"</h2><a href="/signals">"All signals →"</a></div>
            <SignalTable rows=Signal::derive(move || v().signals)/>
        </section>
    }
}

#[component]
pub fn SignalTable(rows: Signal<Vec<domain::view::SignalRow>>) -> impl IntoView {
    view! {
        <table data-testid="signals">
            <thead><tr>
                <th>"Time (market)"</th><th>"Signal"</th><th>"Automation"</th><th>"Instrument"</th><th>"Intent"</th>
                <th>"Side"</th><th>"Type"</th><th class="num">"Strength"</th><th>"Risk"</th><th>"Status"</th>
                <th class="num">"Filled"</th><th class="num">"Avg price"</th>
            </tr></thead>
            <tbody>
                {move || {
                    let rows = rows.get();
                    if rows.is_empty() {
                        return view! { <tr><td colspan="12" class="empty">"No signals yet."</td></tr> }.into_any();
                    }
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
                                <td><span class=format!("status {}", s.status.replace(' ', "-"))>{s.status.clone()}</span></td>
                                <td class="num">{format::decimal(s.filled_quantity, 6)}</td>
                                <td class="num">{s.avg_fill_price.map(|p| format::decimal(p, 6)).unwrap_or_else(|| "—".into())}</td>
                            </tr>
                        }
                    }).collect_view().into_any()
                }}
            </tbody>
        </table>
    }
}
