//! `/config/compliance`: the compliance limits as a form, a table per scope with labelled fields
//! and units. "Check" shows each field's error from the server, or the field-by-field diff the
//! change would make; "Save" records the new config version with its mandatory reason. Plain HTML
//! forms posting to the `compliance_form` server function: no script, no bundle cost.
use domain::config::compliance::Limits;
use domain::config::form::{FieldErrors, Fields, rows};
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use crate::server_fns::{ConfigFormView, get_compliance_form};

/// A limit's column heading.
fn heading(name: &str) -> String {
    let words = name.trim_start_matches("max_").replace('_', " ");
    format!("max {words} ({})", Limits::unit(name))
}

fn value(fields: &Fields, key: &str) -> String {
    fields.get(key).cloned().unwrap_or_default()
}

/// One text field of a config form (`fields[KEY]`), with its error under it.
pub(crate) fn input(fields: &Fields, errors: &FieldErrors, key: String, size: u32, disabled: bool) -> impl IntoView {
    let error = errors.get(&key).cloned();
    let class = if error.is_some() { "invalid" } else { "" };
    view! {
        <input name=format!("fields[{key}]") value=value(fields, &key) size=size class=class disabled=disabled data-field=key.clone()/>
        {error.map(|e| view! { <span class="field-error" data-error-for=key>{e}</span> })}
    }
}

fn checkbox(fields: &Fields, key: &str, label: &'static str, disabled: bool) -> impl IntoView {
    view! {
        <label><input type="checkbox" name=format!("fields[{key}]") checked=value(fields, key) == "on" disabled=disabled/>" "{label}</label>
    }
}

#[component]
pub fn ComplianceConfigPage() -> impl IntoView {
    let query = use_query_map();
    let draft = move || query.with(|q| q.get("draft").and_then(|s| s.parse::<u64>().ok()));
    let saved = move || query.with(|q| q.get("saved"));
    let form = Resource::new(draft, get_compliance_form);
    view! {
        <h1>"Compliance limits"</h1>
        <p class="hint">"The config section compliance as a form: limits per instrument, per automation and for the portfolio, the restricted list, thresholds, wash trades and process rules. Leave a limit empty for none. Market hours' sessions, per-limit thresholds and the LLM review lists are edited in the "<a href="/config">"JSON view"</a>". Every save is a new config version in the audit trail, with its reason."</p>
        {move || saved().map(|v| view! { <p class="badge ok" data-testid="limits-saved">{format!("Saved as version {v}.")}</p> })}
        <Suspense fallback=|| view! { <p class="empty">"Loading…"</p> }>
            {move || form.get().map(|r| match r {
                Err(e) => view! { <p class="error">{e.to_string()}</p> }.into_any(),
                Ok(v) => view! { <LimitsForm v/> }.into_any(),
            })}
        </Suspense>
    }
}

/// What a config form's last post found: how many fields to correct (and an error of the form as
/// a whole), or the field-by-field diff saving would make. Test ids `{prefix}-errors` / `{prefix}-diff`.
pub(crate) fn outcome(v: &ConfigFormView, prefix: &str) -> impl IntoView {
    let count = v.errors.len();
    let general = v.errors.get("_").cloned();
    let errors = (count > 0).then(|| view! {
        <p class="error" data-testid=format!("{prefix}-errors")>{format!("{count} field(s) to correct; nothing was saved.")}{general.map(|g| format!(" {g}"))}</p>
    });
    let diff = v.diff.clone().map(|changes| {
        if changes.is_empty() {
            view! { <p class="hint" data-testid=format!("{prefix}-diff")>"Nothing would change."</p> }.into_any()
        } else {
            view! {
                <section class="panel" data-testid=format!("{prefix}-diff")>
                    <h2>"What saving changes"</h2>
                    <ul class="diff">{changes.into_iter().map(|c| view! {
                        <li><code>{c.path}</code>": "<del>{c.before.unwrap_or("—".into())}</del>" → "<ins>{c.after.unwrap_or("—".into())}</ins></li>
                    }).collect_view()}</ul>
                </section>
            }
            .into_any()
        }
    });
    view! { {errors}{diff} }
}

#[component]
fn LimitsForm(v: ConfigFormView) -> impl IntoView {
    let (f, e) = (&v.fields, &v.errors);
    let off = !v.may_change;
    let scope_table = |table: &'static str, label: &'static str| {
        let heads = Limits::NAMES.iter().map(|n| view! { <th>{heading(n)}</th> }).collect_view();
        let body = rows(f, table)
            .into_iter()
            .map(|n| {
                let cells = Limits::NAMES.iter().map(|name| view! { <td>{input(f, e, format!("{table}.{n}.{name}"), 9, off)}</td> }).collect_view();
                view! { <tr><td>{input(f, e, format!("{table}.{n}.id"), 16, off)}</td>{cells}</tr> }
            })
            .collect_view();
        view! {
            <section class="panel">
                <h2>{label}</h2>
                <table class="grid compact form-table" data-testid=format!("limits-{table}")>
                    <thead><tr><th>{if table == "instruments" { "Instrument" } else { "Automation" }}</th>{heads}</tr></thead>
                    <tbody>{body}</tbody>
                </table>
                <p class="hint">"A blank row adds one; clearing a row's name and limits removes it."</p>
            </section>
        }
    };
    let portfolio = Limits::NAMES
        .iter()
        .map(|name| view! { <tr><th>{heading(name)}</th><td>{input(f, e, format!("portfolio.{name}"), 14, off)}</td></tr> })
        .collect_view();
    let prohibited = rows(f, "prohibited")
        .into_iter()
        .map(|n| {
            view! { <tr>
                <td>{input(f, e, format!("prohibited.{n}.id"), 12, off)}</td>
                <td>{input(f, e, format!("prohibited.{n}.reason"), 50, off)}</td>
                <td>{input(f, e, format!("prohibited.{n}.since"), 11, off)}</td>
            </tr> }
        })
        .collect_view();
    view! {
        {outcome(&v, "limits")}
        <form method="post" action="/api/compliance_form" class="limits-form" data-testid="limits-form">
            <input type="hidden" name="base_version" value=v.version/>
            <section class="panel">
                <h2>{format!("Version {}: general", v.version)}</h2>
                <p>{checkbox(f, "enabled", "Compliance rules on", off)}" "{checkbox(f, "market_hours.enabled", "Market hours checked", off)}</p>
                <p>"Levels, % of each limit: warning (pre-breach) "{input(f, e, "thresholds.warning_pct".into(), 5, off)}
                   " alert "{input(f, e, "thresholds.alert_pct".into(), 5, off)}" breach "{input(f, e, "thresholds.breach_pct".into(), 5, off)}</p>
            </section>
            <section class="panel">
                <h2>"Portfolio"</h2>
                <table class="grid compact" data-testid="limits-portfolio"><tbody>{portfolio}</tbody></table>
            </section>
            {scope_table("instruments", "Per instrument")}
            {scope_table("automations", "Per automation (its own positions and orders)")}
            <section class="panel">
                <h2>"Restricted list"</h2>
                <table class="grid compact" data-testid="limits-prohibited">
                    <thead><tr><th>"Instrument"</th><th>"Reason"</th><th>"Since (YYYY-MM-DD)"</th></tr></thead>
                    <tbody>{prohibited}</tbody>
                </table>
            </section>
            <section class="panel">
                <h2>"Wash trades and process rules"</h2>
                <p>{checkbox(f, "wash_trades.enabled", "Wash trades checked", off)}
                   " window (s) "{input(f, e, "wash_trades.window_secs".into(), 6, off)}
                   " price distance (bps) "{input(f, e, "wash_trades.price_bps".into(), 6, off)}</p>
                <p>{checkbox(f, "process.flag_risk_overrides", "Flag orders over a risk rejection", off)}" "
                   {checkbox(f, "process.require_risk_check", "Flag orders without a risk check", off)}</p>
            </section>
            <section class="panel actions">
                <label>"Reason for this change (10 to 2,000 characters) "<input name="reason" value=v.reason.clone() size="60" data-testid="limits-reason" disabled=off/></label>
                {v.fresh_totp_required.then(|| view! { <label>"Two-factor code "<input name="totp" inputmode="numeric" autocomplete="one-time-code" size="8"/></label> })}
                <button type="submit" name="step" value="preview" data-testid="limits-check" disabled=off>"Check and show the changes"</button>
                <button type="submit" name="step" value="save" data-testid="limits-save" disabled=off>"Save new version"</button>
            </section>
        </form>
    }
}
