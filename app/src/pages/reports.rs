//! Weekly research reports: the archive (`/reports`) with downloads and, for risk and admins,
//! "generate now"; one week's report (`/reports/{week}`), the archived HTML itself. Downloads and
//! "generate now" are plain HTML forms posting to server functions: no script of their own.
use leptos::prelude::*;
use leptos_router::hooks::{use_params_map, use_query_map};

use super::time;
use crate::server_fns::{get_report_html, list_reports};

/// The two download buttons of a week.
#[component]
fn Downloads(week: String) -> impl IntoView {
    let form = move |format: &'static str, label: &'static str| {
        view! {
            <form method="post" action="/api/download_report" class="inline-form">
                <input type="hidden" name="week" value=week.clone()/>
                <input type="hidden" name="format" value=format/>
                <button type="submit" data-testid=format!("download-{format}-{week}")>{label}</button>
            </form>
        }
    };
    view! { {form("html", "HTML")} " " {form("pdf", "PDF")} }
}

#[component]
pub fn ReportsPage() -> impl IntoView {
    let data = Resource::new(|| (), |_| list_reports());
    let query = use_query_map();
    let done = move || query.with(|q| q.get("done"));
    let error = move || query.with(|q| q.get("error"));
    view! {
        <h1>"Weekly research reports"</h1>
        <p class="hint">
            "One report per ISO week of market time, generated once the week has ended: performance and its attribution, execution quality, risk, regimes, compliance, rule-based recommendations and the methodology. "
            "Each file's SHA-256 is recorded in the audit log (a report_published event); the cover names the log position it was computed from, and the first signed checkpoint after it covers that event: its inclusion proof ("<code>"GET /api/v1/proofs/inclusion?seq="</code>" the recorded event) shows the hashes existed when the checkpoint was signed."
        </p>
        {move || done().map(|d| view! { <p class="badge ok" data-testid="report-done">{format!("Generated the report of {d}.")}</p> })}
        {move || error().map(|e| view! { <p class="error" data-testid="report-error">{e}</p> })}
        <Suspense fallback=|| view! { <p class="empty">"Loading…"</p> }>
            {move || data.get().map(|r| match r {
                Err(e) => view! { <p class="error">{e.to_string()}</p> }.into_any(),
                Ok((reports, can_generate)) => {
                    let rows = if reports.is_empty() {
                        view! { <tr><td colspan="6" class="empty">"No report yet: the first is generated when the first complete week of market data has ended."</td></tr> }.into_any()
                    } else {
                        reports.into_iter().map(|m| {
                            let week = m.week.clone();
                            view! {
                                <tr data-testid=format!("report-{}", m.week)>
                                    <td><a href=format!("/reports/{}", m.week)>{m.week.clone()}</a></td>
                                    <td>{time(m.generated_at)}</td>
                                    <td class="num">{format!("event #{}", m.published_seq)}</td>
                                    <td data-testid="covered-by">{match &m.covered_by {
                                        Some(c) => view! { <span title=format!("Merkle root {}", c.root)>{format!("checkpoint #{} (events 1–{})", c.seq, c.tree_size)}</span> }.into_any(),
                                        None => view! { <span class="muted">"the next checkpoint"</span> }.into_any(),
                                    }}</td>
                                    <td><code title=format!("HTML {}\nPDF {}", m.html_sha256, m.pdf_sha256)>{m.pdf_sha256.chars().take(12).collect::<String>()}"…"</code></td>
                                    <td><Downloads week/></td>
                                </tr>
                            }
                        }).collect_view().into_any()
                    };
                    view! {
                        {can_generate.then(|| view! {
                            <form method="post" action="/api/generate_report" class="inline-form panel" data-testid="generate-form">
                                <label>"Week " <input name="week" placeholder="e.g. 2024-W43 (empty: the last complete week)" size="34"/></label>
                                " "
                                <button type="submit" data-testid="generate-now">"Generate now"</button>
                            </form>
                        })}
                        <table class="grid" data-testid="reports">
                            <thead><tr><th>"Week"</th><th>"Generated (UTC)"</th><th class="num">"Recorded as"</th><th>"Covered by"</th><th>"PDF SHA-256"</th><th>"Download"</th></tr></thead>
                            <tbody>{rows}</tbody>
                        </table>
                    }.into_any()
                }
            })}
        </Suspense>
    }
}

/// The part of the archived file a page embeds (its scoped style and content).
fn fragment(html: &str) -> &str {
    let start = html.find("<!--report-->").map(|i| i + "<!--report-->".len()).unwrap_or(0);
    let end = html.find("<!--/report-->").unwrap_or(html.len());
    html.get(start..end).unwrap_or("")
}

#[component]
pub fn ReportPage() -> impl IntoView {
    let params = use_params_map();
    let week = move || params.with(|p| p.get("week").unwrap_or_default());
    let data = Resource::new(week, get_report_html);
    view! {
        <p><a href="/reports">"← all reports"</a> " " <Downloads week=week()/></p>
        <Suspense fallback=|| view! { <p class="empty">"Loading…"</p> }>
            {move || data.get().map(|r| match r {
                Err(e) => view! { <p class="error" data-testid="report-missing">{format!("Report {}: {e}", week())}</p> }.into_any(),
                // Our own renderer's output, archived with its hash: every text in it is escaped.
                Ok(html) => view! { <article data-testid="report-body" inner_html=fragment(&html).to_string()></article> }.into_any(),
            })}
        </Suspense>
    }
}
