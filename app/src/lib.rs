//! Tradewatch's UI: server-rendered with Leptos, hydrated in the browser.
#![recursion_limit = "256"]
mod components;
pub mod error;
mod live;
mod pages;
pub mod server_fns;
#[cfg(feature = "ssr")]
pub mod service;
pub mod session;

use leptos::prelude::*;
use leptos_meta::{MetaTags, Title, provide_meta_context};
use leptos_router::components::{A, Route, Router, Routes};
use leptos_router::path;

pub use live::LiveDashboard;

/// The content hashes of the site's files (`js`, `wasm`, `css`), from the `hash.txt` that
/// `scripts/build-site.sh` (or cargo-leptos with `hash-files`) writes beside the server binary:
/// the file Leptos' hydration scripts read when `hash_files` is on. `None`: unhashed names.
#[cfg(feature = "ssr")]
pub fn asset_hashes() -> Option<&'static std::collections::HashMap<String, String>> {
    static HASHES: std::sync::OnceLock<Option<std::collections::HashMap<String, String>>> = std::sync::OnceLock::new();
    HASHES
        .get_or_init(|| {
            let path = std::env::current_exe().ok()?.parent()?.join("hash.txt");
            let text = std::fs::read_to_string(path).ok()?;
            Some(text.lines().filter_map(|l| l.split_once(':')).map(|(k, v)| (k.trim().to_string(), v.trim().to_string())).collect())
        })
        .as_ref()
}

/// `/pkg/tradewatch.<hash>.css`, or `/pkg/tradewatch.css` without hashes.
fn stylesheet_href() -> String {
    #[cfg(feature = "ssr")]
    if let Some(h) = asset_hashes().and_then(|h| h.get("css")) {
        return format!("/pkg/tradewatch.{h}.css");
    }
    "/pkg/tradewatch.css".to_string()
}

/// The HTML document around the app (server side).
pub fn shell(options: LeptosOptions) -> impl IntoView {
    // The page's CSP: scripts only from this origin plus the one inline hydration script, which
    // carries this response's nonce; WASM compilation allowed; inline style attributes allowed
    // (charts); nothing may frame the console.
    #[cfg(feature = "ssr")]
    if let (Some(nonce), Some(res)) = (leptos::nonce::use_nonce(), use_context::<leptos_axum::ResponseOptions>()) {
        let csp = format!(
            "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; style-src 'self' 'unsafe-inline'; \
             img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
        );
        if let Ok(v) = axum::http::HeaderValue::from_str(&csp) {
            res.insert_header(axum::http::header::CONTENT_SECURITY_POLICY, v);
        }
    }
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <link rel="stylesheet" href=stylesheet_href()/>
                <HydrationScripts options/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    // Who is signed in, resolved on the server for this request and carried to the browser.
    let me = Resource::new(|| (), |_| server_fns::auth::whoami());
    let user: Signal<Option<session::SessionUser>> = Signal::derive(move || me.get().and_then(Result::ok).flatten());
    provide_context(user);
    live::provide(Signal::derive(move || user.get().is_some_and(|u| u.role.allows(domain::governance::Permission::ViewOperations))));
    // Effects run only in the browser: a marker that hydration finished (end-to-end tests wait for it).
    Effect::new(move |_| {
        if let Some(body) = document().body() {
            let _ = body.set_attribute("data-hydrated", "true");
        }
    });
    let logout = ServerAction::<server_fns::auth::Logout>::new();
    Effect::new(move |_| {
        if let Some(Ok(())) = logout.value().get() {
            #[cfg(feature = "hydrate")]
            let _ = window().location().set_href("/login");
        }
    });
    let can = move |p: domain::governance::Permission| user.get().is_some_and(|u| u.role.allows(p));
    use domain::governance::Permission as P;
    view! {
        <Title text="Tradewatch"/>
        <Router>
            <header class="topbar">
                <span class="brand">"Tradewatch"</span>
                <Transition fallback=|| ()>
                    <nav>
                        <Show when=move || can(P::ViewOperations)>
                            <A href="/">"Dashboard"</A>
                            <A href="/signals">"Signals"</A>
                            <A href="/performance">"Performance"</A>
                            <A href="/kpis">"KPIs"</A>
                            <A href="/attribution">"Attribution"</A>
                            <A href="/execution">"Execution"</A>
                            <A href="/risk">"Risk"</A>
                            <A href="/audit">"Audit trail"</A>
                            <A href="/config">"Config"</A>
                        </Show>
                        <Show when=move || can(P::ManageUsers)>
                            <A href="/admin">"Accounts"</A>
                        </Show>
                        <Show when=move || user.get().is_some()>
                            <A href="/investor">"Investor portal"</A>
                        </Show>
                    </nav>
                    <Show when=move || can(P::ViewOperations)>
                        <live::Status/>
                    </Show>
                    {move || user.get().map(|u| view! {
                        <a class="who" href="/account" data-testid="who">{format!("{} ({})", u.username, u.role.as_str())}</a>
                        <button class="link" data-testid="logout" on:click=move |_| { logout.dispatch(server_fns::auth::Logout {}); }>"Sign out"</button>
                    })}
                </Transition>
            </header>
            <main>
                <Routes fallback=|| view! { <p class="empty">"Page not found."</p> }>
                    <Route path=path!("/") view=pages::dashboard::Dashboard/>
                    <Route path=path!("/login") view=pages::login::LoginPage/>
                    <Route path=path!("/signals") view=pages::signals::Signals/>
                    <Route path=path!("/performance") view=pages::performance::PerformancePage/>
                    <Route path=path!("/kpis") view=pages::kpis::KpiPage/>
                    <Route path=path!("/attribution") view=pages::attribution::AttributionPage/>
                    <Route path=path!("/execution") view=pages::execution::ExecutionPage/>
                    <Route path=path!("/risk") view=pages::risk::RiskPage/>
                    <Route path=path!("/audit") view=pages::audit::Audit/>
                    <Route path=path!("/audit/:seq") view=pages::audit::EventDetail/>
                    <Route path=path!("/trades/:signal_id") view=pages::lineage::LineagePage/>
                    <Route path=path!("/config") view=pages::config::ConfigPage/>
                    <Route path=path!("/admin") view=pages::admin::AdminPage/>
                    <Route path=path!("/investor") view=pages::investor::InvestorPage/>
                    <Route path=path!("/account") view=pages::account::AccountPage/>
                </Routes>
            </main>
        </Router>
    }
}
