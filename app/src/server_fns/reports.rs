//! Weekly research reports: the archive, the files (HTML and PDF, answered as downloads), and
//! "generate now" for risk and admins. Investors and every operations role read them.
#[cfg(feature = "ssr")]
use domain::governance::Permission;
use leptos::prelude::*;

use crate::error::AppError;

/// The archive, newest week first, and whether the caller may generate one now.
#[server(endpoint = "list_reports")]
pub async fn list_reports() -> Result<(Vec<domain::view::ReportMeta>, bool), AppError> {
    let user = crate::session::require(Permission::ViewInvestor)?;
    let c = super::console(Permission::ViewInvestor)?;
    Ok((c.reports().await?, user.role.allows(Permission::GenerateReports)))
}

/// The archived HTML of a week, for the report's page.
#[server(endpoint = "get_report_html")]
pub async fn get_report_html(week: String) -> Result<String, AppError> {
    let c = super::console(Permission::ViewInvestor)?;
    let bytes = c.report_file(week.trim(), "html").await?.ok_or(AppError::NotFound)?;
    String::from_utf8(bytes).map_err(|_| AppError::Internal)
}

/// A week's report as a file (`format` `html` or `pdf`), with `Content-Disposition: attachment`:
/// the download links are plain forms posting here.
#[server(endpoint = "download_report", output = leptos::server_fn::codec::Streaming)]
pub async fn download_report(week: String, format: String) -> Result<leptos::server_fn::codec::ByteStream<AppError>, AppError> {
    let c = super::console(Permission::ViewInvestor)?;
    let week = week.trim().to_string();
    let mime = match format.as_str() {
        "html" => "text/html; charset=utf-8",
        "pdf" => "application/pdf",
        _ => return crate::error::with_status(Err(AppError::Invalid("format: html or pdf".into()))),
    };
    if domain::report::parse_week(&week).is_none() {
        return crate::error::with_status(Err(AppError::Invalid("week: an ISO week YYYY-Www".into())));
    }
    let bytes = crate::error::with_status(c.report_file(&week, &format).await.map_err(AppError::from).and_then(|f| f.ok_or(AppError::NotFound)))?;
    if let Some(r) = use_context::<leptos_axum::ResponseOptions>() {
        use axum::http::{HeaderValue, header};
        r.insert_header(header::CONTENT_TYPE, HeaderValue::from_static(mime));
        if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"tradewatch-report-{week}.{format}\"")) {
            r.insert_header(header::CONTENT_DISPOSITION, v);
        }
    }
    Ok(leptos::server_fn::codec::ByteStream::new(futures::stream::once(async move { Ok::<_, AppError>(bytes) })))
}

/// Generates the report of `week` (`YYYY-Www`; empty: the newest complete week of market time)
/// now, archives it and records its hashes in the chain. Risk and admins. A plain form post is
/// redirected to `/reports?done=WEEK` (or `?error=`); called from code, it answers the archived
/// report's entry, or the error with its status.
#[server(endpoint = "generate_report")]
pub async fn generate_report(week: Option<String>) -> Result<Option<domain::view::ReportMeta>, AppError> {
    let result = async {
        let user = crate::session::require(Permission::GenerateReports)?;
        let c = super::console(Permission::GenerateReports)?;
        let week = week.map(|w| w.trim().to_string()).filter(|w| !w.is_empty());
        c.generate_report(&user, week.as_deref()).await
    }
    .await;
    if !super::from_form() {
        return crate::error::with_status(result.map(Some));
    }
    let query = match &result {
        Ok(meta) => format!("done={}", meta.week),
        Err(e) => format!("error={}", form_urlencoded::byte_serialize(e.to_string().as_bytes()).collect::<String>()),
    };
    leptos_axum::redirect(&format!("/reports?{query}"));
    Ok(result.ok())
}

/// Raw data export as a file: `dataset` events, fills (with the slippage decomposition), trades
/// or returns; `format` csv or parquet; `from` / `to` (RFC 3339 or dates, market time); `kind`
/// for events. Streamed. Operations roles; an investor gets 403.
#[server(endpoint = "export_data", output = leptos::server_fn::codec::Streaming)]
pub async fn export_data(dataset: String, format: String, from: Option<String>, to: Option<String>, kind: Option<String>) -> Result<leptos::server_fn::codec::ByteStream<AppError>, AppError> {
    use futures::StreamExt;
    let c = crate::error::with_status(super::console(Permission::ViewOperations))?;
    let (name, mime, stream) = crate::error::with_status(c.export(&dataset, &format, from.as_deref(), to.as_deref(), kind.as_deref()))?;
    if let Some(r) = use_context::<leptos_axum::ResponseOptions>() {
        use axum::http::{HeaderValue, header};
        r.insert_header(header::CONTENT_TYPE, HeaderValue::from_static(mime));
        if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
            r.insert_header(header::CONTENT_DISPOSITION, v);
        }
    }
    Ok(leptos::server_fn::codec::ByteStream::new(stream.map(|r| r.map_err(|_| AppError::Internal))))
}
