//! Governance pages: signals waiting for a person (Approve / Reject), exits to acknowledge,
//! pauses and circuit breakers, the configuration with its history, accounts, sign-in.
use domain::governance::{Config, Permission, Reason};
use domain::view::{GovernanceView, PendingView};
use leptos::prelude::*;

use super::time;
use crate::api::{
    CreateToken, DecideSignal, RevokeToken, RollbackConfig, SaveConfig, SetPaused, get_config, get_config_history, get_governance, get_login_attempts, get_tokens,
    get_users,
};
use crate::auth::{Login, SessionUser};
use crate::live::use_live;

/// The signed-in user, resolved once per page load (see `App`).
pub fn use_user() -> Signal<Option<SessionUser>> {
    use_context::<Signal<Option<SessionUser>>>().unwrap_or_else(|| Signal::derive(|| None))
}

fn can(p: Permission) -> impl Fn() -> bool + Copy {
    let user = use_user();
    move || user.get().is_some_and(|u| u.role.allows(p))
}

/// Seconds since the page loaded, ticking in the browser (countdowns).
fn ticker() -> ReadSignal<i64> {
    let (secs, set_secs) = signal(0i64);
    #[cfg(feature = "hydrate")]
    {
        if let Ok(handle) = set_interval_with_handle(move || set_secs.update(|s| *s += 1), std::time::Duration::from_secs(1)) {
            on_cleanup(move || handle.clear());
        }
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = set_secs;
    secs
}

/// The governance view, refetched whenever the log grows (live stream) and after each action.
fn governance_resource(version: impl Fn() -> usize + Send + Sync + 'static) -> Resource<Result<GovernanceView, crate::api::AppError>> {
    let live = use_live();
    let head = Memo::new(move |_| live.and_then(|l| l.view.with(|v| v.as_ref().map(|v| v.head_seq))));
    Resource::new(move || (head.get(), version()), |_| get_governance())
}

/// The loaded view, if it loaded (errors are shown once, above the lists).
fn ok(gov: Resource<Result<GovernanceView, crate::api::AppError>>) -> Option<GovernanceView> {
    gov.get().and_then(Result::ok)
}

fn reason_error(s: &str) -> Option<String> {
    Reason::parse(s).err().map(|e| e.to_string())
}

/// The two-factor code field shown when the admin policy asks for a fresh code per action.
#[component]
fn StepUpField(required: bool, code: RwSignal<String>) -> impl IntoView {
    required.then(|| {
        view! {
            <label class="step-up">"Two-factor code (policy) "
                <input data-testid="step-up-code" autocomplete="one-time-code" inputmode="numeric" size="8" placeholder="6 digits"
                    prop:value=move || code.get() on:input=move |ev| code.set(event_target_value(&ev))/>
            </label>
        }
    })
}

/// The code typed in a step-up field, if any (it is used once: the field is cleared).
fn take_code(code: RwSignal<String>) -> Option<String> {
    let c = code.get_untracked();
    code.set(String::new());
    (!c.trim().is_empty()).then_some(c)
}

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

/// Breaker state, pauses and the emergency stop (on the dashboard).
#[component]
pub fn Controls() -> impl IntoView {
    let act = ServerAction::<SetPaused>::new();
    let gov = governance_resource(move || act.version().get());
    let reason = RwSignal::new(String::new());
    let local_error = RwSignal::new(None::<String>);
    let may_global = can(Permission::PauseGlobal);
    let may_one = can(Permission::PauseAutomation);
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
                                            <td><button disabled=move || !may_one() on:click=move |_| send(Some(id.clone()), !is_paused)>{if is_paused { "Resume" } else { "Pause" }}</button></td>
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

#[component]
pub fn ConfigPage() -> impl IntoView {
    let save = ServerAction::<SaveConfig>::new();
    let rollback = ServerAction::<RollbackConfig>::new();
    let current = Resource::new(move || (save.version().get(), rollback.version().get()), |_| get_config());
    let history = Resource::new(move || (save.version().get(), rollback.version().get()), |_| get_config_history());
    let may_change = can(Permission::ChangeConfig);
    let text = RwSignal::new(String::new());
    let reason = RwSignal::new(String::new());
    let local_error = RwSignal::new(None::<String>);
    let totp = RwSignal::new(String::new());
    let step_up = RwSignal::new(false);
    view! {
        <h1>"Configuration"</h1>
        <p class="hint">"Risk limits, gating thresholds, circuit breakers and policies. Every change is an event in the audit chain with its author and a mandatory reason; the history below shows each version's field-by-field diff."</p>
        <Transition fallback=|| view! { <p class="empty">"Loading…"</p> }>
            {move || current.get().map(|r| match r {
                Err(e) => view! { <p class="error">{e.to_string()}</p> }.into_any(),
                Ok((version, config)) => {
                    let pretty = serde_json::to_string_pretty(&config).unwrap_or_default();
                    text.set(pretty.clone());
                    step_up.set(config.security.fresh_totp_for_actions);
                    view! {
                        <section class="panel">
                            <h2 data-testid="config-version">{format!("Version {version}")}</h2>
                            <textarea data-testid="config-json" rows="24" cols="70" prop:value=pretty on:input=move |ev| text.set(event_target_value(&ev)) disabled=move || !may_change()></textarea>
                            <div class="actions">
                                <input data-testid="config-reason" placeholder="reason for this change (10 to 2,000 characters)" prop:value=move || reason.get() on:input=move |ev| reason.set(event_target_value(&ev))/>
                                <StepUpField required=config.security.fresh_totp_for_actions code=totp/>
                                <button data-testid="config-save" disabled=move || !may_change() || save.pending().get() on:click=move |_| {
                                    let parsed: Result<Config, String> = serde_json::from_str::<serde_json::Value>(&text.get_untracked())
                                        .map_err(|e| format!("not valid JSON: {e}"))
                                        .and_then(|v| Config::parse_value(&v).map_err(|e| e.to_string()));
                                    let r = reason.get_untracked();
                                    match (parsed, reason_error(&r)) {
                                        (Err(e), _) => local_error.set(Some(e)),
                                        (_, Some(e)) => local_error.set(Some(e)),
                                        (Ok(config), None) => {
                                            local_error.set(None);
                                            save.dispatch(SaveConfig { base_version: version, config, reason: r, totp: take_code(totp) });
                                        }
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

#[component]
pub fn AdminPage() -> impl IntoView {
    let users = Resource::new(|| (), |_| get_users());
    let attempts = Resource::new(|| (), |_| get_login_attempts());
    view! {
        <h1>"Accounts and access"</h1>
        <p class="hint">"Add accounts with "<code>"tradewatch user add --username U --role R"</code>" (the password is read from stdin)."</p>
        <Transition fallback=|| view! { <p class="empty">"Loading…"</p> }>
            {move || users.get().map(|r| match r {
                Err(e) => view! { <p class="error">{e.to_string()}</p> }.into_any(),
                Ok(users) => view! {
                    <table class="grid" data-testid="users"><thead><tr><th>"Username"</th><th>"Role"</th><th>"Created"</th><th>"State"</th></tr></thead><tbody>
                    {users.into_iter().map(|u| view! { <tr><td>{u.username}</td><td>{u.role.as_str()}</td><td>{time(u.created_at)}</td><td>{if u.disabled { "disabled" } else { "active" }}</td></tr> }).collect_view()}
                    </tbody></table>
                }.into_any(),
            })}
        </Transition>
        <Tokens/>
        <h2>"Login attempts"</h2>
        <Transition fallback=|| view! { <p class="empty">"Loading…"</p> }>
            {move || attempts.get().map(|r| match r {
                Err(e) => view! { <p class="error">{e.to_string()}</p> }.into_any(),
                Ok(rows) => view! {
                    <table class="grid" data-testid="attempts"><thead><tr><th>"When (UTC)"</th><th>"Username"</th><th>"Address"</th><th>"Result"</th></tr></thead><tbody>
                    {rows.into_iter().map(|a| view! { <tr><td>{time(a.at)}</td><td>{a.username}</td><td>{a.ip}</td><td class=if a.success { "badge ok" } else { "badge bad" }>{if a.success { "success" } else { "failed" }}</td></tr> }).collect_view()}
                    </tbody></table>
                }.into_any(),
            })}
        </Transition>
    }
}

/// API tokens: create (the secret is shown once), list, revoke.
#[component]
fn Tokens() -> impl IntoView {
    let create = ServerAction::<CreateToken>::new();
    let revoke = ServerAction::<RevokeToken>::new();
    let tokens = Resource::new(move || (create.version().get(), revoke.version().get()), |_| get_tokens());
    let name = RwSignal::new(String::new());
    let scopes = [("ingest", RwSignal::new(true)), ("engine", RwSignal::new(false)), ("read", RwSignal::new(false))];
    view! {
        <section class="panel" data-testid="tokens">
            <h2>"API tokens"</h2>
            <p class="hint">"Scopes: ingest posts events; engine reads decisions, config and automation status; read is the read-only API. Only a hash is stored: the secret is shown once, here."</p>
            <div class="actions">
                <input data-testid="token-name" placeholder="name, e.g. engine-prod" prop:value=move || name.get() on:input=move |ev| name.set(event_target_value(&ev))/>
                {scopes.into_iter().map(|(s, on)| view! {
                    <label><input type="checkbox" data-testid=format!("scope-{s}") prop:checked=move || on.get() on:change=move |ev| on.set(event_target_checked(&ev))/>{s}</label>
                }).collect_view()}
                <button data-testid="token-create" disabled=move || create.pending().get() on:click=move |_| {
                    let chosen = scopes.iter().filter(|(_, on)| on.get_untracked()).map(|(s, _)| s.to_string()).collect();
                    create.dispatch(CreateToken { name: name.get_untracked(), scopes: chosen });
                }>"Create token"</button>
            </div>
            {move || create.value().get().map(|r| match r {
                Ok(secret) => view! { <p class="badge ok">"Copy it now; it is not shown again: "<code data-testid="token-secret">{secret}</code></p> }.into_any(),
                Err(e) => view! { <p class="error" data-testid="token-error">{e.to_string()}</p> }.into_any(),
            })}
            {move || revoke.value().get().and_then(Result::err).map(|e| view! { <p class="error">{e.to_string()}</p> })}
            <Transition fallback=|| view! { <p class="empty">"Loading…"</p> }>
                {move || tokens.get().map(|r| match r {
                    Err(e) => view! { <p class="error">{e.to_string()}</p> }.into_any(),
                    Ok(list) if list.is_empty() => view! { <p class="empty">"No tokens yet."</p> }.into_any(),
                    Ok(list) => view! {
                        <table class="grid"><thead><tr><th>"Id"</th><th>"Name"</th><th>"Scopes"</th><th>"Created (UTC)"</th><th>"State"</th><th></th></tr></thead><tbody>
                        {list.into_iter().map(|t| {
                            let id = t.id;
                            let name = t.name.clone();
                            view! {
                                <tr data-testid="token-row" data-name=name>
                                    <td class="num">{t.id}</td><td>{t.name}</td><td>{t.scopes}</td><td>{time(t.created_at)}</td>
                                    <td>{t.revoked_at.map(|r| format!("revoked {}", time(r))).unwrap_or_else(|| "live".into())}</td>
                                    <td>{t.revoked_at.is_none().then(|| view! {
                                        <button class="reject" data-testid="token-revoke" on:click=move |_| { revoke.dispatch(RevokeToken { id }); }>"Revoke"</button>
                                    })}</td>
                                </tr>
                            }
                        }).collect_view()}
                        </tbody></table>
                    }.into_any(),
                })}
            </Transition>
        </section>
    }
}

#[component]
pub fn LoginPage() -> impl IntoView {
    let login = ServerAction::<Login>::new();
    let username = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let code = RwSignal::new(String::new());
    // After a successful sign-in, a full page load: the server renders the next page with the
    // new session (and the live stream connects with it).
    Effect::new(move |_| {
        if let Some(Ok(user)) = login.value().get() {
            let next = leptos_router::hooks::use_query_map().with_untracked(|q| q.get("next")).filter(|n| crate::auth::safe_next(n).is_some());
            let target = next.unwrap_or_else(|| if user.role.allows(Permission::ViewOperations) { "/".into() } else { "/investor".into() });
            #[cfg(feature = "hydrate")]
            let _ = window().location().set_href(&target);
            #[cfg(not(feature = "hydrate"))]
            let _ = target;
        }
    });
    view! {
        <section class="panel login">
            <h1>"Sign in"</h1>
            <form on:submit=move |ev| {
                ev.prevent_default();
                login.dispatch(Login { username: username.get_untracked(), password: password.get_untracked(), code: Some(code.get_untracked()) });
            }>
                <label>"Username "<input name="username" data-testid="username" autocomplete="username" prop:value=move || username.get() on:input=move |ev| username.set(event_target_value(&ev))/></label>
                <label>"Password "<input type="password" name="password" data-testid="password" autocomplete="current-password" prop:value=move || password.get() on:input=move |ev| password.set(event_target_value(&ev))/></label>
                <label>"Two-factor code "<input name="code" data-testid="code" autocomplete="one-time-code" inputmode="numeric" placeholder="if two-factor is on (or a recovery code)" prop:value=move || code.get() on:input=move |ev| code.set(event_target_value(&ev))/></label>
                <button type="submit" data-testid="login" disabled=move || login.pending().get()>{move || if login.pending().get() { "Signing in…" } else { "Sign in" }}</button>
            </form>
            {move || login.value().get().and_then(Result::err).map(|e| view! { <p class="error" data-testid="login-error">{e.to_string()}</p> })}
        </section>
    }
}

/// The signed-in user's own account: password and two-factor.
#[component]
pub fn AccountPage() -> impl IntoView {
    use crate::auth::{ChangePassword, TotpBegin, TotpConfirm, totp_status};
    let change = ServerAction::<ChangePassword>::new();
    let begin = ServerAction::<TotpBegin>::new();
    let confirm = ServerAction::<TotpConfirm>::new();
    let status = Resource::new(move || confirm.version().get(), |_| totp_status());
    let (current, new, code) = (RwSignal::new(String::new()), RwSignal::new(String::new()), RwSignal::new(String::new()));
    let (pw_code, proof_password, proof_code) = (RwSignal::new(String::new()), RwSignal::new(String::new()), RwSignal::new(String::new()));
    // Read only inside <Transition> (a resource read outside one mismatches on hydration).
    let enabled = move || matches!(status.get(), Some(Ok(true)));
    let opt = |s: RwSignal<String>| Some(s.get_untracked()).filter(|v| !v.trim().is_empty());
    let user = use_user();
    view! {
        <h1>"Your account"</h1>
        <p class="hint">{move || user.get().map(|u| format!("Signed in as {} ({}).", u.username, u.role.as_str()))}</p>
        <section class="panel">
            <h2>"Two-factor sign-in (TOTP)"</h2>
            <Transition fallback=|| ()>
                {move || status.get().map(|s| match s {
                    Ok(true) => view! {
                        <p class="badge ok" data-testid="totp-on">"Two-factor is on: sign-in asks for a code from your authenticator app."</p>
                        <p class="hint">"A new device? Replacing the second factor needs your password and a code from the current one (or a recovery code)."</p>
                        <button data-testid="totp-replace" on:click=move |_| { begin.dispatch(TotpBegin {}); }>"Replace two-factor"</button>
                    }.into_any(),
                    Ok(false) => view! {
                        <p class="hint">"Off. Turn it on: scan the QR code with an authenticator app (RFC 6238: 6 digits, 30 s), then type the code it shows."</p>
                        <button data-testid="totp-begin" on:click=move |_| { begin.dispatch(TotpBegin {}); }>"Set up two-factor"</button>
                    }.into_any(),
                    Err(e) => view! { <p class="error">{e.to_string()}</p> }.into_any(),
                })}
            </Transition>
            <Transition fallback=|| ()>
            {move || begin.value().get().and_then(Result::ok).filter(|_| confirm.value().get().is_none_or(|r| r.is_err())).map(|e| view! {
                <div class="enrol">
                    <div class="qr" inner_html=e.qr_svg.clone()></div>
                    <p>"Or type this secret: "<code data-testid="totp-secret">{e.secret.clone()}</code></p>
                    <Show when=enabled>
                        <input type="password" data-testid="totp-proof-password" placeholder="current password" prop:value=move || proof_password.get() on:input=move |ev| proof_password.set(event_target_value(&ev))/>
                        <input data-testid="totp-proof-code" placeholder="code of the current device (or a recovery code)" prop:value=move || proof_code.get() on:input=move |ev| proof_code.set(event_target_value(&ev))/>
                    </Show>
                    <input data-testid="totp-code" placeholder="6-digit code of the new device" prop:value=move || code.get() on:input=move |ev| code.set(event_target_value(&ev))/>
                    <button data-testid="totp-confirm" on:click=move |_| { confirm.dispatch(TotpConfirm { code: code.get_untracked(), current_password: opt(proof_password), current_code: opt(proof_code) }); }>"Confirm"</button>
                </div>
            })}
            </Transition>
            {move || confirm.value().get().map(|r| match r {
                Ok(codes) => view! {
                    <p>"Recovery codes: each works once if you lose the device. They are shown only now; keep them safe."</p>
                    <ul data-testid="recovery-codes">{codes.into_iter().map(|c| view! { <li><code>{c}</code></li> }).collect_view()}</ul>
                }.into_any(),
                Err(e) => view! { <p class="error" data-testid="totp-error">{e.to_string()}</p> }.into_any(),
            })}
        </section>
        <section class="panel">
            <h2>"Change password"</h2>
            <div class="actions">
                <input type="password" placeholder="current password" prop:value=move || current.get() on:input=move |ev| current.set(event_target_value(&ev))/>
                <input type="password" placeholder="new password (12+ characters)" prop:value=move || new.get() on:input=move |ev| new.set(event_target_value(&ev))/>
                <Transition fallback=|| ()><Show when=enabled>
                    <input data-testid="password-code" placeholder="two-factor code" prop:value=move || pw_code.get() on:input=move |ev| pw_code.set(event_target_value(&ev))/>
                </Show></Transition>
                <button on:click=move |_| { change.dispatch(ChangePassword { current: current.get_untracked(), new: new.get_untracked(), code: opt(pw_code) }); }>"Change password"</button>
            </div>
            {move || change.value().get().map(|r| match r {
                Ok(()) => view! { <p class="badge ok">"Password changed."</p> }.into_any(),
                Err(e) => view! { <p class="error">{e.to_string()}</p> }.into_any(),
            })}
        </section>
    }
}
