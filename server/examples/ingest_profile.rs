//! Where a batch's time goes below HTTP: request bodies are built first (not timed), then each
//! 1,000-event batch is parsed (`http::parse_batch`) and ingested (`Console::ingest`: the append
//! with its look-ups, hashing and commit, and the folds), each phase timed on its own.
//! Run it under `perf record` to see the functions of the timed phase alone.
//!
//! cargo run --release -p server --example ingest_profile -- [BATCHES=300] [DATA_DIR|POSTGRES_URL|-] [IN_FLIGHT=2]
use std::time::{Duration, Instant};

use futures::StreamExt;

use chrono::{TimeZone, Utc};
use rust_decimal::Decimal;
use server::console::Console;
use server::store::{Location, Store};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let batches: u64 = args.get(1).map(|s| s.parse()).transpose()?.unwrap_or(300);
    let dir = tempfile::tempdir()?;
    let in_flight: usize = args.get(3).map(|s| s.parse()).transpose()?.unwrap_or(2);
    let location = args.get(2).filter(|s| *s != "-").map(|s| Location::parse(s)).unwrap_or_else(|| Location::Sqlite(dir.path().to_path_buf()));
    let console = Console::open(Store::connect(&location).await?, Decimal::from(1_000_000)).await?;
    let base = Utc.with_ymd_and_hms(2024, 1, 2, 14, 30, 0).single().unwrap_or_default();
    let bodies: Vec<Vec<u8>> = (0..batches).map(|b| serde_json::to_vec(&engine::synthetic::batch("prof", b * 1000, 1000, base))).collect::<Result<_, _>>()?;
    eprintln!("bodies built; timing {batches} batches, {in_flight} in flight");
    let wall = Instant::now();
    // Each batch parsed and ingested in its own task, `in_flight` at a time (as the load tool
    // posts them): the console folds one while it writes the one before.
    let times: Vec<(Duration, Duration)> = futures::stream::iter(bodies.into_iter().map(|body| {
        let console = std::sync::Arc::clone(&console);
        tokio::spawn(async move {
            let now = Utc::now();
            let t = Instant::now();
            let batch = server::http::parse_batch(&body, now).map_err(|_| anyhow::anyhow!("parse"))?;
            let parsing = t.elapsed();
            let t = Instant::now();
            console.ingest(batch, now).await?;
            Ok::<_, anyhow::Error>((parsing, t.elapsed()))
        })
    }))
    .buffered(in_flight)
    .collect::<Vec<_>>()
    .await
    .into_iter()
    .map(|r| r.map_err(anyhow::Error::from).and_then(|r| r))
    .collect::<anyhow::Result<_>>()?;
    let (parsing, ingesting) = times.iter().fold((Duration::ZERO, Duration::ZERO), |(p, i), (a, b)| (p + *a, i + *b));
    let n = (batches * 1000) as f64;
    println!(
        "{batches} batches of 1,000 on {}, {in_flight} in flight: parse {:.2} ms/batch, ingest {:.2} ms/batch (each batch's wait included); {:.0} events/s in all",
        console.store().backend_name(),
        parsing.as_secs_f64() * 1e3 / batches as f64,
        ingesting.as_secs_f64() * 1e3 / batches as f64,
        n / wall.elapsed().as_secs_f64()
    );
    // What the rules raised on the way (the anomaly and alert folds' state grows with it).
    let alerts = console.all_alerts(Utc::now());
    let history: usize = alerts.iter().map(|a| a.episodes as usize).sum();
    let (_, anomalies) = console.anomalies(None, None, 0);
    let mut by_rule = std::collections::BTreeMap::<String, usize>::new();
    for a in &alerts {
        *by_rule.entry(a.rule.clone()).or_default() += 1;
    }
    println!("alerts kept {} ({history} episodes), anomalies found {anomalies}: {by_rule:?}", alerts.len());
    Ok(())
}
