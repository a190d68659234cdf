//! The WebAssembly entry point: hydrate the islands of the server-rendered page (the
//! interactive parts; the rest of every page is plain server HTML).
// The islands are exported by `app` (#[island]); this links them in.
use app as _;

#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_islands();
}
