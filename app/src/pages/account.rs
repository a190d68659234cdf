//! The signed-in user's own account: password and two-factor.
use leptos::prelude::*;

use crate::components::governance::use_user;

/// The signed-in user's own account: password and two-factor.
#[island]
pub fn AccountPage() -> impl IntoView {
    crate::components::island_ready();
    use crate::server_fns::auth::{ChangePassword, TotpBegin, TotpConfirm, totp_status};
    let change = ServerAction::<ChangePassword>::new();
    let begin = ServerAction::<TotpBegin>::new();
    let confirm = ServerAction::<TotpConfirm>::new();
    let status = Resource::new(move || confirm.version().get(), |_| totp_status());
    let (current, new, code) = (RwSignal::new(String::new()), RwSignal::new(String::new()), RwSignal::new(String::new()));
    let (pw_code, proof_password, proof_code) = (RwSignal::new(String::new()), RwSignal::new(String::new()), RwSignal::new(String::new()));
    // Read only inside <Transition> (a resource read outside one mismatches on hydration).
    let enabled = move || matches!(status.get(), Some(Ok(true)));
    let opt = |s: RwSignal<String>| Some(s.get_untracked()).filter(|v| !v.trim().is_empty());
    let user = use_user();
    view! {
        <h1>"Your account"</h1>
        <p class="hint">{move || user.get().map(|u| format!("Signed in as {} ({}).", u.username, u.role.as_str()))}</p>
        <section class="panel">
            <h2>"Two-factor sign-in (TOTP)"</h2>
            <Transition fallback=|| ()>
                {move || status.get().map(|s| match s {
                    Ok(true) => view! {
                        <p class="badge ok" data-testid="totp-on">"Two-factor is on: sign-in asks for a code from your authenticator app."</p>
                        <p class="hint">"A new device? Replacing the second factor needs your password and a code from the current one (or a recovery code)."</p>
                        <button data-testid="totp-replace" on:click=move |_| { begin.dispatch(TotpBegin {}); }>"Replace two-factor"</button>
                    }.into_any(),
                    Ok(false) => view! {
                        <p class="hint">"Off. Turn it on: scan the QR code with an authenticator app (RFC 6238: 6 digits, 30 s), then type the code it shows."</p>
                        <button data-testid="totp-begin" on:click=move |_| { begin.dispatch(TotpBegin {}); }>"Set up two-factor"</button>
                    }.into_any(),
                    Err(e) => view! { <p class="error">{e.to_string()}</p> }.into_any(),
                })}
            </Transition>
            <Transition fallback=|| ()>
            {move || begin.value().get().and_then(Result::ok).filter(|_| confirm.value().get().is_none_or(|r| r.is_err())).map(|e| view! {
                <div class="enrol">
                    <div class="qr" inner_html=e.qr_svg.clone()></div>
                    <p>"Or type this secret: "<code data-testid="totp-secret">{e.secret.clone()}</code></p>
                    <Show when=enabled>
                        <input type="password" data-testid="totp-proof-password" placeholder="current password" prop:value=move || proof_password.get() on:input=move |ev| proof_password.set(event_target_value(&ev))/>
                        <input data-testid="totp-proof-code" placeholder="code of the current device (or a recovery code)" prop:value=move || proof_code.get() on:input=move |ev| proof_code.set(event_target_value(&ev))/>
                    </Show>
                    <input data-testid="totp-code" placeholder="6-digit code of the new device" prop:value=move || code.get() on:input=move |ev| code.set(event_target_value(&ev))/>
                    <button data-testid="totp-confirm" on:click=move |_| { confirm.dispatch(TotpConfirm { code: code.get_untracked(), current_password: opt(proof_password), current_code: opt(proof_code) }); }>"Confirm"</button>
                </div>
            })}
            </Transition>
            {move || confirm.value().get().map(|r| match r {
                Ok(codes) => view! {
                    <p>"Recovery codes: each works once if you lose the device. They are shown only now; keep them safe."</p>
                    <ul data-testid="recovery-codes">{codes.into_iter().map(|c| view! { <li><code>{c}</code></li> }).collect_view()}</ul>
                }.into_any(),
                Err(e) => view! { <p class="error" data-testid="totp-error">{e.to_string()}</p> }.into_any(),
            })}
        </section>
        <section class="panel">
            <h2>"Change password"</h2>
            <div class="actions">
                <input type="password" placeholder="current password" prop:value=move || current.get() on:input=move |ev| current.set(event_target_value(&ev))/>
                <input type="password" placeholder="new password (12+ characters)" prop:value=move || new.get() on:input=move |ev| new.set(event_target_value(&ev))/>
                <Transition fallback=|| ()><Show when=enabled>
                    <input data-testid="password-code" placeholder="two-factor code" prop:value=move || pw_code.get() on:input=move |ev| pw_code.set(event_target_value(&ev))/>
                </Show></Transition>
                <button on:click=move |_| { change.dispatch(ChangePassword { current: current.get_untracked(), new: new.get_untracked(), code: opt(pw_code) }); }>"Change password"</button>
            </div>
            {move || change.value().get().map(|r| match r {
                Ok(()) => view! { <p class="badge ok">"Password changed."</p> }.into_any(),
                Err(e) => view! { <p class="error">{e.to_string()}</p> }.into_any(),
            })}
        </section>
    }
}
