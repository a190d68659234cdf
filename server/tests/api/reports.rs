//! Weekly reports: the schedule publishes the newest complete week; the files are archived with
//! their SHA-256 in the chain; the API, the server functions and the page serve the same bytes;
//! the numbers are the API's; the PDF is valid and deterministic; only risk and admins generate.
use chrono::Utc;
use domain::governance::Role;
use serde_json::Value;
use server::jobs::ReportSchedule;
use server::startup::Application;
use sha2::{Digest, Sha256};

use crate::*;

const DAY: i64 = 86_400_000;

/// A long BTCUSDT position (from `round_trip`) marked once a day for 14 days from 2024-10-24:
/// the newest complete week is 2024-W44.
async fn two_weeks(app: &TestApp) {
    let (status, body) = app.post(&round_trip()).await;
    assert_eq!(status, 200, "{body}");
    let marks: Vec<Value> = (1..=14).map(|d| snapshot(&format!("m{d}"), "BTCUSDT", &format!("{}", 68_000 + (d * 137) % 900 - 300), d * DAY)).collect();
    let (status, body) = app.post(&marks).await;
    assert_eq!(status, 200, "{body}");
}

async fn bytes(app: &TestApp, path: &str, token: &str) -> (u16, Vec<u8>, String) {
    let res = app.http.get(format!("{}{path}", app.base)).bearer_auth(token).send().await.expect("get");
    let status = res.status().as_u16();
    let mime = res.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    (status, res.bytes().await.expect("body").to_vec(), mime)
}

fn pdftotext(pdf: &[u8]) -> String {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("r.pdf");
    std::fs::write(&path, pdf).expect("write");
    let out = std::process::Command::new("pdftotext").arg(&path).arg("-").output().expect("pdftotext (Debian poppler-utils; scripts/setup.sh --test installs it)");
    assert!(out.status.success(), "pdftotext refused the file: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).to_string()
}

#[tokio::test]
async fn the_schedule_publishes_the_last_complete_week_and_every_surface_serves_the_same_bytes() {
    let app = spawn().await;
    two_weeks(&app).await;
    let other = Application::build(app.config()).await.expect("a console on the log");
    let job = ReportSchedule { console: other.console.clone() };
    let meta = job.run_once(Utc::now()).await.expect("run").expect("a report is due");
    assert_eq!(meta.week, "2024-W44");
    assert!(job.run_once(Utc::now()).await.expect("run").is_none(), "nothing more is due");

    // The archive lists it with the hashes the chain recorded.
    let (status, list) = app.get_with(&app.read_token, "/api/v1/reports").await;
    assert_eq!(status, 200, "{list}");
    assert_eq!(list["reports"][0]["week"], "2024-W44");
    let (status, page) = app.get_with(&app.read_token, &format!("/api/v1/events?kind=report_published&limit=5")).await;
    assert_eq!(status, 200);
    let event = &page["events"][0];
    assert_eq!(event["seq"].as_u64(), Some(meta.published_seq));
    assert_eq!(event["event"]["pdf_sha256"], list["reports"][0]["pdf_sha256"]);

    // The files: their SHA-256 is the recorded one; the PDF is a PDF with the Sharpe figure.
    let (status, pdf, mime) = bytes(&app, "/api/v1/reports/2024-W44.pdf", &app.read_token).await;
    assert_eq!((status, mime.as_str()), (200, "application/pdf"));
    assert_eq!(hex::encode(Sha256::digest(&pdf)), meta.pdf_sha256);
    let (status, html, _) = bytes(&app, "/api/v1/reports/2024-W44.html", &app.read_token).await;
    assert_eq!(status, 200);
    assert_eq!(hex::encode(Sha256::digest(&html)), meta.html_sha256);
    let html = String::from_utf8(html).expect("utf-8");
    assert!(!html.to_lowercase().contains("<script"), "the download has no script");
    let text = pdftotext(&pdf);

    // The numbers are the API's: the log ends inside the next week, so the report's figures
    // since inception to 2024-11-03 equal the metrics API's over the same dates.
    let (status, metrics) = app.get_with(&app.read_token, "/api/v1/metrics?to=2024-11-03").await;
    assert_eq!(status, 200, "{metrics}");
    let report = other.console.weekly_report(chrono::NaiveDate::from_ymd_opt(2024, 10, 28).expect("date")).await.expect("report");
    let sharpe = report.summary.metrics.sharpe.expect("a Sharpe over 9 returns");
    assert!((sharpe - metrics["sharpe"].as_f64().expect("sharpe")).abs() < 1e-12, "report {sharpe} vs API {}", metrics["sharpe"]);
    let shown = format!("{sharpe:.2}");
    assert!(text.contains(&shown), "the PDF shows Sharpe {shown}");
    assert!(html.contains(&format!(">{shown}<")), "the HTML shows Sharpe {shown}");
    let drawdown = domain::format::pct(report.summary.metrics.max_drawdown.expect("drawdown"));
    assert!(text.contains(&drawdown) && html.contains(&drawdown), "max drawdown {drawdown} in both");
    let head = event["event"]["head_seq"].as_u64().expect("head_seq");
    assert!(text.contains(&format!("Computed from the log up to event")) && text.contains(&format!("#{head}")), "the cover names the log position #{head}");

    // Deterministic: the same log state renders the same bytes.
    assert_eq!(::reports::pdf(&report).expect("pdf"), ::reports::pdf(&report).expect("pdf"));
    assert_eq!(::reports::html(&report), ::reports::html(&report));

    // An investor downloads through the server function; the page embeds the archived HTML.
    let investor = app.login(Role::Investor).await;
    let res = app
        .http
        .post(format!("{}/api/download_report", app.base))
        .header("cookie", &investor)
        .header("content-type", "application/x-www-form-urlencoded")
        .header("accept", "*/*")
        .body("week=2024-W44&format=pdf")
        .send()
        .await
        .expect("download");
    assert_eq!(res.status().as_u16(), 200);
    assert_eq!(res.headers().get("content-disposition").and_then(|v| v.to_str().ok()), Some("attachment; filename=\"tradewatch-report-2024-W44.pdf\""));
    assert_eq!(hex::encode(Sha256::digest(res.bytes().await.expect("body"))), meta.pdf_sha256);
    let (status, page, _) = app.page(Some(&investor), "/reports/2024-W44").await;
    assert_eq!(status, 200);
    assert!(page.contains("Executive summary") && page.contains(&shown), "the page shows the report");

    // Refusals.
    for (path, status) in [("/api/v1/reports/2024-W99.pdf", 400), ("/api/v1/reports/2024-W44.exe", 400), ("/api/v1/reports/2024-W01.pdf", 404)] {
        assert_eq!(bytes(&app, path, &app.read_token).await.0, status, "{path}");
    }
    assert_eq!(bytes(&app, "/api/v1/reports", &app.ingest_token).await.0, 403);
}

#[tokio::test]
async fn only_risk_and_admins_generate_and_a_person_is_named_in_the_chain() {
    let app = spawn().await;
    two_weeks(&app).await;
    for role in [Role::Trader, Role::Auditor, Role::Investor] {
        let cookie = app.login(role).await;
        let (status, _) = app.call(Some(&cookie), "generate_report", "week=2024-W43").await;
        assert_eq!(status, 403, "{role:?}");
    }
    let risk = app.login(Role::Risk).await;
    let (status, body) = app.call(Some(&risk), "generate_report", "week=2024-W43").await;
    assert_eq!(status, 200, "{body}");
    let meta: Value = serde_json::from_str(&body).expect("json");
    assert_eq!(meta["week"], "2024-W43");
    let (_, page) = app.get_with(&app.read_token, "/api/v1/events?kind=report_published&limit=5").await;
    assert_eq!(page["events"][0]["event"]["actor"], "risk");
    let (status, body) = app.call(Some(&risk), "generate_report", "week=last-week").await;
    assert!(status >= 400 && body.contains("ISO week"), "{status} {body}");
    // Empty: the newest complete week.
    let (status, body) = app.call(Some(&risk), "generate_report", "week=").await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("2024-W44"), "{body}");
}
