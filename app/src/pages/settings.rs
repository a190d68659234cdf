//! `/config/settings`: every config section but compliance as a form, a labelled field per
//! setting grouped by section, with the server's error beside a wrong field and the diff before
//! saving (the reason mandatory). Plain HTML forms posting to the `settings_form` server
//! function. Adding or removing keys (a gating override, an owner) is done in the JSON view.
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use crate::server_fns::{ConfigFormView, get_settings_form};

/// `/breakers/max_open_orders` -> `max open orders`.
fn label(pointer: &str) -> String {
    pointer.rsplit('/').next().unwrap_or(pointer).replace("~1", "/").replace("~0", "~").replace('_', " ")
}

/// The section a setting belongs to and the path inside it (`/gating/overrides/a` -> (`gating`, `overrides / a`)).
fn section(pointer: &str) -> (String, String) {
    let mut parts = pointer.trim_start_matches('/').splitn(2, '/');
    let s = parts.next().unwrap_or("").to_string();
    let rest = parts.next().unwrap_or("").replace('/', " / ").replace("~1", "/").replace("~0", "~");
    (s, rest)
}

#[component]
pub fn SettingsPage() -> impl IntoView {
    let query = use_query_map();
    let draft = move || query.with(|q| q.get("draft").and_then(|s| s.parse::<u64>().ok()));
    let saved = move || query.with(|q| q.get("saved"));
    let form = Resource::new(draft, get_settings_form);
    view! {
        <h1>"Settings"</h1>
        <p class="hint">"Gating, circuit breakers, security policies, owners and KPI targets, one field per setting (numbers, true / false, null for none; a list of owners as JSON). Keys and entries are added or removed in the "<a href="/config">"JSON view"</a>"; compliance limits have "<a href="/config/compliance">"their own form"</a>". Every save is a new config version with its reason; security settings need an admin."</p>
        {move || saved().map(|v| view! { <p class="badge ok" data-testid="settings-saved">{format!("Saved as version {v}.")}</p> })}
        <Suspense fallback=|| view! { <p class="empty">"Loading…"</p> }>
            {move || form.get().map(|r| match r {
                Err(e) => view! { <p class="error">{e.to_string()}</p> }.into_any(),
                Ok(v) => view! { <SettingsForm v/> }.into_any(),
            })}
        </Suspense>
    }
}

#[component]
fn SettingsForm(v: ConfigFormView) -> impl IntoView {
    let off = !v.may_change;
    // (section, [(pointer, path inside the section)]), in the fields' order.
    let mut sections: Vec<(String, Vec<(String, String)>)> = Vec::new();
    for pointer in v.fields.keys() {
        let (s, path) = section(pointer);
        let row = (pointer.clone(), path);
        match sections.last_mut() {
            Some((name, rows)) if *name == s => rows.push(row),
            _ => sections.push((s, vec![row])),
        }
    }
    let tables = sections
        .into_iter()
        .map(|(name, rows)| {
            let body = rows
                .into_iter()
                .map(|(pointer, path)| {
                    view! {
                        <tr>
                            <th title=label(&pointer)>{path}</th>
                            <td>{super::compliance_config::input(&v.fields, &v.errors, pointer, 24, off)}</td>
                        </tr>
                    }
                })
                .collect_view();
            view! {
                <section class="panel">
                    <h2>{name.clone()}</h2>
                    <table class="grid compact" data-testid=format!("settings-{name}")><tbody>{body}</tbody></table>
                </section>
            }
        })
        .collect_view();
    view! {
        {super::compliance_config::outcome(&v, "settings")}
        <form method="post" action="/api/settings_form" class="limits-form" data-testid="settings-form">
            <input type="hidden" name="base_version" value=v.version/>
            <h2>{format!("Version {}", v.version)}</h2>
            {tables}
            <section class="panel actions">
                <label>"Reason for this change (10 to 2,000 characters) "<input name="reason" value=v.reason.clone() size="60" data-testid="settings-reason" disabled=off/></label>
                {v.fresh_totp_required.then(|| view! { <label>"Two-factor code "<input name="totp" inputmode="numeric" autocomplete="one-time-code" size="8"/></label> })}
                <button type="submit" name="step" value="preview" data-testid="settings-check" disabled=off>"Check and show the changes"</button>
                <button type="submit" name="step" value="save" data-testid="settings-save" disabled=off>"Save new version"</button>
            </section>
        </form>
    }
}
