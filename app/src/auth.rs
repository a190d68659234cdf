//! Who is calling: the signed-in user, the role check every server function starts with, and
//! the login / logout / change-password server functions.
#[cfg(feature = "ssr")]
use domain::governance::Permission;
use domain::governance::Role;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::api::AppError;

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

#[server(endpoint = "whoami")]
pub async fn whoami() -> Result<Option<SessionUser>, AppError> {
    Ok(caller())
}

#[server(endpoint = "login")]
pub async fn login(username: String, password: String, code: Option<String>) -> Result<SessionUser, AppError> {
    use axum::extract::ConnectInfo;
    use std::net::SocketAddr;
    let auth = crate::service::auth()?;
    let session: tower_sessions::Session = leptos_axum::extract().await.map_err(|_| AppError::Internal)?;
    let ip = leptos_axum::extract::<ConnectInfo<SocketAddr>>().await.map(|c| c.0.ip().to_string()).unwrap_or_else(|_| "unknown".into());
    let code = code.filter(|c| !c.trim().is_empty());
    let user = match auth.login(&username, &password, code.as_deref(), &ip).await {
        Ok(u) => u,
        Err(e) => {
            if let Some(r) = use_context::<leptos_axum::ResponseOptions>() {
                r.set_status(if matches!(e, AppError::Locked(_)) { axum::http::StatusCode::TOO_MANY_REQUESTS } else { axum::http::StatusCode::UNAUTHORIZED });
            }
            return Err(e);
        }
    };
    // A new id at login: a session id planted before login is worthless after it.
    session.cycle_id().await.map_err(|_| AppError::Internal)?;
    session.insert("user_id", user.id).await.map_err(|_| AppError::Internal)?;
    session.insert("login_at_ms", chrono::Utc::now().timestamp_millis()).await.map_err(|_| AppError::Internal)?;
    Ok(user)
}

#[server(endpoint = "logout")]
pub async fn logout() -> Result<(), AppError> {
    let session: tower_sessions::Session = leptos_axum::extract().await.map_err(|_| AppError::Internal)?;
    session.flush().await.map_err(|_| AppError::Internal)?;
    Ok(())
}

#[server(endpoint = "change_password")]
pub async fn change_password(current: String, new: String) -> Result<(), AppError> {
    let user = require(Permission::ViewInvestor)?;
    crate::api::with_status(crate::service::auth()?.change_password(user.id, &current, &new).await)
}

/// A TOTP enrolment in progress: scan the QR code (or type the secret), then confirm a code.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TotpEnrolment {
    pub secret: String,
    pub otpauth_url: String,
    pub qr_svg: String,
}

#[server(endpoint = "totp_status")]
pub async fn totp_status() -> Result<bool, AppError> {
    let user = require(Permission::ViewInvestor)?;
    crate::service::auth()?.totp_enabled(user.id).await
}

/// Starts two-factor enrolment; the secret waits in the server-side session until confirmed.
#[server(endpoint = "totp_begin")]
pub async fn totp_begin() -> Result<TotpEnrolment, AppError> {
    let user = require(Permission::ViewInvestor)?;
    let (secret, otpauth_url, qr_svg) = crate::service::auth()?.totp_enrolment(&user).await?;
    let session: tower_sessions::Session = leptos_axum::extract().await.map_err(|_| AppError::Internal)?;
    session.insert("totp_pending", &secret).await.map_err(|_| AppError::Internal)?;
    Ok(TotpEnrolment { secret, otpauth_url, qr_svg })
}

/// Confirms enrolment with a code from the device; returns the recovery codes, shown once.
#[server(endpoint = "totp_confirm")]
pub async fn totp_confirm(code: String) -> Result<Vec<String>, AppError> {
    let user = require(Permission::ViewInvestor)?;
    let session: tower_sessions::Session = leptos_axum::extract().await.map_err(|_| AppError::Internal)?;
    let secret: String = session.get("totp_pending").await.ok().flatten().ok_or_else(|| AppError::Conflict("start the set-up first".into()))?;
    let codes = crate::api::with_status(crate::service::auth()?.totp_enable(&user, &secret, &code).await)?;
    let _ = session.remove::<String>("totp_pending").await;
    Ok(codes)
}
