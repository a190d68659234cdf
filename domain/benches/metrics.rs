//! The full metric set on 8,312 daily returns (AAPL 1990-2022 against the S&P 500 index), and
//! the rolling figures. Target: the metric set under 5 ms. `cargo bench -p domain --bench metrics`
use chrono::NaiveDate;
use criterion::{Criterion, criterion_group, criterion_main};
use domain::metrics::{MetricSet, ROLLING_WINDOW, Rolling, TRADING_DAYS};
use serde_json::Value;

fn series() -> (Vec<NaiveDate>, Vec<f64>, Vec<f64>) {
    let fixture: Value = serde_json::from_str(include_str!("../tests/fixtures/metrics_reference.json")).unwrap_or(Value::Null);
    let s = &fixture["series"]["aapl"];
    let pairs = s["returns"].as_array().cloned().unwrap_or_default();
    let dates = pairs.iter().filter_map(|p| NaiveDate::parse_from_str(p[0].as_str()?, "%Y-%m-%d").ok()).collect();
    let r = pairs.iter().filter_map(|p| p[1].as_f64()).collect();
    let b = s["benchmark"].as_array().map(|a| a.iter().filter_map(Value::as_f64).collect()).unwrap_or_default();
    (dates, r, b)
}

fn bench(c: &mut Criterion) {
    let (dates, r, b) = series();
    assert_eq!(r.len(), 8312);
    c.bench_function("metric_set_8312_daily_returns_with_benchmark", |bench| {
        bench.iter(|| MetricSet::compute(std::hint::black_box(&dates), std::hint::black_box(&r), Some(&b), TRADING_DAYS))
    });
    c.bench_function("rolling_sharpe_vol_beta_126d_8312_returns", |bench| {
        bench.iter(|| Rolling::compute(std::hint::black_box(&r), Some(&b), ROLLING_WINDOW, TRADING_DAYS))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
