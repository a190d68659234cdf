//! Server-side rendering of a view to an HTML string outside a request.
/// Renders a server-only view to an HTML string outside a request (the live stream's
/// fragments), in its own reactive owner.
#[cfg(feature = "ssr")]
pub(crate) fn render_fragment<V: leptos::prelude::IntoView + 'static>(f: impl FnOnce() -> V) -> String {
    use leptos::prelude::*;
    let owner = Owner::new();
    // `\r` would end an SSE line early (text content is not escaped for it).
    owner.with(|| f().into_view().to_html()).replace('\r', "&#13;")
}
