//! Tradewatch's UI: server-rendered with Leptos, hydrated in the browser.
#![recursion_limit = "256"]
#[cfg(feature = "ssr")]
pub mod docs;
mod components;
pub mod error;
mod live;
mod pages;
pub mod server_fns;
#[cfg(feature = "ssr")]
pub mod service;
pub mod session;

#[cfg(feature = "ssr")]
pub(crate) mod render;
#[cfg(feature = "ssr")]
pub(crate) mod reports;

/// The live stream's HTML fragments (server side; see `server::http::live`).
#[cfg(feature = "ssr")]
pub mod fragments {
    pub use crate::pages::dashboard::body_html as dashboard;
    pub use crate::pages::signals::{FEED as SIGNAL_FEED, table_html as signals};
    pub use crate::pages::compliance::{live_html as compliance, live_query as compliance_query};
    pub use crate::pages::alerts::{live_html as alerts, live_query as alerts_query};
}

use leptos::prelude::*;
use leptos_meta::{MetaTags, Title, provide_meta_context};
use leptos_router::components::{Route, Router, Routes};
use leptos_router::path;


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
                <HydrationScripts options islands=true/>
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
    // Who is signed in, resolved on the server for this request (App runs on the server only).
    #[cfg(feature = "ssr")]
    let user = session::caller();
    #[cfg(feature = "ssr")]
    let path = use_context::<axum::http::request::Parts>().map(|p| p.uri.path().to_string()).unwrap_or_default();
    #[cfg(not(feature = "ssr"))]
    let (user, path): (Option<session::SessionUser>, String) = (None, String::new());
    view! {
        <Title text="Tradewatch"/>
        <Router>
            <Shell user path>
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
                    <Route path=path!("/compliance") view=pages::compliance::CompliancePage/>
                    <Route path=path!("/compliance/:id") view=pages::compliance::IssuePage/>
                    <Route path=path!("/alerts") view=pages::alerts::AlertsPage/>
                    <Route path=path!("/health") view=pages::health::HealthPage/>
                    <Route path=path!("/alerts/runbook") view=pages::alerts::RunbookPage/>
                    <Route path=path!("/alerts/:fingerprint") view=pages::alerts::AlertDetailPage/>
                    <Route path=path!("/config") view=pages::config::ConfigPage/>
                    <Route path=path!("/config/compliance") view=pages::compliance_config::ComplianceConfigPage/>
                    <Route path=path!("/config/settings") view=pages::settings::SettingsPage/>
                    <Route path=path!("/admin") view=pages::admin::AdminPage/>
                    <Route path=path!("/investor") view=pages::investor::InvestorPage/>
                    <Route path=path!("/investor/methodology") view=pages::investor::MethodologyPage/>
                    <Route path=path!("/investor/methodology/:section") view=pages::investor::MethodologyPage/>
                    <Route path=path!("/investor/backtest") view=pages::investor::BacktestPage/>
                    <Route path=path!("/investor/disclosures") view=pages::investor::DisclosuresPage/>
                    <Route path=path!("/investor/decisions") view=pages::investor::DecisionsPage/>
                    <Route path=path!("/reports") view=pages::reports::ReportsPage/>
                    <Route path=path!("/reports/:week") view=pages::reports::ReportPage/>
                    <Route path=path!("/account") view=pages::account::AccountPage/>
                </Routes>
            </Shell>
        </Router>
    }
}

/// The top bar and the page, as one island: it provides who is signed in and the live stream
/// to the islands inside the page (server-rendered `children`), and marks the page hydrated.
#[island]
fn Shell(user: Option<session::SessionUser>, path: String, children: Children) -> impl IntoView {
    let user: Signal<Option<session::SessionUser>> = Signal::stored(user);
    provide_context(user);
    live::provide(Signal::derive(move || user.get().is_some_and(|u| u.role.allows(domain::governance::Permission::ViewOperations))));
    components::island_ready();
    let logout = ServerAction::<server_fns::auth::Logout>::new();
    Effect::new(move |_| {
        if let Some(Ok(())) = logout.value().get() {
            #[cfg(feature = "hydrate")]
            let _ = window().location().set_href("/login");
        }
    });
    let can = move |p: domain::governance::Permission| user.get().is_some_and(|u| u.role.allows(p));
    use domain::governance::Permission as P;
    // The link of the page being shown (`aria-current`), as the router's <A> marks it.
    let path = StoredValue::new(path);
    let current = move |href: &str| {
        let path = path.get_value();
        let on = if href == "/" { path == "/" } else { path == href || path.starts_with(&format!("{href}/")) };
        on.then_some("page")
    };
    view! {
        <header class="topbar">
            <span class="brand">"Tradewatch"</span>
            <nav>
                <Show when=move || can(P::ViewOperations)>
                    <a href="/" aria-current=current("/")>"Dashboard"</a>
                    <a href="/signals" aria-current=current("/signals")>"Signals"</a>
                    <a href="/performance" aria-current=current("/performance")>"Performance"</a>
                    <a href="/kpis" aria-current=current("/kpis")>"KPIs"</a>
                    <a href="/attribution" aria-current=current("/attribution")>"Attribution"</a>
                    <a href="/execution" aria-current=current("/execution")>"Execution"</a>
                    <a href="/risk" aria-current=current("/risk")>"Risk"</a>
                    <a href="/compliance" aria-current=current("/compliance")>"Compliance"</a>
                    <a href="/alerts" aria-current=current("/alerts")>"Alerts"</a>
                    <a href="/health" aria-current=current("/health")>"Health"</a>
                    <a href="/audit" aria-current=current("/audit")>"Audit trail"</a>
                    <a href="/config" aria-current=current("/config")>"Config"</a>
                </Show>
                <Show when=move || can(P::ManageUsers)>
                    <a href="/admin" aria-current=current("/admin")>"Accounts"</a>
                </Show>
                <Show when=move || user.get().is_some()>
                    <a href="/investor" aria-current=current("/investor")>"Investor portal"</a>
                    <a href="/reports" aria-current=current("/reports")>"Reports"</a>
                </Show>
            </nav>
            <Show when=move || can(P::ViewOperations)>
                <live::Status/>
            </Show>
            {move || user.get().map(|u| view! {
                <a class="who" href="/account" data-testid="who">{format!("{} ({})", u.username, u.role.as_str())}</a>
                <button class="link" data-testid="logout" on:click=move |_| { logout.dispatch(server_fns::auth::Logout {}); }>"Sign out"</button>
            })}
        </header>
        <main>{children()}</main>
    }
}
