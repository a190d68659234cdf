//! Ingest into SQLite with hashing, end to end below HTTP: parse a 1,000-event batch, append it
//! in one transaction with the hash chain, fold it into the live projection.
//! `cargo bench -p server --bench ingest`
use chrono::{TimeZone, Utc};
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use rust_decimal::Decimal;
use server::console::Console;
use server::store::Store;

// The same allocator as the tradewatch binary.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// A console on a fresh store whose config (version 1) is `config`.
fn console_with(rt: &tokio::runtime::Runtime, dir: &std::path::Path, config: domain::config::Config) -> std::sync::Arc<Console> {
    rt.block_on(async {
        let store = Store::open(dir).await.unwrap_or_else(|e| panic!("store: {e}"));
        let console = Console::open(store, Decimal::from(1_000_000)).await.unwrap_or_else(|e| panic!("console: {e}"));
        let change = domain::event::ConfigChange {
            version: 1,
            actor: domain::event::Id::parse("bench").unwrap_or_else(|e| panic!("id: {e}")),
            reason: domain::text::Reason::parse("benchmark: automations run unattended").unwrap_or_else(|e| panic!("reason: {e}")),
            config,
        };
        console.record(vec![domain::event::Body::ConfigChange(change)], Utc::now()).await.unwrap_or_else(|e| panic!("config: {e}"));
        console
    })
}

/// Every compliance rule on, with limits the synthetic book stays under (so the measured cost is
/// the checking, not the appending of issues): every scope's limits, market hours for every
/// instrument, a restricted list, wash trades and the process rules.
fn full_compliance() -> domain::config::CompliancePolicy {
    use domain::config::compliance::{Limits, Prohibition};
    let big = Some(Decimal::from(1_000_000_000_000i64));
    let limits = Limits {
        max_position_quantity: big,
        max_position_notional: big,
        max_order_quantity: big,
        max_order_notional: big,
        max_gross_exposure: big,
        max_net_exposure: big,
        max_leverage: Some(1000.0),
        max_concentration: Some(1.0),
        max_herfindahl: Some(1.0),
        max_var_95: big,
        max_daily_loss: big,
        max_stop_distance_pct: None,
    };
    let mut p = domain::config::CompliancePolicy::default();
    p.portfolio = limits.clone();
    p.automations.insert("bench".into(), limits.clone());
    for i in ["AAPL", "MSFT", "JPM", "XOM", "EURUSD"] {
        p.instruments.insert(i.into(), limits.clone());
    }
    p.prohibited.insert("GME".into(), Prohibition { reason: "restricted list".into(), since: chrono::NaiveDate::default() });
    // A session open around the clock (the synthetic clock runs past any close): every order's
    // time is checked in New York time, and none is outside.
    let mut always = domain::config::compliance::Session::us_equity();
    always.days = vec![chrono::Weekday::Mon, chrono::Weekday::Tue, chrono::Weekday::Wed, chrono::Weekday::Thu, chrono::Weekday::Fri, chrono::Weekday::Sat, chrono::Weekday::Sun];
    always.open = chrono::NaiveTime::MIN;
    always.close = chrono::NaiveTime::from_hms_opt(23, 59, 59).unwrap_or_default();
    always.holidays.clear();
    p.market_hours.classes.insert("always".into(), always);
    p.market_hours.default_class = Some("always".into());
    p.process.flag_risk_overrides = true;
    p.process.require_risk_check = true;
    p
}

fn ingest(c: &mut Criterion) {
    let rt = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => panic!("runtime: {e}"),
    };
    // Steady state: the automation runs unattended (gating threshold 0), as one does after its
    // first N approved trades. With the default threshold every entry would wait for a person
    // and every order be flagged, which is the first hours of an automation, not its life.
    let mut config = domain::config::Config::default();
    config.gating.threshold = 0;
    let mut off = config.clone();
    off.compliance.enabled = false;
    let mut full = config.clone();
    full.compliance = full_compliance();
    let base = Utc.with_ymd_and_hms(2024, 1, 2, 14, 30, 0).single().unwrap_or_default();
    let mut group = c.benchmark_group("ingest");
    group.throughput(Throughput::Elements(1000));
    group.sample_size(30);
    // The default config (compliance on, no limits set), compliance off, and every rule on:
    // the compliance fold's own cost is the difference.
    for (name, config) in [("batch_of_1000_parse_append_hash_project", config), ("batch_of_1000_compliance_off", off), ("batch_of_1000_compliance_every_rule", full)] {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
        let console = console_with(&rt, dir.path(), config);
        let mut next = 0u64;
        group.bench_function(name, |b| {
            // The request body is built outside the timed routine: only the console's work is measured.
            b.iter_batched(
                || {
                    let events = engine::synthetic::batch("bench", next, 1000, base);
                    next += 1000;
                    serde_json::to_vec(&events).unwrap_or_default()
                },
                |body| {
                    rt.block_on(async {
                        let batch = server::http::parse_batch(&body, Utc::now()).unwrap_or_else(|_| panic!("parse"));
                        console.ingest(batch, Utc::now()).await.unwrap_or_else(|e| panic!("ingest: {e}"))
                    })
                },
                BatchSize::SmallInput,
            )
        });
    }
    group.finish();

    let payload = vec![b'x'; 400];
    c.bench_function("chain_link_400_byte_payload", |b| {
        let mut prev = domain::chain::GENESIS;
        let mut seq = 0;
        b.iter(|| {
            seq += 1;
            prev = domain::chain::link(&prev, seq, &payload);
        })
    });
}

criterion_group!(benches, ingest);
criterion_main!(benches);
