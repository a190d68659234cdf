//! `/healthz` (the process answers) and `/readyz` (the database answers, migrations applied).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;

use crate::AppState;

/// Liveness and readiness.
pub fn router() -> Router<AppState> {
    Router::new().route("/healthz", get(|| async { Json(json!({"status": "ok"})) })).route("/readyz", get(readyz))
}

async fn readyz(State(state): State<AppState>) -> Response {
    if state.console.store().ready().await {
        Json(json!({"status": "ready"})).into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, Json(json!({"status": "unavailable", "message": "database unreachable or migrations pending"}))).into_response()
    }
}
