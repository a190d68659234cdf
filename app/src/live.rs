//! Live updates: one server-sent-events connection per browser tab (`/live/dashboard`), whose
//! latest dashboard view every page can read from context.
use domain::view::DashboardView;
use leptos::prelude::*;

#[derive(Clone, Copy)]
pub struct LiveDashboard {
    /// The newest view pushed by the server (None until the first message).
    pub view: RwSignal<Option<DashboardView>>,
    pub connected: RwSignal<bool>,
}

/// Connects once `allowed` turns true (a signed-in user who may see operations).
pub fn provide(allowed: Signal<bool>) {
    let live = LiveDashboard { view: RwSignal::new(None), connected: RwSignal::new(false) };
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

#[cfg(feature = "hydrate")]
fn connect(live: LiveDashboard) {
    use wasm_bindgen::JsCast;
    use wasm_bindgen::closure::Closure;
    let Ok(source) = web_sys::EventSource::new("/live/dashboard") else { return };
    let on_message = Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |ev: web_sys::MessageEvent| {
        if let Some(text) = ev.data().as_string()
            && let Ok(view) = serde_json::from_str::<DashboardView>(&text)
        {
            live.view.set(Some(view));
            live.connected.set(true);
        }
    });
    let on_open = Closure::<dyn FnMut(web_sys::Event)>::new(move |_| live.connected.set(true));
    // EventSource reconnects by itself; show the gap meanwhile.
    let on_error = Closure::<dyn FnMut(web_sys::Event)>::new(move |_| live.connected.set(false));
    let _ = source.add_event_listener_with_callback("dashboard", on_message.as_ref().unchecked_ref());
    source.set_onopen(Some(on_open.as_ref().unchecked_ref()));
    source.set_onerror(Some(on_error.as_ref().unchecked_ref()));
    // The connection lives as long as the tab: the app never tears it down.
    on_message.forget();
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
