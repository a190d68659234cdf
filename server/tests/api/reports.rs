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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
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
    // Execution: the fill rate and the latency percentiles are the summary API's.
    let (status, summary) = app.get_with(&app.read_token, "/api/v1/summary").await;
    assert_eq!(status, 200);
    assert_eq!(report.fills.fill_rate, summary["fill_rate"].as_f64());
    assert_eq!(report.fills.fill_rate, Some(1.0));
    assert_eq!(report.fills.latency.order_to_fill.count, summary["latency"]["order_to_fill"]["count"].as_u64().unwrap_or(u64::MAX));
    assert_eq!(report.fills.latency.order_to_fill.p50_ms, summary["latency"]["order_to_fill"]["p50_ms"].as_f64());
    assert!(text.contains("Fill rate") && html.contains("Order to fill"), "both files have the fill table");
    assert!(text.contains("By factor") && html.contains("By factor"), "both files have the factor table");
    // The realized impact beside the paper engine's model for the same fills: 5 x sqrt(6,750 /
    // 1,000,000) bps on the buy, the sell's on its own notional.
    let model = report.execution_total.model_impact_bps.expect("a model figure");
    assert!(model > 0.4 && model < 0.42, "{model}");
    assert!(html.contains("Impact, paper model"));
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

    // The archive cites the first checkpoint whose tree holds the report_published event.
    assert_eq!(list["reports"][0]["covered_by"], Value::Null, "no checkpoint signed yet");
    let checkpoints = other.console.checkpoints().expect("enabled").clone();
    let signer = server::jobs::CheckpointJob { console: other.console.clone(), checkpoints, every: 1, max_age: std::time::Duration::from_secs(3600) };
    let signed = signer.run_once(Utc::now()).await.expect("run").expect("a checkpoint");
    let (_, list) = app.get_with(&app.read_token, "/api/v1/reports").await;
    let covered = &list["reports"][0]["covered_by"];
    assert!(covered["tree_size"].as_u64() >= Some(meta.published_seq), "{covered}");
    assert_eq!((covered["seq"].as_u64(), covered["root"].as_str()), (Some(signed.seq), Some(signed.checkpoint.root.as_str())));
    let (_, page, _) = app.page(Some(&investor), "/reports").await;
    assert!(page.contains(&format!("checkpoint #{}", signed.seq)), "the archive page cites it");

    // Refusals.
    for (path, status) in [("/api/v1/reports/2024-W99.pdf", 400), ("/api/v1/reports/2024-W44.exe", 400), ("/api/v1/reports/2024-W01.pdf", 404)] {
        assert_eq!(bytes(&app, path, &app.read_token).await.0, status, "{path}");
    }
    assert_eq!(bytes(&app, "/api/v1/reports", &app.ingest_token).await.0, 403);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
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

/// A real SMTP server (aiosmtpd from PyPI; `scripts/setup.sh --test` installs it) delivering
/// into a Maildir, on a free port; killed on drop.
pub struct SmtpServer {
    pub port: u16,
    pub maildir: tempfile::TempDir,
    child: std::process::Child,
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub async fn smtp_server() -> SmtpServer {
    let port = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port").local_addr().expect("addr").port();
    let maildir = tempfile::tempdir().expect("maildir");
    let child = std::process::Command::new("python3")
        .args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}"), "-c", "aiosmtpd.handlers.Mailbox"])
        .arg(maildir.path().join("mail"))
        .spawn()
        .expect("python3 -m aiosmtpd (PyPI aiosmtpd; scripts/setup.sh --test installs it)");
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
            return SmtpServer { port, maildir, child };
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("aiosmtpd did not listen on {port}");
}

/// Each delivered message as (To, Subject, SHA-256 of its PDF attachment), read by Python's own
/// mailbox and email packages.
pub fn delivered(dir: &std::path::Path) -> Vec<(String, String, String)> {
    let script = r#"
import mailbox, sys, hashlib
for m in mailbox.Maildir(sys.argv[1], factory=None):
    pdf = [hashlib.sha256(p.get_payload(decode=True)).hexdigest() for p in m.walk() if p.get_content_type() == 'application/pdf']
    print(m['To'], '|', m['Subject'], '|', ','.join(pdf))
"#;
    let out = std::process::Command::new("python3").arg("-c").arg(script).arg(dir).output().expect("python3");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let mut parts = l.split(" | ");
            Some((parts.next()?.to_string(), parts.next()?.to_string(), parts.next()?.to_string()))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_published_report_is_emailed_as_pdf_to_the_list_and_the_outcome_is_in_the_chain() {
    let smtp = smtp_server().await;
    let app = spawn().await;
    two_weeks(&app).await;
    let mut config = app.config();
    config.smtp_url = Some(format!("smtp://127.0.0.1:{}", smtp.port).into());
    config.report_recipients = vec!["investors@fund.example".into(), "risk@fund.example".into()];
    let other = Application::build(config).await.expect("a console with a mailer");
    let meta = ReportSchedule { console: other.console.clone() }.run_once(Utc::now()).await.expect("run").expect("a report is due");

    let mails = delivered(&smtp.maildir.path().join("mail"));
    assert_eq!(mails.len(), 1, "one message to the list: {mails:?}");
    let (to, subject, pdf) = &mails[0];
    assert!(to.contains("investors@fund.example") && to.contains("risk@fund.example"), "{to}");
    assert!(subject.contains("weekly report 2024-W44"), "{subject}");
    assert_eq!(pdf, &meta.pdf_sha256, "the attachment is the archived PDF");
    let (_, page) = app.get_with(&app.read_token, "/api/v1/events?kind=system&limit=5").await;
    let sent = page["events"].as_array().and_then(|e| e.iter().find(|e| e["event"]["component"] == "report-mailer")).cloned().expect("a report-mailer event");
    assert_eq!(sent["event"]["status"], "sent");
    assert!(sent["event"]["detail"].as_str().is_some_and(|d| d.contains("2024-W44") && d.contains("2 recipients")), "{sent}");

    // A server that does not answer: the report is still published, and the failure recorded.
    let mut config = app.config();
    config.smtp_url = Some("smtp://127.0.0.1:9".to_string().into());
    config.report_recipients = vec!["investors@fund.example".into()];
    let down = Application::build(config).await.expect("a console with a mailer");
    let monday = chrono::NaiveDate::from_ymd_opt(2024, 10, 21).expect("date");
    let meta = down.console.publish_report(monday, None, Utc::now()).await.expect("published all the same");
    assert_eq!(meta.week, "2024-W43");
    let (_, page) = app.get_with(&app.read_token, "/api/v1/events?kind=system&limit=5").await;
    let failed = page["events"].as_array().and_then(|e| e.iter().find(|e| e["event"]["status"] == "failed")).cloned().expect("a failed delivery is recorded");
    assert!(failed["event"]["detail"].as_str().is_some_and(|d| d.contains("2024-W43") && !d.contains("127.0.0.1")), "no server detail in the chain: {failed}");

    // A bad setting stops the start, naming the setting.
    let mut config = app.config();
    config.smtp_url = Some("smtp://127.0.0.1:25".to_string().into());
    let e = Application::build(config).await.err().map(|e| format!("{e:#}")).unwrap_or_default();
    assert!(e.contains("report_recipients"), "{e}");
}
