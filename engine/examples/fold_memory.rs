//! Resident memory of the console's folds alone after N synthetic events (the load tool's
//! stream): `cargo run --release -p engine --example fold_memory -- [EVENTS=1000000]`.
//! Separates what the folds keep from what SQLite and the server hold; `FOLD=book` (or
//! `governance`, `kpis`, `slippage`, `anomaly`) measures one fold.
use chrono::{TimeZone, Utc};
use domain::event::Event;
use domain::fold::{Fold, Stored};
use domain::folds::Folds;
use rust_decimal::Decimal;

fn rss_mb() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm.split_whitespace().nth(1).and_then(|p| p.parse().ok()).unwrap_or(0);
    pages * 4096 / (1 << 20)
}

fn main() {
    let total: u64 = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(1_000_000);
    // FOLD=book|governance|kpis|slippage|anomaly folds only that one (governance and anomaly with
    // the book they read).
    let only = std::env::var("FOLD").ok();
    let t0 = Utc.with_ymd_and_hms(2020, 1, 2, 14, 30, 0).single().unwrap_or_default();
    let now = Utc::now();
    let mut folds = Folds::new(Decimal::from(1_000_000));
    let mut failures = Vec::new();
    let before = rss_mb();
    let mut seq = 0u64;
    let mut next = 0u64;
    while next < total {
        for v in engine::synthetic::batch("mem", next, 1000.min(total - next), t0) {
            let Ok(e) = Event::parse_value(&v, now) else { continue };
            seq += 1;
            match only.as_deref() {
                Some("book") => {
                    folds.book.apply(seq, &e);
                }
                Some("governance") => {
                    folds.book.apply(seq, &e);
                    folds.governance.apply(seq, &e, now, &folds.book);
                }
                Some("kpis") => folds.kpis.apply(&e),
                Some("slippage") => {
                    folds.slippage.apply(&e);
                }
                Some("anomaly") => {
                    folds.book.apply(seq, &e);
                    Fold::apply(&mut folds.anomaly, &Stored { seq, event: &e, received_at: now }, &folds.book);
                }
                _ => folds.apply(&Stored { seq, event: &e, received_at: now }, &mut failures),
            }
        }
        next += 1000;
        if next % 200_000 == 0 {
            println!("{next} events: {} MB resident", rss_mb());
        }
    }
    let after = rss_mb();
    println!("folds after {total} events: {after} MB resident ({} MB grown, {} bytes an event)", after - before, (after - before) * (1 << 20) / total.max(1));
    let due = folds.due(now + chrono::Duration::hours(1));
    println!("{} actions due an hour later; {} fold failures", due.len(), failures.len());
}
