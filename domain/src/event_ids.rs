//! The event ids the log holds, as a scalable Bloom filter (`growable-bloom-filter`: 1% false
//! positives, growing with the log: about 1.2 bytes an id at 1M). The append looks a batch's ids
//! up in the store only where this says one may already be there (a retry's duplicate, or a
//! false positive): at 1,000 fresh ids a batch, that look-up cost about a tenth of ingest.
//! A fold like the others, so it is in the snapshot and rebuilt from the log with them.
use growable_bloom_filter::GrowableBloom;
use serde::{Deserialize, Serialize};

use crate::fold::{Fold, Stored};
use crate::projection::Projection;

/// False-positive rate of the filter (each false positive costs one id look-up).
const FALSE_POSITIVES: f64 = 0.01;
/// Ids the first filter is sized for; further ones are added as the log grows.
const FIRST_CAPACITY: usize = 100_000;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventIds {
    seen: GrowableBloom,
}

impl Default for EventIds {
    fn default() -> Self {
        Self::new()
    }
}

impl EventIds {
    pub fn new() -> Self {
        Self { seen: GrowableBloom::new(FALSE_POSITIVES, FIRST_CAPACITY) }
    }

    /// False: no stored event (that the folds have seen) has this id. True: one may have.
    pub fn may_hold(&self, event_id: &str) -> bool {
        self.seen.contains(event_id)
    }
}

impl Fold for EventIds {
    fn name(&self) -> &'static str {
        "event_ids"
    }

    fn apply(&mut self, stored: &Stored<'_>, _book: &Projection) {
        self.seen.insert(stored.event.event_id.as_str());
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
}
