//! Alerts: what is firing (server HTML that the live stream pushes again as the log grows, so a
//! new alert appears without a reload), filters, the anomalies the detectors found, one alert
//! with its history and its acknowledge / silence forms, and the runbook. The forms are plain
//! HTML posting to the server functions: the page ships no script of its own.
use domain::anomaly::AnomalyRecord;
use domain::anomaly::alerts::{AlertPage, AlertQuery, AlertRow, AlertState};
use domain::event::Severity;
use leptos::prelude::*;
use leptos_router::components::{A, Form};
use leptos_router::hooks::{use_params_map, use_query_map};

use super::time;
use crate::server_fns::{AlertDesk, get_alert, get_alerts};

use crate::components::severity_class;

fn state_class(s: AlertState) -> &'static str {
    match s {
        AlertState::Firing => "badge bad",
        AlertState::Acknowledged | AlertState::Silenced => "badge warn",
        AlertState::Resolved => "badge ok",
    }
}

fn labels_text(a: &AlertRow) -> String {
    a.labels.iter().filter(|(k, _)| !matches!(k.as_str(), "alertname" | "severity")).map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(" ")
}

/// The live part: counts and the alert table. Rendered by the page and pushed by
/// `/live/dashboard?fragment=alerts`.
#[component]
pub fn AlertsLive(page: AlertPage) -> impl IntoView {
    let [_, warning, critical] = page.firing_by_severity;
    let critical_class = if critical > 0 { "kpi bad" } else { "kpi" };
    let rows = if page.alerts.is_empty() {
        view! { <tr><td colspan="7" class="empty">"No alerts."</td></tr> }.into_any()
    } else {
        page.alerts.into_iter().map(|a| view! { <AlertLine a/> }).collect_view().into_any()
    };
    view! {
        <section class="kpis">
            <div class=critical_class data-testid="firing-critical"><div class="kpi-label">"Firing critical"</div><div class="kpi-value">{critical}</div></div>
            <div class="kpi" data-testid="firing-warning"><div class="kpi-label">"Firing warning"</div><div class="kpi-value">{warning}</div></div>
            <div class="kpi"><div class="kpi-label">"Acknowledged"</div><div class="kpi-value">{page.acknowledged}</div></div>
            <div class="kpi"><div class="kpi-label">"Silenced"</div><div class="kpi-value">{page.silenced}</div></div>
            <div class="kpi"><div class="kpi-label">"Resolved"</div><div class="kpi-value">{page.resolved}</div></div>
        </section>
        <table class="grid compact" data-testid="alerts">
            <thead><tr><th>"Since (UTC)"</th><th>"Severity"</th><th>"Rule"</th><th>"State"</th><th>"Labels"</th><th>"Summary"</th><th>"Step"</th></tr></thead>
            <tbody>{rows}</tbody>
        </table>
        {(!page.silences.is_empty()).then(|| view! {
            <h3>"Active silences"</h3>
            <table class="grid compact" data-testid="silences">
                <thead><tr><th>"Id"</th><th>"Matchers"</th><th>"By"</th><th>"Until (UTC)"</th><th>"Reason"</th><th></th></tr></thead>
                <tbody>
                    {page.silences.into_iter().map(|s| view! {
                        <tr data-testid="silence-row">
                            <td>{s.id}</td>
                            <td>{s.matchers.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(" ")}</td>
                            <td>{s.actor.clone()}</td>
                            <td>{time(s.ends_at)}{s.until_resolved.is_some().then_some(" or when the alert resolves")}</td>
                            <td class="detail-text">{s.reason.clone()}</td>
                            <td>
                                <form method="post" action="/api/expire_silence">
                                    <input type="hidden" name="id" value=s.id/>
                                    <button type="submit" class="link" data-testid="expire-silence">"End now"</button>
                                </form>
                            </td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
        })}
    }
}

#[component]
fn AlertLine(a: AlertRow) -> impl IntoView {
    view! {
        <tr data-testid="alert-row" data-rule=a.rule.clone() data-state=a.state.as_str() data-fingerprint=a.fingerprint.clone()>
            <td>{time(a.starts_at)}</td>
            <td><span class=severity_class(a.severity)>{a.severity.as_str()}</span></td>
            <td><a href=format!("/alerts/{}", a.fingerprint)>{a.rule.clone()}</a></td>
            <td><span class=state_class(a.state)>{a.state.as_str()}</span></td>
            <td class="detail-text">{labels_text(&a)}</td>
            <td class="detail-text">{a.summary.clone()}</td>
            <td class="num">{a.step}</td>
        </tr>
    }
}

/// The HTML the live stream pushes (the inside of `#live-fragment`).
#[cfg(feature = "ssr")]
pub fn live_html(page: AlertPage) -> String {
    super::render_fragment(move || view! { <AlertsLive page/> })
}

/// The query of the live panel: every alert, firing first.
pub fn live_query() -> AlertQuery {
    AlertQuery { limit: Some(100), ..Default::default() }
}

#[component]
fn Anomalies(rows: Vec<AnomalyRecord>, found: u64) -> impl IntoView {
    let num = |x: Option<f64>| x.map(|v| format!("{v:.1}")).unwrap_or_else(|| "—".into());
    view! {
        <section class="panel">
            <h2>"Anomalies"</h2>
            <p class="hint">{format!("{found} values flagged since the log began; the newest {} below. Each series (slippage in bps against the arrival mid, order -> fill and signal -> order latency in ms, mark moves in bps, order notionals; per automation and hour of market time signals, reject rate and fill rate; the book's PnL per hour) is scored against its last 200 values by a z-score (> 3), Tukey's fences (above Q3 + 1.5 IQR) and the robust z-score (median and MAD, > 3.5); two of the three make an anomaly, if it also passes its floor (slippage 10 bps, latency 250 ms, a mark move 20%, an order 3 times the usual); an Isolation Forest over each fill's slippage, latency, size against the recent volume and spread flags fills it isolates (series fill_isolation). API: GET /api/v1/anomalies.", rows.len())}</p>
            <table class="grid compact" data-testid="anomalies">
                <thead><tr><th>"Seq"</th><th>"Received (UTC)"</th><th>"Series"</th><th class="num">"Value"</th><th class="num">"Median"</th><th class="num">"z"</th><th class="num">"Robust z"</th><th>"Flagged by"</th><th>"Automation"</th><th>"Order"</th></tr></thead>
                <tbody>
                    {rows.into_iter().map(|r| view! {
                        <tr>
                            <td><a href=format!("/audit/{}", r.seq)>{r.seq}</a></td>
                            <td>{time(r.received_at)}</td>
                            <td>{r.series.clone()}</td>
                            <td class="num">{format!("{:.1}", r.value)}</td>
                            <td class="num">{num(r.median)}</td>
                            <td class="num">{num(r.zscore)}</td>
                            <td class="num">{num(r.robust_z)}</td>
                            <td>{r.detectors.join(", ")}</td>
                            <td>{r.automation.clone().unwrap_or_default()}</td>
                            <td>{r.order_id.clone().unwrap_or_default()}</td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
        </section>
    }
}

#[component]
pub fn AlertsPage() -> impl IntoView {
    let query = use_query_map();
    let param = move |name: &str| query.with(|q| q.get(name).map(|s| s.trim().to_string()).filter(|s| !s.is_empty()));
    let filter = Memo::new(move |_| AlertQuery {
        state: param("state").and_then(|s| AlertState::parse(&s)),
        severity: param("severity").and_then(|s| Severity::parse(&s)),
        rule: param("rule"),
        limit: Some(200),
    });
    let filtered = move || filter.with(|f| f.state.is_some() || f.severity.is_some() || f.rule.is_some());
    let desk = Resource::new(move || filter.get(), get_alerts);
    let live = Resource::new(|| (), |_| get_alerts(live_query()));
    let done = move || query.with(|q| q.get("done"));
    let error = move || query.with(|q| q.get("error"));
    let select = move |name: &'static str, options: Vec<&'static str>| crate::components::filter_select(name, options, param(name));
    view! {
        <h1>"Alerts"</h1>
        <p class="hint">"The runbook's rules and the anomaly detectors raise alerts from the events as they arrive; each is delivered to the receivers its route names (webhook, email, Alertmanager), escalated when nobody acknowledges it, and kept quiet by a silence. Every step is an event in the audit trail. "<a href="/alerts/runbook">"Runbook"</a>". API: GET /api/v1/alerts."</p>
        {move || done().map(|d| view! { <p class="badge ok" data-testid="alert-done">{format!("Recorded: {}.", d.replace('_', " "))}</p> })}
        {move || error().map(|e| view! { <p class="error" data-testid="alert-error">{e}</p> })}
        <div id="live-fragment" data-live="alerts">
            <Transition fallback=|| view! { <p class="empty">"Loading…"</p> }>
                {move || live.get().map(|r| match r {
                    Err(e) => view! { <p class="error">{e.to_string()}</p> }.into_any(),
                    Ok(AlertDesk { page, .. }) => view! { <AlertsLive page/> }.into_any(),
                })}
            </Transition>
        </div>
        <section class="panel">
            <h2>"Filter"</h2>
            <Form action="/alerts" attr:class="filters">
                <label>"State "{select("state", AlertState::ALL.iter().map(|s| s.as_str()).collect())}</label>
                <label>"Severity "{select("severity", Severity::NAMES.to_vec())}</label>
                <label>"Rule "<input name="rule" placeholder="e.g. slippage_consecutive" value=param("rule").unwrap_or_default()/></label>
                <button type="submit" data-testid="filter">"Filter"</button>
                <A href="/alerts">"Clear"</A>
            </Form>
            <Transition fallback=|| view! { <p class="empty">"Loading…"</p> }>
                {move || desk.get().map(|r| match r {
                    Err(e) => view! { <p class="error">{e.to_string()}</p> }.into_any(),
                    Ok(d) => view! {
                        {filtered().then(|| view! {
                            <p class="hint">{format!("{} alerts match.", d.page.matched)}</p>
                            <table class="grid compact" data-testid="filtered-alerts">
                                <thead><tr><th>"Since (UTC)"</th><th>"Severity"</th><th>"Rule"</th><th>"State"</th><th>"Labels"</th><th>"Summary"</th><th>"Step"</th></tr></thead>
                                <tbody>{d.page.alerts.clone().into_iter().map(|a| view! { <AlertLine a/> }).collect_view()}</tbody>
                            </table>
                        })}
                    }.into_any(),
                })}
            </Transition>
        </section>
        <Transition fallback=|| ()>
            {move || live.get().and_then(Result::ok).map(|d| view! { <Anomalies rows=d.anomalies found=d.anomalies_found/> })}
        </Transition>
    }
}

#[component]
pub fn AlertDetailPage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let fp = move || params.with(|p| p.get("fingerprint").unwrap_or_default());
    let detail = Resource::new(fp, get_alert);
    let done = move || query.with(|q| q.get("done"));
    let error = move || query.with(|q| q.get("error"));
    view! {
        <h1>"Alert"</h1>
        <p><a href="/alerts">"← all alerts"</a></p>
        {move || done().map(|d| view! { <p class="badge ok" data-testid="alert-done">{format!("Recorded: {d}.")}</p> })}
        {move || error().map(|e| view! { <p class="error" data-testid="alert-error">{e}</p> })}
        <Suspense fallback=|| view! { <p class="empty">"Loading…"</p> }>
            {move || detail.get().map(|r| match r {
                Err(e) => view! { <p class="error">{format!("Alert {}: {e}", fp())}</p> }.into_any(),
                Ok((a, may)) => view! { <AlertBody a may/> }.into_any(),
            })}
        </Suspense>
    }
}

#[component]
fn AlertBody(a: AlertRow, may: bool) -> impl IntoView {
    let evidence = a.evidence.iter().map(|s| view! { <a href=format!("/audit/{s}")>{format!("seq {s}")}</a>" " }).collect_view();
    let labels = a.labels.iter().map(|(k, v)| view! { <span class="chip">{format!("{k}={v}")}</span>" " }).collect_view();
    let history = a
        .history
        .iter()
        .rev()
        .map(|h| view! { <tr data-testid="history-row"><td><a href=format!("/audit/{}", h.seq)>{h.seq}</a></td><td>{time(h.at)}</td><td>{h.action.clone()}</td><td>{h.actor.clone()}</td><td class="detail-text">{h.note.clone().unwrap_or_default()}</td></tr> })
        .collect_view();
    let issue = a.labels.get("issue").cloned();
    let firing = a.firing;
    let acked = a.acknowledged_by.is_some();
    let fp = a.fingerprint.clone();
    view! {
        <table class="detail" data-testid="alert-detail">
            <tbody>
                <tr><th>"State"</th><td><span class=state_class(a.state) data-testid="alert-state">{a.state.as_str()}</span>{a.silenced_by.map(|s| format!(" (silence {s})"))}</td></tr>
                <tr><th>"Severity"</th><td><span class=severity_class(a.severity)>{a.severity.as_str()}</span></td></tr>
                <tr><th>"Rule"</th><td>{a.rule.clone()}" "<a href=format!("/alerts/runbook#{}", a.rule)>"runbook"</a></td></tr>
                <tr><th>"Summary"</th><td>{a.summary.clone()}</td></tr>
                <tr><th>"Labels"</th><td>{labels}</td></tr>
                <tr><th>"Value / threshold"</th><td>{format!("{} / {}", a.value.map(|v| format!("{v:.2}")).unwrap_or_else(|| "—".into()), a.threshold.map(|v| format!("{v:.2}")).unwrap_or_else(|| "—".into()))}{a.score.map(|s| format!(" (robust z {s:.1})"))}</td></tr>
                <tr><th>"Since (UTC)"</th><td>{time(a.starts_at)}{a.ends_at.map(|t| format!(", resolved {}", time(t)))}{(a.episodes > 1).then(|| format!(" (episode {})", a.episodes))}</td></tr>
                <tr><th>"Escalation step"</th><td>{a.step}" since "{time(a.step_at)}</td></tr>
                <tr><th>"Evidence (audit trail)"</th><td>{evidence}</td></tr>
                {issue.map(|i| view! { <tr><th>"Compliance issue"</th><td><a href=format!("/compliance/{i}")>{format!("#{i}")}</a></td></tr> })}
                {a.acknowledged_by.clone().map(|by| view! { <tr><th>"Acknowledged"</th><td data-testid="acknowledged">{format!("by {by} at {}{}", a.acknowledged_at.map(time).unwrap_or_default(), a.acknowledge_note.as_ref().map(|n| format!(": {n}")).unwrap_or_default())}</td></tr> })}
            </tbody>
        </table>
        {(may && firing).then(|| view! {
            <section class="panel review" data-testid="alert-actions">
                <h2>"Act"</h2>
                {(!acked).then(|| view! {
                    <form method="post" action="/api/acknowledge_alert" class="review-form" data-testid="form-acknowledge">
                        <input type="hidden" name="fingerprint" value=fp.clone()/>
                        <label>"Note (optional) "<input name="note" size="60" data-testid="ack-note"/></label>
                        <button type="submit" data-testid="acknowledge">"Acknowledge"</button>
                        <span class="hint">" Stops the escalation of this episode."</span>
                    </form>
                })}
                <form method="post" action="/api/silence_alert" class="review-form" data-testid="form-silence">
                    <input type="hidden" name="fingerprint" value=fp.clone()/>
                    <label>"Silence "<select name="scope"><option value="alert">"this alert"</option><option value="rule">"every alert of this rule (and automation)"</option></select></label>
                    <label>" for "<select name="minutes"><option value="30">"30 min"</option><option value="60" selected>"1 hour"</option><option value="240">"4 hours"</option><option value="1440">"1 day"</option></select></label>
                    <label>" Reason (10+ characters) "<input name="reason" required minlength="10" size="40" data-testid="silence-reason"/></label>
                    <label>" "<input type="checkbox" name="until_resolved" value="on"/>" end when it resolves"</label>
                    <button type="submit" data-testid="silence">"Silence"</button>
                </form>
            </section>
        })}
        <section class="panel">
            <h2>"History"</h2>
            <table class="grid compact" data-testid="alert-history">
                <thead><tr><th>"Seq"</th><th>"Time (UTC)"</th><th>"Step"</th><th>"By"</th><th>"Note"</th></tr></thead>
                <tbody>{history}</tbody>
            </table>
        </section>
    }
}

#[component]
pub fn RunbookPage() -> impl IntoView {
    view! {
        <h1>"Runbook"</h1>
        <p><a href="/alerts">"← alerts"</a></p>
        <p class="hint">"What fires each alert, with its default parameters (config section alerting), and what to do. Every alert's runbook_url points here."</p>
        {domain::anomaly::RUNBOOK.iter().map(|(rule, what, todo)| view! {
            <section class="panel" id=*rule data-testid="runbook-rule">
                <h2>{*rule}</h2>
                <p>{*what}</p>
                <p><strong>"Do: "</strong>{*todo}</p>
            </section>
        }).collect_view()}
    }
}
