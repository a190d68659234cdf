//! [`Recent`]: a map that keeps the most recently inserted keys only, between `cap` and `2 * cap`
//! of them, at no cost per entry (two generations: when the current one is full, the older one
//! is dropped whole). For what a fold keeps per signal that only orders arriving soon after the
//! signal need (its mid, its stop).
use serde::{Deserialize, Serialize};
use crate::hash::HashMap;

/// How many recent signals the folds keep per-signal facts for (their mid, their stop): an order
/// for a signal older than the last 100,000 to 200,000 signals is judged without them (its
/// decision price falls back to the arrival mid; no stop is known).
pub const SIGNALS_KEPT: usize = 100_000;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Recent<V> {
    cap: usize,
    current: HashMap<String, V>,
    previous: HashMap<String, V>,
}

impl<V> Default for Recent<V> {
    fn default() -> Self {
        Self::new(SIGNALS_KEPT)
    }
}

impl<V> Recent<V> {
    pub fn new(cap: usize) -> Self {
        Self { cap: cap.max(1), current: HashMap::default(), previous: HashMap::default() }
    }

    pub fn insert(&mut self, key: String, value: V) {
        self.previous.remove(&key);
        self.current.insert(key, value);
        if self.current.len() >= self.cap {
            self.previous = std::mem::take(&mut self.current);
        }
    }

    pub fn get(&self, key: &str) -> Option<&V> {
        self.current.get(key).or_else(|| self.previous.get(key))
    }

    pub fn len(&self) -> usize {
        self.current.len() + self.previous.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_newest_between_cap_and_twice_cap() {
        let mut r = Recent::new(3);
        for i in 0..10 {
            r.insert(format!("k{i}"), i);
            assert!(r.len() <= 6, "{} after {i}", r.len());
        }
        assert_eq!(r.get("k9"), Some(&9));
        assert_eq!(r.get("k7"), Some(&7));
        assert_eq!(r.get("k0"), None);
        r.insert("k9".into(), 90);
        assert_eq!(r.get("k9"), Some(&90));
    }
}
