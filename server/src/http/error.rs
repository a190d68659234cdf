//! The API's one error type: every error is JSON `{"error": code, "message": text, ...}`;
//! internal details go to the log only.

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{Value, json};


#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("missing or invalid API token")]
    Unauthorized,
    #[error("this token's scope does not allow that")]
    Forbidden,
    #[error("{message}")]
    BadRequest { code: &'static str, message: String, detail: Value },
    #[error("{message}")]
    Unprocessable { message: String, detail: Value },
    #[error("batch too large")]
    TooLarge { message: String },
    #[error("not found")]
    NotFound,
    #[error("{message}")]
    Conflict { message: String, detail: Value },
    /// Not ready yet (503 with `Retry-After: 5`).
    #[error("{message}")]
    Unavailable { message: String },
    #[error("internal error")]
    Internal(#[from] anyhow::Error),
}

pub type ApiResult<T> = Result<T, ApiError>;

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, body) = match self {
            ApiError::Unauthorized => (StatusCode::UNAUTHORIZED, json!({"error": "unauthorized", "message": "missing or invalid API token: send Authorization: Bearer <token>"})),
            ApiError::Forbidden => (StatusCode::FORBIDDEN, json!({"error": "forbidden", "message": "this token's scope does not allow that"})),
            ApiError::BadRequest { code, message, detail } => (StatusCode::BAD_REQUEST, merge(json!({"error": code, "message": message}), detail)),
            ApiError::Unprocessable { message, detail } => (StatusCode::UNPROCESSABLE_ENTITY, merge(json!({"error": "invalid_event", "message": message}), detail)),
            ApiError::TooLarge { message } => (StatusCode::PAYLOAD_TOO_LARGE, json!({"error": "too_large", "message": message})),
            ApiError::Conflict { message, detail } => (StatusCode::CONFLICT, merge(json!({"error": "conflict", "message": message}), detail)),
            ApiError::NotFound => (StatusCode::NOT_FOUND, json!({"error": "not_found", "message": "no such resource"})),
            ApiError::Unavailable { message } => (StatusCode::SERVICE_UNAVAILABLE, json!({"error": "unavailable", "message": message})),
            ApiError::Internal(e) => {
                tracing::error!(error = format!("{e:#}"), "internal error in API");
                (StatusCode::INTERNAL_SERVER_ERROR, json!({"error": "internal", "message": "internal error; see the server log"}))
            }
        };
        let mut res = (status, Json(body)).into_response();
        if status == StatusCode::UNAUTHORIZED {
            res.headers_mut().insert(header::WWW_AUTHENTICATE, header::HeaderValue::from_static("Bearer"));
        }
        if status == StatusCode::SERVICE_UNAVAILABLE {
            res.headers_mut().insert(header::RETRY_AFTER, header::HeaderValue::from_static("5"));
        }
        res
    }
}

pub(crate) fn merge(mut base: Value, extra: Value) -> Value {
    if let (Some(b), Value::Object(e)) = (base.as_object_mut(), extra) {
        b.extend(e);
    }
    base
}

/// A 400 `invalid_query` naming the parameter: `{"error", "message": "FIELD: why", "field"}`.
pub(crate) fn bad_field(field: &str, message: impl std::fmt::Display) -> ApiError {
    ApiError::BadRequest { code: "invalid_query", message: format!("{field}: {message}"), detail: serde_json::json!({"field": field}) }
}

pub(crate) fn bad(code: &'static str, message: impl Into<String>) -> ApiError {
    ApiError::BadRequest { code, message: message.into(), detail: Value::Null }
}
