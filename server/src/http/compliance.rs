//! `/api/v1/compliance/issues`, `/api/v1/compliance/issues/{id}` and `/api/v1/compliance/limits`:
//! the compliance desk for programs (read scope, or a session that sees operations). Workflow
//! steps are server functions only: people act, tokens read.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::routing::get;
use axum::{Json, Router};
use chrono::{DateTime, NaiveDate, Utc};
use domain::compliance::{IssueQuery, IssueState};
use domain::event::Severity;
use serde_json::{Value, json};

use crate::AppState;
use super::{ApiError, ApiResult};
use super::extract::*;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/compliance/issues", get(issues))
        .route("/api/v1/compliance/issues/{id}", get(issue))
        .route("/api/v1/compliance/limits", get(limits))
}

/// The signed-in person, if the caller is one (a trader sees his automations' issues only);
/// `None` for an API token.
struct Viewer(Option<app::session::SessionUser>);

impl axum::extract::FromRequestParts<AppState> for Viewer {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(parts: &mut axum::http::request::Parts, _: &AppState) -> Result<Self, Self::Rejection> {
        Ok(Viewer(parts.extensions.get::<app::session::SessionUser>().cloned()))
    }
}

use super::bad_field as bad;

/// A time: RFC 3339, or a date (its midnight UTC).
fn time(field: &str, s: &str) -> ApiResult<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&Utc));
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .map(|d| d.and_time(chrono::NaiveTime::MIN).and_utc())
        .map_err(|_| bad(field, "an RFC 3339 time or a date YYYY-MM-DD"))
}

const PARAMS: [&str; 9] = ["state", "rule", "severity", "instrument", "automation", "from", "to", "limit", "after"];

/// The filters of `GET /api/v1/compliance/issues`; an unknown parameter or a bad value is a 400
/// naming it.
fn query_of(params: &HashMap<String, String>) -> ApiResult<IssueQuery> {
    if let Some(unknown) = params.keys().find(|k| !PARAMS.contains(&k.as_str())) {
        return Err(bad(unknown, format!("unknown parameter; expected one of {}", PARAMS.join(", "))));
    }
    let get = |k: &str| params.get(k).map(|v| v.trim()).filter(|v| !v.is_empty());
    let text = |k: &str| -> ApiResult<Option<String>> {
        match get(k) {
            Some(v) if v.len() > 128 => Err(bad(k, "at most 128 bytes")),
            other => Ok(other.map(str::to_string)),
        }
    };
    let names = |all: &[&str]| all.join(", ");
    let state = get("state")
        .map(|s| IssueState::parse(s).ok_or_else(|| bad("state", format!("one of {}", names(&IssueState::ALL.map(|x| x.as_str()))))))
        .transpose()?;
    let severity = get("severity").map(|s| Severity::parse(s).ok_or_else(|| bad("severity", format!("one of {}", names(Severity::NAMES))))).transpose()?;
    let limit = get("limit")
        .map(|s| s.parse::<usize>().ok().filter(|n| (1..=500).contains(n)).ok_or_else(|| bad("limit", "a whole number from 1 to 500")))
        .transpose()?;
    let after = get("after").map(|s| s.parse::<u64>().map_err(|_| bad("after", "an issue id (a whole number)"))).transpose()?;
    let from = get("from").map(|s| time("from", s)).transpose()?;
    let to = get("to").map(|s| time("to", s)).transpose()?;
    if let (Some(a), Some(b)) = (from, to)
        && a > b
    {
        return Err(bad("to", "before from"));
    }
    Ok(IssueQuery { state, rule: text("rule")?, severity, instrument: text("instrument")?, automation: text("automation")?, from, to, limit, after, active_first: false, active: false })
}

/// `GET /api/v1/compliance/issues?state=&rule=&severity=&instrument=&automation=&from=&to=&limit=&after=`:
/// newest first, `limit` per page (default 50, at most 500), `after` = the `next_after` of the
/// previous page. Rows carry no history (`/issues/{id}` does).
async fn issues(State(state): State<AppState>, _: OperationsReader, user: Viewer, Query(params): Query<HashMap<String, String>>) -> ApiResult<Json<Value>> {
    let q = query_of(&params)?;
    let page = app::service::ConsoleService::compliance_issues(&*state.console, user.0.as_ref(), &q);
    Ok(Json(serde_json::to_value(page).map_err(anyhow::Error::from)?))
}

/// `GET /api/v1/compliance/issues/{id}`: one issue with its history.
async fn issue(State(state): State<AppState>, _: OperationsReader, user: Viewer, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    let id = id.parse::<u64>().map_err(|_| bad("id", "an issue id (a whole number)"))?;
    let issue = app::service::ConsoleService::compliance_issue(&*state.console, user.0.as_ref(), id).ok_or(ApiError::NotFound)?;
    Ok(Json(serde_json::to_value(issue).map_err(anyhow::Error::from)?))
}

/// `GET /api/v1/compliance/limits`: every configured limit's utilisation now.
async fn limits(State(state): State<AppState>, _: OperationsReader) -> ApiResult<Json<Value>> {
    let rows = app::service::ConsoleService::compliance_limits(&*state.console);
    Ok(Json(json!({"limits": rows})))
}
