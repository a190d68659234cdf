//! `/api/v1/alerts` and `/api/v1/anomalies`: the alerts and what the detectors found, for
//! programs (read scope, or a session that sees operations). Acknowledgements and silences are
//! server functions only: people act, tokens read.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::routing::get;
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use domain::anomaly::alerts::{AlertQuery, AlertState};
use domain::event::Severity;
use serde_json::{Value, json};

use super::extract::*;
use super::{ApiError, ApiResult, bad_field as bad};
use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/api/v1/alerts", get(alerts)).route("/api/v1/alerts/{fingerprint}", get(alert)).route("/api/v1/anomalies", get(anomalies))
}

fn known(params: &HashMap<String, String>, allowed: &[&str]) -> ApiResult<()> {
    match params.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(unknown) => Err(bad(unknown, format!("unknown parameter; expected one of {}", allowed.join(", ")))),
        None => Ok(()),
    }
}

fn param<'a>(params: &'a HashMap<String, String>, k: &str) -> Option<&'a str> {
    params.get(k).map(|v| v.trim()).filter(|v| !v.is_empty())
}

fn limit(params: &HashMap<String, String>, max: usize) -> ApiResult<Option<usize>> {
    param(params, "limit").map(|s| s.parse::<usize>().ok().filter(|n| (1..=max).contains(n)).ok_or_else(|| bad("limit", format!("a whole number from 1 to {max}")))).transpose()
}

/// `GET /api/v1/alerts?state=&severity=&rule=&limit=`: firing first (critical first), newest
/// first; `state` is firing, acknowledged, silenced or resolved. Counts cover every alert.
async fn alerts(State(state): State<AppState>, _: OperationsReader, Query(params): Query<HashMap<String, String>>) -> ApiResult<Json<Value>> {
    known(&params, &["state", "severity", "rule", "limit"])?;
    let names = |all: &[&str]| all.join(", ");
    let q = AlertQuery {
        state: param(&params, "state").map(|s| AlertState::parse(s).ok_or_else(|| bad("state", format!("one of {}", names(&AlertState::ALL.map(|x| x.as_str())))))).transpose()?,
        severity: param(&params, "severity").map(|s| Severity::parse(s).ok_or_else(|| bad("severity", format!("one of {}", names(Severity::NAMES))))).transpose()?,
        rule: param(&params, "rule").map(|r| if r.len() > 128 { Err(bad("rule", "at most 128 bytes")) } else { Ok(r.to_string()) }).transpose()?,
        limit: limit(&params, 500)?,
    };
    let page = state.console.alerts_page(&q, Utc::now());
    Ok(Json(serde_json::to_value(page).map_err(anyhow::Error::from)?))
}

/// `GET /api/v1/alerts/{fingerprint}`: one alert with its history.
async fn alert(State(state): State<AppState>, _: OperationsReader, Path(fp): Path<String>) -> ApiResult<Json<Value>> {
    if fp.len() != 16 || !fp.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(bad("fingerprint", "16 hex digits"));
    }
    let row = state.console.alert_row(&fp, Utc::now()).ok_or(ApiError::NotFound)?;
    Ok(Json(serde_json::to_value(row).map_err(anyhow::Error::from)?))
}

fn time(field: &str, s: &str) -> ApiResult<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s).map(|t| t.with_timezone(&Utc)).map_err(|_| bad(field, "an RFC 3339 time"))
}

/// `GET /api/v1/anomalies?from=&to=&limit=`: what the statistical detectors flagged (console
/// clock `received_at` in `[from, to)`), newest first (default 100, at most 5000), with the total
/// ever found.
async fn anomalies(State(state): State<AppState>, _: OperationsReader, Query(params): Query<HashMap<String, String>>) -> ApiResult<Json<Value>> {
    known(&params, &["from", "to", "limit"])?;
    let from = param(&params, "from").map(|s| time("from", s)).transpose()?;
    let to = param(&params, "to").map(|s| time("to", s)).transpose()?;
    if let (Some(a), Some(b)) = (from, to)
        && a > b
    {
        return Err(bad("to", "before from"));
    }
    let n = limit(&params, domain::anomaly::ANOMALIES_KEPT)?.unwrap_or(100);
    let (rows, total) = state.console.anomalies(from, to, n);
    Ok(Json(json!({"anomalies": rows, "total_found": total})))
}
