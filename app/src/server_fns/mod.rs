//! Server functions, one file a theme: each is thin (check the caller's role, call a service
//! from context, return a view type). Their endpoints (`/api/<name>`) are stable names.
#[cfg(feature = "ssr")]
use domain::governance::Permission;
#[cfg(feature = "ssr")]
use leptos::prelude::*;

#[cfg(feature = "ssr")]
use crate::error::{AppError, with_status};

pub mod admin;
pub mod alerts;
pub mod analytics;
pub mod auth;
pub mod compliance;
pub mod governance;
pub mod investor;
pub mod operations;
pub mod reports;

pub use admin::*;
pub use alerts::*;
pub use analytics::*;
pub use compliance::*;
pub use governance::*;
pub use investor::*;
pub use operations::*;
pub use reports::*;

/// Whether the call is a browser's plain form post (it accepts HTML): such a call is answered
/// with a redirect carrying `?done=` or `?error=`, never an error page.
#[cfg(feature = "ssr")]
fn from_form() -> bool {
    use_context::<axum::http::request::Parts>()
        .and_then(|p| p.headers.get(axum::http::header::ACCEPT).and_then(|v| v.to_str().ok()).map(|v| v.contains("text/html")))
        .unwrap_or(false)
}

/// The console service, for a caller allowed `p`.
#[cfg(feature = "ssr")]
fn console(p: Permission) -> Result<crate::service::Console, AppError> {
    crate::session::require(p)?;
    use_context::<crate::service::Console>().ok_or(AppError::Internal)
}

/// A config change's caller: one allowed `ChangeConfig`, and the console. A signed-in person
/// who is not allowed is refused, and the refusal is recorded (it is an alert: `config_refused`).
#[cfg(feature = "ssr")]
async fn config_changer() -> Result<(crate::session::SessionUser, crate::service::Console), AppError> {
    match crate::session::require(Permission::ChangeConfig) {
        Ok(user) => Ok((user, console(Permission::ChangeConfig)?)),
        Err(AppError::Forbidden) => {
            if let (Some(user), Some(c)) = (crate::session::caller(), use_context::<crate::service::Console>()) {
                c.config_refused(&user, "the role may not change the config").await;
            }
            Err(AppError::Forbidden)
        }
        Err(e) => Err(e),
    }
}

/// The step-up check of the admin policy `security.fresh_totp_for_actions`: when it is on, an
/// action needs a TOTP code from the caller's authenticator that was not used before.
#[cfg(feature = "ssr")]
async fn fresh_second_factor(c: &crate::service::Console, user: &crate::session::SessionUser, code: Option<String>) -> Result<(), AppError> {
    if !c.config().1.security.fresh_totp_for_actions {
        return Ok(());
    }
    with_status(crate::service::auth()?.step_up(user, code.as_deref().unwrap_or("")).await)
}

#[cfg(feature = "ssr")]
impl From<crate::service::Internal> for AppError {
    fn from(_: crate::service::Internal) -> Self {
        AppError::Internal
    }
}
