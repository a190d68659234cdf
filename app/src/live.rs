//! Live updates: one server-sent-events connection per browser tab (`/live/dashboard`). Every
//! page learns the log's head seq from it (islands refetch what they show when it moves); a page
//! with a `#live-fragment[data-live=NAME]` also gets that fragment's HTML, drawn by the server,
//! after every change, and the browser swaps it in (no view types or chart code in the bundle).
use leptos::prelude::*;

/// The DOM event dispatched on `#live-fragment` after the live stream swapped its content.
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
pub const SWAPPED: &str = "live-swapped";

#[derive(Clone, Copy)]
pub struct LiveDashboard {
    /// The log's head seq as the server last pushed it (None until the first message).
    pub head: RwSignal<Option<u64>>,
    pub connected: RwSignal<bool>,
}

/// Connects once `allowed` turns true (a signed-in user who may see operations).
pub fn provide(allowed: Signal<bool>) {
    let live = LiveDashboard { head: RwSignal::new(None), connected: RwSignal::new(false) };
    provide_context(live);
    let started = StoredValue::new(false);
    Effect::new(move |_| {
        if allowed.get() && !started.get_value() {
            started.set_value(true);
            connect(live);
        }
    });
}

pub fn use_live() -> Option<LiveDashboard> {
    use_context::<LiveDashboard>()
}

/// The log head, for resources to refetch on.
pub fn head() -> Memo<Option<u64>> {
    let live = use_live();
    Memo::new(move |_| live.and_then(|l| l.head.get()))
}

#[cfg(feature = "hydrate")]
fn connect(live: LiveDashboard) {
    use wasm_bindgen::JsCast;
    use wasm_bindgen::closure::Closure;
    let fragment = document().get_element_by_id("live-fragment");
    let name = fragment.as_ref().and_then(|f| f.get_attribute("data-live")).filter(|n| n.bytes().all(|b| b.is_ascii_lowercase()));
    let url = format!("/live/dashboard?fragment={}", name.as_deref().unwrap_or("head"));
    let Ok(source) = web_sys::EventSource::new(&url) else { return };
    let on_head = Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |ev: web_sys::MessageEvent| {
        if let Some(seq) = ev.data().as_string().and_then(|t| t.trim().parse::<u64>().ok()) {
            live.head.set(Some(seq));
            live.connected.set(true);
        }
    });
    let on_fragment = Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |ev: web_sys::MessageEvent| {
        if let (Some(html), Some(el)) = (ev.data().as_string(), fragment.as_ref()) {
            el.set_inner_html(&html);
            if let Ok(e) = web_sys::Event::new(SWAPPED) {
                let _ = el.dispatch_event(&e);
            }
        }
    });
    let on_open = Closure::<dyn FnMut(web_sys::Event)>::new(move |_| live.connected.set(true));
    // EventSource reconnects by itself; show the gap meanwhile.
    let on_error = Closure::<dyn FnMut(web_sys::Event)>::new(move |_| live.connected.set(false));
    let _ = source.add_event_listener_with_callback("head", on_head.as_ref().unchecked_ref());
    let _ = source.add_event_listener_with_callback("fragment", on_fragment.as_ref().unchecked_ref());
    source.set_onopen(Some(on_open.as_ref().unchecked_ref()));
    source.set_onerror(Some(on_error.as_ref().unchecked_ref()));
    // The connection lives as long as the tab: the app never tears it down.
    on_head.forget();
    on_fragment.forget();
    on_open.forget();
    on_error.forget();
    std::mem::forget(source);
}

#[cfg(not(feature = "hydrate"))]
fn connect(_: LiveDashboard) {}

/// The connection badge in the top bar.
#[component]
pub fn Status() -> impl IntoView {
    let live = use_live();
    let on = move || live.is_some_and(|l| l.connected.get());
    view! {
        <span class="live" class:on=on data-testid="live-status">
            {move || if on() { "● live" } else { "○ connecting" }}
        </span>
    }
}
