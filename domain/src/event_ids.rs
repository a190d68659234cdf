//! The event ids the log holds, as a scalable Bloom filter (`growable-bloom-filter`: 1% false
//! positives, growing with the log: about 1.2 bytes an id at 1M). The append looks a batch's ids
//! up in the store only where this says one may already be there (a retry's duplicate, or a
//! false positive): at 1,000 fresh ids a batch, that look-up cost about a tenth of ingest.
//! A second filter holds the signal ids of stored signals and the order ids of stored orders: a
//! batch's signal and order ids are looked up (to refuse one re-used with other content) only
//! where it says one may be there; at about 290 new ids a batch of the load's trades, that
//! look-up took a quarter of the batch's time before the folds.
//! A fold like the others, so it is in the snapshot and rebuilt from the log with them.
use growable_bloom_filter::GrowableBloom;
use serde::{Deserialize, Serialize};

use crate::event::{Body, Event};
use crate::fold::{Fold, Stored};
use crate::projection::Projection;

/// False-positive rate of the filter (each false positive costs one id look-up).
const FALSE_POSITIVES: f64 = 0.01;
/// Ids the first filter is sized for; further ones are added as the log grows.
const FIRST_CAPACITY: usize = 100_000;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventIds {
    seen: GrowableBloom,
    /// `(kind, id)` of every signal and order: see [`identity`].
    identities: GrowableBloom,
}

/// The identity an event claims, as the store looks it up: `("signal", signal_id)` of a signal,
/// `("order", order_id)` of an order event; `None` for the other kinds.
pub fn identity(event: &Event) -> Option<(&'static str, &str)> {
    match &event.body {
        Body::Signal(s) => Some(("signal", s.signal_id.as_str())),
        Body::Order(o) => Some(("order", o.order_id.as_str())),
        _ => None,
    }
}

impl Default for EventIds {
    fn default() -> Self {
        Self::new()
    }
}

impl EventIds {
    pub fn new() -> Self {
        Self { seen: GrowableBloom::new(FALSE_POSITIVES, FIRST_CAPACITY), identities: GrowableBloom::new(FALSE_POSITIVES, FIRST_CAPACITY) }
    }

    /// False: no stored event (that the folds have seen) has this id. True: one may have.
    pub fn may_hold(&self, event_id: &str) -> bool {
        self.seen.contains(event_id)
    }

    /// False: no stored signal or order (that the folds have seen) claims the signal or order id
    /// of `event`, or it claims none. True: one may.
    pub fn may_hold_identity(&self, event: &Event) -> bool {
        identity(event).is_some_and(|key| self.identities.contains(key))
    }
}

impl Fold for EventIds {
    fn name(&self) -> &'static str {
        "event_ids"
    }

    fn apply(&mut self, stored: &Stored<'_>, _book: &Projection) {
        self.seen.insert(stored.event.event_id.as_str());
        if let Some(key) = identity(stored.event) {
            self.identities.insert(key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fold::FoldState;

    fn ids(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("evt-{i:08}")).collect()
    }

    #[test]
    fn every_id_folded_is_held_and_few_others_seem_to_be() {
        let mut f = EventIds::new();
        for id in ids(250_000) {
            f.seen.insert(id.as_str());
        }
        assert!(ids(250_000).iter().all(|id| f.may_hold(id)), "no false negatives");
        let others = (0..100_000).filter(|i| f.may_hold(&format!("other-{i}"))).count();
        assert!(others < 2_000, "{others} false positives in 100,000 (target 1%)");
        let mut back = EventIds::new();
        back.restore(&f.snapshot().expect("encode")).expect("decode");
        assert!(ids(250_000).iter().all(|id| back.may_hold(id)), "a restored filter holds the same ids");
        assert!(!EventIds::new().may_hold("evt-00000001"));
    }

    #[test]
    fn the_signal_and_order_ids_folded_are_held_by_kind() {
        let now = chrono::Utc::now();
        let parse = |raw: &str| Event::parse_json(raw, now).unwrap_or_else(|e| panic!("{e}: {raw}"));
        let signal = |id: &str| parse(&format!(r#"{{"event_id":"e-{id}","kind":"signal","ts":"2024-01-02T15:00:00Z","signal_id":"{id}","automation_id":"a","instrument":"AAPL","intent":"entry","signal_type":"momentum","side":"buy","strength":0.5,"features":{{}},"model_version":"m","prediction":0.0,"confidence":0.5}}"#));
        let order = |id: &str| parse(&format!(r#"{{"event_id":"e-{id}","kind":"order","ts":"2024-01-02T15:00:01Z","order_id":"{id}","instrument":"AAPL","side":"buy","quantity":"10","order_type":"market","status":"submitted"}}"#));
        let mark = parse(r#"{"event_id":"m1","kind":"market_snapshot","ts":"2024-01-02T15:00:00Z","instrument":"AAPL","bid":"99","ask":"101","mid":"100","last":"100","volume":"0"}"#);
        let mut f = EventIds::new();
        let book = Projection::new(rust_decimal::Decimal::ONE);
        for (seq, e) in [signal("sig-1"), order("ord-1"), mark.clone()].iter().enumerate() {
            f.apply(&Stored { seq: seq as u64 + 1, event: e, received_at: now }, &book);
        }
        assert!(f.may_hold_identity(&signal("sig-1")) && f.may_hold_identity(&order("ord-1")));
        // A new id, the same id claimed by the other kind, and an event that claims none.
        assert!(!f.may_hold_identity(&signal("sig-2")));
        assert!(!f.may_hold_identity(&order("sig-1")) && !f.may_hold_identity(&signal("ord-1")));
        assert!(!f.may_hold_identity(&mark));
        let mut back = EventIds::new();
        back.restore(&f.snapshot().expect("encode")).expect("decode");
        assert!(back.may_hold_identity(&order("ord-1")));
    }
}
