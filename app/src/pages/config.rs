//! The versioned configuration: edit with a mandatory reason, history with diffs, roll back.
use domain::governance::Permission;
use leptos::prelude::*;

use super::time;
use crate::components::governance::{StepUpField, can, reason_error, take_code};
use crate::server_fns::{ConfigText, RollbackConfig, SaveConfigJson, get_config_history, get_config_text};

/// The editor sends the JSON text as typed; the server parses and checks it (the bundle carries
/// no config schema), and answers with the field that is wrong.
#[island]
pub fn ConfigPage() -> impl IntoView {
    crate::components::island_ready();
    let save = ServerAction::<SaveConfigJson>::new();
    let rollback = ServerAction::<RollbackConfig>::new();
    let current = Resource::new(move || (save.version().get(), rollback.version().get()), |_| get_config_text());
    let history = Resource::new(move || (save.version().get(), rollback.version().get()), |_| get_config_history());
    let may_change = can(Permission::ChangeConfig);
    let text = RwSignal::new(String::new());
    let reason = RwSignal::new(String::new());
    let local_error = RwSignal::new(None::<String>);
    let totp = RwSignal::new(String::new());
    let step_up = RwSignal::new(false);
    view! {
        <h1>"Configuration"</h1>
        <p class="hint">"Risk limits, gating thresholds, circuit breakers and policies. Every change is an event in the audit chain with its author and a mandatory reason; the history below shows each version's field-by-field diff. Forms: "<a href="/config/compliance" data-testid="limits-form-link">"compliance limits"</a>", "<a href="/config/settings" data-testid="settings-form-link">"every other setting"</a>"."</p>
        <Transition fallback=|| view! { <p class="empty">"Loading…"</p> }>
            {move || current.get().map(|r| match r {
                Err(e) => view! { <p class="error">{e.to_string()}</p> }.into_any(),
                Ok(ConfigText { version, json: pretty, fresh_totp_required }) => {
                    text.set(pretty.clone());
                    step_up.set(fresh_totp_required);
                    view! {
                        <section class="panel">
                            <h2 data-testid="config-version">{format!("Version {version}")}</h2>
                            <textarea data-testid="config-json" rows="24" cols="70" prop:value=pretty on:input=move |ev| text.set(event_target_value(&ev)) disabled=move || !may_change()></textarea>
                            <div class="actions">
                                <input data-testid="config-reason" placeholder="reason for this change (10 to 2,000 characters)" prop:value=move || reason.get() on:input=move |ev| reason.set(event_target_value(&ev))/>
                                <StepUpField required=fresh_totp_required code=totp/>
                                <button data-testid="config-save" disabled=move || !may_change() || save.pending().get() on:click=move |_| {
                                    let r = reason.get_untracked();
                                    local_error.set(reason_error(&r));
                                    if local_error.get_untracked().is_none() {
                                        save.dispatch(SaveConfigJson { base_version: version, config_json: text.get_untracked(), reason: r, totp: take_code(totp) });
                                    }
                                }>"Save new version"</button>
                            </div>
                            {move || local_error.get().map(|e| view! { <p class="error" data-testid="config-error">{e}</p> })}
                            {move || save.value().get().map(|r| match r {
                                Ok(v) => view! { <p class="badge ok" data-testid="config-saved">{format!("saved as version {v}")}</p> }.into_any(),
                                Err(e) => view! { <p class="error" data-testid="config-error">{e.to_string()}</p> }.into_any(),
                            })}
                        </section>
                    }.into_any()
                }
            })}
        </Transition>
        <h2>"History"</h2>
        <Show when=move || step_up.get()><p class="hint">"Roll back uses the two-factor code typed above."</p></Show>
        <Transition fallback=|| view! { <p class="empty">"Loading…"</p> }>
            {move || history.get().map(|r| match r {
                Err(e) => view! { <p class="error">{e.to_string()}</p> }.into_any(),
                Ok(versions) if versions.is_empty() => view! { <p class="empty">"No changes yet: the built-in defaults apply (version 0)."</p> }.into_any(),
                Ok(versions) => view! {
                    <table class="grid" data-testid="config-history">
                        <thead><tr><th>"Version"</th><th>"When (UTC)"</th><th>"Who"</th><th>"Reason"</th><th>"Changes"</th><th></th></tr></thead>
                        <tbody>
                        {versions.into_iter().map(|v| {
                            let rb_reason = RwSignal::new(String::new());
                            let to = v.version;
                            view! {
                                <tr data-testid="config-row">
                                    <td><a href=format!("/audit/{}", v.seq)>{v.version}</a></td>
                                    <td>{time(v.ts)}</td>
                                    <td>{v.actor.clone()}</td>
                                    <td>{v.reason.clone()}</td>
                                    <td><ul class="diff">{v.changes.iter().map(|c| view! {
                                        <li><code>{c.path.clone()}</code>": "<del>{c.before.clone().unwrap_or("—".into())}</del>" → "<ins>{c.after.clone().unwrap_or("—".into())}</ins></li>
                                    }).collect_view()}</ul></td>
                                    <td>
                                        <input placeholder="reason to roll back" prop:value=move || rb_reason.get() on:input=move |ev| rb_reason.set(event_target_value(&ev))/>
                                        <button disabled=move || !may_change() on:click=move |_| {
                                            let r = rb_reason.get_untracked();
                                            local_error.set(reason_error(&r));
                                            if local_error.get_untracked().is_none() {
                                                rollback.dispatch(RollbackConfig { to_version: to, reason: r, totp: take_code(totp) });
                                            }
                                        }>"Roll back to this"</button>
                                    </td>
                                </tr>
                            }
                        }).collect_view()}
                        </tbody>
                    </table>
                }.into_any(),
            })}
        </Transition>
        {move || rollback.value().get().and_then(Result::err).map(|e| view! { <p class="error">{e.to_string()}</p> })}
    }
}
