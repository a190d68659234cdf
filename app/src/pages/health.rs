//! `/health`: is every part of the console working, and can its data be trusted. Server HTML
//! from `get_health`; reload for fresh figures (the API, `GET /api/v1/health`, is the same).
use domain::view::HealthView;
use leptos::prelude::*;

use super::time;
use crate::server_fns::get_health;

fn when(t: Option<chrono::DateTime<chrono::Utc>>) -> String {
    t.map(time).unwrap_or_else(|| "—".into())
}

#[component]
pub fn HealthPage() -> impl IntoView {
    let health = Resource::new(|| (), |_| get_health());
    view! {
        <h1>"Health"</h1>
        <p class="hint">"Heartbeats, background jobs, alert receivers, each route's last five minutes, the market data's quality and the sources' clocks. Prometheus scrapes the same figures from /metrics; API: GET /api/v1/health."</p>
        <Suspense fallback=|| view! { <p class="empty">"Loading…"</p> }>
            {move || health.get().map(|r| match r {
                Err(e) => view! { <p class="error">{e.to_string()}</p> }.into_any(),
                Ok(h) => view! { <HealthBody h/> }.into_any(),
            })}
        </Suspense>
    }
}

#[component]
fn HealthBody(h: HealthView) -> impl IntoView {
    let ok = h.problems.is_empty();
    let num = |x: Option<f64>| x.map(|v| format!("{v:.1}")).unwrap_or_else(|| "—".into());
    view! {
        <section class=if ok { "panel health-ok" } else { "panel health-bad" } data-testid="health-summary">
            {if ok {
                view! { <p><span class="badge ok">"healthy"</span>" Every part answers and the data checks out."</p> }.into_any()
            } else {
                view! {
                    <p><span class="badge bad">{format!("{} problems", h.problems.len())}</span></p>
                    <ul data-testid="health-problems">{h.problems.iter().map(|p| view! { <li>{p.clone()}</li> }).collect_view()}</ul>
                }.into_any()
            }}
        </section>
        <section class="panel">
            <h2>"Heartbeats"</h2>
            <table class="grid compact" data-testid="health-components">
                <thead><tr><th>"Component"</th><th class="num">"Last heard (s ago)"</th><th class="num">"Timeout (s)"</th><th>"State"</th></tr></thead>
                <tbody>
                    {h.components.iter().map(|c| view! {
                        <tr><td>{c.component.clone()}</td><td class="num">{format!("{:.1}", c.age_secs)}</td><td class="num">{format!("{:.0}", c.timeout_secs)}</td>
                        <td>{if c.age_secs > c.timeout_secs { view! { <span class="badge bad">"late"</span> }.into_any() } else { view! { <span class="badge ok">"ok"</span> }.into_any() }}</td></tr>
                    }).collect_view()}
                </tbody>
            </table>
            {h.components.is_empty().then(|| view! { <p class="empty">"No component sends heartbeats (a running engine does, every few seconds)."</p> })}
        </section>
        <section class="panel">
            <h2>"Background jobs"</h2>
            <table class="grid compact" data-testid="health-jobs">
                <thead><tr><th>"Job"</th><th class="num">"Runs"</th><th class="num">"Failures"</th><th class="num">"Failing for"</th><th>"Last success (UTC)"</th><th>"Last failure (UTC)"</th></tr></thead>
                <tbody>
                    {h.jobs.iter().map(|j| view! {
                        <tr><td>{j.job.clone()}</td><td class="num">{j.runs}</td><td class="num">{j.failures}</td><td class="num">{j.failing_for}</td><td>{when(j.last_ok)}</td><td>{when(j.last_failure)}</td></tr>
                    }).collect_view()}
                </tbody>
            </table>
        </section>
        <section class="panel">
            <h2>"Alert receivers"</h2>
            <table class="grid compact" data-testid="health-receivers">
                <thead><tr><th>"Receiver"</th><th>"Configured"</th><th class="num">"Delivered"</th><th class="num">"Failed"</th><th class="num">"Failing for"</th><th>"Last success (UTC)"</th><th>"Last failure (UTC)"</th></tr></thead>
                <tbody>
                    {h.receivers.iter().map(|r| view! {
                        <tr><td>{r.receiver.clone()}</td><td>{if r.configured { "yes" } else { "no (setting unset)" }}</td><td class="num">{r.delivered}</td><td class="num">{r.failed}</td><td class="num">{r.failing_for}</td><td>{when(r.last_success)}</td><td>{when(r.last_failure)}</td></tr>
                    }).collect_view()}
                </tbody>
            </table>
        </section>
        <section class="panel">
            <h2>"API, last five minutes"</h2>
            <table class="grid compact" data-testid="health-routes">
                <thead><tr><th>"Route"</th><th class="num">"Requests"</th><th class="num">"p95 (ms)"</th><th class="num">"5xx"</th></tr></thead>
                <tbody>
                    {h.routes.iter().map(|r| view! {
                        <tr><td>{r.route.clone()}</td><td class="num">{r.requests}</td><td class="num">{num(r.p95_ms)}</td><td class="num">{format!("{:.1}%", r.error_rate * 100.0)}</td></tr>
                    }).collect_view()}
                </tbody>
            </table>
        </section>
        <section class="panel">
            <h2>"Market data quality"</h2>
            <p class="hint">"Crossed quotes never get this far: the ingest API refuses them, naming the line. Stale: the instrument's last mark is more than five of its typical gaps behind the newest mark."</p>
            <table class="grid compact" data-testid="health-instruments">
                <thead><tr><th>"Instrument"</th><th>"Last mark"</th><th class="num">"Marks"</th><th class="num">"Typical gap (s)"</th><th class="num">"Largest gap (s)"</th><th class="num">"Out of order"</th><th class="num">"Zero spread"</th><th>"State"</th></tr></thead>
                <tbody>
                    {h.instruments.iter().map(|i| view! {
                        <tr><td>{i.instrument.clone()}</td><td>{when(i.last_mark)}</td><td class="num">{i.marks}</td><td class="num">{num(i.typical_gap_secs)}</td><td class="num">{format!("{:.0}", i.largest_gap_secs)}</td><td class="num">{i.out_of_order}</td><td class="num">{i.zero_spread}</td>
                        <td>{if i.stale { view! { <span class="badge warn">"stale"</span> }.into_any() } else { view! { <span class="badge ok">"ok"</span> }.into_any() }}</td></tr>
                    }).collect_view()}
                </tbody>
            </table>
        </section>
        <section class="panel">
            <h2>"Source clocks"</h2>
            <p class="hint">"Drift: the least-delayed of each source's last five heartbeats, received minus stamped (positive: the source is behind). A source stamping market history is a replay, not a drifting clock."</p>
            <table class="grid compact" data-testid="health-clocks">
                <thead><tr><th>"Source"</th><th class="num">"Drift (ms)"</th><th>"Kind"</th><th class="num">"Heartbeats"</th></tr></thead>
                <tbody>
                    {h.clocks.iter().map(|c| view! {
                        <tr><td>{c.source.clone()}</td><td class="num">{c.drift_ms.map(|d| d.to_string()).unwrap_or_else(|| "—".into())}</td><td>{if c.replay { "replay (market time)" } else { "live" }}</td><td class="num">{c.samples}</td></tr>
                    }).collect_view()}
                </tbody>
            </table>
        </section>
    }
}
