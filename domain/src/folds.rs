//! The ordered list of folds the console runs over the log: the book first, then each fold that
//! reads it. Start-up, catch-up and appends all go through [`Folds::apply`].
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;

use crate::analytics::Slippage;
use crate::anomaly::Anomaly;
use crate::anomaly::alerts::Alerts;
use crate::compliance::Compliance;
use crate::event_ids::EventIds;
use crate::fold::{Action, Fold, FoldState, SnapshotError, Stored};
use crate::governance::Governance;
use crate::kpi::{ExitKpis, KpiParams};
use crate::projection::Projection;

/// The version of [`Folds::snapshot`]'s layout; bump it when a fold's state changes shape.
pub const SNAPSHOT_FORMAT: u32 = 8;

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
    /// Compliance rules and the compliance issues' workflow.
    pub compliance: Compliance,
    /// Anomaly detection and the runbook rules: what should be alerting.
    pub anomaly: Anomaly,
    /// The alerts' workflow: acknowledgements, silences, escalation, notifications owed.
    pub alerts: Alerts,
    /// The event ids the log holds (a Bloom filter the append asks before looking ids up).
    pub event_ids: EventIds,
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
        Self { book: Projection::new(capital), governance: Governance::new(), kpis: ExitKpis::new(KpiParams::default()), slippage: Slippage::default(), compliance: Compliance::new(), anomaly: Anomaly::new(), alerts: Alerts::new(), event_ids: EventIds::new() }
    }

    /// The book, and the folds that read it in the order they run: THE list (a new fold is one
    /// field above and one entry here).
    fn split(&mut self) -> (&mut Projection, [&mut dyn Fold; 7]) {
        let Folds { book, governance, kpis, slippage, compliance, anomaly, alerts, event_ids } = self;
        (book, [governance, kpis, slippage, compliance, anomaly, alerts, event_ids])
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

    /// Every fold's state, the book first, as one blob: `(name, bytes)` per fold in list order.
    /// What it covers (seq, head hash) is the caller's to record beside it.
    pub fn snapshot(&mut self) -> Result<Vec<u8>, SnapshotError> {
        let mut parts = vec![("projection".to_string(), self.book.snapshot()?)];
        let (_, list) = self.split();
        for f in list {
            parts.push((f.name().to_string(), f.snapshot()?));
        }
        crate::fold::encode(&(SNAPSHOT_FORMAT, parts))
    }

    /// The folds as [`Folds::snapshot`] wrote them. Refused (the caller re-folds the log): another
    /// format version, a fold missing, extra or out of order, or bytes that do not decode.
    pub fn restore(bytes: &[u8]) -> Result<Self, SnapshotError> {
        let (format, parts): (u32, Vec<(String, Vec<u8>)>) = crate::fold::decode(bytes)?;
        if format != SNAPSHOT_FORMAT {
            return Err(SnapshotError(format!("format {format}, this build reads {SNAPSHOT_FORMAT}")));
        }
        let mut folds = Folds::new(Decimal::ZERO);
        let names = folds.names();
        let got: Vec<&str> = parts.iter().map(|(n, _)| n.as_str()).collect();
        if got != names {
            return Err(SnapshotError(format!("folds {got:?}, this build runs {names:?}")));
        }
        // Each fold decodes on its own thread (the governance state is the largest).
        let mut parts = parts.into_iter().map(|(_, bytes)| bytes);
        let book_bytes = parts.next().unwrap_or_default();
        let rest: Vec<Vec<u8>> = parts.collect();
        let (book, list) = folds.split();
        std::thread::scope(|scope| {
            let decoding: Vec<_> = list.into_iter().zip(&rest).map(|(fold, bytes)| scope.spawn(move || fold.restore(bytes))).collect();
            let mut result = book.restore(&book_bytes);
            for d in decoding {
                let r = d.join().unwrap_or_else(|_| Err(SnapshotError("a fold panicked while decoding".into())));
                result = result.and(r);
            }
            result
        })?;
        Ok(folds)
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
        assert_eq!(f.names(), vec!["projection", "governance", "kpis", "slippage", "compliance", "anomaly", "alerts", "event_ids"]);
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
    fn once_orders_are_final_no_fold_keeps_them() {
        let mut f = Folds::new(Decimal::from(1_000_000));
        let now = DateTime::parse_from_rfc3339("2030-01-01T00:00:00Z").map(|t| t.with_timezone(&Utc)).unwrap_or_default();
        let mut failures = Vec::new();
        let mut seq = 0;
        for n in 0..40 {
            let side = if n % 2 == 0 { "buy" } else { "sell" };
            let ts = |s: u32| format!("2024-01-02T15:{:02}:{s:02}Z", n);
            let lines = [
                format!(r#"{{"event_id":"m{n}","kind":"market_snapshot","ts":"{}","instrument":"AAPL","bid":"99","ask":"101","mid":"100","last":"100","volume":"0"}}"#, ts(0)),
                format!(r#"{{"event_id":"s{n}","kind":"signal","ts":"{}","signal_id":"sig{n}","automation_id":"a","instrument":"AAPL","intent":"entry","signal_type":"momentum","side":"{side}","strength":0.5,"features":{{}},"model_version":"m","prediction":0.0,"confidence":0.5}}"#, ts(1)),
                format!(r#"{{"event_id":"o{n}","kind":"order","ts":"{}","order_id":"ord{n}","signal_id":"sig{n}","instrument":"AAPL","side":"{side}","quantity":"10","order_type":"market","status":"submitted"}}"#, ts(2)),
                format!(r#"{{"event_id":"f{n}","kind":"fill","ts":"{}","fill_id":"fill{n}","order_id":"ord{n}","quantity":"10","price":"100.5","fee":"0","fee_currency":"USD","liquidity":"taker"}}"#, ts(3)),
                format!(r#"{{"event_id":"d{n}","kind":"order","ts":"{}","order_id":"ord{n}","signal_id":"sig{n}","instrument":"AAPL","side":"{side}","quantity":"10","order_type":"market","status":"filled"}}"#, ts(4)),
            ];
            for line in &lines {
                let e = match Event::parse_json(line, now) {
                    Ok(e) => e,
                    Err(e) => panic!("{e}: {line}"),
                };
                seq += 1;
                f.apply(&Stored { seq, event: &e, received_at: now }, &mut failures);
            }
        }
        assert!(failures.is_empty(), "{failures:?}");
        assert_eq!(f.book.dashboard(5).counts.fills, 40);
        assert_eq!([f.book.open_orders(), f.governance.orders_kept(), f.kpis.orders_kept(), f.slippage.orders_kept()], [0; 4]);
    }

    #[test]
    fn a_panicking_fold_is_contained_and_reported() {
        let mut failures = Vec::new();
        guarded(&mut failures, 7, "kpis", || panic!("boom"));
        guarded(&mut failures, 8, "kpis", || {});
        assert_eq!(failures, vec![FoldFailure { seq: 7, fold: "kpis", reason: "boom".into() }]);
    }
}
