//! `GET /api/v1/export/{dataset}.{csv|parquet}?from=&to=&kind=`: raw data export (see
//! `crate::export`), streamed. A read token or an operations session: an investor gets 403.
use std::collections::HashMap;

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use crate::AppState;
use crate::export::{Dataset, Filter, Format};
use super::extract::Reader;
use super::{ApiError, ApiResult};

pub fn router() -> Router<AppState> {
    Router::new().route("/api/v1/export/{file}", get(export))
}

/// Parses the file name and the query into what to export (a 400 naming the field).
pub fn request(file: &str, params: &HashMap<String, String>) -> ApiResult<(Dataset, Format, Filter)> {
    crate::export::request(file, params).map_err(|r| super::bad_field(&r.field, r.message))
}

/// The streamed file as a response.
pub fn response(state: &AppState, dataset: Dataset, format: Format, filter: Filter) -> Response {
    let rx = state.console.export_stream(dataset, format, filter);
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
