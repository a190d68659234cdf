//! The signal feed: the newest 100 signals and where each stands. The table is server HTML that
//! the live stream (`/live/dashboard?fragment=signals`) pushes again as the log grows; the
//! approvals above it are the page's island.
use leptos::prelude::*;

use super::Loaded;
use super::dashboard::SignalTable;
use crate::server_fns::get_signals;

/// How many signals the feed shows.
pub const FEED: usize = 100;

#[component]
pub fn Signals() -> impl IntoView {
    let rows = Resource::new(|| (), |_| get_signals(FEED));
    view! {
        <h1>"Signal feed"</h1>
        <SignalApprovals/>
        <p class="hint">"Newest first. A signal's status follows its risk check, orders and fills; open one for its full lineage."</p>
        <div id="live-fragment" data-live="signals">
            <Loaded data=rows view={|rows: Vec<domain::view::SignalRow>| view! { <SignalTable rows/> }}/>
        </div>
    }
}

/// The HTML the live stream pushes for the feed (the inside of `#live-fragment`).
#[cfg(feature = "ssr")]
pub fn table_html(rows: Vec<domain::view::SignalRow>) -> String {
    super::render_fragment(move || view! { <SignalTable rows/> })
}

#[island]
fn SignalApprovals() -> impl IntoView {
    crate::components::island_ready();
    view! { <super::approvals::Approvals/> }
}
