//! The compliance desk: issues needing a person and the limits' utilisation (server HTML that
//! the live stream pushes again as the log grows), the filtered issue archive, and one issue
//! with its evidence, history and workflow buttons. The buttons are plain HTML forms posting
//! to the `review_compliance_issue` server function: the page ships no script of its own.
use chrono::{NaiveDate, NaiveTime};
use domain::compliance::{Issue, IssuePage, IssueQuery, IssueState, Level, LimitRow};
use domain::event::{Scope, Severity};
use leptos::prelude::*;
use leptos_router::components::{A, Form};
use leptos_router::hooks::{use_params_map, use_query_map};

use super::time;
use crate::server_fns::{ComplianceDesk, IssueDetail, get_compliance, get_compliance_issue};

/// Issues per page of the archive.
const PAGE: usize = 50;
/// Active issues the live panel lists.
pub const LIVE_ISSUES: usize = 20;

fn non_empty(s: Option<String>) -> Option<String> {
    s.map(|s| s.trim().to_string()).filter(|s| !s.is_empty())
}

use crate::components::severity_class;

fn state_class(s: IssueState) -> &'static str {
    match s {
        IssueState::Open | IssueState::WaiverPending => "badge bad",
        IssueState::Acknowledged => "badge warn",
        _ => "badge ok",
    }
}

fn scope_text(scope: Scope, id: &Option<String>) -> String {
    match id {
        Some(id) => format!("{} {id}", scope.as_str()),
        None => scope.as_str().to_string(),
    }
}

fn pct(x: Option<f64>) -> String {
    x.map(|u| format!("{:.1}%", u * 100.0)).unwrap_or_else(|| "—".into())
}

/// The live part: counts of issues needing a person, the limits table and the newest active
/// issues. Rendered by the page and pushed by `/live/dashboard?fragment=compliance`.
#[component]
pub fn DeskLive(live: IssuePage, limits: Vec<LimitRow>) -> impl IntoView {
    let [_, warning, critical] = live.active_by_severity;
    let by_rule = live.active_by_rule.iter().map(|(r, n)| view! { <span class="chip">{format!("{r}: {n}")}</span>" " }).collect_view();
    let limit_rows = if limits.is_empty() {
        view! { <tr><td colspan="7" class="empty">"No limits are configured (config section compliance)."</td></tr> }.into_any()
    } else {
        limits.into_iter().map(|l| view! { <LimitLine l/> }).collect_view().into_any()
    };
    view! {
        <section class="kpis" data-testid="compliance-counts">
            <div class="kpi" title="Open, acknowledged or waiting for a second waiver"><div class="kpi-label">"Critical, needing a person"</div><div class="kpi-value neg" data-testid="count-critical">{critical}</div></div>
            <div class="kpi" title="Pre-breach warnings and alerts, open or acknowledged"><div class="kpi-label">"Warning, needing a person"</div><div class="kpi-value" data-testid="count-warning">{warning}</div></div>
            <div class="kpi" title="Every issue you may see, whatever its state"><div class="kpi-label">"Issues in total"</div><div class="kpi-value">{live.total}</div></div>
        </section>
        <p class="hint">{by_rule}</p>
        <section class="panel">
            <h2>"Limit utilisation"</h2>
            <p class="hint">"Every configured limit against the book now. The bar turns amber at the warning level (80% unless configured), orange at the alert level (90%) and red at the limit."</p>
            <table class="grid compact" data-testid="limits">
                <thead><tr><th>"Scope"</th><th>"Limit"</th><th class="num">"Value"</th><th class="num">"Limit"</th><th>"Used"</th><th>"Level"</th><th>"Issue"</th></tr></thead>
                <tbody>{limit_rows}</tbody>
            </table>
        </section>
        <section class="panel">
            <h2>"Needing a person (newest first)"</h2>
            <IssueTable rows=live.issues testid="active-issues"/>
        </section>
    }
}

#[component]
fn LimitLine(l: LimitRow) -> impl IntoView {
    let level = match l.level {
        Some(Level::Breach) => "breach",
        Some(Level::Alert) => "alert",
        Some(Level::Warning) => "warning",
        None => "ok",
    };
    let width = l.utilisation_pct.clamp(0.0, 100.0);
    let number = |x: f64| if x.abs() >= 1000.0 { domain::format::money(rust_decimal::Decimal::try_from(x.round()).unwrap_or_default()).trim_end_matches(".00").to_string() } else { format!("{x:.4}").trim_end_matches('0').trim_end_matches('.').to_string() };
    view! {
        <tr data-testid="limit-row" data-level=level>
            <td>{scope_text(l.scope, &l.scope_id)}</td>
            <td>{l.limit_name.clone()}" "<span class="hint">{format!("({})", l.unit)}</span></td>
            <td class="num">{number(l.value)}</td>
            <td class="num">{number(l.limit)}</td>
            <td class="util">
                <div class=format!("bar {level}") title=format!("warning {}%, alert {}%, breach {}%", l.thresholds.warning_pct, l.thresholds.alert_pct, l.thresholds.breach_pct)>
                    <span style=format!("width:{width:.1}%")></span>
                </div>
                <span class="num">{format!("{:.1}%", l.utilisation_pct)}</span>
            </td>
            <td>{level}</td>
            <td>{l.issue_id.map(|id| view! { <a href=format!("/compliance/{id}")>{format!("#{id}")}</a> })}</td>
        </tr>
    }
}

#[component]
fn IssueTable(rows: Vec<Issue>, testid: &'static str) -> impl IntoView {
    let body = if rows.is_empty() {
        view! { <tr><td colspan="8" class="empty">"No issues."</td></tr> }.into_any()
    } else {
        rows.into_iter()
            .map(|i| {
                view! {
                    <tr data-testid="issue-row" data-issue=i.id data-state=i.state.as_str()>
                        <td><a href=format!("/compliance/{}", i.id)>{format!("#{}", i.id)}</a></td>
                        <td>{time(i.opened_at)}</td>
                        <td><span class=severity_class(i.severity)>{i.severity.as_str()}</span></td>
                        <td>{i.rule.clone()}</td>
                        <td>{scope_text(i.scope, &i.scope_id)}</td>
                        <td class="num">{pct(i.peak_utilisation.or(i.utilisation))}</td>
                        <td><span class=state_class(i.state)>{i.state.as_str()}</span>{i.episode_open.then_some(" (ongoing)")}</td>
                        <td class="detail-text">{i.detail.clone()}</td>
                    </tr>
                }
            })
            .collect_view()
            .into_any()
    };
    view! {
        <table class="grid compact" data-testid=testid>
            <thead><tr><th>"Issue"</th><th>"Opened (UTC)"</th><th>"Severity"</th><th>"Rule"</th><th>"Scope"</th><th class="num">"Peak used"</th><th>"State"</th><th>"Detail"</th></tr></thead>
            <tbody>{body}</tbody>
        </table>
    }
}

/// The HTML the live stream pushes for the desk (the inside of `#live-fragment`).
#[cfg(feature = "ssr")]
pub fn live_html(live: IssuePage, limits: Vec<LimitRow>) -> String {
    super::render_fragment(move || view! { <DeskLive live limits/> })
}

/// The query of the desk's live panel: active issues, newest first.
pub fn live_query() -> IssueQuery {
    IssueQuery { active: true, limit: Some(LIVE_ISSUES), ..Default::default() }
}

#[component]
pub fn CompliancePage() -> impl IntoView {
    let query = use_query_map();
    let param = move |name: &str| query.with(|q| non_empty(q.get(name)));
    let filter = Memo::new(move |_| {
        let date = |name: &str| param(name).and_then(|s| NaiveDate::parse_from_str(&s, "%Y-%m-%d").ok());
        IssueQuery {
            state: param("state").and_then(|s| IssueState::parse(&s)),
            rule: param("rule"),
            severity: param("severity").and_then(|s| Severity::parse(&s)),
            instrument: param("instrument"),
            automation: param("automation"),
            from: date("from").map(|d| d.and_time(NaiveTime::MIN).and_utc()),
            to: date("to").and_then(|d| d.succ_opt()).map(|d| d.and_time(NaiveTime::MIN).and_utc()),
            limit: Some(PAGE),
            after: param("after").and_then(|s| s.parse().ok()),
            active_first: true,
            active: false,
        }
    });
    let desk = Resource::new(move || filter.get(), get_compliance);
    let live = Resource::new(|| (), |_| get_compliance(live_query()));
    let next_href = move |after: u64| {
        let mut parts = vec![format!("after={after}")];
        for name in ["state", "rule", "severity", "instrument", "automation", "from", "to"] {
            if let Some(v) = param(name) {
                parts.push(format!("{name}={}", v.replace(|c: char| !c.is_ascii_alphanumeric() && c != '-' && c != '_' && c != '.', "")));
            }
        }
        format!("/compliance?{}", parts.join("&"))
    };
    let select = move |name: &'static str, options: Vec<&'static str>| crate::components::filter_select(name, options, param(name));
    view! {
        <h1>"Compliance"</h1>
        <p class="hint">"Every order, fill and mark is checked against the compliance policy (config section compliance): limits per instrument, automation and portfolio, prohibited instruments, market hours, wash trades and process rules. Each finding is an issue in the audit trail; a person acknowledges it, then resolves or waives it. API: GET /api/v1/compliance/issues, /issues/{id}, /limits."</p>
        <div id="live-fragment" data-live="compliance">
            <Transition fallback=|| view! { <p class="empty">"Loading…"</p> }>
                {move || live.get().map(|r| match r {
                    Err(e) => view! { <p class="error">{e.to_string()}</p> }.into_any(),
                    Ok(ComplianceDesk { page, limits, .. }) => view! { <DeskLive live=page limits/> }.into_any(),
                })}
            </Transition>
        </div>
        <Transition fallback=|| ()>
            {move || live.get().and_then(Result::ok).filter(|d| d.reports).map(|_| view! { <ReportDownloads/> })}
        </Transition>
        <section class="panel">
            <h2>"All issues"</h2>
            <Form action="/compliance" attr:class="filters">
                <label>"State "{select("state", IssueState::ALL.iter().map(|s| s.as_str()).collect())}</label>
                <label>"Severity "{select("severity", Severity::NAMES.to_vec())}</label>
                <label>"Rule "<input name="rule" placeholder="e.g. max_position_notional" value=param("rule").unwrap_or_default()/></label>
                <label>"Instrument "<input name="instrument" placeholder="e.g. AAPL" value=param("instrument").unwrap_or_default()/></label>
                <label>"Automation "<input name="automation" value=param("automation").unwrap_or_default()/></label>
                <label>"From "<input type="date" name="from" value=param("from").unwrap_or_default()/></label>
                <label>"To "<input type="date" name="to" value=param("to").unwrap_or_default()/></label>
                <button type="submit" data-testid="filter">"Filter"</button>
                <A href="/compliance">"Clear"</A>
            </Form>
            <Transition fallback=|| view! { <p class="empty">"Loading issues…"</p> }>
                {move || desk.get().map(|r| match r {
                    Err(e) => view! { <p class="error">{e.to_string()}</p> }.into_any(),
                    Ok(d) => {
                        let next = d.page.next_after;
                        view! {
                            <p class="hint">{format!("{} of {} issues match; those needing a person first, then newest first.", d.page.matched, d.page.total)}</p>
                            <IssueTable rows=d.page.issues testid="issues"/>
                            {next.map(|n| view! { <p><A href=next_href(n)>"More issues →"</A></p> })}
                        }
                        .into_any()
                    }
                })}
            </Transition>
        </section>
    }
}

#[component]
pub fn IssuePage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let id = move || params.with(|p| p.get("id").and_then(|s| s.parse::<u64>().ok()).unwrap_or(0));
    let detail = Resource::new(id, get_compliance_issue);
    let done = move || query.with(|q| q.get("done"));
    let error = move || query.with(|q| q.get("error"));
    view! {
        <h1>"Compliance issue #"{id}</h1>
        <p><a href="/compliance">"← all issues"</a></p>
        {move || done().map(|d| view! { <p class="badge ok" data-testid="review-done">{format!("Recorded: {d}.")}</p> })}
        {move || error().map(|e| view! { <p class="error" data-testid="review-error">{e}</p> })}
        <Suspense fallback=|| view! { <p class="empty">"Loading…"</p> }>
            {move || detail.get().map(|r| match r {
                Err(e) => view! { <p class="error" data-testid="issue-error">{format!("Issue {}: {e}", id())}</p> }.into_any(),
                Ok(d) => view! { <IssueBody d/> }.into_any(),
            })}
        </Suspense>
    }
}

#[component]
fn IssueBody(d: IssueDetail) -> impl IntoView {
    let i = d.issue;
    let evidence = i.evidence.iter().map(|s| view! { <a href=format!("/audit/{s}")>{format!("seq {s}")}</a>" " }).collect_view();
    let history = i
        .history
        .iter()
        .map(|h| {
            view! {
                <tr data-testid="history-row">
                    <td><a href=format!("/audit/{}", h.seq)>{h.seq}</a></td>
                    <td>{time(h.ts)}</td>
                    <td>{h.action.clone()}</td>
                    <td>{h.actor.clone()}</td>
                    <td class="num">{pct(h.utilisation)}</td>
                    <td class="detail-text">{h.note.clone().unwrap_or_default()}</td>
                </tr>
            }
        })
        .collect_view();
    let forms = d.actions.iter().map(|a| view! { <ReviewForm id=i.id action=a.clone() totp=d.fresh_totp_required/> }).collect_view();
    let numbers = i.limit.map(|l| format!("value {} against the limit {} ({} when opened, peak {})", i.value.map(|v| format!("{v}")).unwrap_or_default(), l, pct(i.utilisation), pct(i.peak_utilisation)));
    view! {
        <table class="detail" data-testid="issue-detail">
            <tbody>
                <tr><th>"State"</th><td><span class=state_class(i.state) data-testid="issue-state">{i.state.as_str()}</span></td></tr>
                <tr><th>"Severity"</th><td><span class=severity_class(i.severity)>{i.severity.as_str()}</span>{i.level.map(|l| format!(" (level reached: {})", l.as_str()))}</td></tr>
                <tr><th>"Rule"</th><td>{i.rule.clone()}</td></tr>
                <tr><th>"Scope"</th><td>{scope_text(i.scope, &i.scope_id)}</td></tr>
                <tr><th>"Finding"</th><td>{i.detail.clone()}</td></tr>
                {numbers.map(|n| view! { <tr><th>"Utilisation"</th><td>{n}</td></tr> })}
                <tr><th>"Opened (UTC)"</th><td>{time(i.opened_at)}</td></tr>
                <tr><th>"Episode"</th><td>{if i.episode_open { "ongoing: the value is still above the warning level".to_string() } else { i.episode_ended_at.map(|t| format!("ended {}", time(t))).unwrap_or_else(|| "one-off finding".into()) }}</td></tr>
                <tr><th>"Evidence (audit trail)"</th><td data-testid="evidence">{evidence}</td></tr>
                {i.order_id.clone().map(|o| view! { <tr><th>"Order"</th><td>{o}</td></tr> })}
                {i.signal_id.clone().map(|s| view! { <tr><th>"Trade lineage"</th><td><a href=format!("/trades/{s}")>{format!("lineage of {s}")}</a></td></tr> })}
                {i.automation_id.clone().map(|a| view! { <tr><th>"Automation"</th><td>{a}</td></tr> })}
                {i.acknowledged_by.clone().map(|a| view! { <tr><th>"Acknowledged"</th><td>{format!("by {a} at {}", i.acknowledged_at.map(time).unwrap_or_default())}</td></tr> })}
                {i.waiver_by.clone().map(|a| view! { <tr><th>"Waiver"</th><td>{format!("asked by {a}; a second risk officer confirms a critical issue's waiver")}</td></tr> })}
            </tbody>
        </table>
        <section class="panel">
            <h2>"History"</h2>
            <table class="grid compact" data-testid="issue-history">
                <thead><tr><th>"Seq"</th><th>"Time"</th><th>"Step"</th><th>"By"</th><th class="num">"Used"</th><th>"Note"</th></tr></thead>
                <tbody>{history}</tbody>
            </table>
        </section>
        <section class="panel review" data-testid="review">
            <h2>"Workflow"</h2>
            {if d.actions.is_empty() { Some(view! { <p class="hint" data-testid="no-actions">"Nothing for you to do here: your role or the issue's state allows no step."</p> }) } else { None }}
            {forms}
        </section>
    }
}

/// One workflow step as a plain form (no script): the server function answers with a redirect
/// back here, `?done=` or `?error=`.
#[component]
fn ReviewForm(id: u64, action: String, totp: bool) -> impl IntoView {
    let (label, note_label, needs_note) = match action.as_str() {
        "acknowledge" => ("Acknowledge", "Note (optional)", false),
        "resolve" => ("Resolve", "Resolution (10+ characters, required)", true),
        "waive" => ("Waive", "Reason for the waiver (10+ characters, required)", true),
        _ => ("Confirm waiver", "Note (optional)", false),
    };
    view! {
        <form method="post" action="/api/review_compliance_issue" class="review-form" data-testid=format!("form-{action}")>
            <input type="hidden" name="id" value=id/>
            <input type="hidden" name="action" value=action.clone()/>
            <label>{note_label}" "<input name="note" data-testid=format!("note-{action}") required=needs_note minlength=if needs_note { "10" } else { "0" } size="60"/></label>
            {totp.then(|| view! { <label>"Two-factor code "<input name="totp" inputmode="numeric" autocomplete="one-time-code" size="8"/></label> })}
            <button type="submit" data-testid=format!("do-{action}")>{label}</button>
        </form>
    }
}

/// The report downloads: plain forms posting to the `compliance_report` server function, which
/// answers with the file.
#[component]
fn ReportDownloads() -> impl IntoView {
    let month = chrono::Utc::now().format("%Y-%m").to_string();
    view! {
        <section class="panel" data-testid="reports">
            <h2>"Reports"</h2>
            <form method="post" action="/api/compliance_report" class="review-form">
                <input type="hidden" name="kind" value="monthly"/><input type="hidden" name="format" value="html"/>
                <label>"Monthly compliance report, month "<input name="period" value=month size="8" data-testid="report-month"/></label>
                <button type="submit" data-testid="download-monthly">"Download (HTML)"</button>
            </form>
            <form method="post" action="/api/compliance_report" class="review-form">
                <input type="hidden" name="kind" value="daily"/>
                <label>"Daily trade report, day (UTC, source time) "<input type="date" name="period" required=true data-testid="report-day"/></label>
                <button type="submit" name="format" value="csv" data-testid="download-daily-csv">"Download CSV"</button>
                <button type="submit" name="format" value="html" data-testid="download-daily-html">"Download HTML"</button>
            </form>
            <p class="hint">"Risk, admins and auditors. The monthly report counts the issues opened in the month by rule and severity, times to acknowledge and resolve, breaches and each limit's peak; the daily trade report lists every order of a day with its fills and compliance status."</p>
        </section>
    }
}
