//! How long a weekly report (HTML + PDF) takes with 8,000+ daily returns of history: the S&P 500
//! index's daily closes since 1990 (data/sp500_index.csv.gz, 8,312 returns) as the fund's equity,
//! the report of its last week. `scripts/report_speed.sh` runs this beside QuantStats'
//! `reports.html` on the same returns. Prints one JSON line.
use std::io::Read;
use std::time::Instant;

use chrono::NaiveDate;
use domain::report::{Inputs, Provenance, build};
use rust_decimal::Decimal;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args().nth(1).unwrap_or_else(|| "data/sp500_index.csv.gz".into());
    let mut text = String::new();
    flate2::read::GzDecoder::new(std::fs::File::open(&path)?).read_to_string(&mut text)?;
    let mut equity: Vec<(NaiveDate, Decimal)> = Vec::new();
    let mut first: Option<f64> = None;
    for line in text.lines().skip(1) {
        let Some((d, c)) = line.split_once(',') else { continue };
        let (Ok(d), Ok(c)) = (NaiveDate::parse_from_str(d, "%Y-%m-%d"), c.trim().parse::<f64>()) else { continue };
        let base = *first.get_or_insert(c);
        let e = Decimal::try_from(1_000_000.0 * c / base)?.round_dp(2);
        equity.push((d, e));
    }
    let last = equity.last().map(|(d, _)| *d).ok_or("no data")?;
    let (execution, risk, regimes) = (Default::default(), Default::default(), Default::default());
    let runs: usize = std::env::var("RUNS").ok().and_then(|r| r.parse().ok()).unwrap_or(5);
    let mut times = Vec::with_capacity(runs);
    let mut sizes = (0, 0);
    for _ in 0..runs {
        let started = Instant::now();
        let report = build(&Inputs {
            fund: "S&P 500 as a fund",
            monday: last,
            capital: Decimal::from(1_000_000),
            daily_equity: &equity,
            benchmark: None,
            trades: &[],
            execution: &execution,
            risk: &risk,
            limits: &[],
            regimes: &regimes,
            issues: &[],
            provenance: Provenance::default(),
            factors: None,
            fills: Default::default(),
        });
        let html = reports::html(&report);
        let pdf = reports::pdf(&report)?;
        times.push(started.elapsed().as_secs_f64());
        sizes = (html.len(), pdf.len());
    }
    times.sort_by(f64::total_cmp);
    let median = times[times.len() / 2];
    println!(
        "{{\"returns\": {}, \"runs\": {runs}, \"median_s\": {median:.4}, \"first_s\": {:.4}, \"html_bytes\": {}, \"pdf_bytes\": {}}}",
        equity.len() - 1,
        times.first().copied().unwrap_or(0.0),
        sizes.0,
        sizes.1
    );
    Ok(())
}
