//! Breaker state, pauses and the emergency stop (shown on the dashboard).
use domain::governance::Permission;
use leptos::prelude::*;

use super::time;
use crate::components::governance::{StepUpField, can, governance_resource, only_roles_may, reason_error, take_code};
use crate::server_fns::SetPaused;

/// Breaker state, pauses and the emergency stop (on the dashboard).
#[component]
pub fn Controls() -> impl IntoView {
    let act = ServerAction::<SetPaused>::new();
    let gov = governance_resource(move || act.version().get());
    let reason = RwSignal::new(String::new());
    let local_error = RwSignal::new(None::<String>);
    let may_global = can(Permission::PauseGlobal);
    let may_one = can(Permission::PauseAutomation);
    let why_not_global = only_roles_may(Permission::PauseGlobal, "pause or resume all trading");
    let why_not_one = only_roles_may(Permission::PauseAutomation, "pause or resume an automation");
    let totp = RwSignal::new(String::new());
    let send = move |automation: Option<String>, pause: bool| {
        let r = reason.get_untracked();
        local_error.set(reason_error(&r));
        if local_error.get_untracked().is_none() {
            act.dispatch(SetPaused { automation, pause, reason: r, totp: take_code(totp) });
            reason.set(String::new());
        }
    };
    view! {
        <section class="panel controls" data-testid="controls">
            <h2>"Circuit breakers and pauses"</h2>
            <Transition fallback=|| view! { <p class="empty">"Loading…"</p> }>
                {move || gov.get().map(|r| match r {
                    Err(e) => view! { <p class="error">{e.to_string()}</p> }.into_any(),
                    Ok(g) => {
                        let paused = g.global_pause.is_some();
                        view! {
                            <p data-testid="global-state" class=if paused { "badge bad" } else { "badge ok" }>
                                {match &g.global_pause {
                                    Some(p) => format!("ALL TRADING PAUSED by {} at {}: {}", p.actor, time(p.at), p.reason),
                                    None => "Trading running".to_string(),
                                }}
                            </p>
                            <div class="actions">
                                <input data-testid="control-reason" placeholder="reason (10+ characters, required)" prop:value=move || reason.get() on:input=move |ev| reason.set(event_target_value(&ev))/>
                                <StepUpField required=g.fresh_totp_required code=totp/>
                                <button class=if paused { "approve" } else { "reject" } data-testid="global-toggle" disabled=move || !may_global()
                                    title={let why = why_not_global.clone(); move || (!may_global()).then(|| why.clone())}
                                    on:click=move |_| send(None, !paused)>{if paused { "Resume all trading" } else { "Emergency pause: all trading" }}</button>
                                {move || local_error.get().map(|e| view! { <span class="error" data-testid="control-error">{e}</span> })}
                                {move || act.value().get().and_then(Result::err).map(|e| view! { <span class="error">{e.to_string()}</span> })}
                            </div>
                            <table class="grid">
                                <thead><tr><th>"Automation"</th><th>"Mode"</th><th class="num">"Approved / N"</th><th class="num">"Pending"</th><th class="num">"Open orders"</th><th class="num">"Signals / h"</th><th class="num">"Losses in a row"</th><th>"Owners"</th><th>"State"</th><th></th></tr></thead>
                                <tbody>
                                {g.automations.into_iter().map(|a| {
                                    let is_paused = a.paused.is_some();
                                    let id = a.automation_id.clone();
                                    view! {
                                        <tr data-testid="automation" data-automation=a.automation_id.clone()>
                                            <td>{a.automation_id.clone()}</td>
                                            <td>{a.mode.clone()}</td>
                                            <td class="num">{format!("{} / {}", a.approved, a.threshold)}</td>
                                            <td class="num">{a.pending}</td>
                                            <td class="num">{a.open_orders}</td>
                                            <td class="num">{a.signals_last_hour}</td>
                                            <td class="num">{a.consecutive_losses}</td>
                                            <td>{if a.owners.is_empty() { "any trader".to_string() } else { a.owners.join(", ") }}</td>
                                            <td>{match &a.paused {
                                                Some(p) => format!("paused by {}{}: {}", p.actor, p.rule.as_ref().map(|r| format!(" ({r})")).unwrap_or_default(), p.reason),
                                                None => "running".into(),
                                            }}</td>
                                            <td><button disabled=move || !may_one() title={let why = why_not_one.clone(); move || (!may_one()).then(|| why.clone())} on:click=move |_| send(Some(id.clone()), !is_paused)>{if is_paused { "Resume" } else { "Pause" }}</button></td>
                                        </tr>
                                    }
                                }).collect_view()}
                                </tbody>
                            </table>
                            <Show when={let b = g.breaches.clone(); move || !b.is_empty()}>
                                <h3>"Recent breaker trips"</h3>
                            </Show>
                            <ul class="breaches">
                                {g.breaches.iter().take(10).map(|b| view! {
                                    <li><a href=format!("/audit/{}", b.seq)>{time(b.ts)}</a>{format!(" {} — {}: {:.2} beyond {:.2}", b.automation_id.clone().unwrap_or("all trading".into()), b.rule, b.value, b.limit)}</li>
                                }).collect_view()}
                            </ul>
                        }.into_any()
                    }
                })}
            </Transition>
        </section>
    }
}
