//! Accounts and sessions: argon2id passwords, server-side sessions (tower-sessions, stored in our
//! SQLite file), login throttling, and the middleware that turns a session into the caller.
use std::sync::Arc;

use anyhow::Result;
use app::session::SessionUser;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{DateTime, Duration, Utc};
use domain::governance::Role;
use tower_sessions::Session;

pub mod password;
pub mod totp;

use crate::AppState;
use crate::store::Store;
pub use crate::store::accounts::User;
pub use crate::store::sessions::Sessions;

/// Failed attempts per account within the window before the account locks.
pub const MAX_FAILURES: i64 = 5;
/// Failed attempts per client address within the window before the address locks (higher: a
/// desk shares an address).
pub const MAX_FAILURES_PER_IP: i64 = 20;
/// The window failed attempts are counted in, and how long a lock lasts.
pub const LOCK_MINUTES: i64 = 15;
/// A session ends this long after login whatever its activity (the idle timeout is the cookie's).
pub const ABSOLUTE_TIMEOUT_HOURS: i64 = 12;
/// Idle timeout of a session.
pub const IDLE_TIMEOUT_MINUTES: i64 = 30;
pub use password::MIN_PASSWORD_CHARS;

/// The throttling delay of a failed sign-in after `earlier` recent failures: 250 ms per failure,
/// this one included, up to [`MAX_FAILURES`].
fn failure_delay_ms(earlier: i64) -> u64 {
    250 * (earlier.max(0) + 1).min(MAX_FAILURES) as u64
}

/// Login attempts are kept this long (for admins and throttling), then pruned.
pub const ATTEMPTS_KEPT_DAYS: i64 = 30;

pub use password::{check_password_rules, hash_password};
use password::{DUMMY_HASH, verify_password};

#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    /// The same answer for an unknown user and a wrong password.
    #[error("wrong username or password")]
    Invalid,
    #[error("too many failed attempts; try again in {minutes} minutes")]
    Locked { minutes: i64 },
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

/// A login check's place among those under way (see [`Store::login`]): counted per account and
/// per address while it lives.
struct Reservation {
    map: std::sync::Arc<std::sync::Mutex<std::collections::HashMap<String, i64>>>,
    keys: [String; 2],
}

impl Reservation {
    /// Takes a place if `room(in flight for the account, in flight for the address)` allows.
    fn take(map: &std::sync::Arc<std::sync::Mutex<std::collections::HashMap<String, i64>>>, keys: [String; 2], room: impl FnOnce(i64, i64) -> bool) -> Option<Self> {
        let mut m = map.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let (u, i) = (m.get(&keys[0]).copied().unwrap_or(0), m.get(&keys[1]).copied().unwrap_or(0));
        if !room(u, i) {
            return None;
        }
        for k in &keys {
            *m.entry(k.clone()).or_insert(0) += 1;
        }
        Some(Self { map: map.clone(), keys })
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        let mut m = self.map.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        for k in &self.keys {
            if let Some(n) = m.get_mut(k) {
                *n -= 1;
                if *n <= 0 {
                    m.remove(k);
                }
            }
        }
    }
}

impl Store {
    pub async fn add_user(&self, username: &str, role: Role, password: &str, now: DateTime<Utc>) -> Result<i64> {
        let username = username.trim();
        anyhow::ensure!(!username.is_empty() && username.len() <= 64 && username.chars().all(|c| c.is_ascii_alphanumeric() || "._-".contains(c)), "a username is 1 to 64 letters, digits, '.', '_' or '-'");
        check_password_rules(password).map_err(anyhow::Error::msg)?;
        let hash = hash_password(password.to_string()).await?;
        self.insert_user(username, role, hash, now).await
    }

    /// Deletes login attempts older than [`ATTEMPTS_KEPT_DAYS`].
    pub async fn prune_attempts(&self, now: DateTime<Utc>) -> Result<u64> {
        self.prune_attempts_before(now - Duration::days(ATTEMPTS_KEPT_DAYS)).await
    }

    /// Checks a login. Failed attempts per account and per address within [`LOCK_MINUTES`] slow
    /// the answer down (250 ms per failure) and, from the [`MAX_FAILURES`]th, lock both.
    ///
    /// The failure accounting is atomic: under one lock, the stored failures plus the checks
    /// already under way must leave room, and this check reserves its place *before* argon2
    /// runs; so 100 concurrent wrong passwords check at most [`MAX_FAILURES`] of them. Attempts
    /// refused while locked are not recorded as failures (they would extend the lock forever);
    /// they go to the log.
    pub async fn login(&self, username: &str, password: &str, ip: &str, now: DateTime<Utc>) -> Result<User, LoginError> {
        let since = now - Duration::minutes(LOCK_MINUTES);
        let keys = [format!("user:{username}"), format!("ip:{ip}")];
        // Read the stored failures and reserve under one lock: a check's reservation is released
        // only after its failure is stored, so every reader sees it one way or the other.
        let gate = self.login_gate.lock().await;
        let (by_user, last_user) = self.failures_since("username", username, since).await?;
        let (by_ip, last_ip) = self.failures_since("ip", ip, since).await?;
        let reservation = Reservation::take(&self.logins_in_flight, keys, |u, i| by_user + u < MAX_FAILURES && by_ip + i < MAX_FAILURES_PER_IP);
        drop(gate);
        let Some(_reservation) = reservation else {
            let last = last_user.max(last_ip).unwrap_or(now.timestamp_millis());
            let left = (last + LOCK_MINUTES * 60_000 - now.timestamp_millis()).max(60_000);
            tracing::warn!(username = %username.chars().take(64).collect::<String>(), ip, "login refused: account or address locked");
            return Err(LoginError::Locked { minutes: (left + 59_999) / 60_000 });
        };
        // The reservation is released when this returns (or is dropped mid-way, e.g. by a
        // client that disconnects), after the attempt is stored.
        self.check_login(username, password, ip, by_user, now).await
    }

    /// The check itself, with its place reserved (see [`Store::login`]).
    async fn check_login(&self, username: &str, password: &str, ip: &str, by_user: i64, now: DateTime<Utc>) -> Result<User, LoginError> {
        let user = self.user_named(username).await?;
        let phc = match &user {
            Some(u) => u.password_hash.clone(),
            None => match DUMMY_HASH.get() {
                Some(h) => h.clone(),
                None => {
                    let h = hash_password(format!("dummy-{}", rand::random::<u64>())).await?;
                    DUMMY_HASH.get_or_init(|| h).clone()
                }
            },
        };
        let ok = verify_password(password.to_string(), phc).await && user.is_some();
        self.record_attempt(username, ip, ok, now).await?;
        match user {
            Some(u) if ok => Ok(u),
            _ => {
                tokio::time::sleep(std::time::Duration::from_millis(failure_delay_ms(by_user))).await;
                Err(LoginError::Invalid)
            }
        }
    }

    pub async fn set_password(&self, user_id: i64, password: &str) -> Result<()> {
        check_password_rules(password).map_err(anyhow::Error::msg)?;
        let hash = hash_password(password.to_string()).await?;
        self.set_password_hash(user_id, hash).await
    }

    pub async fn check_password(&self, user_id: i64, password: &str) -> Result<bool> {
        let Some(u) = self.user(user_id).await? else { return Ok(false) };
        Ok(verify_password(password.to_string(), u.password_hash).await)
    }

}
pub use crate::store::sessions::SESSION_USER_ID;
pub const SESSION_LOGIN_AT: &str = "login_at_ms";
/// The minute of the session's last request (see [`resolve_user`]).
pub const SESSION_SEEN_MINUTE: &str = "seen_minute";

/// Resolves the session to the caller ([`SessionUser`] in the request's extensions), ending
/// sessions past the absolute timeout or whose user was disabled.
pub async fn resolve_user(State(state): State<AppState>, session: Session, mut req: Request, next: Next) -> Response {
    let user_id: Option<i64> = session.get(SESSION_USER_ID).await.ok().flatten();
    if let Some(id) = user_id {
        let login_at: i64 = session.get(SESSION_LOGIN_AT).await.ok().flatten().unwrap_or(0);
        let expired = Utc::now().timestamp_millis() - login_at > ABSOLUTE_TIMEOUT_HOURS * 3_600_000;
        match state.console.store().user(id).await {
            Ok(Some(u)) if !expired => {
                // The idle timeout counts from the last request: a session is saved (and its
                // expiry moved on) only when modified, so mark it once a minute of activity.
                let minute = Utc::now().timestamp() / 60;
                if session.get::<i64>(SESSION_SEEN_MINUTE).await.ok().flatten() != Some(minute) {
                    let _ = session.insert(SESSION_SEEN_MINUTE, minute).await;
                }
                req.extensions_mut().insert(SessionUser { id: u.id, username: u.username, role: u.role });
            }
            Ok(_) => {
                let _ = session.flush().await;
            }
            Err(e) => tracing::error!(error = format!("{e:#}"), "loading the session's user"),
        }
    }
    next.run(req).await
}

/// Pages only signed-in people see, and which role each needs. The server functions and the
/// API check again; this is what keeps an investor's browser off operations pages.
pub async fn guard_pages(req: Request, next: Next) -> Response {
    let path = req.uri().path();
    let public = path == "/login"
        || path.starts_with("/pkg/")
        || path.starts_with("/api/")
        || path.starts_with("/live/")
        || matches!(path, "/healthz" | "/readyz" | "/metrics" | "/favicon.ico");
    if public || req.method() != Method::GET {
        return next.run(req).await;
    }
    let user = req.extensions().get::<SessionUser>().cloned();
    match user {
        None => {
            let next_path = if path == "/" { String::new() } else { format!("?next={}", urlencode(path)) };
            Redirect::to(&format!("/login{next_path}")).into_response()
        }
        Some(u) => {
            let investor_page = path == "/investor" || path.starts_with("/investor/") || path == "/account" || path == "/reports" || path.starts_with("/reports/");
            let needs = if investor_page { domain::governance::Permission::ViewInvestor } else { domain::governance::Permission::ViewOperations };
            if u.role.allows(needs) {
                next.run(req).await
            } else if u.role.allows(domain::governance::Permission::ViewInvestor) {
                Redirect::to("/investor").into_response()
            } else {
                StatusCode::FORBIDDEN.into_response()
            }
        }
    }
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| if b.is_ascii_alphanumeric() || b"/-_.".contains(&b) { (b as char).to_string() } else { format!("%{b:02X}") })
        .collect()
}

/// Refuses cross-site state-changing requests to the console's own endpoints (server functions,
/// login): the browser's `Sec-Fetch-Site`, or else `Origin` against `Host`. The token API is
/// exempt: it is not cookie-authenticated.
pub async fn same_origin(req: Request, next: Next) -> Response {
    if req.method() == Method::GET || req.method() == Method::HEAD || req.uri().path().starts_with("/api/v1/") {
        return next.run(req).await;
    }
    if !is_same_origin(req.headers()) {
        return (StatusCode::FORBIDDEN, "cross-site request refused").into_response();
    }
    next.run(req).await
}

fn is_same_origin(h: &HeaderMap) -> bool {
    if let Some(site) = h.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        return matches!(site, "same-origin" | "none");
    }
    match (h.get(header::ORIGIN).and_then(|v| v.to_str().ok()), h.get(header::HOST).and_then(|v| v.to_str().ok())) {
        (Some(origin), Some(host)) => origin.split_once("://").map(|(_, rest)| rest == host).unwrap_or(false),
        // No Origin (non-browser clients, old browsers on same-origin GET-like posts): allowed; the
        // session cookie is SameSite=Strict, so a cross-site browser request carries no session.
        (None, _) => true,
        (Some(_), None) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origin_must_match_host() {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, "127.0.0.1:3000".parse().unwrap_or_else(|_| unreachable!()));
        assert!(is_same_origin(&h));
        h.insert(header::ORIGIN, "http://127.0.0.1:3000".parse().unwrap_or_else(|_| unreachable!()));
        assert!(is_same_origin(&h));
        h.insert(header::ORIGIN, "http://evil.example".parse().unwrap_or_else(|_| unreachable!()));
        assert!(!is_same_origin(&h));
        h.insert("sec-fetch-site", "cross-site".parse().unwrap_or_else(|_| unreachable!()));
        assert!(!is_same_origin(&h));
    }
}

/// The account operations the server functions reach through [`app::service::AuthService`].
/// One answer for every failed sign-in, whatever failed.
pub const WRONG_CREDENTIALS: &str = "wrong username, password or two-factor code";

pub struct AuthProvider {
    pub store: Store,
    /// Token changes are recorded in the audit chain.
    pub console: Arc<crate::console::Console>,
}

/// Failed step-up codes per account within [`LOCK_MINUTES`] before step-up locks.
pub const MAX_STEP_UP_FAILURES: i64 = 5;

fn internal_app(e: anyhow::Error) -> app::error::AppError {
    tracing::error!(error = format!("{e:#}"), "auth service");
    app::error::AppError::Internal
}

impl AuthProvider {
    /// Ends every session of `user_id` but `keep` (after a password or second-factor change).
    async fn end_other_sessions(&self, user_id: i64, keep: Option<&str>) -> Result<(), app::error::AppError> {
        let n = self.store.end_sessions_of(user_id, keep).await.map_err(internal_app)?;
        tracing::info!(user_id, sessions = n, "ended the user's other sessions");
        Ok(())
    }

    /// An access change in the audit chain: a `system` event from component `console.access`.
    async fn audit_access(&self, actor: &SessionUser, status: &str, detail: String) -> Result<(), app::error::AppError> {
        tracing::info!(user = %actor.username, status, "access change");
        self.console
            .record(vec![crate::console::system_event("console.access", status, detail).map_err(internal_app)?], Utc::now())
            .await
            .map(|_| ())
            .map_err(|e| internal_app(anyhow::anyhow!("{e}")))
    }
}

#[async_trait::async_trait]
impl app::service::AuthService for AuthProvider {
    async fn login(&self, username: &str, password: &str, code: Option<&str>, ip: &str) -> Result<SessionUser, app::error::AppError> {
        let now = Utc::now();
        match self.store.login(username, password, ip, now).await {
            Ok(u) => {
                // With two-factor on, the password alone is not a login: the same answer as a
                // wrong password, and the attempt counts as a failure.
                let second = match code {
                    Some(c) => self.store.second_factor(u.id, &u.username, c, now).await.map_err(internal_app)?,
                    None => self.store.totp_secret(u.id).await.map_err(internal_app)?.is_none(),
                };
                if !second {
                    self.store.record_attempt(username, ip, false, now).await.map_err(internal_app)?;
                    // The same cost as a wrong password (argon2 ran; now the same throttling
                    // delay), so the timing does not tell that the password was right.
                    let (failures, _) = self.store.failures_since("username", username, now - Duration::minutes(LOCK_MINUTES)).await.map_err(internal_app)?;
                    tokio::time::sleep(std::time::Duration::from_millis(failure_delay_ms(failures - 1))).await;
                    return Err(app::error::AppError::Invalid(WRONG_CREDENTIALS.into()));
                }
                tracing::info!(user = %u.username, role = u.role.as_str(), "login");
                Ok(SessionUser { id: u.id, username: u.username, role: u.role })
            }
            Err(LoginError::Invalid) => {
                tracing::warn!(ip, "failed login");
                Err(app::error::AppError::Invalid(WRONG_CREDENTIALS.into()))
            }
            Err(e @ LoginError::Locked { .. }) => {
                tracing::warn!(ip, "login refused: locked");
                Err(app::error::AppError::Locked(e.to_string()))
            }
            Err(LoginError::Internal(e)) => Err(internal_app(e)),
        }
    }

    async fn totp_enrolment(&self, user: &SessionUser) -> Result<(String, String, String), app::error::AppError> {
        crate::auth::totp::new_enrolment(&user.username).map_err(internal_app)
    }

    async fn totp_enable(&self, user: &SessionUser, secret: &str, code: &str, proof: Option<(&str, &str)>, keep_session: Option<&str>) -> Result<Vec<String>, app::error::AppError> {
        use app::error::AppError::{Forbidden, Invalid};
        let now = Utc::now();
        let replacing = self.store.totp_secret(user.id).await.map_err(internal_app)?.is_some();
        if replacing {
            // Whoever holds a signed-in session must still prove the account to replace its
            // second factor: the password and a code of the current one.
            let Some((password, current)) = proof else {
                return Err(Forbidden);
            };
            let ok = self.store.check_password(user.id, password).await.map_err(internal_app)?
                && self.store.second_factor(user.id, &user.username, current, now).await.map_err(internal_app)?;
            if !ok {
                self.store.record_attempt(&user.username, "2fa-change", false, now).await.map_err(internal_app)?;
                return Err(Invalid("the current password or two-factor code is wrong".into()));
            }
        }
        match self.store.enable_totp(user.id, &user.username, secret, code, now).await.map_err(internal_app)? {
            Some(codes) => {
                let status = if replacing { "two_factor_replaced" } else { "two_factor_enabled" };
                self.audit_access(user, status, format!("two-factor {} by {}", if replacing { "replaced" } else { "turned on" }, user.username)).await?;
                self.end_other_sessions(user.id, keep_session).await?;
                Ok(codes)
            }
            None => Err(Invalid("that code does not match; check the device's clock and try the next code".into())),
        }
    }

    async fn totp_enabled(&self, user_id: i64) -> Result<bool, app::error::AppError> {
        Ok(self.store.totp_secret(user_id).await.map_err(internal_app)?.is_some())
    }

    async fn change_password(&self, user: &SessionUser, current: &str, new: &str, code: Option<&str>, keep_session: Option<&str>) -> Result<(), app::error::AppError> {
        use app::error::AppError::Invalid;
        let now = Utc::now();
        if !self.store.check_password(user.id, current).await.map_err(internal_app)? {
            return Err(Invalid("the current password is wrong".into()));
        }
        if self.store.totp_secret(user.id).await.map_err(internal_app)?.is_some() {
            let ok = match code {
                Some(c) => self.store.second_factor(user.id, &user.username, c, now).await.map_err(internal_app)?,
                None => false,
            };
            if !ok {
                return Err(Invalid("two-factor is on: a current code (or a recovery code) is needed too".into()));
            }
        }
        check_password_rules(new).map_err(Invalid)?;
        self.store.set_password(user.id, new).await.map_err(internal_app)?;
        self.audit_access(user, "password_changed", format!("password changed by {}", user.username)).await?;
        self.end_other_sessions(user.id, keep_session).await
    }

    async fn step_up(&self, user: &SessionUser, code: &str) -> Result<(), app::error::AppError> {
        use app::error::AppError::{Locked, SecondFactor};
        let now = Utc::now();
        // Failed step-ups are attempts like failed logins (address "step-up"), so an account
        // guessing codes locks the same way.
        let (failures, _) = self.store.failures_since("username", &user.username, now - Duration::minutes(LOCK_MINUTES)).await.map_err(internal_app)?;
        if failures >= MAX_STEP_UP_FAILURES {
            return Err(Locked(format!("too many failed attempts; try again in {LOCK_MINUTES} minutes")));
        }
        match self.store.fresh_totp(user.id, &user.username, code, now).await.map_err(internal_app)? {
            None => Err(SecondFactor("policy: this action needs a fresh two-factor code; turn two-factor on under Account first".into())),
            Some(true) => Ok(()),
            Some(false) => {
                self.store.record_attempt(&user.username, "step-up", false, now).await.map_err(internal_app)?;
                tracing::warn!(user = %user.username, "step-up code refused");
                Err(SecondFactor("policy: this action needs a fresh two-factor code (each code works once; wait for the next one)".into()))
            }
        }
    }

    async fn users(&self) -> Result<Vec<domain::view::UserAdminView>, app::error::AppError> {
        self.store.users().await.map_err(internal_app)
    }

    async fn tokens(&self) -> Result<Vec<domain::view::TokenView>, app::error::AppError> {
        self.store.tokens().await.map_err(internal_app)
    }

    async fn create_token(&self, actor: &SessionUser, name: &str, scopes: &[String]) -> Result<String, app::error::AppError> {
        use app::error::AppError::{Conflict, Invalid};
        let name = name.trim();
        if name.is_empty() || name.len() > 64 || !name.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)) {
            return Err(Invalid("name: 1 to 64 characters of letters, digits, '-', '_' or '.'".into()));
        }
        let scopes: crate::store::Scopes = scopes.join(",").parse().map_err(|e: String| Invalid(format!("scopes: {e}")))?;
        if self.store.tokens().await.map_err(internal_app)?.iter().any(|t| t.name == name) {
            return Err(Conflict(format!("a token named '{name}' exists; names are unique")));
        }
        let token = self.store.create_token(name, &scopes, Utc::now()).await.map_err(internal_app)?;
        self.audit_access(actor, "token_created", format!("API token '{name}' ({}) created by {}", scopes.as_string(), actor.username)).await?;
        Ok(token)
    }

    async fn revoke_token(&self, actor: &SessionUser, id: i64) -> Result<(), app::error::AppError> {
        let name = self.store.revoke_token(id, Utc::now()).await.map_err(internal_app)?.ok_or(app::error::AppError::NotFound)?;
        self.audit_access(actor, "token_revoked", format!("API token '{name}' revoked by {}", actor.username)).await
    }

    async fn login_attempts(&self, limit: i64) -> Result<Vec<domain::view::LoginAttemptView>, app::error::AppError> {
        self.store.login_attempts(limit).await.map_err(internal_app)
    }
}
