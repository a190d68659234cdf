//! Signals waiting for a person (Approve / Reject, keyboard too) and exits to acknowledge: one
//! compact row each, opening to its features, checks and LLM reasoning.
use domain::governance::Permission;
use domain::view::PendingView;
use leptos::prelude::*;

use super::time;
use crate::components::governance::{StepUpField, can, governance_resource, ok, reason_error, take_code, ticker};
use crate::server_fns::DecideSignal;

#[component]
pub fn Approvals() -> impl IntoView {
    let decide = ServerAction::<DecideSignal>::new();
    let gov = governance_resource(move || decide.version().get());
    let tick = ticker();
    let may_decide = can(Permission::DecideSignals);
    let totp = RwSignal::new(String::new());
    view! {
        <section class="panel" data-testid="approvals">
            <h2>"Waiting for a person"</h2>
            <p class="hint">"An automation's first N entry signals need an approval before anything is ordered. Reject needs a reason. Unanswered signals time out."</p>
            {move || decide.value().get().and_then(Result::err).map(|e| view! { <p class="error" data-testid="decide-error">{e.to_string()}</p> })}
            <Transition fallback=|| view! { <p class="empty">"Loading…"</p> }>
                {move || gov.get().map(|r| match r {
                    Err(e) => view! { <p class="error">{e.to_string()}</p> }.into_any(),
                    Ok(g) if g.pending.is_empty() && g.exits.is_empty() => view! { <p class="empty" data-testid="no-pending">"Nothing is waiting."</p> }.into_any(),
                    Ok(g) => {
                        let more = (g.pending_total > g.pending.len() as u64)
                            .then(|| format!("Showing the {} soonest to expire of {} waiting.", g.pending.len(), g.pending_total));
                        view! {
                            {more.map(|m| view! { <p class="hint" data-testid="pending-more">{m}</p> })}
                            <StepUpField required=g.fresh_totp_required code=totp/>
                        }
                        .into_any()
                    }
                })}
                // Keyed rows: the view is refetched on every live update (the log grows many
                // times a second in a running book); a row that stays keeps its open details,
                // its typed reason and its place under the pointer.
                <div class="pending-list">
                    <For each=move || ok(gov).map(|g| g.pending.into_iter().map(|p| (g.now, p)).collect::<Vec<_>>()).unwrap_or_default()
                        key=|(_, p)| p.signal_id.clone()
                        children=move |(now, p)| view! { <PendingCard p now tick decide may_decide totp/> }/>
                </div>
                <Show when=move || ok(gov).is_some_and(|g| !g.exits.is_empty())>
                    <h3>"Exit signals to acknowledge"</h3>
                </Show>
                <table class="grid">
                    <tbody>
                    <For each=move || ok(gov).map(|g| g.exits.into_iter().map(|e| (g.now, e)).collect::<Vec<_>>()).unwrap_or_default()
                        key=|(_, e)| e.signal_id.clone()
                        children=move |(now, e)| {
                            let id = e.signal_id.clone();
                            let since = tick.get_untracked();
                            let left = move || e.window_secs as i64 - (now - e.received_at).num_seconds() - (tick.get() - since);
                            view! {
                                <tr data-testid="exit-row">
                                    <td><a href=format!("/trades/{}", e.signal_id)>{e.signal_id.clone()}</a></td>
                                    <td>{e.automation_id.clone()}</td><td>{e.instrument.clone()}</td>
                                    <td>{move || { let l = left(); if l > 0 { format!("window: {l} s left") } else { "window passed".to_string() } }}</td>
                                    <td><button disabled=move || !may_decide() on:click=move |_| { decide.dispatch(DecideSignal { signal_id: id.clone(), action: "acknowledge".into(), comment: None, totp: take_code(totp) }); }>"Acknowledge"</button></td>
                                </tr>
                            }
                        }/>
                    </tbody>
                </table>
            </Transition>
        </section>
    }
}

#[component]
fn PendingCard(
    p: PendingView,
    now: chrono::DateTime<chrono::Utc>,
    tick: ReadSignal<i64>,
    decide: ServerAction<DecideSignal>,
    may_decide: impl Fn() -> bool + Copy + Send + Sync + 'static,
    totp: RwSignal<String>,
) -> impl IntoView {
    let reason = RwSignal::new(String::new());
    let local_error = RwSignal::new(None::<String>);
    // `now` is the server's clock when this row first arrived; the ticker counts from page load.
    let since = tick.get_untracked();
    let left = move || (p.expires_at - now).num_seconds() - (tick.get() - since);
    let (approve_id, reject_id) = (p.signal_id.clone(), p.signal_id.clone());
    let open = RwSignal::new(false);
    let (features, checks, llm) = (p.features.clone(), p.checks.clone(), p.llm_reasoning.clone());
    let detail = format!("stop {} / target {}; signal time {}; confidence {:.2}",
        p.stop_loss.map(|d| d.to_string()).unwrap_or("—".into()), p.take_profit.map(|d| d.to_string()).unwrap_or("—".into()), time(p.ts), p.confidence);
    let risk = p.risk_decision.clone().unwrap_or("pending".into());
    let checks_title = format!("Risk checks ({risk})");
    // Built in parts and type-erased (`into_any`): one view this deep overflows the compiler's
    // layout query depth on the server build.
    let row = view! {
            <div class="pending-row">
                <button class="toggle" data-testid="details-toggle" aria-expanded=move || open.get().to_string()
                    title="features, risk checks and LLM reasoning" on:click=move |_| open.update(|o| *o = !*o)>
                    {move || if open.get() { "▾" } else { "▸" }}
                </button>
                <span class=format!("side {}", p.side)>{p.side.clone()}</span>
                <a class="instrument" href=format!("/trades/{}", p.signal_id) title=p.signal_id.clone()>{p.instrument.clone()}</a>
                <span class="automation">{p.automation_id.clone()}</span>
                <span class="num" title="strength">{format!("{:.2}", p.strength)}</span>
                <span class=format!("badge {}", if risk == "approve" { "ok" } else if risk == "reject" { "bad" } else { "warn" }) title="risk decision">{risk.clone()}</span>
                <span class="countdown" data-testid="countdown">{move || { let l = left(); if l > 0 { format!("{}:{:02}", l / 60, l % 60) } else { "expiring…".to_string() } }}</span>
                <button class="approve" data-testid="approve" disabled=move || !may_decide() || decide.pending().get()
                    on:click=move |_| { decide.dispatch(DecideSignal { signal_id: approve_id.clone(), action: "approve".into(), comment: None, totp: take_code(totp) }); }>"Approve"</button>
                <input data-testid="reject-reason" placeholder="reason to reject (10+ chars)" prop:value=move || reason.get() on:input=move |ev| reason.set(event_target_value(&ev))/>
                <button class="reject" data-testid="reject" disabled=move || !may_decide() || decide.pending().get()
                    on:click=move |_| {
                        // Checked here for a quick answer; the server parses the reason again.
                        let r = reason.get_untracked();
                        local_error.set(reason_error(&r));
                        if local_error.get_untracked().is_none() {
                            decide.dispatch(DecideSignal { signal_id: reject_id.clone(), action: "reject".into(), comment: Some(r), totp: take_code(totp) });
                        }
                    }>"Reject"</button>
            </div>
    }
    .into_any();
    let details = move || {
        open.get().then(|| {
            view! {
                <div class="pending-detail" data-testid="pending-detail">
                    <p class="hint">{detail.clone()}</p>
                    <div class="cols">
                        <div>
                            <h4>"Features"</h4>
                            <table class="grid compact"><tbody>
                                {features.iter().map(|(k, v)| view! { <tr><td>{k.clone()}</td><td class="num">{format!("{v:.4}")}</td></tr> }).collect_view()}
                            </tbody></table>
                        </div>
                        <div>
                            <h4>{checks_title.clone()}</h4>
                            <table class="grid compact"><tbody>
                                {checks.iter().map(|c| view! { <tr><td>{c.name.clone()}</td><td class=format!("badge {}", c.status)>{c.status.clone()}</td><td class="num">{format!("{:.3} / {:.3}", c.value, c.limit)}</td></tr> }).collect_view()}
                            </tbody></table>
                            {llm.clone().map(|r| view! { <h4>"LLM reasoning"</h4><p class="hint">{r}</p> })}
                        </div>
                    </div>
                </div>
            }
            .into_any()
        })
    };
    view! {
        // One compact row a signal (a trader's work list: 20 fit on a screen); the details open
        // below it. The buttons are ordinary buttons: Tab to one, Enter or Space presses it.
        <article class="pending" data-testid="pending" data-signal=p.signal_id.clone()>
            {row}
            {move || local_error.get().map(|e| view! { <p class="error" data-testid="reject-error">{e}</p> })}
            {details}
        </article>
    }
    .into_any()
}
