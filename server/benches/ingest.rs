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

fn ingest(c: &mut Criterion) {
    let rt = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => panic!("runtime: {e}"),
    };
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let console = rt.block_on(async {
        let store = Store::open(dir.path()).await.unwrap_or_else(|e| panic!("store: {e}"));
        Console::open(store, Decimal::from(1_000_000)).await.unwrap_or_else(|e| panic!("console: {e}"))
    });
    // Steady state: the automation runs unattended (gating threshold 0), as one does after its
    // first N approved trades. With the default threshold every entry would wait for a person
    // and every order be flagged, which is the first hours of an automation, not its life.
    rt.block_on(async {
        let mut config = domain::config::Config::default();
        config.gating.threshold = 0;
        let change = domain::event::ConfigChange {
            version: 1,
            actor: domain::event::Id::parse("bench").unwrap_or_else(|e| panic!("id: {e}")),
            reason: domain::text::Reason::parse("benchmark: automations run unattended").unwrap_or_else(|e| panic!("reason: {e}")),
            config,
        };
        console.record(vec![domain::event::Body::ConfigChange(change)], Utc::now()).await.unwrap_or_else(|e| panic!("config: {e}"))
    });
    let base = Utc.with_ymd_and_hms(2024, 1, 2, 14, 30, 0).single().unwrap_or_default();
    let mut group = c.benchmark_group("ingest");
    group.throughput(Throughput::Elements(1000));
    group.sample_size(30);
    let mut next = 0u64;
    group.bench_function("batch_of_1000_parse_append_hash_project", |b| {
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
