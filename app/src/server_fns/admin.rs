//! Server functions of `/admin`: accounts, sign-in attempts and API tokens.
#[cfg(feature = "ssr")]
use domain::governance::Permission;
use leptos::prelude::*;

use crate::error::AppError;
#[cfg(feature = "ssr")]
use crate::error::with_status;
use domain::view::{LoginAttemptView, TokenView, UserAdminView};

#[server(endpoint = "get_users")]
pub async fn get_users() -> Result<Vec<UserAdminView>, AppError> {
    crate::session::require(Permission::ManageUsers)?;
    crate::service::auth()?.users().await
}

#[server(endpoint = "get_login_attempts")]
pub async fn get_login_attempts() -> Result<Vec<LoginAttemptView>, AppError> {
    crate::session::require(Permission::ManageUsers)?;
    crate::service::auth()?.login_attempts(200).await
}

#[server(endpoint = "get_tokens")]
pub async fn get_tokens() -> Result<Vec<TokenView>, AppError> {
    crate::session::require(Permission::ManageUsers)?;
    crate::service::auth()?.tokens().await
}

/// Creates an API token; its secret is in the answer once and never again.
#[server(endpoint = "create_token")]
pub async fn create_token(name: String, scopes: Vec<String>) -> Result<String, AppError> {
    let user = crate::session::require(Permission::ManageUsers)?;
    with_status(crate::service::auth()?.create_token(&user, &name, &scopes).await)
}

#[server(endpoint = "revoke_token")]
pub async fn revoke_token(id: i64) -> Result<(), AppError> {
    let user = crate::session::require(Permission::ManageUsers)?;
    with_status(crate::service::auth()?.revoke_token(&user, id).await)
}
