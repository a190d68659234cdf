//! Peak memory of a data export (issue 14 §2): streams `events.parquet` (or the dataset and
//! format given) of a store to a counting sink and prints the bytes, the time and the process's
//! peak resident memory (VmHWM) before and after.
//!
//! cargo run --release -p server --example raw_insert -- /tmp/export-1m 1000000
//! cargo run --release -p server --example export_memory -- /tmp/export-1m [events] [parquet]
use std::time::Instant;

use server::export::{Dataset, Filter, Format, Held};
use server::store::{Location, Store};

#[path = "common/proc_status.rs"]
mod proc_status;

/// The process's peak resident memory (`VmHWM`), KiB.
fn peak_kib() -> u64 {
    proc_status::kib("VmHWM")
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let location = Location::parse(args.get(1).map(String::as_str).unwrap_or("/tmp/export-1m"));
    let dataset = Dataset::parse(args.get(2).map(String::as_str).unwrap_or("events")).ok_or_else(|| anyhow::anyhow!("dataset: events or fills"))?;
    let format = Format::parse(args.get(3).map(String::as_str).unwrap_or("parquet")).ok_or_else(|| anyhow::anyhow!("format: csv or parquet"))?;
    let store = Store::connect(&location).await?;
    let events = store.head().await?.0;
    let before = peak_kib();
    let started = Instant::now();
    let mut rx = server::export::stream(store, Held::Log, dataset, format, Filter::default());
    let mut bytes = 0usize;
    while let Some(chunk) = rx.recv().await {
        bytes += chunk?.len();
    }
    println!(
        "{{\"events\": {events}, \"dataset\": \"{}\", \"bytes\": {bytes}, \"seconds\": {:.1}, \"peak_rss_before_mib\": {:.1}, \"peak_rss_after_mib\": {:.1}}}",
        dataset.as_str(),
        started.elapsed().as_secs_f64(),
        before as f64 / 1024.0,
        peak_kib() as f64 / 1024.0
    );
    Ok(())
}
