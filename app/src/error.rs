//! `AppError`: what a server function may tell a page about a failure (never internal details),
//! and the HTTP status it sets.
#[cfg(feature = "ssr")]
use leptos::prelude::*;
use leptos::server_fn::codec::JsonEncoding;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use serde::{Deserialize, Serialize};

/// What a page may learn about a failure: never internal details.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, thiserror::Error)]
pub enum AppError {
    #[error("not found")]
    NotFound,
    #[error("sign in first")]
    Unauthorized,
    #[error("your role does not allow that")]
    Forbidden,
    #[error("{0}")]
    Locked(String),
    #[error("{0}")]
    Conflict(String),
    /// The policy asks for a fresh two-factor code for this action.
    #[error("{0}")]
    SecondFactor(String),
    #[error("{0}")]
    Invalid(String),
    #[error("the console could not answer; the details are in its log")]
    Internal,
    #[error("request failed: {0}")]
    Transport(String),
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;
    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        AppError::Transport(value.to_string())
    }
}

/// Sets the HTTP status of a failed server function from its error (400, 404, 409, 429 ...).
#[cfg(feature = "ssr")]
pub fn with_status<T>(r: Result<T, AppError>) -> Result<T, AppError> {
    if let Err(e) = &r
        && let Some(res) = use_context::<leptos_axum::ResponseOptions>()
    {
        use axum::http::StatusCode as S;
        res.set_status(match e {
            AppError::NotFound => S::NOT_FOUND,
            AppError::Unauthorized => S::UNAUTHORIZED,
            AppError::Forbidden | AppError::SecondFactor(_) => S::FORBIDDEN,
            AppError::Locked(_) => S::TOO_MANY_REQUESTS,
            AppError::Conflict(_) => S::CONFLICT,
            AppError::Invalid(_) | AppError::Transport(_) => S::BAD_REQUEST,
            AppError::Internal => S::INTERNAL_SERVER_ERROR,
        });
    }
    r
}
