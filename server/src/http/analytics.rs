//! `/api/v1/metrics`, `/api/v1/metrics/returns` and `/api/v1/kpis/week`.

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::AppState;
use super::{ApiError, ApiResult};
use super::error::merge;
use super::extract::*;

/// The metric set and KPI drill-downs.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/metrics", get(metrics))
        .route("/api/v1/metrics/returns", post(metrics_of_returns))
        .route("/api/v1/kpis/week", get(kpi_week))
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
