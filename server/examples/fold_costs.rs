//! The CPU one event costs below HTTP and storage, part by part, on one core: parsing a line,
//! linking it into the chain, the book, and each fold on top of the book (its own cost: the book
//! and that fold, less the book alone). The load's synthetic trades (7 events each), in batches
//! of 1,000 as the append folds them. Issue 11 §3's budget: at 100,000 events/s on 2 cores, an
//! event has 20 µs of CPU in all, of which the raw insert takes about 8.5.
//!
//! cargo run --release -p server --example fold_costs -- [EVENTS=300000]
use std::time::Instant;

use chrono::{TimeZone, Utc};
use domain::event::Event;
use domain::fold::{Fold, Stored};
use domain::folds::Folds;
use rust_decimal::Decimal;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> anyhow::Result<()> {
    let n: u64 = std::env::args().nth(1).map(|s| s.parse()).transpose()?.unwrap_or(300_000);
    let base = Utc.with_ymd_and_hms(2024, 1, 2, 14, 30, 0).single().unwrap_or_default();
    let now = Utc::now();
    let lines: Vec<String> = (0..n / 1000).flat_map(|b| engine::synthetic::batch("costs", b * 1000, 1000, base)).map(|v| v.to_string()).collect();
    let per_event = |t: Instant| t.elapsed().as_secs_f64() * 1e6 / lines.len() as f64;

    // Parsed a batch at a time and dropped, as a request's batch is (memory reused, not grown).
    let parse = |lines: &[String]| lines.iter().map(|l| Event::parse_line(l, now)).collect::<Result<Vec<Event>, _>>().map_err(|e| anyhow::anyhow!("{e:?}"));
    let t = Instant::now();
    for batch in lines.chunks(1000) {
        parse(batch)?;
    }
    println!("{:<34}{:>8.2} µs/event", "parse (Event::parse_line)", per_event(t));
    let events = parse(&lines)?;

    let t = Instant::now();
    let mut prev = [0u8; 32];
    for (seq, line) in (1..).zip(&lines) {
        prev = domain::chain::link_v2(&prev, seq, now.timestamp_millis(), None, line.as_bytes());
    }
    println!("{:<34}{:>8.2} µs/event", "chain link (SHA-256, v2)", per_event(t));

    // The book alone, then the book and one fold: that fold's cost is the difference.
    let run = |only: Option<usize>| {
        let mut folds = Folds::new(Decimal::from(1_000_000));
        let t = Instant::now();
        let mut failures = Vec::new();
        for (seq, event) in (1..).zip(&events) {
            let stored = Stored { seq, event, received_at: now };
            match only {
                None => folds.apply(&stored, &mut failures),
                Some(i) => {
                    folds.book.apply(seq, event);
                    let Folds { book, governance, kpis, slippage, compliance, anomaly, alerts, event_ids } = &mut folds;
                    let list: [&mut dyn Fold; 7] = [governance, kpis, slippage, compliance, anomaly, alerts, event_ids];
                    if let Some(f) = list.into_iter().nth(i) {
                        f.apply(&stored, book);
                    }
                }
            }
        }
        per_event(t)
    };
    let book = run(Some(usize::MAX));
    println!("{:<34}{:>8.2} µs/event", "book (Projection)", book);
    // The folds' own names, in the order `run` indexes them (the book, "projection", first).
    let names = Folds::new(Decimal::ZERO).names();
    for (i, name) in names.iter().skip(1).enumerate() {
        println!("{:<34}{:>8.2} µs/event", format!("  + {name}"), run(Some(i)) - book);
    }
    println!("{:<34}{:>8.2} µs/event", "every fold (Folds::apply)", run(None));
    Ok(())
}
