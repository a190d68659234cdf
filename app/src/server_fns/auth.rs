//! Sign-in: the login / logout / change-password / two-factor server functions, and where a
//! request comes from (trusted proxies) and may go after sign-in.
#[cfg(feature = "ssr")]
use domain::governance::Permission;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::AppError;
pub use crate::session::SessionUser;
#[cfg(feature = "ssr")]
pub use crate::session::{caller, require};

/// Where to go after sign-in: only a path on this site. Refused (`None`): anything not starting
/// with one `/`, `//host` and `/\host` (browsers read both as another host), backslashes,
/// schemes and control characters anywhere.
pub fn safe_next(next: &str) -> Option<&str> {
    let ok = next.starts_with('/')
        && !next.starts_with("//")
        && !next.contains('\\')
        && !next.chars().any(|c| c.is_control() || c.is_whitespace())
        && next.len() <= 2048;
    ok.then_some(next)
}

/// The address sign-in throttling counts per client. Behind a reverse proxy every connection
/// comes from the proxy, so one bad client would lock everyone: a peer listed in
/// the server's setting `trusted_proxies` is replaced by the right-most
/// `X-Forwarded-For` address that is not itself a trusted proxy. From any other peer the header
/// is ignored (a client could write anything there).
pub fn client_address(peer: std::net::IpAddr, forwarded_for: Option<&str>, trusted: &[std::net::IpAddr]) -> std::net::IpAddr {
    if !trusted.contains(&peer) {
        return peer;
    }
    forwarded_for
        .into_iter()
        .flat_map(|h| h.rsplit(','))
        .filter_map(|a| a.trim().parse::<std::net::IpAddr>().ok())
        .find(|a| !trusted.contains(a))
        .unwrap_or(peer)
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
    let peer = leptos_axum::extract::<ConnectInfo<SocketAddr>>().await.map(|c| c.0.ip()).ok();
    let forwarded = use_context::<axum::http::request::Parts>().and_then(|p| p.headers.get("x-forwarded-for").and_then(|v| v.to_str().ok()).map(str::to_string));
    let trusted = use_context::<crate::service::TrustedProxies>().unwrap_or_default();
    let ip = peer.map(|p| client_address(p, forwarded.as_deref(), &trusted.0).to_string()).unwrap_or_else(|| "unknown".into());
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

/// Changes the caller's password: the current password, and with two-factor on a current code
/// (or a recovery code). Ends the user's other sessions.
#[server(endpoint = "change_password")]
pub async fn change_password(current: String, new: String, code: Option<String>) -> Result<(), AppError> {
    let user = require(Permission::ViewInvestor)?;
    let session: tower_sessions::Session = leptos_axum::extract().await.map_err(|_| AppError::Internal)?;
    let keep = session.id().map(|id| id.to_string());
    crate::error::with_status(crate::service::auth()?.change_password(&user, &current, &new, code.as_deref().filter(|c| !c.trim().is_empty()), keep.as_deref()).await)
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
/// Replacing an enabled second factor needs the current password and a current code (or a
/// recovery code) as well. Ends the user's other sessions.
#[server(endpoint = "totp_confirm")]
pub async fn totp_confirm(code: String, current_password: Option<String>, current_code: Option<String>) -> Result<Vec<String>, AppError> {
    let user = require(Permission::ViewInvestor)?;
    let session: tower_sessions::Session = leptos_axum::extract().await.map_err(|_| AppError::Internal)?;
    let secret: String = session.get("totp_pending").await.ok().flatten().ok_or_else(|| AppError::Conflict("start the set-up first".into()))?;
    let proof = match (&current_password, &current_code) {
        (Some(p), Some(c)) => Some((p.as_str(), c.as_str())),
        _ => None,
    };
    let keep = session.id().map(|id| id.to_string());
    let codes = crate::error::with_status(crate::service::auth()?.totp_enable(&user, &secret, &code, proof, keep.as_deref()).await)?;
    let _ = session.remove::<String>("totp_pending").await;
    Ok(codes)
}

#[cfg(test)]
mod tests {
    use super::{client_address, safe_next};

    #[test]
    fn forwarded_for_counts_only_behind_a_trusted_proxy() {
        let ip = |s: &str| s.parse::<std::net::IpAddr>().unwrap_or(std::net::IpAddr::from([0, 0, 0, 0]));
        let proxy = [ip("10.0.0.1")];
        assert_eq!(client_address(ip("10.0.0.1"), Some("203.0.113.7"), &proxy), ip("203.0.113.7"));
        assert_eq!(client_address(ip("10.0.0.1"), Some("1.2.3.4, 203.0.113.7, 10.0.0.1"), &proxy), ip("203.0.113.7"), "right-most untrusted hop");
        assert_eq!(client_address(ip("198.51.100.9"), Some("203.0.113.7"), &proxy), ip("198.51.100.9"), "a client cannot spoof it");
        assert_eq!(client_address(ip("10.0.0.1"), Some("garbage"), &proxy), ip("10.0.0.1"));
        assert_eq!(client_address(ip("10.0.0.1"), None, &[]), ip("10.0.0.1"));
    }

    #[test]
    fn next_is_a_same_origin_path_only() {
        for ok in ["/", "/signals", "/trades/sig-1?x=1", "/audit/12"] {
            assert_eq!(safe_next(ok), Some(ok));
        }
        for bad in ["//evil.example", "/\\evil.example", "/\\/evil.example", "https://evil.example", "javascript:alert(1)", "evil", "", "/ok\nSet-Cookie", "/%0d", "\t/x"] {
            let expected = if bad == "/%0d" { Some(bad) } else { None };
            assert_eq!(safe_next(bad), expected, "{bad:?}");
        }
    }
}
