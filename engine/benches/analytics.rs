//! All analytics over a log of 1,000,000 events, from cold and per event.
//!
//! The log: the paper engine's replay of all bundled data (20 S&P 500 stocks daily and EURUSD
//! hourly, 2017-04-19 on), repeated as independent books with renamed instruments and ids
//! until it holds 1,000,000 events, interleaved by time. Events are parsed once, outside the
//! timed code. Timed: the folds the console keeps (projection, exit KPIs, slippage) over every
//! event, then every report the analytics pages and the metrics API read (metric set, rolling
//! figures, per-trade figures, attribution by instrument / horizon / time / factor / regime,
//! regimes, risk, KPIs, slippage). `cargo bench -p engine --bench analytics`
use std::path::PathBuf;

use chrono::{NaiveDate, Utc};
use criterion::{Criterion, criterion_group, criterion_main};
use domain::analytics::{Attribution, FactorAttribution, FactorReturns, Slippage};
use domain::event::Event;
use domain::kpi::{ExitKpis, KpiParams};
use domain::metrics::{MetricSet, ROLLING_WINDOW, Rolling, TRADING_DAYS, TradeStats};
use domain::projection::Projection;
use domain::regime::{RegimeParams, RegimeReport};
use domain::risk::RiskReport;
use engine::replay::{Engine, ReplayConfig};
use rust_decimal::Decimal;
use serde_json::Value;

const EVENTS: usize = 1_000_000;

fn replay_events() -> Vec<Value> {
    let cfg = ReplayConfig { to: None, ..ReplayConfig::reference(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../data")) };
    let timeline = engine::replay::load(&cfg).unwrap_or_default();
    let Ok(mut engine) = Engine::new(cfg) else { return Vec::new() };
    timeline.iter().flat_map(|(t, bars)| engine.step(*t, bars)).collect()
}

/// Copy `k` of the replay: every id and instrument suffixed, so the books are independent.
fn copy(v: &Value, k: usize) -> Value {
    let mut v = v.clone();
    if let Some(o) = v.as_object_mut() {
        for key in ["event_id", "signal_id", "order_id", "fill_id", "instrument"] {
            if let Some(Value::String(s)) = o.get_mut(key) {
                s.push_str(&format!("~{k}"));
            }
        }
    }
    v
}

struct Log {
    events: Vec<Event>,
}

fn log() -> Log {
    let base = replay_events();
    assert!(!base.is_empty(), "the replay made no events");
    let copies = EVENTS.div_ceil(base.len());
    let mut all: Vec<(String, usize, Value)> = Vec::with_capacity(copies * base.len());
    for k in 0..copies {
        for (i, v) in base.iter().enumerate() {
            let ts = v["ts"].as_str().unwrap_or_default().to_string();
            all.push((ts, i, copy(v, k)));
        }
    }
    all.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(&b.1)));
    all.truncate(EVENTS);
    let now = Utc::now();
    let events = all.iter().filter_map(|(_, _, v)| Event::parse_value(v, now).ok()).collect::<Vec<_>>();
    println!("log: {} events ({} replay events x {copies} books), {} .. {}", events.len(), base.len(), all[0].0, all[all.len() - 1].0);
    Log { events }
}

struct Folds {
    projection: Projection,
    kpis: ExitKpis,
    slippage: Slippage,
}

impl Folds {
    fn new() -> Self {
        Self { projection: Projection::new(Decimal::from(1_000_000)), kpis: ExitKpis::new(KpiParams::default()), slippage: Slippage::default() }
    }
    fn apply(&mut self, seq: u64, e: &Event) {
        self.projection.apply(seq, e);
        self.kpis.apply(e);
        self.slippage.apply(e);
    }
}

/// Every report the analytics pages and the metrics API compute from the folds.
fn reports(f: &Folds, sp500: &std::collections::BTreeMap<NaiveDate, f64>, factors: &FactorReturns) -> usize {
    let (dates, returns) = domain::metrics::daily_returns(f.projection.daily_closes());
    let aligned: Vec<f64> = dates.iter().map(|d| sp500.get(d).copied().unwrap_or(0.0)).collect();
    let m = MetricSet::compute_against(&dates, &returns, sp500, TRADING_DAYS);
    let r = Rolling::compute(&returns, Some(&aligned), ROLLING_WINDOW, TRADING_DAYS);
    let trades = f.projection.closed_trades();
    let t = TradeStats::compute(trades);
    let a = Attribution::compute(trades);
    let fa = FactorAttribution::compute(trades, factors);
    let rg = RegimeReport::compute(&dates, &returns, trades, sp500, &RegimeParams::default());
    let risk = RiskReport::compute(&f.projection.daily_exposure(), &f.projection.position_notionals(), f.projection.daily_marks());
    let k = f.kpis.report(f.projection.as_of().unwrap_or_else(Utc::now));
    let s = f.slippage.report().clone();
    std::hint::black_box((&m, &r, &t, &a, &fa, &rg, &risk, &k, &s));
    m.periods + rg.stats.len() + risk.correlation.instruments.len() + k.weekly.len() + s.by_instrument.len()
}

fn bench(c: &mut Criterion) {
    let log = log();
    let sp500 = engine::data::sp500_index_returns().unwrap_or_default();
    let factors = FactorReturns::from_daily(engine::data::factor_returns_embedded().unwrap_or_default());
    let mut g = c.benchmark_group("analytics_1m_events");
    g.sample_size(10);
    g.bench_function("fold_and_all_reports_from_cold", |b| {
        b.iter(|| {
            let mut f = Folds::new();
            for (i, e) in log.events.iter().enumerate() {
                f.apply(i as u64 + 1, e);
            }
            reports(&f, &sp500, &factors)
        })
    });
    // The state after the whole log, then the reports alone (what a page or API read costs).
    let (head, tail) = log.events.split_at(log.events.len() - 100_000);
    let mut f = Folds::new();
    for (i, e) in head.iter().enumerate() {
        f.apply(i as u64 + 1, e);
    }
    g.bench_function("all_reports_at_900k_events", |b| b.iter(|| reports(&f, &sp500, &factors)));
    g.finish();
    // Each page's share of that.
    let mut g = c.benchmark_group("report_at_900k_events");
    let p = &f.projection;
    let (dates, returns) = domain::metrics::daily_returns(p.daily_closes());
    g.bench_function("performance_tearsheet", |b| b.iter(|| domain::metrics::performance_view(&dates, &returns, Some(&sp500), TradeStats::compute(p.closed_trades()))));
    g.bench_function("kpis", |b| b.iter(|| f.kpis.report(p.as_of().unwrap_or_else(Utc::now))));
    g.bench_function("attribution_splits_and_factors", |b| b.iter(|| (Attribution::compute(p.closed_trades()), FactorAttribution::compute(p.closed_trades(), &factors))));
    let labels = domain::regime::classify(&sp500, &RegimeParams::default());
    g.bench_function("regimes_with_cached_labels", |b| b.iter(|| RegimeReport::compute_with(&dates, &returns, p.closed_trades(), &sp500, &labels, &RegimeParams::default())));
    g.bench_function("regime_labels_of_the_sp500", |b| b.iter(|| domain::regime::classify(&sp500, &RegimeParams::default())));
    g.bench_function("risk", |b| b.iter(|| RiskReport::compute(&p.daily_exposure(), &p.position_notionals(), p.daily_marks())));
    g.bench_function("execution", |b| b.iter(|| f.slippage.report().clone()));
    g.finish();
    // One more event into the folds at that size, per event: the last 100,000 events of the
    // log in order (wrapping to the start of them if criterion asks for more).
    let mut seq = head.len() as u64;
    let mut next = 0usize;
    c.bench_function("analytics_fold_one_event_at_900k", |b| {
        b.iter_custom(|iters| {
            let start = std::time::Instant::now();
            for _ in 0..iters {
                seq += 1;
                f.apply(seq, &tail[next]);
                next = (next + 1) % tail.len();
            }
            start.elapsed()
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
