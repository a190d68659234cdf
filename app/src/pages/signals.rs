//! The signal feed: the newest 100 signals and where each stands, refreshed as the log grows.
use leptos::prelude::*;

use super::dashboard::SignalTable;
use crate::server_fns::get_signals;
use crate::live::use_live;

#[island]
pub fn Signals() -> impl IntoView {
    crate::components::island_ready();
    let live = use_live();
    // Refetch whenever the live stream reports a new log head.
    let head = Memo::new(move |_| live.and_then(|l| l.view.with(|v| v.as_ref().map(|v| v.head_seq))));
    let rows = Resource::new(move || head.get(), |_| get_signals(100));
    view! {
        <h1>"Signal feed"</h1>
        <super::approvals::Approvals/>
        <p class="hint">"Newest first. A signal's status follows its risk check, orders and fills; open one for its full lineage."</p>
        <Transition fallback=|| view! { <p class="empty">"Loading signals…"</p> }>
            {move || rows.get().map(|r| match r {
                Ok(rows) => view! { <SignalTable rows=Signal::derive(move || rows.clone())/> }.into_any(),
                Err(e) => view! { <p class="error">{e.to_string()}</p> }.into_any(),
            })}
        </Transition>
    }
}
