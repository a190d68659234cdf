//! Automations, their decisions, and the effective configuration, for engines.

use axum::extract::{Path, Query, State};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::AppState;
use super::{ApiResult, bad};
use super::extract::*;
use crate::store::Scope;

/// What engines read of governance.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/automations", get(automations))
        .route("/api/v1/automations/{id}/decisions", get(decisions))
        .route("/api/v1/config", get(config))
}

/// Every automation's gating mode, pause state and counters, and the global pause.
/// Scope `engine` or `read`.
async fn automations(State(state): State<AppState>, token: ApiToken) -> ApiResult<Json<Value>> {
    token.require_any(&[Scope::Engine, Scope::Read])?;
    let g = state.console.governance_view();
    let (_, config) = state.console.current_config();
    Ok(Json(json!({
        "global_pause": g.global_pause,
        "config_version": g.config_version,
        // How many approvals a new automation's entries wait for (engines gate before the
        // console has listed an automation).
        "gating": {"threshold": config.gating.threshold, "overrides": config.gating.overrides},
        "automations": g.automations,
        // The soonest to expire first, at most 50; `pending_total` counts all.
        "pending": g.pending.iter().map(|p| json!({"signal_id": p.signal_id, "automation_id": p.automation_id, "expires_at": p.expires_at})).collect::<Vec<_>>(),
        "pending_total": g.pending_total,
    })))
}

#[derive(Debug, Deserialize)]
struct DecisionParams {
    after_seq: Option<u64>,
    limit: Option<usize>,
}

/// Decisions (approve, reject, timeout, acknowledge) on an automation's signals after a log
/// position, oldest first, with the automation's current mode and pause state. Scope `engine`.
async fn decisions(
    State(state): State<AppState>,
    token: ApiToken,
    Path(id): Path<String>,
    params: Result<Query<DecisionParams>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Json<Value>> {
    token.require_any(&[Scope::Engine, Scope::Read])?;
    let Query(p) = params.map_err(|e| bad("invalid_query", e.body_text()))?;
    let limit = p.limit.unwrap_or(500).clamp(1, 1000);
    let rows = state.console.decisions(Some(&id), p.after_seq.unwrap_or(0), limit);
    let g = state.console.governance_view();
    let automation = g.automations.iter().find(|a| a.automation_id == id);
    Ok(Json(json!({
        "automation_id": id,
        "mode": automation.map(|a| a.mode.as_str()).unwrap_or("gated"),
        "paused": g.global_pause.is_some() || automation.is_some_and(|a| a.paused.is_some()),
        "decisions": rows,
        "next_after_seq": rows.last().map(|d| d.seq).or(p.after_seq),
    })))
}

/// The effective configuration and its version. Scope `engine` or `read`.
async fn config(State(state): State<AppState>, token: ApiToken) -> ApiResult<Json<Value>> {
    token.require_any(&[Scope::Engine, Scope::Read])?;
    let (version, config) = state.console.current_config();
    Ok(Json(json!({"version": version, "config": config})))
}
