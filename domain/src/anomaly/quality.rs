//! Data quality of the market data and the sources' clocks, for `/health`: per instrument, its
//! last mark, the gaps between marks, timestamps that go backwards, zero spreads (a crossed
//! quote never gets this far: the parser refuses it, naming the line); per source, its clock
//! drift against the console's.
//!
//! **Clock drift** of a source is estimated from its heartbeats as the smallest `received_at -
//! ts` over its last [`DRIFT_SAMPLES`] (the least-delayed heartbeat is the closest to the clock
//! offset, as NTP reasons): positive, the source's clock is behind. A source whose timestamps
//! are more than a day off is replaying market history, not drifting: it is reported as such.
use std::collections::{BTreeMap, VecDeque};

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::event::MarketSnapshot;

/// Heartbeats behind each source's drift estimate.
pub const DRIFT_SAMPLES: usize = 5;
/// A source further off than this replays history (its timestamps are market time).
pub const REPLAY_OFFSET: Duration = Duration::hours(24);
/// A mark is stale when the instrument's last one is this many of its typical gaps older than
/// the newest mark of any instrument.
pub const STALE_GAPS: f64 = 5.0;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
struct Instrument {
    last_ts: Option<DateTime<Utc>>,
    marks: u64,
    /// Exponentially weighted typical gap between marks, seconds.
    typical_gap_secs: Option<f64>,
    largest_gap_secs: f64,
    out_of_order: u64,
    zero_spread: u64,
}

/// The data-quality state (part of the anomaly fold).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DataQuality {
    instruments: BTreeMap<String, Instrument>,
    newest: Option<DateTime<Utc>>,
    /// Source -> its last `received_at - ts` (ms) of heartbeats.
    offsets: BTreeMap<String, VecDeque<i64>>,
}

/// One instrument's line on `/health`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InstrumentQuality {
    pub instrument: String,
    pub last_mark: Option<DateTime<Utc>>,
    pub marks: u64,
    pub typical_gap_secs: Option<f64>,
    pub largest_gap_secs: f64,
    /// Its last mark is more than [`STALE_GAPS`] typical gaps behind the newest mark.
    pub stale: bool,
    pub out_of_order: u64,
    pub zero_spread: u64,
}

/// One source's clock on `/health`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SourceClock {
    pub source: String,
    /// Estimated drift, ms (positive: the source is behind); `None` for a replay.
    pub drift_ms: Option<i64>,
    /// The source stamps market history, not the time now.
    pub replay: bool,
    pub samples: usize,
}

impl DataQuality {
    pub fn on_mark(&mut self, m: &MarketSnapshot, ts: DateTime<Utc>) {
        let i = self.instruments.entry(m.instrument.to_string()).or_default();
        i.marks += 1;
        if m.bid == m.ask {
            i.zero_spread += 1;
        }
        match i.last_ts {
            Some(last) if ts < last => i.out_of_order += 1,
            Some(last) => {
                let gap = (ts - last).num_milliseconds() as f64 / 1000.0;
                i.largest_gap_secs = i.largest_gap_secs.max(gap);
                if gap > 0.0 {
                    i.typical_gap_secs = Some(i.typical_gap_secs.map_or(gap, |t| 0.9 * t + 0.1 * gap));
                }
                i.last_ts = Some(ts);
            }
            None => i.last_ts = Some(ts),
        }
        if self.newest.is_none_or(|n| ts > n) {
            self.newest = Some(ts);
        }
    }

    /// A heartbeat of `source` stamped `ts`, received at `received_at`.
    pub fn on_heartbeat(&mut self, source: &str, ts: DateTime<Utc>, received_at: DateTime<Utc>) {
        let q = self.offsets.entry(source.to_string()).or_default();
        if q.len() >= DRIFT_SAMPLES {
            q.pop_front();
        }
        q.push_back((received_at - ts).num_milliseconds());
    }

    /// The drift of `source` (ms; `None`: unknown, or a replay).
    pub fn drift_ms(&self, source: &str) -> Option<i64> {
        let q = self.offsets.get(source)?;
        let best = *q.iter().min_by_key(|d| d.abs())?;
        (best.abs() < REPLAY_OFFSET.num_milliseconds()).then_some(best)
    }

    pub fn instruments(&self) -> Vec<InstrumentQuality> {
        self.instruments
            .iter()
            .map(|(name, i)| {
                let stale = match (self.newest, i.last_ts, i.typical_gap_secs) {
                    (Some(n), Some(l), Some(g)) => ((n - l).num_milliseconds() as f64 / 1000.0) > STALE_GAPS * g.max(1.0),
                    _ => false,
                };
                InstrumentQuality { instrument: name.clone(), last_mark: i.last_ts, marks: i.marks, typical_gap_secs: i.typical_gap_secs, largest_gap_secs: i.largest_gap_secs, stale, out_of_order: i.out_of_order, zero_spread: i.zero_spread }
            })
            .collect()
    }

    pub fn clocks(&self) -> Vec<SourceClock> {
        self.offsets
            .iter()
            .map(|(s, q)| {
                let drift = self.drift_ms(s);
                SourceClock { source: s.clone(), drift_ms: drift, replay: drift.is_none() && !q.is_empty(), samples: q.len() }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal::Decimal;

    fn t(s: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000 + s, 0).unwrap_or_default()
    }

    fn mark(instrument: &str, bid: i64, ask: i64) -> MarketSnapshot {
        let id = crate::event::Id::parse(instrument).unwrap_or_else(|e| panic!("{e}"));
        MarketSnapshot { instrument: id, bid: Decimal::from(bid), ask: Decimal::from(ask), mid: Decimal::from(bid + ask) / Decimal::from(2), last: Decimal::from(bid), volume: Decimal::ZERO, bids: vec![], asks: vec![] }
    }

    #[test]
    fn gaps_backwards_timestamps_zero_spreads_and_stale_marks_are_counted() {
        let mut q = DataQuality::default();
        for s in [0, 60, 120, 180, 100, 240] {
            q.on_mark(&mark("AAPL", 99, 101), t(s));
        }
        q.on_mark(&mark("MSFT", 50, 50), t(0));
        let rows = q.instruments();
        let aapl = &rows[0];
        assert_eq!((aapl.marks, aapl.out_of_order, aapl.zero_spread, aapl.largest_gap_secs), (6, 1, 0, 60.0));
        assert!(!aapl.stale, "{aapl:?}");
        let msft = &rows[1];
        assert_eq!(msft.zero_spread, 1);
        // AAPL stops at 240 s while MSFT goes on to 1740 s: 25 typical gaps behind.
        for s in 1..30 {
            q.on_mark(&mark("MSFT", 50, 51), t(s * 60));
        }
        assert!(q.instruments()[0].stale);
    }

    #[test]
    fn drift_is_the_least_delayed_heartbeat_and_a_replay_is_not_drift() {
        let mut q = DataQuality::default();
        // A live source 150 ms behind, with 2 to 900 ms of transport delay on top: the
        // estimate is off by the smallest delay only.
        for (i, delay) in [400, 2, 230, 160, 900].iter().enumerate() {
            let sent = t(i as i64 * 5);
            q.on_heartbeat("engine", sent - Duration::milliseconds(150), sent + Duration::milliseconds(*delay));
        }
        assert_eq!(q.drift_ms("engine"), Some(152));
        q.on_heartbeat("replay", t(0) - Duration::days(2000), t(0));
        assert_eq!(q.drift_ms("replay"), None);
        let clocks = q.clocks();
        assert_eq!(clocks.iter().map(|c| (c.source.as_str(), c.replay)).collect::<Vec<_>>(), vec![("engine", false), ("replay", true)]);
    }
}
