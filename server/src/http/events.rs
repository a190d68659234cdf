//! `POST/GET /api/v1/events`, lineage, the summary and chain verification.

use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use domain::event::{Event, Kind, LineError};
use domain::view::EventQuery;
use serde::Deserialize;
use serde_json::{Value, json};
use serde_json::value::RawValue;

use crate::AppState;
use super::{ApiError, ApiResult, bad, bad_field};
use super::extract::*;
use crate::store::{AppendError, Incoming, Scope};

/// Ingest and reads of the log.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/events", post(post_events).get(get_events))
        .route("/api/v1/trades/{signal_id}/lineage", get(lineage))
        .route("/api/v1/summary", get(summary))
        .route("/api/v1/audit/verify", get(verify))
}

/// Largest request body accepted by `POST /api/v1/events`.
pub const MAX_BODY_BYTES: usize = 16 * 1024 * 1024;
/// Most events in one batch.
pub const MAX_BATCH_EVENTS: usize = 10_000;

/// Splits a body into (line number, raw JSON) items: a JSON array, or NDJSON (blank lines skipped).
fn split_batch(body: &[u8]) -> ApiResult<Vec<(usize, String)>> {
    let text = std::str::from_utf8(body).map_err(|_| bad("invalid_encoding", "the body must be UTF-8"))?;
    let trimmed = text.trim_start();
    if trimmed.starts_with('[') {
        let items: Vec<&RawValue> = serde_json::from_str(trimmed).map_err(|e| ApiError::BadRequest {
            code: "invalid_json",
            message: format!("the body is not a valid JSON array: {e}"),
            detail: json!({"line": e.line(), "column": e.column()}),
        })?;
        return Ok(items.into_iter().enumerate().map(|(i, raw)| (i + 1, raw.get().to_string())).collect());
    }
    Ok(text
        .lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.trim_end_matches('\r')))
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| (i, l.to_string()))
        .collect())
}

/// Parses a whole batch; the first bad line rejects all of it.
pub fn parse_batch(body: &[u8], now: DateTime<Utc>) -> ApiResult<Vec<Incoming>> {
    let lines = split_batch(body)?;
    if lines.is_empty() {
        return Err(bad("empty_batch", "the batch holds no events"));
    }
    if lines.len() > MAX_BATCH_EVENTS {
        return Err(ApiError::TooLarge { message: format!("{} events in one batch; the limit is {MAX_BATCH_EVENTS}", lines.len()) });
    }
    let mut out = Vec::with_capacity(lines.len());
    for (line, raw) in lines {
        let event = Event::parse_line(&raw, now).map_err(|e| match e {
            LineError::Syntax(e) => ApiError::BadRequest {
                code: "invalid_json",
                message: format!("line {line}: invalid JSON: {e}"),
                detail: json!({"line": line, "reason": format!("invalid JSON: {e}")}),
            },
            LineError::Invalid { event_id, error } => ApiError::Unprocessable {
                message: format!("line {line}: {error}; nothing in this batch was stored"),
                detail: json!({"line": line, "event_id": event_id, "field": error.field, "reason": error.reason}),
            },
        })?;
        // Governance events are the console's own record of a person's or a rule's action: an
        // engine must not be able to approve its own signals or resume itself.
        // Only people act as people: operator responses of every action (approve, reject,
        // acknowledge ...) are written by the console when a signed-in person decides.
        let console_only = match &event.body {
            domain::event::Body::OperatorResponse(_) => Some(("kind", "operator responses are written by the console when a signed-in person decides; an API token cannot act as a person")),
            _ if event.kind().console_only() => Some(("kind", "this kind is written by the console only (config changes, pauses, unlocks)")),
            // The console's own status events (refused config changes, sign-ins, the ingest
            // error rate) drive alerts: an engine must not be able to raise or clear them.
            domain::event::Body::System(st) if st.component.as_str().starts_with("console.") => Some(("component", "components named console.* are the console's own status; an engine names its own")),
            _ => None,
        };
        if let Some((field, reason)) = console_only {
            return Err(ApiError::Unprocessable {
                message: format!("line {line}: {field}: {reason}; nothing in this batch was stored"),
                detail: json!({"line": line, "event_id": event.event_id.as_str(), "field": field, "reason": reason}),
            });
        }
        out.push(Incoming { line, event, raw, flags: None });
    }
    Ok(out)
}

#[tracing::instrument(skip_all, fields(bytes))]
async fn post_events(State(state): State<AppState>, token: Result<ApiToken, ApiError>, body: Body) -> Response {
    let started = std::time::Instant::now();
    let result = async {
        token?.require(Scope::Ingest)?;
        let bytes: Bytes = axum::body::to_bytes(body, MAX_BODY_BYTES)
            .await
            .map_err(|_| ApiError::TooLarge { message: format!("the body exceeds {MAX_BODY_BYTES} bytes") })?;
        tracing::Span::current().record("bytes", bytes.len());
        let now = Utc::now();
        let batch = parse_batch(&bytes, now)?;
        let outcome = state.console.ingest(batch, now).await.map_err(|e| match e {
            AppendError::Conflict { line, event_id, field, id, reason } => ApiError::Conflict {
                message: format!("line {line}: {field} '{id}' {reason}; nothing in this batch was stored"),
                detail: json!({"line": line, "event_id": event_id, "field": field, "reason": reason}),
            },
            AppendError::Storage(e) => ApiError::Internal(e),
        })?;
        Ok::<_, ApiError>(Json(outcome))
    }
    .await;
    let outcome = match &result {
        Ok(_) => "accepted",
        Err(ApiError::Unauthorized | ApiError::Forbidden) => "refused",
        Err(ApiError::Internal(_)) => "failed",
        Err(_) => "rejected",
    };
    state.metrics.batch_seconds.with_label_values(&[outcome]).observe(started.elapsed().as_secs_f64());
    if let Ok(Json(o)) = &result {
        state.metrics.append_seconds.observe(o.append_secs);
    }
    match result {
        Ok(ok) => ok.into_response(),
        Err(e) => {
            if !matches!(e, ApiError::Unauthorized | ApiError::Forbidden) {
                state.console.record_rejected_batch();
            }
            e.into_response()
        }
    }
}

#[derive(Debug, Deserialize)]
struct EventsParams {
    after_seq: Option<u64>,
    before_seq: Option<u64>,
    kind: Option<String>,
    instrument: Option<String>,
    id: Option<String>,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
    limit: Option<u32>,
}

async fn get_events(State(state): State<AppState>, token: ApiToken, params: Result<Query<EventsParams>, axum::extract::rejection::QueryRejection>) -> ApiResult<Json<Value>> {
    token.require(Scope::Read)?;
    let Query(p) = params.map_err(|e| bad("invalid_query", e.body_text()))?;
    if let Some(k) = &p.kind
        && Kind::parse(k).is_none()
    {
        return Err(ApiError::BadRequest { code: "invalid_query", message: format!("unknown kind '{k}'"), detail: json!({"field": "kind"}) });
    }
    if p.limit.is_some_and(|l| l == 0 || l > crate::store::MAX_PAGE) {
        return Err(ApiError::BadRequest { code: "invalid_query", message: "limit must be 1..=1000".into(), detail: json!({"field": "limit"}) });
    }
    if p.after_seq.is_some() && p.before_seq.is_some() {
        return Err(bad_field("before_seq", "give after_seq or before_seq, not both"));
    }
    // `before_seq` pages newest first (any seq past the head starts at the newest event), and
    // the next page is named by the parameter the client paged with.
    let next_key = if p.before_seq.is_some() { "next_before_seq" } else { "next_after_seq" };
    let q = EventQuery { kind: p.kind, instrument: p.instrument, id: p.id, from: p.from, to: p.to, after_seq: p.after_seq, before_seq: p.before_seq, limit: p.limit };
    let page = state.console.store().events(&q).await?;
    let events: Vec<Value> = page
        .rows
        .into_iter()
        .map(|r| {
            let event: Value = serde_json::from_str(&r.payload).unwrap_or(Value::Null);
            json!({"seq": r.seq, "event_id": r.event_id, "kind": r.kind, "ts": r.ts, "received_at": r.received_at,
                "drift_ms": r.drift_ms, "hash": r.hash, "prev_hash": r.prev_hash, "flags": r.flags, "event": event})
        })
        .collect();
    Ok(Json(json!({"events": events, next_key: page.next})))
}

async fn lineage(State(state): State<AppState>, token: ApiToken, Path(signal_id): Path<String>) -> ApiResult<Json<Value>> {
    token.require(Scope::Read)?;
    let l = state.console.lineage_of(&signal_id).await?.ok_or(ApiError::NotFound)?;
    Ok(Json(serde_json::to_value(l).map_err(anyhow::Error::from)?))
}

async fn summary(State(state): State<AppState>, token: ApiToken) -> ApiResult<Json<domain::view::DashboardView>> {
    token.require(Scope::Read)?;
    Ok(Json(state.console.summary()))
}

async fn verify(State(state): State<AppState>, token: ApiToken) -> ApiResult<Json<domain::chain::Report>> {
    token.require(Scope::Read)?;
    Ok(Json(state.console.store().verify().await?))
}
