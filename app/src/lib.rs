//! Tradewatch's UI: server-rendered with Leptos, hydrated in the browser.
#![recursion_limit = "256"]
pub mod api;
pub mod charts;
mod live;
mod pages;
#[cfg(feature = "ssr")]
pub mod service;

use leptos::prelude::*;
use leptos_meta::{MetaTags, Stylesheet, Title, provide_meta_context};
use leptos_router::components::{A, Route, Router, Routes};
use leptos_router::path;

pub use live::LiveDashboard;

/// The HTML document around the app (server side).
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
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
    live::provide();
    // Effects run only in the browser: a marker that hydration finished (end-to-end tests wait for it).
    Effect::new(move |_| {
        if let Some(body) = document().body() {
            let _ = body.set_attribute("data-hydrated", "true");
        }
    });
    view! {
        <Stylesheet id="leptos" href="/pkg/tradewatch.css"/>
        <Title text="Tradewatch"/>
        <Router>
            <header class="topbar">
                <span class="brand">"Tradewatch"</span>
                <nav>
                    <A href="/">"Dashboard"</A>
                    <A href="/signals">"Signals"</A>
                    <A href="/audit">"Audit trail"</A>
                </nav>
                <live::Status/>
            </header>
            <main>
                <Routes fallback=|| view! { <p class="empty">"Page not found."</p> }>
                    <Route path=path!("/") view=pages::dashboard::Dashboard/>
                    <Route path=path!("/signals") view=pages::signals::Signals/>
                    <Route path=path!("/audit") view=pages::audit::Audit/>
                    <Route path=path!("/audit/:seq") view=pages::audit::EventDetail/>
                    <Route path=path!("/trades/:signal_id") view=pages::lineage::LineagePage/>
                </Routes>
            </main>
        </Router>
    }
}
