//! Tradewatch's pure domain.
//!
//! Everything here is a function of its inputs: no IO, no clock reads (callers pass `now`),
//! so the same code runs in the server, in tests and in the browser (wasm32).
pub mod access;
pub mod analytics;
pub mod chain;
pub mod anomaly;
pub mod compliance;
pub mod config;
pub mod event;
pub mod event_ids;
pub mod fold;
pub mod folds;
pub mod format;
pub mod fuzzing;
pub mod governance;
pub mod hash;
pub mod kpi;
pub mod lineage;
pub mod merkle;
pub mod metrics;
pub mod projection;
pub mod recent;
pub mod regime;
pub mod report;
pub mod risk;
pub mod series;
pub mod text;
pub mod track_record;
pub mod view;

/// Sets `map[key] = value`, allocating the key only when it is new (the folds do this for every
/// market snapshot).
pub(crate) fn upsert<V>(map: &mut crate::hash::HashMap<String, V>, key: &str, value: V) {
    match map.get_mut(key) {
        Some(slot) => *slot = value,
        None => {
            map.insert(key.to_string(), value);
        }
    }
}
