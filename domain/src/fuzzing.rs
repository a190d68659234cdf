//! What the fuzz target (`fuzz/`, `scripts/fuzz.sh`) and the corpus regression test
//! (`domain/tests/fuzz_corpus.rs`) run: each line is parsed by the one wire parser; whatever it
//! accepts is folded through every fold and report. Nothing here may panic.
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;

use crate::event::Event;

/// The clock the parser is given (fixed, so runs are reproducible).
pub fn fixed_now() -> DateTime<Utc> {
    DateTime::from_timestamp(1_800_000_000, 0).unwrap_or_default()
}

/// Parses each line of `text`; folds the events that parse. Returns how many parsed.
pub fn parse_and_fold(text: &str) -> usize {
    let now = fixed_now();
    let mut folds = crate::folds::Folds::new(Decimal::from(1_000_000));
    let mut failures = Vec::new();
    let mut n = 0;
    for (i, line) in text.lines().enumerate() {
        let Ok(e) = Event::parse_json(line, now) else { continue };
        let seq = i as u64 + 1;
        folds.apply(&crate::fold::Stored { seq, event: &e, received_at: now }, &mut failures);
        // The console contains a fold's panic; here it must not happen at all.
        assert!(failures.is_empty(), "a fold failed: {failures:?}");
        n += 1;
    }
    if n > 0 {
        let _ = folds.due(now);
        let projection = &folds.book;
        let kpis = &folds.kpis;
        let _ = projection.dashboard(15);
        let _ = kpis.report(now);
        let trades = crate::metrics::TradeStats::compute(projection.closed_trades());
        let _ = crate::analytics::Attribution::compute(projection.closed_trades());
        let _ = crate::risk::RiskReport::compute(&projection.daily_exposure(), &projection.position_notionals(), projection.daily_marks());
        let (dates, returns) = crate::metrics::daily_returns(projection.daily_closes());
        let _ = crate::metrics::performance_view(&dates, &returns, None, trades);
    }
    n
}
