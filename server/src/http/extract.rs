//! Who is calling: an API token with its scopes, or a signed-in person.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::header;

use crate::AppState;
use super::{ApiError, ApiResult};

use crate::store::{Scope, Scopes};

/// The caller's API token, checked against the database. Use [`ApiToken::require`] for scope.
pub struct ApiToken(pub Scopes);

impl FromRequestParts<AppState> for ApiToken {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let header = parts.headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).ok_or(ApiError::Unauthorized)?;
        let token = header.strip_prefix("Bearer ").map(str::trim).filter(|t| !t.is_empty()).ok_or(ApiError::Unauthorized)?;
        let scope = state.console.store().token_scope(token).await?.ok_or(ApiError::Unauthorized)?;
        Ok(ApiToken(scope))
    }
}

impl ApiToken {
    pub(crate) fn require(&self, scope: Scope) -> ApiResult<()> {
        if self.0.contains(scope) { Ok(()) } else { Err(ApiError::Forbidden) }
    }
    pub(crate) fn require_any(&self, scopes: &[Scope]) -> ApiResult<()> {
        if scopes.iter().any(|s| self.0.contains(*s)) { Ok(()) } else { Err(ApiError::Forbidden) }
    }
}

/// A caller of the read-only analytics: an API token with the `read` scope (an ingest or engine
/// token reads nothing here), or any signed-in user. `operations`: a token, or a role that sees
/// operations (positions, exits); false for an investor's session, which gets the track record
/// without any instrument, position, signal or order.
pub struct Reader {
    pub operations: bool,
}

impl FromRequestParts<AppState> for Reader {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        if let Some(user) = parts.extensions.get::<app::session::SessionUser>() {
            return Ok(Reader { operations: user.role.allows(domain::governance::Permission::ViewOperations) });
        }
        let token = ApiToken::from_request_parts(parts, state).await?;
        token.require(Scope::Read)?;
        Ok(Reader { operations: true })
    }
}

/// Any caller: an API token of any scope or any signed-in user. For computations on the caller's
/// own data (`POST /api/v1/metrics/returns`), which read nothing of the console.
pub struct AnyCaller;

impl FromRequestParts<AppState> for AnyCaller {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        if parts.extensions.get::<app::session::SessionUser>().is_some() {
            return Ok(AnyCaller);
        }
        ApiToken::from_request_parts(parts, state).await.map(|_| AnyCaller)
    }
}

/// Operations-only analytics (`GET /api/v1/kpis/week`): a token of any scope, or a role that
/// sees operations.
pub struct OperationsReader;

impl FromRequestParts<AppState> for OperationsReader {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        match Reader::from_request_parts(parts, state).await? {
            Reader { operations: true } => Ok(OperationsReader),
            _ => Err(ApiError::Forbidden),
        }
    }
}
