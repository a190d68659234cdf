//! The storage limit ingest is measured against (issue 11 §3): the same rows the console would
//! store for the load tool's events (payload, ids, hashes), inserted straight into a fresh store
//! of the same schema, 1,000 per transaction, with no HTTP, parsing or folds. Only the insert and
//! commit are timed (the rows are built between them).
//!
//! cargo run --release -p server --example raw_insert -- LOCATION [EVENTS=1000000]
//!
//! `RAW_PER_TRANSACTION` (default 1000) changes the rows per transaction: the ceiling a console
//! that wrote several batches in one transaction (group commit) could reach. The console writes
//! each batch in its own; group commit was measured and not kept (docs/performance-history.md).
//!
//! LOCATION: a new data directory (SQLite: WAL, synchronous=FULL, as the console opens it) or
//! an empty PostgreSQL database URL.
use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use domain::event::Event;
use server::store::{Incoming, Location, Store};

/// The ids' prefix: as long as the load tool's (`load` and 4 hex digits), so that the rows, and
/// the keys of the `event_id`, signal and order indexes, are as long as the console's. (The
/// console also stores a flag on the orders of an automation waiting for approval, which the
/// raw insert, without folds, does not: 17 bytes on one row in seven of the load's.)
const RUN: &str = "rawi0000";

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let [_, location, rest @ ..] = args.as_slice() else {
        anyhow::bail!("usage: raw_insert DATA_DIR|POSTGRES_URL [EVENTS=1000000]");
    };
    let total: u64 = rest.first().map(|s| s.parse()).transpose()?.unwrap_or(1_000_000);
    let per_tx: u64 = std::env::var("RAW_PER_TRANSACTION").ok().map(|s| s.parse()).transpose()?.unwrap_or(1000).max(1);
    let location = Location::parse(location);
    let store = Store::connect(&location).await?;
    anyhow::ensure!(store.head().await?.0 == 0, "the store must be empty");
    let t0 = Utc.with_ymd_and_hms(2020, 1, 2, 14, 30, 0).single().unwrap_or_default();
    let (mut seq, mut hash) = (0u64, domain::chain::GENESIS);
    let mut inserting = Duration::ZERO;
    let mut done = 0u64;
    let wall = Instant::now();
    while done < total {
        let now = Utc::now();
        let batch: Vec<Incoming> = engine::synthetic::batch(RUN, done, per_tx.min(total - done), t0)
            .iter()
            .enumerate()
            .map(|(i, v)| {
                let raw = v.to_string();
                let event = Event::parse_json(&raw, now).map_err(|e| anyhow::anyhow!("synthetic event {i}: {e:?}"))?;
                Ok(Incoming { line: i + 1, event, raw, flags: None })
            })
            .collect::<anyhow::Result<_>>()?;
        let rows = server::store::link_rows((seq, hash), &batch, now.timestamp_millis());
        if let Some(last) = rows.last() {
            seq = last.seq as u64;
            hash = last.hash.as_slice().try_into()?;
        }
        done += rows.len() as u64;
        let t = Instant::now();
        store.insert_rows(rows).await?;
        inserting += t.elapsed();
        if done % 100_000 < per_tx {
            eprintln!("  {done} rows, {:.0} rows/s inserting", done as f64 / inserting.as_secs_f64());
        }
    }
    println!(
        "raw insert into {} ({}): {done} rows, {per_tx} per transaction, {:.1} s inserting = {:.0} rows/s ({:.1} s wall with building the rows)",
        store.backend_name(),
        location.describe(),
        inserting.as_secs_f64(),
        done as f64 / inserting.as_secs_f64(),
        wall.elapsed().as_secs_f64()
    );
    anyhow::ensure!(store.verify().await?.ok, "the inserted chain does not verify");
    Ok(())
}
