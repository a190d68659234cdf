//! The HTTP API under `/api/v1`, health checks, and the live dashboard stream.
//! Every error is JSON `{"error": code, "message": text, ...}`; internal details go to the log only.
use std::convert::Infallible;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use domain::event::{Event, Kind};
use domain::view::EventQuery;
use futures::Stream;
use serde::Deserialize;
use serde_json::{Value, json};
use serde_json::value::RawValue;

use crate::AppState;
use crate::store::{AppendError, Incoming, Scope, Scopes};

/// Largest request body accepted by `POST /api/v1/events`.
pub const MAX_BODY_BYTES: usize = 16 * 1024 * 1024;
/// Most events in one batch.
pub const MAX_BATCH_EVENTS: usize = 10_000;

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
            ApiError::Internal(e) => {
                tracing::error!(error = format!("{e:#}"), "internal error in API");
                (StatusCode::INTERNAL_SERVER_ERROR, json!({"error": "internal", "message": "internal error; see the server log"}))
            }
        };
        let mut res = (status, Json(body)).into_response();
        if status == StatusCode::UNAUTHORIZED {
            res.headers_mut().insert(header::WWW_AUTHENTICATE, header::HeaderValue::from_static("Bearer"));
        }
        res
    }
}

fn merge(mut base: Value, extra: Value) -> Value {
    if let (Some(b), Value::Object(e)) = (base.as_object_mut(), extra) {
        b.extend(e);
    }
    base
}

fn bad(code: &'static str, message: impl Into<String>) -> ApiError {
    ApiError::BadRequest { code, message: message.into(), detail: Value::Null }
}

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
    fn require(&self, scope: Scope) -> ApiResult<()> {
        if self.0.contains(scope) { Ok(()) } else { Err(ApiError::Forbidden) }
    }
    fn require_any(&self, scopes: &[Scope]) -> ApiResult<()> {
        if scopes.iter().any(|s| self.0.contains(*s)) { Ok(()) } else { Err(ApiError::Forbidden) }
    }
}

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/events", post(post_events).get(get_events))
        .route("/api/v1/trades/{signal_id}/lineage", get(lineage))
        .route("/api/v1/summary", get(summary))
        .route("/api/v1/audit/verify", get(verify))
        .route("/api/v1/automations", get(automations))
        .route("/api/v1/automations/{id}/decisions", get(decisions))
        .route("/api/v1/config", get(config))
        .route("/api/v1/metrics", get(metrics))
        .route("/api/v1/metrics/returns", post(metrics_of_returns))
        .route("/api/v1/kpis/week", get(kpi_week))
        .route("/live/dashboard", get(live_dashboard))
        .route("/healthz", get(|| async { Json(json!({"status": "ok"})) }))
        .route("/readyz", get(readyz))
}

async fn readyz(State(state): State<AppState>) -> Response {
    if state.console.store().ready().await {
        Json(json!({"status": "ready"})).into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, Json(json!({"status": "unavailable", "message": "database unreachable or migrations pending"}))).into_response()
    }
}

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
        let value: Value = serde_json::from_str(&raw).map_err(|e| ApiError::BadRequest {
            code: "invalid_json",
            message: format!("line {line}: invalid JSON: {e}"),
            detail: json!({"line": line, "reason": format!("invalid JSON: {e}")}),
        })?;
        let event = Event::parse_value(&value, now).map_err(|e| ApiError::Unprocessable {
            message: format!("line {line}: {e}; nothing in this batch was stored"),
            detail: json!({
                "line": line,
                "event_id": value.get("event_id").and_then(Value::as_str).map(|s| s.chars().take(128).collect::<String>()),
                "field": e.field,
                "reason": e.reason,
            }),
        })?;
        // Governance events are the console's own record of a person's or a rule's action: an
        // engine must not be able to approve its own signals or resume itself.
        // Only people act as people: operator responses of every action (approve, reject,
        // acknowledge ...) are written by the console when a signed-in person decides.
        let console_only = match &event.body {
            domain::event::Body::OperatorResponse(_) => Some(("kind", "operator responses are written by the console when a signed-in person decides; an API token cannot act as a person")),
            _ if event.kind().console_only() => Some(("kind", "this kind is written by the console only (config changes, pauses, unlocks)")),
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
    let q = EventQuery { kind: p.kind, instrument: p.instrument, id: p.id, from: p.from, to: p.to, after_seq: p.after_seq, before_seq: None, limit: p.limit };
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
    Ok(Json(json!({"events": events, "next_after_seq": page.next})))
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
        if let Some(user) = parts.extensions.get::<app::auth::SessionUser>() {
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
        if parts.extensions.get::<app::auth::SessionUser>().is_some() {
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

#[derive(Debug, Deserialize)]
struct MetricsParams {
    from: Option<String>,
    to: Option<String>,
    /// `sp500` (default) or `none`.
    benchmark: Option<String>,
    /// `daily` (default) or `native`: returns between consecutive market timestamps.
    interval: Option<String>,
}

fn parse_date(field: &'static str, s: Option<&str>) -> ApiResult<Option<chrono::NaiveDate>> {
    s.filter(|s| !s.is_empty())
        .map(|s| chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| ApiError::BadRequest { code: "invalid_query", message: format!("{field}: a date YYYY-MM-DD"), detail: json!({"field": field}) }))
        .transpose()
}

fn benchmark_of(name: Option<&str>, default: &str) -> ApiResult<Option<&'static std::collections::BTreeMap<chrono::NaiveDate, f64>>> {
    match name.unwrap_or(default) {
        "sp500" => Ok(Some(crate::reference::sp500().ok_or_else(|| anyhow::anyhow!("the benchmark is unavailable"))?)),
        "none" => Ok(None),
        other => Err(ApiError::BadRequest { code: "invalid_query", message: format!("benchmark: 'sp500' or 'none', not '{other}'"), detail: json!({"field": "benchmark"}) }),
    }
}

/// The metric set as JSON: `{"series", "benchmark", ...every field of domain::metrics::MetricSet}`.
fn metrics_json(series: &str, benchmark: Option<&str>, dates: &[chrono::NaiveDate], returns: &[f64], index: Option<&std::collections::BTreeMap<chrono::NaiveDate, f64>>) -> ApiResult<Json<Value>> {
    use domain::metrics::{MetricSet, TRADING_DAYS};
    let m = match index {
        Some(ix) => MetricSet::compute_against(dates, returns, ix, TRADING_DAYS),
        None => MetricSet::compute(dates, returns, None, TRADING_DAYS),
    };
    let body = serde_json::to_value(m).map_err(anyhow::Error::from)?;
    Ok(Json(merge(json!({"series": series, "benchmark": benchmark, "periods_per_year": TRADING_DAYS}), body)))
}

/// `GET /api/v1/metrics?from=&to=&benchmark=sp500|none`: the metric set of the console's daily
/// equity returns. Any token scope, or a session.
async fn metrics(State(state): State<AppState>, reader: Reader, Query(q): Query<MetricsParams>) -> ApiResult<Json<Value>> {
    let (from, to) = (parse_date("from", q.from.as_deref())?, parse_date("to", q.to.as_deref())?);
    if q.interval.as_deref() == Some("native") {
        // Returns between consecutive market timestamps; a benchmark of daily closes does not
        // line up with them, so there is none.
        let n = state.console.native_returns(from, to);
        let m = domain::metrics::MetricSet::compute(&n.dates, &n.returns, None, n.per_year.unwrap_or(domain::metrics::TRADING_DAYS));
        let body = serde_json::to_value(m).map_err(anyhow::Error::from)?;
        return Ok(Json(merge(json!({"series": "console_equity_native", "benchmark": null, "periods_per_year": n.per_year}), body)));
    }
    if let Some(other) = q.interval.as_deref().filter(|i| *i != "daily") {
        return Err(ApiError::BadRequest { code: "invalid_query", message: format!("interval: 'daily' or 'native', not '{other}'"), detail: json!({"field": "interval"}) });
    }
    let index = benchmark_of(q.benchmark.as_deref(), "sp500")?;
    let (dates, returns) = state.console.daily_returns(from, to);
    let Json(mut body) = metrics_json("console_equity_daily", index.map(|_| "sp500"), &dates, &returns, index)?;
    let json = |v: Result<Value, serde_json::Error>| v.map_err(anyhow::Error::from);
    // Per-trade figures are a different thing from the per-period set: a field of their own.
    body["trades"] = json(serde_json::to_value(state.console.trade_stats()))?;
    body["regimes"] = json(serde_json::to_value(state.console.regimes(from, to)))?;
    let mut risk = state.console.risk();
    if reader.operations {
        body["exit_kpis"] = json(serde_json::to_value(state.console.exit_kpis()))?;
        body["attribution"] = json(serde_json::to_value(state.console.attribution()))?;
        body["slippage"] = json(serde_json::to_value(state.console.slippage()))?;
        body["factor_attribution"] = json(serde_json::to_value(state.console.factor_attribution()))?;
    } else {
        // An investor sees the book's exposure and concentration, never an instrument: no
        // positions, no correlation matrix (it lists the held instruments first), and none of
        // the by-instrument attribution, slippage or exit signals.
        risk.largest.clear();
        risk.correlation = Default::default();
    }
    body["risk"] = json(serde_json::to_value(risk))?;
    Ok(Json(body))
}

#[derive(Debug, Deserialize)]
struct WeekParams {
    week: Option<String>,
}

/// `GET /api/v1/kpis/week?week=YYYY-MM-DD` (the Monday of an ISO week): the exit signals and
/// closed trades behind that week's KPIs. Any token scope, or a session.
async fn kpi_week(State(state): State<AppState>, _: OperationsReader, Query(q): Query<WeekParams>) -> ApiResult<Json<Value>> {
    let week = parse_date("week", q.week.as_deref())?.ok_or_else(|| ApiError::BadRequest { code: "invalid_query", message: "week: a date YYYY-MM-DD is required".into(), detail: json!({"field": "week"}) })?;
    Ok(Json(serde_json::to_value(state.console.kpi_week(week)).map_err(anyhow::Error::from)?))
}

/// Most returns `POST /api/v1/metrics/returns` takes.
pub const MAX_RETURNS: usize = 100_000;

/// `POST /api/v1/metrics/returns?benchmark=none|sp500`: the metric set of a client's series,
/// a JSON array of `{"date": "YYYY-MM-DD", "return": 0.0123}` (simple daily returns, dates
/// ascending). Errors name the index and field.
async fn metrics_of_returns(_: AnyCaller, Query(q): Query<MetricsParams>, body: Bytes) -> ApiResult<Json<Value>> {
    let index = benchmark_of(q.benchmark.as_deref(), "none")?;
    let invalid = |i: Option<usize>, field: &str, message: String| ApiError::Unprocessable { message, detail: json!({"error": "invalid_returns", "index": i, "field": field}) };
    let rows: Vec<Value> = serde_json::from_slice(&body).map_err(|e| ApiError::BadRequest { code: "invalid_json", message: format!("expected a JSON array of {{\"date\", \"return\"}}: {e}"), detail: Value::Null })?;
    if rows.len() > MAX_RETURNS {
        return Err(ApiError::TooLarge { message: format!("at most {MAX_RETURNS} returns per request") });
    }
    let (mut dates, mut returns) = (Vec::with_capacity(rows.len()), Vec::with_capacity(rows.len()));
    for (i, row) in rows.iter().enumerate() {
        let date = row.get("date").and_then(Value::as_str).ok_or_else(|| invalid(Some(i), "date", format!("row {i}: date is required, as \"YYYY-MM-DD\"")))?;
        let date = chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d").map_err(|_| invalid(Some(i), "date", format!("row {i}: date '{date}' is not YYYY-MM-DD")))?;
        if dates.last().is_some_and(|d| *d >= date) {
            return Err(invalid(Some(i), "date", format!("row {i}: dates must be strictly ascending ({date} after {})", dates.last().map(|d: &chrono::NaiveDate| d.to_string()).unwrap_or_default())));
        }
        let r = match row.get("return") {
            Some(Value::Number(n)) => n.as_f64(),
            Some(Value::String(s)) => s.trim().parse::<f64>().ok(),
            _ => None,
        }
        .ok_or_else(|| invalid(Some(i), "return", format!("row {i}: return is required, a number (0.0123 = +1.23%)")))?;
        if !r.is_finite() || r <= -1.0 {
            return Err(invalid(Some(i), "return", format!("row {i}: return must be finite and above -1 (a simple return), got {r}")));
        }
        dates.push(date);
        returns.push(r);
    }
    if returns.len() < 2 {
        return Err(invalid(None, "body", "at least 2 returns are needed".into()));
    }
    metrics_json("client", index.map(|_| "sp500"), &dates, &returns, index)
}

async fn verify(State(state): State<AppState>, token: ApiToken) -> ApiResult<Json<domain::chain::Report>> {
    token.require(Scope::Read)?;
    Ok(Json(state.console.store().verify().await?))
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

/// Server-sent events: the dashboard view as JSON (`event: dashboard`) on connect and after
/// every change, coalesced to at most one message per 50 ms. Needs a signed-in session allowed
/// to see operations.
async fn live_dashboard(State(state): State<AppState>, session: tower_sessions::Session, user: Option<axum::Extension<app::auth::SessionUser>>) -> Response {
    match (user, session.id()) {
        (Some(axum::Extension(u)), Some(id)) if u.role.allows(domain::governance::Permission::ViewOperations) => live_stream(state, id, u.id).into_response(),
        (Some(_), _) => StatusCode::FORBIDDEN.into_response(),
        (None, _) => StatusCode::UNAUTHORIZED.into_response(),
    }
}

/// How often the live stream re-checks its session: sign-out, expiry or a disabled account end
/// the stream within this long.
const LIVE_SESSION_CHECK: Duration = Duration::from_secs(2);

fn live_stream(state: AppState, session: tower_sessions::session::Id, user_id: i64) -> Sse<impl Stream<Item = Result<SseEvent, Infallible>>> {
    let rx = state.console.live();
    let sessions = crate::auth::SqliteSessions::new(state.console.store());
    let stream = futures::stream::unfold((rx, true), move |(mut rx, first)| {
        let sessions = sessions.clone();
        async move {
            if !first {
                loop {
                    tokio::select! {
                        changed = rx.changed() => {
                            if changed.is_err() { return None; }
                            break;
                        }
                        _ = tokio::time::sleep(LIVE_SESSION_CHECK) => {}
                    }
                    if !sessions.still_signed_in(&session, user_id).await {
                        return None;
                    }
                }
            }
            if !sessions.still_signed_in(&session, user_id).await {
                return None;
            }
            let json = rx.borrow_and_update().clone();
            Some((Ok(SseEvent::default().event("dashboard").data(&*json)), (rx, false)))
        }
    });
    Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
}
