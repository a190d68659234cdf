//! KPIs: the exit-quality KPIs overall and per ISO week, each with its weekly trend against the
//! target band from config; a click on a week (a point or a row) lists the exit signals and
//! trades behind it.
use domain::format;
use domain::governance::Band;
use domain::kpi::{KpiValues, KpiWeek};
use leptos::prelude::*;

use super::{Empty, Loaded, opt_pct};
use crate::server_fns::{get_kpi_week, get_kpis};

/// One KPI: field name (as in the API and config), label, value, rate (else ms), definition.
struct Def {
    key: &'static str,
    label: &'static str,
    get: fn(&KpiValues) -> Option<f64>,
    rate: bool,
    definition: &'static str,
}

static DEFS: [Def; 7] = [
    Def { key: "slar", label: "SLAR", get: |v| v.slar, rate: true, definition: "Stop-loss avoidance rate: of closed trades with a stop-loss, the share an exit signal closed before the mid crossed the stop." },
    Def { key: "prr", label: "PRR", get: |v| v.prr, rate: true, definition: "Profit retention ratio: realized price gain / best unrealized price gain (maximum favourable excursion), quantity-weighted." },
    Def { key: "ttdr", label: "TTDR", get: |v| v.ttdr, rate: true, definition: "True transition detection rate: of exits with an open position, the share after which the mid first moved 1% against that position within 5 days." },
    Def { key: "fer", label: "FER", get: |v| v.fer, rate: true, definition: "False exit rate: of those exits, the share after which the mid first moved 1% further in the position's favour within 5 days." },
    Def { key: "ert_median_ms", label: "ERT p50", get: |v| v.ert_median_ms, rate: false, definition: "Exit reaction time, median: from the exit signal to the first operator response or order for it." },
    Def { key: "ert_p95_ms", label: "ERT p95", get: |v| v.ert_p95_ms, rate: false, definition: "Exit reaction time, 95th percentile (linear interpolation)." },
    Def { key: "eaw", label: "EAW%", get: |v| v.eaw, rate: true, definition: "Exit within acceptable window: exit signals reacted to within their recommended window (response_window_secs, default 300 s)." },
];

fn show(d: &Def, x: Option<f64>) -> String {
    if d.rate { opt_pct(x) } else { format::opt(x, format::ms) }
}

fn band_text(d: &Def, b: Band) -> String {
    let f = |x: f64| if d.rate { format!("{:.0}%", x * 100.0) } else { format::ms(x) };
    match (b.min, b.max) {
        (Some(lo), Some(hi)) => format!("{} to {}", f(lo), f(hi)),
        (Some(lo), None) => format!(">= {}", f(lo)),
        (None, Some(hi)) => format!("<= {}", f(hi)),
        (None, None) => "none".into(),
    }
}

fn band_of(targets: &domain::governance::KpiTargets, key: &str) -> Band {
    targets.bands().into_iter().find(|(k, _)| *k == key).map(|(_, b)| b).unwrap_or_default()
}

fn week_ms(w: &chrono::NaiveDate) -> i64 {
    w.and_hms_opt(12, 0, 0).map(|t| t.and_utc().timestamp_millis()).unwrap_or_default()
}

#[component]
fn WeekDetail(week: KpiWeek) -> impl IntoView {
    let exits = week.exits.len();
    let trades = week.trades.len();
    view! {
        <h2 data-testid="kpi-week-title">{format!("Week of {}: {exits} exit signal{}, {trades} closed trade{}", week.week, if exits == 1 { "" } else { "s" }, if trades == 1 { "" } else { "s" })}</h2>
        <h3>"Exit signals (TTDR, FER, ERT, EAW%)"</h3>
        <table class="grid compact" data-testid="kpi-week-exits">
            <thead><tr><th>"Exit signal"</th><th>"Instrument"</th><th>"Time (UTC)"</th><th class="num">"Reaction"</th><th class="num">"Window"</th><th>"In window"</th><th>"After stop"</th><th>"Verdict (TTDR / FER)"</th></tr></thead>
            <tbody>
                {week.exits.into_iter().map(|e| view! {
                    <tr>
                        <td><a href=format!("/trades/{}", e.signal_id)>{e.signal_id.clone()}</a></td>
                        <td>{e.instrument}</td>
                        <td>{format::minute(e.ts)}</td>
                        <td class="num">{e.reaction_ms.map(|x| format::ms(x as f64)).unwrap_or_else(|| "none".into())}</td>
                        <td class="num">{format::ms(e.window_ms as f64)}</td>
                        <td>{if e.within_window { "yes" } else { "no" }}</td>
                        <td>{if e.after_stop { "yes" } else { "no" }}</td>
                        <td>{e.verdict}</td>
                    </tr>
                }).collect_view()}
            </tbody>
        </table>
        <h3>"Trades closed (SLAR, PRR)"</h3>
        <table class="grid compact" data-testid="kpi-week-trades">
            <thead><tr><th>"Instrument"</th><th>"Opened"</th><th>"Closed"</th><th>"Exit signal"</th><th>"Stop (SLAR)"</th><th class="num">"Realized gain"</th><th class="num">"Best gain"</th><th class="num">"Retention (PRR)"</th></tr></thead>
            <tbody>
                {week.trades.into_iter().map(|t| view! {
                    <tr>
                        <td>{t.instrument}</td>
                        <td>{format::minute(t.opened)}</td>
                        <td>{format::minute(t.closed)}</td>
                        <td>{match t.exit_signal { Some(s) => view! { <a href=format!("/trades/{s}")>{s.clone()}</a> }.into_any(), None => "none".into_any() }}</td>
                        <td>{t.stop}</td>
                        <td class="num">{format!("{:.2}", t.realized_gain)}</td>
                        <td class="num">{format!("{:.2}", t.best_gain)}</td>
                        <td class="num">{opt_pct(t.retention)}</td>
                    </tr>
                }).collect_view()}
            </tbody>
        </table>
    }
}

/// The week behind a clicked point or table row: a small island that listens for clicks on
/// any server-rendered element with `data-week` (the chart points and the week rows), fetches
/// that week's exits and trades and shows them. The page around it is server HTML.
#[island]
fn KpiWeekPanel() -> impl IntoView {
    crate::components::island_ready();
    let selected = RwSignal::new(None::<chrono::NaiveDate>);
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::JsCast;
        let handle = window_event_listener(leptos::ev::click, move |ev| {
            let week = ev
                .target()
                .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
                .and_then(|e| e.closest("[data-week]").ok().flatten())
                .and_then(|e| e.get_attribute("data-week"))
                .and_then(|w| chrono::NaiveDate::parse_from_str(&w, "%Y-%m-%d").ok());
            if week.is_some() {
                selected.set(week);
            }
        });
        on_cleanup(move || handle.remove());
    }
    let detail = Resource::new(move || selected.get(), |w| async move {
        match w {
            Some(w) => get_kpi_week(w.to_string()).await.map(Some),
            None => Ok(None),
        }
    });
    view! {
        <Transition fallback=|| ()>
            {move || detail.get().map(|r| match r {
                Ok(Some(w)) => view! { <WeekDetail week=w/> }.into_any(),
                Ok(None) => view! { <p class="hint">"Click a point on a chart, or a week in the table, to see the exit signals and trades behind it."</p> }.into_any(),
                Err(e) => view! { <p class="error">{e.to_string()}</p> }.into_any(),
            })}
        </Transition>
    }
}

#[component]
pub fn KpiPage() -> impl IntoView {
    let data = Resource::new(|| (), |_| get_kpis());
    view! {
        <h1>"Exit quality (KPIs)"</h1>
        <p class="hint">"How well exits work, per ISO week of the exit signal (trades by the week they closed). The green band is the target from config (kpi_targets); red points are off target. Click a point or a week to see the exit signals and trades behind it. Definitions on hover and in docs/methodology.md; the same figures are in GET /api/v1/metrics (exit_kpis) and GET /api/v1/kpis/week."</p>
        <Loaded data empty=Empty { when: |v: &domain::view::KpiView| v.report.weekly.is_empty(), text: "No exit signals or closed trades yet.", testid: "kpis-empty" } view=move |v: domain::view::KpiView| {
            let targets = v.targets;
            let weekly = v.report.weekly.clone();
            let cell = move |d: &Def, x: Option<f64>| {
                let off = band_of(&targets, d.key).holds(x) == Some(false);
                view! { <td class=if off { "num off" } else { "num" } title=if off { "off target" } else { "" }>{show(d, x)}</td> }
            };
            let row = move |label: String, week: Option<chrono::NaiveDate>, v: &KpiValues| view! {
                <tr class=if week.is_some() { "clickable" } else { "" } data-week=week.map(|w| w.to_string())>
                    <td>{label}</td>
                    {DEFS.iter().map(|d| cell(d, (d.get)(v))).collect_view()}
                    <td class="num">{format!("{} ({})", v.exits, v.exits_judged)}</td>
                    <td class="num">{v.trades_with_stop}</td>
                </tr>
            };
            let charts = DEFS.iter().map(|d| {
                let points: Vec<(chrono::NaiveDate, f64)> = weekly.iter().filter_map(|(w, v)| (d.get)(v).map(|x| (*w, x))).collect();
                let band = band_of(&targets, d.key);
                let series: Vec<(i64, f64)> = points.iter().map(|(w, x)| (week_ms(w), *x)).collect();
                let unit = if d.rate { "%" } else { "seconds" };
                let (svg, xs) = charts::kpi_trend_svg(&series, (band.min, band.max), d.rate, &format!("{} ({unit})", d.label), 560, 200);
                let hits = points.iter().zip(xs).map(|((w, x), pos)| {
                    let (w, tip) = (*w, format!("week of {w}: {}", show(d, Some(*x))));
                    view! { <button class="hit" style=format!("left: calc({:.3}% - 7px)", pos * 100.0) title=tip data-week=w.to_string()></button> }
                }).collect_view();
                view! {
                    <section class="panel" data-testid=format!("kpi-trend-{}", d.key)>
                        <h2 title=d.definition>{format!("{} — target {}", d.label, band_text(d, band))}</h2>
                        <div class="trend chart"><div inner_html=svg></div>{hits}</div>
                    </section>
                }
            }).collect_view();
            view! {
                <section class="panel">
                    <h2>"By week"</h2>
                    <table class="grid compact" data-testid="kpi-table">
                        <thead><tr><th></th>
                            {DEFS.iter().map(|d| view! { <th class="num" title=format!("{} Target: {}.", d.definition, band_text(d, band_of(&targets, d.key)))>{d.label}</th> }).collect_view()}
                            <th class="num" title="Exit signals (of them judged for TTDR / FER)">"Exits"</th>
                            <th class="num" title="Closed trades that had a stop-loss (the SLAR denominator)">"With stop"</th>
                        </tr></thead>
                        <tbody>
                            {row("All".into(), None, &v.report.overall)}
                            {v.report.weekly.iter().rev().take(26).map(|(w, x)| row(format!("week of {w}"), Some(*w), x)).collect_view()}
                        </tbody>
                    </table>
                </section>
                <section class="panel" data-testid="kpi-week"><KpiWeekPanel/></section>
                <div class="cols">{charts}</div>
            }
        }/>
    }
}
