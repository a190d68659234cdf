//! `GET /api/v1/export/{dataset}.{csv|parquet}?from=&to=&kind=`: raw data export (see
//! `crate::export`), streamed. A read token or an operations session: an investor gets 403.
use std::collections::HashMap;

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use chrono::{DateTime, NaiveDate, Utc};
use serde_json::json;

use crate::AppState;
use crate::export::{Dataset, Filter, Format};
use super::extract::Reader;
use super::{ApiError, ApiResult};

pub fn router() -> Router<AppState> {
    Router::new().route("/api/v1/export/{file}", get(export))
}

fn bad(field: &str, message: impl Into<String>) -> ApiError {
    ApiError::BadRequest { code: "invalid_query", message: format!("{field}: {}", message.into()), detail: json!({"field": field}) }
}

/// RFC 3339, or a date: its start for `from`, its end for `to`.
fn time(field: &str, s: &str, end_of_day: bool) -> ApiResult<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&Utc));
    }
    let d = NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| bad(field, "an RFC 3339 time or a date YYYY-MM-DD"))?;
    let t = if end_of_day { d.and_hms_milli_opt(23, 59, 59, 999) } else { d.and_hms_opt(0, 0, 0) };
    t.map(|t| t.and_utc()).ok_or_else(|| bad(field, "not a date"))
}

/// Parses the file name and the query into what to export.
pub fn request(file: &str, params: &HashMap<String, String>) -> ApiResult<(Dataset, Format, Filter)> {
    let (name, ext) = file.rsplit_once('.').ok_or_else(|| bad("file", "DATASET.csv or DATASET.parquet"))?;
    let dataset = Dataset::parse(name).ok_or_else(|| bad("file", format!("the dataset is one of {}", Dataset::NAMES.join(", "))))?;
    let format = Format::parse(ext).ok_or_else(|| bad("file", "the extension is .csv or .parquet"))?;
    if let Some(k) = params.keys().find(|k| !["from", "to", "kind"].contains(&k.as_str())) {
        return Err(bad(k, "unknown parameter; expected from, to, kind"));
    }
    let get = |k: &str| params.get(k).map(|v| v.trim()).filter(|v| !v.is_empty());
    let from = get("from").map(|s| time("from", s, false)).transpose()?;
    let to = get("to").map(|s| time("to", s, true)).transpose()?;
    if let (Some(a), Some(b)) = (from, to)
        && a > b
    {
        return Err(bad("to", "before from"));
    }
    let kind = match get("kind") {
        None => None,
        Some(_) if dataset != Dataset::Events => return Err(bad("kind", "only for the events dataset")),
        Some(k) => Some(domain::event::Kind::parse(k).ok_or_else(|| bad("kind", "not an event kind"))?.as_str().to_string()),
    };
    Ok((dataset, format, Filter { from, to, kind }))
}

/// The streamed file as a response.
pub fn response(state: &AppState, dataset: Dataset, format: Format, filter: Filter) -> Response {
    let rx = crate::export::stream(state.console.store().clone(), &state.console, dataset, format, filter);
    let body = Body::from_stream(tokio_stream_of(rx));
    let mut res = body.into_response();
    res.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(format.mime()));
    let ext = if format == Format::Csv { "csv" } else { "parquet" };
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"tradewatch-{}.{ext}\"", dataset.as_str())) {
        res.headers_mut().insert(header::CONTENT_DISPOSITION, v);
    }
    res
}

fn tokio_stream_of(mut rx: tokio::sync::mpsc::Receiver<Result<bytes::Bytes, std::io::Error>>) -> impl futures::Stream<Item = Result<bytes::Bytes, std::io::Error>> {
    futures::stream::poll_fn(move |cx| rx.poll_recv(cx))
}

async fn export(reader: Reader, State(state): State<AppState>, Path(file): Path<String>, Query(params): Query<HashMap<String, String>>) -> ApiResult<Response> {
    if !reader.operations {
        return Err(ApiError::Forbidden);
    }
    let (dataset, format, filter) = request(&file, &params)?;
    Ok(response(&state, dataset, format, filter))
}
