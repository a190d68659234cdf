//! The ordered list of folds the console runs over the log: the book first, then each fold that
//! reads it. Start-up, catch-up and appends all go through [`Folds::apply`].
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;

use crate::analytics::Slippage;
use crate::fold::{Action, Fold, Stored};
use crate::governance::Governance;
use crate::kpi::{ExitKpis, KpiParams};
use crate::projection::Projection;

/// Every fold's state. Reads go to the typed fields; writes only through [`Folds::apply`].
#[derive(Debug, Clone)]
pub struct Folds {
    /// Positions, PnL, equity, exposure, the dashboard: the one exact position book.
    pub book: Projection,
    /// Human gating of the first N trades, pauses, circuit breakers.
    pub governance: Governance,
    /// Exit-quality KPIs.
    pub kpis: ExitKpis,
    /// Slippage decomposition of every fill.
    pub slippage: Slippage,
}

/// A fold that failed on one stored event (it skipped the event; the others went on).
#[derive(Debug, Clone, PartialEq)]
pub struct FoldFailure {
    pub seq: u64,
    pub fold: &'static str,
    pub reason: String,
}

impl Folds {
    pub fn new(capital: Decimal) -> Self {
        Self { book: Projection::new(capital), governance: Governance::new(), kpis: ExitKpis::new(KpiParams::default()), slippage: Slippage::default() }
    }

    /// The book, and the folds that read it in the order they run: THE list (a new fold is one
    /// field above and one entry here).
    fn split(&mut self) -> (&Projection, [&mut dyn Fold; 3]) {
        let Folds { book, governance, kpis, slippage } = self;
        (book, [governance, kpis, slippage])
    }

    /// Folds one stored event into the book, then into every fold in order, each guarded: a
    /// fold that panics skips this event (reported in `failures`) and the others go on.
    pub fn apply(&mut self, stored: &Stored<'_>, failures: &mut Vec<FoldFailure>) {
        guarded(failures, stored.seq, "projection", || {
            self.book.apply(stored.seq, stored.event);
        });
        let (book, list) = self.split();
        for fold in list {
            let name = fold.name();
            guarded(failures, stored.seq, name, || fold.apply(stored, book));
        }
    }

    /// Everything the folds want appended at `now`, in fold order.
    pub fn due(&mut self, now: DateTime<Utc>) -> Vec<Action> {
        let (book, list) = self.split();
        list.into_iter().flat_map(|f| f.due(now, book)).collect()
    }

    /// The folds' names in the order they run, the book first.
    pub fn names(&mut self) -> Vec<&'static str> {
        let (_, list) = self.split();
        std::iter::once("projection").chain(list.iter().map(|f| f.name())).collect()
    }
}

/// Runs `f`, containing a panic: the failure is reported and nothing unwinds past here (no lock
/// the caller holds is poisoned). Bounds at parse time make this a last resort, not the plan.
fn guarded(failures: &mut Vec<FoldFailure>, seq: u64, fold: &'static str, f: impl FnOnce()) {
    if let Err(panic) = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        let reason = panic.downcast_ref::<&str>().map(|s| s.to_string()).or_else(|| panic.downcast_ref::<String>().cloned()).unwrap_or_else(|| "panicked".into());
        failures.push(FoldFailure { seq, fold, reason: reason.chars().take(200).collect() });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::Event;

    #[test]
    fn the_book_runs_first_then_the_list_in_order() {
        let mut f = Folds::new(Decimal::from(1_000_000));
        assert_eq!(f.names(), vec!["projection", "governance", "kpis", "slippage"]);
        let now = DateTime::parse_from_rfc3339("2030-01-01T00:00:00Z").map(|t| t.with_timezone(&Utc)).unwrap_or_default();
        let raw = r#"{"event_id":"m1","kind":"market_snapshot","ts":"2024-01-02T15:00:00Z","instrument":"AAPL","bid":"99","ask":"101","mid":"100","last":"100","volume":"0"}"#;
        let e = match Event::parse_json(raw, now) {
            Ok(e) => e,
            Err(e) => panic!("{e}"),
        };
        let mut failures = Vec::new();
        f.apply(&Stored { seq: 1, event: &e, received_at: now }, &mut failures);
        assert!(failures.is_empty());
        assert_eq!(f.book.head_seq(), 1);
        assert!(f.due(now).is_empty());
    }

    #[test]
    fn a_panicking_fold_is_contained_and_reported() {
        let mut failures = Vec::new();
        guarded(&mut failures, 7, "kpis", || panic!("boom"));
        guarded(&mut failures, 8, "kpis", || {});
        assert_eq!(failures, vec![FoldFailure { seq: 7, fold: "kpis", reason: "boom".into() }]);
    }
}
