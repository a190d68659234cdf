//! The cost of a fold snapshot at N events (default 1,000,000): folds the load tool's synthetic
//! events (every entry waits for a person, as in `scripts/load.sh`), then times
//! `Folds::snapshot` and `Folds::restore` and prints each fold's share of the bytes, and roughly
//! its size in memory (the resident set's growth while a copy of it is held).
//! `cargo run --release -p server --example snapshot [N]`
use std::time::Instant;

use chrono::Utc;
use domain::event::Event;
use domain::fold::Stored;
use domain::folds::Folds;
use rust_decimal::Decimal;

fn main() -> anyhow::Result<()> {
    let n: u64 = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(1_000_000);
    let now = Utc::now();
    let t0 = now - chrono::Duration::days(400);
    let mut folds = Folds::new(Decimal::from(1_000_000));
    let mut failures = Vec::new();
    let mut seq = 0;
    let started = Instant::now();
    for i in 0..n.div_ceil(1000) {
        for v in engine::synthetic::batch("snap", i * 1000, 1000, t0) {
            let e = Event::parse_value(&v, now).map_err(|e| anyhow::anyhow!("synthetic event: {e}"))?;
            seq += 1;
            folds.apply(&Stored { seq, event: &e, received_at: now }, &mut failures);
        }
    }
    println!("folded {seq} events in {:.2} s ({} fold failures)", started.elapsed().as_secs_f64(), failures.len());
    let started = Instant::now();
    let bytes = folds.snapshot()?;
    println!("snapshot: {} bytes in {:.3} s", bytes.len(), started.elapsed().as_secs_f64());
    let parts = [
        ("projection", domain::fold::encode(&folds.book)?.len()),
        ("governance", domain::fold::encode(&folds.governance)?.len()),
        ("kpis", domain::fold::encode(&folds.kpis)?.len()),
        ("slippage", domain::fold::encode(&folds.slippage)?.len()),
    ];
    for (name, len) in parts {
        println!("  {name}: {len} bytes");
    }
    // Each fold's size in memory, roughly: the resident set grows by about that much while a
    // copy of it is held (this example runs on the system allocator, which takes fresh pages
    // for the copy). Hash tables copy without their spare capacity, so the folds' own are a
    // little larger.
    println!("in memory (resident set growth while a copy is held; whole process {} MB):", rss_mb());
    // The copies are all held to the end: memory freed by one would be reused by the next.
    fn held<T: Clone>(name: &str, fold: &T) -> T {
        let before = rss_mb();
        let copy = fold.clone();
        println!("  {name}: ~{} MB", rss_mb().saturating_sub(before));
        copy
    }
    let copies = (
        held("projection", &folds.book),
        held("governance", &folds.governance),
        held("kpis", &folds.kpis),
        held("slippage", &folds.slippage),
        held("compliance", &folds.compliance),
        held("anomaly", &folds.anomaly),
        held("alerts", &folds.alerts),
        held("event_ids", &folds.event_ids),
    );
    drop(copies);
    let started = Instant::now();
    let restored = Folds::restore(&bytes)?;
    println!("restore: {:.3} s (head of the book {})", started.elapsed().as_secs_f64(), restored.book.dashboard(1).head_seq);
    Ok(())
}

#[path = "common/proc_status.rs"]
mod proc_status;

/// This process's resident set (`VmRSS`), in MB; 0 where it cannot be read.
fn rss_mb() -> u64 {
    proc_status::kib("VmRSS") / 1024
}
