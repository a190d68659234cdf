//! What the governance pages share: who is signed in and may do what, countdowns, the
//! governance view kept fresh by the live stream, reason checks and the step-up code field.
use domain::governance::{Permission, Reason};
use domain::view::GovernanceView;
use leptos::prelude::*;

use crate::server_fns::get_governance;
use crate::session::SessionUser;

/// The signed-in user, resolved once per page load (see `App`).
pub fn use_user() -> Signal<Option<SessionUser>> {
    use_context::<Signal<Option<SessionUser>>>().unwrap_or_else(|| Signal::derive(|| None))
}

pub fn can(p: Permission) -> impl Fn() -> bool + Copy {
    let user = use_user();
    move || user.get().is_some_and(|u| u.role.allows(p))
}

/// "Only the risk role may {what}": the roles `Role::allows` gives `p`, for the tooltip of a
/// control shown disabled (the server refuses the others anyway).
pub fn only_roles_may(p: Permission, what: &str) -> String {
    let roles: Vec<&str> = domain::access::Role::ALL.into_iter().filter(|r| r.allows(p)).map(|r| r.as_str()).collect();
    format!("Only the {} role may {what}", roles.join(" or "))
}

/// Seconds since the page loaded, ticking in the browser (countdowns).
pub fn ticker() -> ReadSignal<i64> {
    let (secs, set_secs) = signal(0i64);
    #[cfg(feature = "hydrate")]
    {
        if let Ok(handle) = set_interval_with_handle(move || set_secs.update(|s| *s += 1), std::time::Duration::from_secs(1)) {
            on_cleanup(move || handle.clear());
        }
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = set_secs;
    secs
}

/// The governance view, refetched whenever the log grows (live stream) and after each action.
pub fn governance_resource(version: impl Fn() -> usize + Send + Sync + 'static) -> Resource<Result<GovernanceView, crate::error::AppError>> {
    let head = crate::live::head();
    Resource::new(move || (head.get(), version()), |_| get_governance())
}

/// The loaded view, if it loaded (errors are shown once, above the lists).
pub fn ok(gov: Resource<Result<GovernanceView, crate::error::AppError>>) -> Option<GovernanceView> {
    gov.get().and_then(Result::ok)
}

pub fn reason_error(s: &str) -> Option<String> {
    Reason::parse(s).err().map(|e| e.to_string())
}

/// The two-factor code field shown when the admin policy asks for a fresh code per action.
#[component]
pub fn StepUpField(required: bool, code: RwSignal<String>) -> impl IntoView {
    required.then(|| {
        view! {
            <label class="step-up">"Two-factor code (policy) "
                <input data-testid="step-up-code" autocomplete="one-time-code" inputmode="numeric" size="8" placeholder="6 digits"
                    prop:value=move || code.get() on:input=move |ev| code.set(event_target_value(&ev))/>
            </label>
        }
    })
}

/// The code typed in a step-up field, if any (it is used once: the field is cleared).
pub fn take_code(code: RwSignal<String>) -> Option<String> {
    let c = code.get_untracked();
    code.set(String::new());
    (!c.trim().is_empty()).then_some(c)
}


#[cfg(test)]
mod tests {
    use domain::governance::Permission;

    use super::only_roles_may;

    #[test]
    fn the_tooltip_names_the_roles_the_access_matrix_allows() {
        assert_eq!(only_roles_may(Permission::PauseGlobal, "pause or resume all trading"), "Only the risk role may pause or resume all trading");
        assert_eq!(only_roles_may(Permission::PauseAutomation, "pause or resume an automation"), "Only the trader or risk role may pause or resume an automation");
    }
}
