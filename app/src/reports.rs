//! The compliance reports as self-contained HTML documents (inline CSS, no scripts), rendered on
//! the server from `domain::compliance::report`: the same numbers the desk and the API show.
use chrono::NaiveDate;
use leptos::prelude::*;

/// A report as a self-contained HTML document (inline CSS, no scripts).
fn document(title: &str, body: String) -> String {
    const CSS: &str = "body{font:14px/1.45 system-ui,sans-serif;margin:24px;color:#111827}h1{font-size:22px}h2{font-size:17px;margin-top:22px}\
table{border-collapse:collapse;width:100%;font-size:13px}th,td{border-bottom:1px solid #e5e7eb;padding:4px 8px;text-align:left}\
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}.hint{color:#6b7280}.flagged{color:#991b1b;font-weight:600}";
    let title = title.replace('&', "&amp;").replace('<', "&lt;");
    format!("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title}</title><style>{CSS}</style></head><body>{body}</body></html>")
}

fn minutes(x: Option<f64>) -> String {
    x.map(|m| format!("{m:.1} min")).unwrap_or_else(|| "—".into())
}

/// The monthly compliance report (HTML).
pub fn monthly_html(r: &domain::compliance::report::MonthlyReport) -> String {
    let r = r.clone();
    let title = format!("Tradewatch compliance report {}", r.month);
    let heading = title.clone();
    let body = crate::render::render_fragment(move || {
        let rows = r.by_rule.iter().map(|x| view! {
            <tr><td>{x.rule.clone()}</td><td>{x.severity.clone()}</td><td class="num">{x.opened}</td><td class="num">{x.resolved}</td>
                <td class="num">{x.waived}</td><td class="num">{x.cleared}</td><td class="num">{x.active}</td></tr>
        }).collect_view();
        let peaks = r.peaks.iter().map(|p| view! {
            <tr><td>{p.rule.clone()}</td><td>{scope_words(&p.scope, &p.scope_id)}</td><td class="num">{format!("{:.1}%", p.peak_utilisation * 100.0)}</td><td>{if p.breached { "yes" } else { "no" }}</td></tr>
        }).collect_view();
        view! {
            <h1>{heading}</h1>
            <p class="hint">"Issues opened in the month (console clock, UTC), as they stand now. Times to acknowledge and to resolve are from opening to the first acknowledgement and to the resolution or confirmed waiver (p50 and p95, numpy percentile). Source: the compliance_issue and compliance_review events of the audit trail."</p>
            <table data-testid="monthly-summary"><tbody>
                <tr><th>"Issues opened"</th><td class="num" data-testid="monthly-opened">{r.opened}</td></tr>
                <tr><th>"Breaches (a limit at 100% or more, or a critical finding)"</th><td class="num" data-testid="monthly-breaches">{r.breaches}</td></tr>
                <tr><th>"Time to acknowledge, p50 / p95"</th><td class="num">{format!("{} / {}", minutes(r.acknowledge_p50_min), minutes(r.acknowledge_p95_min))}</td></tr>
                <tr><th>"Time to resolve, p50 / p95"</th><td class="num">{format!("{} / {}", minutes(r.resolve_p50_min), minutes(r.resolve_p95_min))}</td></tr>
            </tbody></table>
            <h2>"By rule and severity"</h2>
            <table><thead><tr><th>"Rule"</th><th>"Severity"</th><th class="num">"Opened"</th><th class="num">"Resolved"</th><th class="num">"Waived"</th><th class="num">"Cleared"</th><th class="num">"Still open"</th></tr></thead>
                <tbody>{rows}</tbody></table>
            <h2>"Peak utilisation of each limit with an issue"</h2>
            <table><thead><tr><th>"Limit"</th><th>"Scope"</th><th class="num">"Peak"</th><th>"Breached"</th></tr></thead><tbody>{peaks}</tbody></table>
        }
    });
    document(&title, body)
}

fn scope_words(scope: &str, id: &Option<String>) -> String {
    match id {
        Some(id) => format!("{scope} {id}"),
        None => scope.to_string(),
    }
}

/// The daily trade report (HTML): every order of the day with its fills and compliance status.
pub fn trade_day_html(day: NaiveDate, rows: &[domain::compliance::report::TradeRow]) -> String {
    let rows = rows.to_vec();
    let title = format!("Tradewatch trade report {day}");
    let heading = title.clone();
    let body = crate::render::render_fragment(move || {
        let flagged = rows.iter().filter(|r| !r.issues.is_empty()).count();
        let count = rows.len();
        let lines = rows.into_iter().map(|r| {
            let class = if r.issues.is_empty() { "" } else { "flagged" };
            view! {
                <tr>
                    <td class="num">{r.seq}</td><td>{domain::format::timestamp(r.ts)}</td><td>{r.order_id}</td><td>{r.instrument}</td><td>{r.side}</td>
                    <td class="num">{domain::format::decimal(r.quantity, 8)}</td><td>{r.order_type}</td><td>{r.status}</td>
                    <td class="num">{r.fills}</td><td class="num">{domain::format::decimal(r.filled_quantity, 8)}</td>
                    <td class="num">{r.avg_fill_price.map(|p| domain::format::decimal(p, 8)).unwrap_or_else(|| "—".into())}</td>
                    <td class="num">{domain::format::decimal(r.fees, 8)}</td>
                    <td class=class>{r.compliance}</td><td>{r.rules}</td>
                </tr>
            }
        }).collect_view();
        view! {
            <h1>{heading}</h1>
            <p class="hint">{format!("{count} orders stamped on this day (source time, UTC), {flagged} flagged by a compliance rule. Fills are those of the same day.")}</p>
            <table><thead><tr><th class="num">"Seq"</th><th>"Time"</th><th>"Order"</th><th>"Instrument"</th><th>"Side"</th><th class="num">"Quantity"</th><th>"Type"</th><th>"Status"</th>
                <th class="num">"Fills"</th><th class="num">"Filled"</th><th class="num">"Avg price"</th><th class="num">"Fees"</th><th>"Compliance"</th><th>"Rules"</th></tr></thead>
                <tbody>{lines}</tbody></table>
        }
    });
    document(&title, body)
}

