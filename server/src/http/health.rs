//! `/healthz` (the process answers), `/readyz` (the database answers, migrations applied) and
//! `/api/v1/health` (every part's health, as `/health` shows it: read scope or an operations
//! session).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;

use crate::AppState;

/// Liveness and readiness.
pub fn router() -> Router<AppState> {
    Router::new().route("/healthz", get(|| async { Json(json!({"status": "ok"})) })).route("/readyz", get(readyz)).route("/api/v1/health", get(health)).route("/metrics", get(scrape))
}

/// `GET /api/v1/health`: heartbeats, jobs, alert receivers, each route's last five minutes,
/// data quality and clocks, and `problems` (empty: all is well).
async fn health(State(state): State<AppState>, _: super::extract::OperationsReader) -> Response {
    Json(state.console.health(chrono::Utc::now())).into_response()
}

async fn readyz(State(state): State<AppState>) -> Response {
    if state.console.store().ready().await {
        Json(json!({"status": "ready"})).into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, Json(json!({"status": "unavailable", "message": "database unreachable or migrations pending"}))).into_response()
    }
}

/// `GET /metrics`: the Prometheus text format, for a token with the `metrics` scope (the
/// scraper's bearer token); nothing else reaches it.
async fn scrape(State(state): State<AppState>, token: super::extract::ApiToken) -> Response {
    if let Err(e) = token.require(crate::store::Scope::Metrics) {
        return e.into_response();
    }
    let body = state.metrics.render(&state.console);
    ([(axum::http::header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], body).into_response()
}
