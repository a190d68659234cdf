//! Sign-in (password, then the second factor when the account has one).
use domain::governance::Permission;
use leptos::prelude::*;

use crate::server_fns::auth::Login;

/// The sign-in page; `next` (a same-origin path only) is read on the server and handed to the form.
#[component]
pub fn LoginPage() -> impl IntoView {
    let next = leptos_router::hooks::use_query_map().with_untracked(|q| q.get("next")).filter(|n| crate::server_fns::auth::safe_next(n).is_some());
    view! { <LoginForm next/> }
}

#[island]
fn LoginForm(next: Option<String>) -> impl IntoView {
    crate::components::island_ready();
    let login = ServerAction::<Login>::new();
    let username = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let code = RwSignal::new(String::new());
    // After a successful sign-in, a full page load: the server renders the next page with the
    // new session (and the live stream connects with it).
    Effect::new(move |_| {
        if let Some(Ok(user)) = login.value().get() {
            let target = next.clone().unwrap_or_else(|| if user.role.allows(Permission::ViewOperations) { "/".into() } else { "/investor".into() });
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
