//! Who is calling: the signed-in user and the role check every server function starts with.
#[cfg(feature = "ssr")]
use domain::governance::Permission;
use domain::governance::Role;
#[cfg(feature = "ssr")]
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
use crate::error::AppError;

/// The signed-in user, as the server resolved it from the session for this request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionUser {
    pub id: i64,
    pub username: String,
    pub role: Role,
}

/// The caller of this request, if signed in.
#[cfg(feature = "ssr")]
pub fn caller() -> Option<SessionUser> {
    use_context::<axum::http::request::Parts>().and_then(|p| p.extensions.get::<SessionUser>().cloned())
}

/// The caller, if signed in and allowed `p`; otherwise 401 / 403 (set on the response too).
#[cfg(feature = "ssr")]
pub fn require(p: Permission) -> Result<SessionUser, AppError> {
    let status = |s| {
        if let Some(r) = use_context::<leptos_axum::ResponseOptions>() {
            r.set_status(s);
        }
    };
    match caller() {
        None => {
            status(axum::http::StatusCode::UNAUTHORIZED);
            Err(AppError::Unauthorized)
        }
        Some(u) if u.role.allows(p) => Ok(u),
        Some(_) => {
            status(axum::http::StatusCode::FORBIDDEN);
            Err(AppError::Forbidden)
        }
    }
}
