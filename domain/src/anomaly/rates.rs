//! Each automation's activity by hour of market time (the events' `ts`): signals, orders,
//! rejected orders and orders filled, and the book's PnL per hour. An hour is closed, and its
//! figures scored by the detectors, when the automation's (or the book's) next event falls in a
//! later hour; hours without events are not counted (a market closed overnight is not a quiet
//! hour of trading). The signal-rate rule compares the hour so far with the median of the
//! automation's last closed hours.
use std::collections::VecDeque;

use crate::hash::{HashMap, HashSet};

use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

/// Closed hours kept per automation for the signal-rate baseline.
pub const BASELINE_HOURS: usize = 168;
/// Fewest closed hours before the signal-rate rule judges an automation.
pub const MIN_BASELINE_HOURS: usize = 24;
/// Fewest orders in an hour before its fill and reject rates are scored.
pub const MIN_ORDERS: u32 = 5;
/// Orders of the current hour remembered per automation (for its fill rate), at most.
const HOUR_ORDERS_KEPT: usize = 10_000;
/// Automations followed, at most (engines name them; a flood of names is not kept).
const AUTOMATIONS_KEPT: usize = 1_000;

/// One automation's current hour.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Hour {
    pub start: DateTime<Utc>,
    pub signals: u32,
    pub orders: u32,
    pub rejected: u32,
    /// Orders placed this hour that have a fill.
    pub filled: u32,
    order_ids: HashSet<String>,
    filled_ids: HashSet<String>,
}

impl Hour {
    fn new(start: DateTime<Utc>) -> Hour {
        Hour { start, ..Hour::default() }
    }
    /// Orders rejected, as a share of the hour's orders (`None` under [`MIN_ORDERS`]).
    pub fn reject_rate(&self) -> Option<f64> {
        (self.orders >= MIN_ORDERS).then(|| f64::from(self.rejected) / f64::from(self.orders))
    }
    /// Orders with a fill, as a share of the hour's orders (`None` under [`MIN_ORDERS`]).
    pub fn fill_rate(&self) -> Option<f64> {
        (self.orders >= MIN_ORDERS).then(|| f64::from(self.filled) / f64::from(self.orders))
    }
}

/// The hour `ts` falls in.
pub fn hour_of(ts: DateTime<Utc>) -> DateTime<Utc> {
    ts.duration_trunc(TimeDelta::hours(1)).unwrap_or(ts)
}

/// Activity by automation and hour.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Rates {
    current: HashMap<String, Hour>,
    /// Automation -> signals of its last closed hours, oldest first.
    history: HashMap<String, VecDeque<u32>>,
    /// Automation -> the median of `history` (kept as hours close).
    baseline: HashMap<String, f64>,
    /// The book: (hour, equity at its first mark, last equity).
    pnl_hour: Option<(DateTime<Utc>, f64, f64)>,
}

impl Rates {
    /// The hour of `automation` that `ts` falls in; the hour it replaced, when it closed one.
    fn hour(&mut self, automation: &str, ts: DateTime<Utc>) -> (Option<&mut Hour>, Option<Hour>) {
        let start = hour_of(ts);
        if !self.current.contains_key(automation) {
            if self.current.len() >= AUTOMATIONS_KEPT {
                return (None, None);
            }
            self.current.insert(automation.to_string(), Hour::new(start));
        }
        let Some(h) = self.current.get_mut(automation) else { return (None, None) };
        let closed = if start > h.start { Some(std::mem::replace(h, Hour::new(start))) } else { None };
        if let Some(c) = &closed {
            let hist = self.history.entry(automation.to_string()).or_default();
            if hist.len() >= BASELINE_HOURS {
                hist.pop_front();
            }
            hist.push_back(c.signals);
            let mut v: Vec<f64> = hist.iter().map(|x| f64::from(*x)).collect();
            v.sort_by(f64::total_cmp);
            if let Some(m) = crate::metrics::percentile_sorted(&v, 0.5) {
                self.baseline.insert(automation.to_string(), m);
            }
        }
        (self.current.get_mut(automation).filter(|h| h.start == start), closed)
    }

    /// A signal: the hour it closed, if any, and the automation's signals this hour.
    pub fn on_signal(&mut self, automation: &str, ts: DateTime<Utc>) -> (Option<Hour>, u32) {
        let (hour, closed) = self.hour(automation, ts);
        let n = hour.map(|h| {
            h.signals = h.signals.saturating_add(1);
            h.signals
        });
        (closed, n.unwrap_or(0))
    }

    /// An order first seen (`rejected`: its first status is a rejection): the hour it closed.
    pub fn on_order(&mut self, automation: &str, order_id: &str, rejected: bool, ts: DateTime<Utc>) -> Option<Hour> {
        let (hour, closed) = self.hour(automation, ts);
        if let Some(h) = hour {
            h.orders = h.orders.saturating_add(1);
            if rejected {
                h.rejected = h.rejected.saturating_add(1);
            }
            if h.order_ids.len() < HOUR_ORDERS_KEPT {
                h.order_ids.insert(order_id.to_string());
            }
        }
        closed
    }

    /// A later status of a known order: a rejection counts once.
    pub fn on_rejection(&mut self, automation: &str, order_id: &str) {
        if let Some(h) = self.current.get_mut(automation).filter(|h| h.order_ids.contains(order_id)) {
            h.rejected = h.rejected.saturating_add(1).min(h.orders);
        }
    }

    /// A fill of an order placed this hour marks it filled (once).
    pub fn on_fill(&mut self, automation: &str, order_id: &str) {
        if let Some(h) = self.current.get_mut(automation).filter(|h| h.order_ids.contains(order_id))
            && h.filled_ids.insert(order_id.to_string())
        {
            h.filled = h.filled.saturating_add(1);
        }
    }

    /// The book's equity at a mark: the PnL of the hour it closed, if any.
    pub fn on_equity(&mut self, equity: f64, ts: DateTime<Utc>) -> Option<f64> {
        let start = hour_of(ts);
        match &mut self.pnl_hour {
            Some((h, _, last)) if *h == start => {
                *last = equity;
                None
            }
            Some((h, open, last)) if start > *h => {
                let pnl = *last - *open;
                // The next hour opens where this one closed.
                let close = *last;
                self.pnl_hour = Some((start, close, equity));
                Some(pnl)
            }
            // A mark stamped before the current hour: counted in it.
            Some((_, _, last)) => {
                *last = equity;
                None
            }
            None => {
                self.pnl_hour = Some((start, equity, equity));
                None
            }
        }
    }

    /// The median signals per closed hour of `automation`, once it has [`MIN_BASELINE_HOURS`].
    pub fn signal_baseline(&self, automation: &str) -> Option<f64> {
        self.history.get(automation).filter(|h| h.len() >= MIN_BASELINE_HOURS).and(self.baseline.get(automation).copied())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(h: u32, m: u32) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(&format!("2024-03-08T{h:02}:{m:02}:00Z")).map(|t| t.with_timezone(&Utc)).unwrap_or_default()
    }

    #[test]
    fn an_hour_closes_when_the_next_event_falls_in_a_later_hour_with_its_rates() {
        let mut r = Rates::default();
        for i in 0..6 {
            r.on_signal("a", at(10, i));
            assert_eq!(r.on_order("a", &format!("o{i}"), i == 5, at(10, i)), None);
            if i < 4 {
                r.on_fill("a", &format!("o{i}"));
                r.on_fill("a", &format!("o{i}"));
            }
        }
        r.on_rejection("a", "o4");
        let (closed, n) = r.on_signal("a", at(11, 5));
        let h = closed.unwrap_or_else(|| panic!("the 10:00 hour closed"));
        assert_eq!((h.start, h.signals, h.orders, h.rejected, h.filled, n), (at(10, 0), 6, 6, 2, 4, 1));
        assert_eq!(h.reject_rate(), Some(2.0 / 6.0));
        assert_eq!(h.fill_rate(), Some(4.0 / 6.0));
        assert_eq!(Hour { orders: 4, ..Hour::default() }.fill_rate(), None, "too few orders to judge");
    }

    #[test]
    fn the_signal_baseline_is_the_median_of_closed_hours_once_there_are_enough() {
        let mut r = Rates::default();
        let day = at(0, 0);
        for h in 0..MIN_BASELINE_HOURS as i64 {
            let t = day + TimeDelta::hours(h);
            for _ in 0..(2 + h % 3) {
                r.on_signal("a", t);
            }
            assert_eq!(r.signal_baseline("a"), None);
        }
        r.on_signal("a", day + TimeDelta::hours(MIN_BASELINE_HOURS as i64));
        assert_eq!(r.signal_baseline("a"), Some(3.0));
        assert_eq!(r.signal_baseline("b"), None);
    }

    #[test]
    fn pnl_per_hour_is_the_change_in_equity_over_the_hour() {
        let mut r = Rates::default();
        assert_eq!(r.on_equity(1_000.0, at(9, 30)), None);
        assert_eq!(r.on_equity(1_010.0, at(9, 59)), None);
        assert_eq!(r.on_equity(990.0, at(10, 1)), Some(10.0));
        assert_eq!(r.on_equity(960.0, at(10, 30)), None);
        assert_eq!(r.on_equity(965.0, at(12, 0)), Some(-50.0), "10:00 opened at 1,010 and closed at 960");
    }
}
