//! The audit trail: filter and page the log, verify the hash chain, open an event.
use chrono::{NaiveDate, NaiveTime};
use domain::event::Kind;
use domain::view::{EventQuery, EventRow};
use leptos::prelude::*;
use leptos_router::components::{A, Form};
use leptos_router::hooks::{use_params_map, use_query_map};

use super::time;
use crate::server_fns::{VerifyChain, get_event, get_events};

const PAGE: u32 = 50;

fn non_empty(s: Option<String>) -> Option<String> {
    s.map(|s| s.trim().to_string()).filter(|s| !s.is_empty())
}

/// The chain check: a button that re-verifies every link on the server.
#[island]
fn VerifyPanel() -> impl IntoView {
    crate::components::island_ready();
    let verify = ServerAction::<VerifyChain>::new();
    view! {
    <section class="panel verify">
        <button data-testid="verify" on:click=move |_| { verify.dispatch(VerifyChain {}); } disabled=move || verify.pending().get()>
            {move || if verify.pending().get() { "Verifying…" } else { "Verify hash chain" }}
        </button>
        <span data-testid="verify-result">
            {move || match verify.value().get() {
                None => view! { <span class="hint">"Re-checks every event's SHA-256 link from the first one."</span> }.into_any(),
                Some(Ok(r)) if r.ok => view! {
                    <span class="badge ok">{format!("✓ chain verified: {} events, head seq {}, head hash {}…", r.verified, r.head_seq, &r.head_hash[..16.min(r.head_hash.len())])}</span>
                }.into_any(),
                Some(Ok(r)) => view! {
                    <span class="badge bad">{format!("✗ chain broken at seq {}: {} events verified before it", r.first_break.unwrap_or_default(), r.verified)}</span>
                }.into_any(),
                Some(Err(e)) => view! { <span class="error">{e.to_string()}</span> }.into_any(),
            }}
        </span>
    </section>
    }
}

#[component]
pub fn Audit() -> impl IntoView {
    let query = use_query_map();
    let param = move |name: &str| query.with(|q| non_empty(q.get(name)));
    let filter = Memo::new(move |_| {
        let date = |name: &str| param(name).and_then(|s| NaiveDate::parse_from_str(&s, "%Y-%m-%d").ok());
        EventQuery {
            kind: param("kind"),
            instrument: param("instrument"),
            id: param("id"),
            from: date("from").map(|d| d.and_time(NaiveTime::MIN).and_utc()),
            to: date("to").and_then(|d| d.and_hms_milli_opt(23, 59, 59, 999)).map(|t| t.and_utc()),
            after_seq: None,
            before_seq: Some(param("before").and_then(|s| s.parse().ok()).unwrap_or(u64::MAX >> 1)),
            limit: Some(PAGE),
        }
    });
    let page = Resource::new(move || filter.get(), get_events);
    let older_href = move |next: u64| {
        let mut parts = vec![format!("before={next}")];
        for name in ["kind", "instrument", "id", "from", "to"] {
            if let Some(v) = param(name) {
                parts.push(format!("{name}={}", urlencode(&v)));
            }
        }
        format!("/audit?{}", parts.join("&"))
    };
    view! {
        <h1>"Audit trail"</h1>
        <VerifyPanel/>
        <Form action="/audit" attr:class="filters">
            <label>"Kind "
                <select name="kind">
                    <option value="">"any"</option>
                    {Kind::ALL.iter().map(|k| view! { <option value=k.as_str() selected=param("kind").as_deref() == Some(k.as_str())>{k.as_str()}</option> }).collect_view()}
                </select>
            </label>
            <label>"Instrument "<input name="instrument" placeholder="e.g. AAPL" value=param("instrument").unwrap_or_default()/></label>
            <label>"Event / signal / order id "<input name="id" placeholder="exact id" value=param("id").unwrap_or_default()/></label>
            <label>"From (UTC) "<input type="date" name="from" value=param("from").unwrap_or_default()/></label>
            <label>"To (UTC) "<input type="date" name="to" value=param("to").unwrap_or_default()/></label>
            <button type="submit" data-testid="filter">"Filter"</button>
            <A href="/audit">"Clear"</A>
        </Form>
        <ExportPanel/>
        <Transition fallback=|| view! { <p class="empty">"Loading events…"</p> }>
            {move || page.get().map(|r| match r {
                Err(e) => view! { <p class="error">{e.to_string()}</p> }.into_any(),
                Ok(p) if p.rows.is_empty() => view! {
                    <p class="empty" data-testid="no-events">"No events match this filter. Clear it, or widen the time range."</p>
                }.into_any(),
                Ok(p) => view! {
                    <table data-testid="events">
                        <thead><tr><th class="num">"Seq"</th><th>"Kind"</th><th>"Event id"</th><th>"Instrument"</th>
                            <th>"Source time (UTC)"</th><th>"Received (UTC)"</th><th>"Hash"</th><th>"Flags"</th></tr></thead>
                        <tbody>
                            {p.rows.into_iter().map(|r| view! {
                                <tr>
                                    <td class="num"><A href=format!("/audit/{}", r.seq)>{r.seq}</A></td>
                                    <td>{r.kind.clone()}</td>
                                    <td>{r.event_id.clone()}</td>
                                    <td>{instrument_cell(&r)}</td>
                                    <td>{time(r.ts)}</td>
                                    <td>{time(r.received_at)}</td>
                                    <td><code>{format!("{}…", &r.hash[..12.min(r.hash.len())])}</code></td>
                                    <td>{r.flags.clone().unwrap_or_default()}</td>
                                </tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                    {p.next.map(|n| view! { <p><A href=older_href(n)>"Older events →"</A></p> })}
                }.into_any(),
            })}
        </Transition>
    }
}

/// The instrument the row names; a fill names its order instead (the instrument filter takes in
/// the fills of the instrument's orders), so its cell links to that order's events.
fn instrument_cell(r: &EventRow) -> AnyView {
    match (&r.instrument, &r.order_id) {
        (Some(instrument), _) => instrument.clone().into_any(),
        (None, Some(order)) if r.kind == "fill" => view! {
            <a class="muted" data-testid="fill-order" title="a fill names its order, not the instrument" href=format!("/audit?id={}", urlencode(order))>{format!("order {order}")}</a>
        }
        .into_any(),
        _ => ().into_any(),
    }
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[component]
pub fn EventDetail() -> impl IntoView {
    let params = use_params_map();
    let seq = move || params.with(|p| p.get("seq").and_then(|s| s.parse::<u64>().ok()).unwrap_or(0));
    let event = Resource::new(seq, get_event);
    view! {
        <h1>"Event "{seq}</h1>
        <Suspense fallback=|| view! { <p class="empty">"Loading…"</p> }>
            {move || event.get().map(|r| match r {
                Err(e) => view! { <p class="error">{format!("Event {}: {e}", seq())}</p> }.into_any(),
                Ok(e) => {
                    let pretty = serde_json::from_str::<serde_json::Value>(&e.payload)
                        .and_then(|v| serde_json::to_string_pretty(&v))
                        .unwrap_or_else(|_| e.payload.clone());
                    view! {
                        <table class="detail" data-testid="event-detail">
                            <tbody>
                                <tr><th>"Seq"</th><td>{e.seq}</td></tr>
                                <tr><th>"Event id"</th><td>{e.event_id.clone()}</td></tr>
                                <tr><th>"Kind"</th><td>{e.kind.clone()}</td></tr>
                                <tr><th>"Source time (UTC)"</th><td>{time(e.ts)}</td></tr>
                                <tr><th>"Received (UTC)"</th><td>{time(e.received_at)}</td></tr>
                                <tr><th>"Clock drift (received - source)"</th><td>{format!("{} ms", e.drift_ms)}</td></tr>
                                <tr><th>"Hash"</th><td><code>{e.hash.clone()}</code></td></tr>
                                <tr><th>"Previous hash"</th><td><code>{e.prev_hash.clone()}</code></td></tr>
                                <tr><th>"Flags"</th><td>{e.flags.clone().unwrap_or_else(|| "none".into())}</td></tr>
                                {e.signal_id.clone().map(|s| view! {
                                    <tr><th>"Trade"</th><td><A href=format!("/trades/{s}")>{format!("lineage of {s}")}</A></td></tr>
                                })}
                            </tbody>
                        </table>
                        <h2>"Stored JSON (the hashed bytes, pretty-printed)"</h2>
                        <pre class="raw">{pretty}</pre>
                    }.into_any()
                }
            })}
        </Suspense>
    }
}

/// Raw data export: a plain form posting to the `export_data` server function, answered with
/// the file (streamed).
#[component]
fn ExportPanel() -> impl IntoView {
    view! {
        <details class="panel" data-testid="export">
            <summary>"Export data (CSV or Parquet)"</summary>
            <form method="post" action="/api/export_data" class="filters">
                <label>"Dataset "
                    <select name="dataset" data-testid="export-dataset">
                        <option value="events">"events (the log, one row per event)"</option>
                        <option value="fills">"fills, with the slippage decomposition"</option>
                        <option value="trades">"closed trades"</option>
                        <option value="returns">"daily returns"</option>
                    </select>
                </label>
                <label>"Format "
                    <select name="format" data-testid="export-format"><option value="csv">"CSV"</option><option value="parquet">"Parquet"</option></select>
                </label>
                <label>"Event kind "
                    <select name="kind">
                        <option value="">"any"</option>
                        {Kind::ALL.iter().map(|k| view! { <option value=k.as_str()>{k.as_str()}</option> }).collect_view()}
                    </select>
                </label>
                <label>"From (UTC) "<input type="date" name="from"/></label>
                <label>"To (UTC) "<input type="date" name="to"/></label>
                <button type="submit" data-testid="export-download">"Download"</button>
            </form>
            <p class="hint">"Streamed from the log a page at a time. Money and quantities are exact decimal strings; times UTC. Kind applies to the events dataset only. For programs: GET /api/v1/export/{dataset}.{csv|parquet}?from=&to=&kind= with a read token."</p>
        </details>
    }
}
