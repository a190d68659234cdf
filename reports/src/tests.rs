use super::*;
use chrono::NaiveDate;
use domain::report::{Inputs, Provenance, build};

fn sample() -> WeeklyReport {
    let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("date");
    let equity: Vec<(NaiveDate, Decimal)> = (0..300)
        .map(|i| (d("2024-01-01") + chrono::TimeDelta::days(i), Decimal::from(1_000_000) + Decimal::from((i * 37) % 1000) - Decimal::from(400)))
        .collect();
    let (execution, risk, regimes) = Default::default();
    let (execution, risk, regimes): (domain::analytics::SlippageReport, domain::risk::RiskReport, domain::regime::RegimeReport) = (execution, risk, regimes);
    build(&Inputs {
        fund: "Tradewatch <demo> \"fund\" #1",
        monday: d("2024-10-21"),
        capital: Decimal::from(1_000_000),
        daily_equity: &equity,
        benchmark: None,
        trades: &[],
        execution: &execution,
        risk: &risk,
        limits: &[],
        regimes: &regimes,
        issues: &[],
        provenance: Provenance { head_seq: 42, head_hash: "ab".repeat(32), ..Default::default() },
        factors: None,
        fills: Default::default(),
    })
}

#[test]
fn the_html_is_self_contained_and_has_no_script() {
    let r = sample();
    let h = html(&r);
    assert!(!h.to_lowercase().contains("<script"), "no script");
    assert!(!h.contains(" src=") && !h.contains("<link") && !h.contains("url("), "no external reference");
    assert!(h.contains("Tradewatch &lt;demo&gt; &quot;fund&quot; #1"), "the fund's name is text");
    assert!(h.contains("<svg"), "charts inline");
    assert!(h.contains(&format!("#{}", r.provenance.head_seq)));
    assert!(h.contains(&pct(r.summary.week_return)), "the week's return is shown as the page shows it");
}

#[test]
fn the_pdf_is_valid_and_byte_identical_on_regeneration() {
    let r = sample();
    let a = pdf(&r).expect("pdf");
    let b = pdf(&r).expect("pdf");
    assert!(a.starts_with(b"%PDF-"), "a PDF");
    assert_eq!(a, b, "deterministic");
    if let Ok(path) = std::env::var("REPORT_PDF_OUT") {
        std::fs::write(path, &a).expect("write");
    }
}
