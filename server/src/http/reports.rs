//! `GET /api/v1/reports` (the weekly report archive: week, SHA-256 of each file, the seq of its
//! `report_published` event, the checkpoint that covers it) and `GET /api/v1/reports/{week}.html|.pdf` (a file). A read token,
//! or any signed-in person (investors included).
use axum::extract::{Path, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};

use crate::AppState;
use super::extract::Reader;
use super::{ApiError, ApiResult};

pub fn router() -> Router<AppState> {
    Router::new().route("/api/v1/reports", get(list)).route("/api/v1/reports/{file}", get(file))
}

async fn list(_: Reader, State(state): State<AppState>) -> ApiResult<Json<Value>> {
    let reports = state.console.report_archive().await?;
    Ok(Json(json!({ "reports": reports })))
}

async fn file(_: Reader, State(state): State<AppState>, Path(file): Path<String>) -> ApiResult<Response> {
    let bad = |m: &str| super::bad_field("file", m);
    let (week, format) = file.rsplit_once('.').ok_or_else(|| bad("WEEK.html or WEEK.pdf, e.g. 2024-W43.pdf"))?;
    let mime = match format {
        "html" => "text/html; charset=utf-8",
        "pdf" => "application/pdf",
        _ => return Err(bad("the extension is .html or .pdf")),
    };
    if domain::report::parse_week(week).is_none() {
        return Err(bad("the week is an ISO week YYYY-Www"));
    }
    let bytes = state.console.store().report_file(week, format).await?.ok_or(ApiError::NotFound)?;
    let mut res = bytes.into_response();
    res.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(mime));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"tradewatch-report-{week}.{format}\"")) {
        res.headers_mut().insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(res)
}
