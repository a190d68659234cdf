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
    let mut projection = crate::projection::Projection::new(Decimal::from(1_000_000));
    let mut governance = crate::governance::Governance::new();
    let mut kpis = crate::kpi::ExitKpis::new(crate::kpi::KpiParams::default());
    let mut slippage = crate::analytics::Slippage::default();
    let mut n = 0;
    for (i, line) in text.lines().enumerate() {
        let Ok(e) = Event::parse_json(line, now) else { continue };
        let seq = i as u64 + 1;
        projection.apply(seq, &e);
        governance.apply(seq, &e, now, &projection);
        kpis.apply(&e);
        slippage.apply(&e);
        n += 1;
    }
    if n > 0 {
        let _ = governance.due(now, &projection);
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
