//! What a fold is: a function of the log, applied one stored event at a time, in log order.
//! Decisions a fold reaches (time out an approval, unlock an automation, trip a breaker) come
//! out as typed [`Action`]s; the console turns each into an event and appends it through the
//! normal path, so every decision, automatic or human, is in the chain.
//!
//! The book (positions, PnL, equity; `projection::Projection`) is applied first and every other
//! fold reads it. The ordered list is `folds::Folds`.
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::event::Event;
use crate::projection::Projection;

/// One stored event as a fold sees it. `received_at` is the console's clock when it was
/// appended (gating and heartbeats run on it; `event.ts` may be a historical replay's).
#[derive(Debug, Clone, Copy)]
pub struct Stored<'a> {
    pub seq: u64,
    pub event: &'a Event,
    pub received_at: DateTime<Utc>,
}

/// Something a fold decided that the console must append now.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// A pending entry signal ran out of time.
    Timeout { signal_id: String, automation_id: String, response_ms: i64 },
    /// An automation reached its approvals threshold.
    Unlock { automation_id: String, approved: u32, threshold: u32 },
    /// A circuit breaker tripped: pause `automation_id` (or everything when `None`).
    Trip { automation_id: Option<String>, rule: &'static str, value: f64, limit: f64 },
    /// A compliance finding: open an issue, escalate or end its episode.
    Compliance(crate::event::ComplianceIssue),
    /// An alert's step: firing, resolved or escalated (see `anomaly`).
    Alert(crate::event::Alert),
}

/// A fold over the log. Adding one = a module implementing this + one line in `folds::Folds`;
/// its state derives `Serialize` and `Deserialize`, which gives it [`FoldState`] (snapshots).
pub trait Fold: FoldState + Send {
    /// Its name in logs and in `fold_error` events.
    fn name(&self) -> &'static str;
    /// Folds one stored event in; `book` has already applied it. Never panics on a bounded
    /// event (the console contains a panic anyway: the fold skips that event).
    fn apply(&mut self, stored: &Stored<'_>, book: &Projection);
    /// What must be appended at `now` (a clock ran out, a limit was crossed). Each action is
    /// returned once: the fold remembers what it has asked for.
    fn due(&mut self, _now: DateTime<Utc>, _book: &Projection) -> Vec<Action> {
        Vec::new()
    }
}

/// A fold's whole state as bytes and back: with the seq and head hash it covers, a snapshot
/// lets a restart skip re-folding the log up to there. Every state that derives `Serialize`
/// and `Deserialize` has it (postcard, [`encode`] / [`decode`]).
pub trait FoldState {
    fn snapshot(&self) -> Result<Vec<u8>, SnapshotError>;
    /// Replaces the state by one [`FoldState::snapshot`] wrote.
    fn restore(&mut self, bytes: &[u8]) -> Result<(), SnapshotError>;
}

impl<T: Serialize + DeserializeOwned> FoldState for T {
    fn snapshot(&self) -> Result<Vec<u8>, SnapshotError> {
        encode(self)
    }
    fn restore(&mut self, bytes: &[u8]) -> Result<(), SnapshotError> {
        *self = decode(bytes)?;
        Ok(())
    }
}

/// A snapshot that could not be written or read (a stale format, corrupt bytes): the caller
/// falls back to folding the log from the start.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("fold snapshot: {0}")]
pub struct SnapshotError(pub String);

/// A fold's state as postcard (compact binary serde, varint integers, any map key; not
/// self-describing, so the layout is versioned by `folds::SNAPSHOT_FORMAT`). Chosen over CBOR:
/// at 300k events the governance state is 45% smaller and decodes 1.8x faster.
pub fn encode<T: Serialize>(state: &T) -> Result<Vec<u8>, SnapshotError> {
    postcard::to_allocvec(state).map_err(|e| SnapshotError(e.to_string()))
}

/// Reads back what [`encode`] wrote; trailing bytes are refused.
pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, SnapshotError> {
    match postcard::take_from_bytes(bytes) {
        Ok((v, [])) => Ok(v),
        Ok((_, rest)) => Err(SnapshotError(format!("{} bytes after the end", rest.len()))),
        Err(e) => Err(SnapshotError(e.to_string())),
    }
}
