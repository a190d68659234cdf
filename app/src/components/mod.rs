//! Components and cell formats shared by the pages.
use domain::format;
use leptos::prelude::*;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::AppError;

pub mod governance;

/// Called once by every island: when the last island of the page has hydrated, the body gets
/// `data-hydrated="true"` (the end-to-end tests wait for it before they click).
pub fn island_ready() {
    Effect::new(move |_| {
        #[cfg(feature = "hydrate")]
        {
            let doc = document();
            let total = doc.query_selector_all("leptos-island").map(|l| l.length()).unwrap_or(0);
            if let Some(body) = doc.body() {
                let done = body.get_attribute("data-islands").and_then(|n| n.parse::<u32>().ok()).unwrap_or(0) + 1;
                let _ = body.set_attribute("data-islands", &done.to_string());
                if done >= total {
                    let _ = body.set_attribute("data-hydrated", "true");
                }
            }
        }
    });
}

/// What a [`Loaded`] section shows when its data has nothing to show yet.
pub struct Empty<T> {
    /// Whether the data is empty.
    pub when: fn(&T) -> bool,
    pub text: &'static str,
    pub testid: &'static str,
}

/// The one shell of a page section fed by a resource: "Loading…" until the data arrives, the
/// error (the user-facing text of [`AppError`]), the empty message when `empty` says so, or
/// `view` of the data.
#[component]
pub fn Loaded<T, V, F>(
    data: Resource<Result<T, AppError>>,
    view: F,
    #[prop(optional)] empty: Option<Empty<T>>,
) -> impl IntoView
where
    T: Clone + Send + Sync + Serialize + DeserializeOwned + 'static,
    F: Fn(T) -> V + Clone + Send + Sync + 'static,
    V: IntoView + 'static,
{
    let empty = empty.map(|e| (e.when, e.text, e.testid));
    let body = move || {
        let view = view.clone();
        data.get().map(move |r| match r {
            Err(e) => view! { <p class="error">{e.to_string()}</p> }.into_any(),
            Ok(v) => match empty {
                Some((when, text, testid)) if when(&v) => view! { <p class="empty" data-testid=testid>{text}</p> }.into_any(),
                _ => view(v).into_any(),
            },
        })
    };
    view! { <Suspense fallback=|| view! { <p class="empty">"Loading…"</p> }>{body}</Suspense> }
}

/// A headline figure with its unit and a one-line definition (shown on hover).
#[component]
pub fn Kpi(
    #[prop(into)] label: String,
    #[prop(into)] value: Signal<String>,
    #[prop(into)] title: String,
    #[prop(optional, into)] tone: Option<Signal<&'static str>>,
    #[prop(optional, into)] testid: String,
) -> impl IntoView {
    view! {
        <div class="kpi" title=title>
            <div class="kpi-label">{label}</div>
            <div class=move || format!("kpi-value {}", tone.map(|t| t.get()).unwrap_or(""))
                 data-testid=testid>{value}</div>
        </div>
    }
}

pub fn tone(d: rust_decimal::Decimal) -> &'static str {
    if d.is_sign_negative() && !d.is_zero() { "neg" } else if d.is_zero() { "" } else { "pos" }
}

pub fn time(t: chrono::DateTime<chrono::Utc>) -> String {
    format::timestamp(t)
}

pub fn opt_pct(x: Option<f64>) -> String {
    format::opt(x, format::pct)
}

pub fn ratio(x: Option<f64>) -> String {
    format::opt(x, format::ratio)
}

/// Money with a sign class for table cells.
pub fn pnl_class(d: rust_decimal::Decimal) -> &'static str {
    if d.is_sign_negative() && !d.is_zero() { "num neg" } else { "num pos" }
}

/// A filter form's `<select>`: "any" and each option, `current` selected.
pub fn filter_select(name: &'static str, options: Vec<&'static str>, current: Option<String>) -> impl IntoView {
    view! {
        <select name=name>
            <option value="">"any"</option>
            {options.into_iter().map(|o| view! { <option value=o selected=current.as_deref() == Some(o)>{o}</option> }).collect_view()}
        </select>
    }
}

/// The badge of a severity.
pub fn severity_class(s: domain::event::Severity) -> &'static str {
    match s {
        domain::event::Severity::Critical => "badge bad",
        domain::event::Severity::Warning => "badge warn",
        domain::event::Severity::Info => "badge",
    }
}
