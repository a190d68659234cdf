//! `/admin`: accounts, sign-in attempts and API tokens.
use leptos::prelude::*;

use super::time;
use crate::server_fns::{CreateToken, RevokeToken, get_login_attempts, get_tokens, get_users};

/// Server HTML but for the token panel (an island).
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
#[island]
fn Tokens() -> impl IntoView {
    crate::components::island_ready();
    let create = ServerAction::<CreateToken>::new();
    let revoke = ServerAction::<RevokeToken>::new();
    let tokens = Resource::new(move || (create.version().get(), revoke.version().get()), |_| get_tokens());
    let name = RwSignal::new(String::new());
    let scopes = [("ingest", RwSignal::new(true)), ("engine", RwSignal::new(false)), ("read", RwSignal::new(false)), ("metrics", RwSignal::new(false))];
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
