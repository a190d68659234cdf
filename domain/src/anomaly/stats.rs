//! The three statistical detectors, over a rolling window of one series: the z-score (mean and
//! standard deviation), Tukey's fences (IQR) and the robust z-score of Iglewicz and Hoaglin
//! (median and MAD). Each is one-sided (high values: slippage, latency) and each is undefined
//! (`None`, flags nothing) where its spread is zero or the window is too short: a constant series
//! raises nothing.
use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

use crate::metrics::percentile_sorted;

/// A spread below this fraction of the level (at least 1) is zero: the score it would divide is
/// undefined (a constant series' float sums leave a spread of rounding error).
const TINY: f64 = 1e-9;

fn no_spread(spread: f64, level: f64) -> bool {
    spread <= TINY * level.abs().max(1.0)
}

/// The last `cap` values of a series, in arrival order and sorted (kept as values come and go,
/// so scoring a value sorts nothing: the folds score every mark, order and fill).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Window {
    cap: usize,
    values: VecDeque<f64>,
    #[serde(default)]
    sorted: Vec<f64>,
}

impl Window {
    pub fn new(cap: usize) -> Self {
        Window { cap: cap.max(1), values: VecDeque::new(), sorted: Vec::new() }
    }

    pub fn push(&mut self, x: f64) {
        if !x.is_finite() {
            return;
        }
        if self.sorted.len() != self.values.len() {
            self.resort();
        }
        while self.values.len() >= self.cap {
            if let Some(old) = self.values.pop_front() {
                self.remove_sorted(old);
            }
        }
        self.values.push_back(x);
        let at = self.sorted.partition_point(|v| v.total_cmp(&x).is_lt());
        self.sorted.insert(at, x);
    }

    fn remove_sorted(&mut self, x: f64) {
        let at = self.sorted.partition_point(|v| v.total_cmp(&x).is_lt());
        if self.sorted.get(at).is_some_and(|v| v.total_cmp(&x).is_eq()) {
            self.sorted.remove(at);
        } else {
            self.resort();
        }
    }

    /// Rebuilds the sorted copy (a window restored from a snapshot without it).
    fn resort(&mut self) {
        self.sorted = self.values.iter().copied().collect();
        self.sorted.sort_by(f64::total_cmp);
    }

    pub fn len(&self) -> usize {
        self.values.len()
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// Resizes (a config change); the newest values stay.
    pub fn resize(&mut self, cap: usize) {
        self.cap = cap.max(1);
        while self.values.len() > self.cap {
            self.values.pop_front();
        }
        self.resort();
    }

    /// Scores `x` against the window as it is (before `x` is pushed).
    pub fn score(&self, x: f64, p: &Params) -> Verdict {
        if self.values.len() < p.min_samples.max(2) || !x.is_finite() {
            return Verdict::default();
        }
        let copy: Vec<f64>;
        let sorted: &[f64] = if self.sorted.len() == self.values.len() {
            &self.sorted
        } else {
            copy = {
                let mut v: Vec<f64> = self.values.iter().copied().collect();
                v.sort_by(f64::total_cmp);
                v
            };
            &copy
        };
        let z = zscore(sorted, x);
        let fence = upper_fence(sorted, p.iqr_k);
        let robust = robust_z_fast(sorted, x);
        let flags = [z.is_some_and(|z| z > p.zscore), fence.is_some_and(|f| x > f), robust.is_some_and(|r| r > p.robust_z)];
        Verdict { z, upper_fence: fence, robust_z: robust, median: percentile_sorted(sorted, 0.5), flags }
    }
}

/// The detectors' thresholds (from `config::alerting::Alerting`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Params {
    pub min_samples: usize,
    pub zscore: f64,
    pub iqr_k: f64,
    pub robust_z: f64,
}

/// What each detector says of one value.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Verdict {
    pub z: Option<f64>,
    pub upper_fence: Option<f64>,
    pub robust_z: Option<f64>,
    pub median: Option<f64>,
    /// z-score, IQR, robust z: which flagged the value.
    pub flags: [bool; 3],
}

impl Verdict {
    pub fn votes(&self) -> u32 {
        self.flags.iter().filter(|f| **f).count() as u32
    }
    /// The detectors that flagged it, by name.
    pub fn detectors(&self) -> Vec<&'static str> {
        ["zscore", "iqr", "mad"].into_iter().zip(self.flags).filter(|(_, f)| *f).map(|(n, _)| n).collect()
    }
}

/// (x - mean) / sample standard deviation; `None` under 2 values or with no spread.
pub fn zscore(values: &[f64], x: f64) -> Option<f64> {
    let n = values.len();
    if n < 2 {
        return None;
    }
    let mean = values.iter().sum::<f64>() / n as f64;
    let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
    let sd = var.sqrt();
    (!no_spread(sd, mean)).then(|| (x - mean) / sd)
}

/// Tukey's upper fence Q3 + k x IQR of sorted values (linear-interpolated quartiles, as numpy);
/// `None` under 4 values or with a zero IQR.
pub fn upper_fence(sorted: &[f64], k: f64) -> Option<f64> {
    if sorted.len() < 4 {
        return None;
    }
    let (q1, q3) = (percentile_sorted(sorted, 0.25)?, percentile_sorted(sorted, 0.75)?);
    let iqr = q3 - q1;
    (!no_spread(iqr, q3)).then_some(q3 + k * iqr)
}

/// The modified z-score 0.6745 (x - median) / MAD (Iglewicz and Hoaglin, 1993) of sorted
/// values; `None` under 2 values or with a zero MAD.
pub fn robust_z(sorted: &[f64], x: f64) -> Option<f64> {
    if sorted.len() < 2 {
        return None;
    }
    let median = percentile_sorted(sorted, 0.5)?;
    let mut dev: Vec<f64> = sorted.iter().map(|v| (v - median).abs()).collect();
    dev.sort_by(f64::total_cmp);
    let mad = percentile_sorted(&dev, 0.5)?;
    (!no_spread(mad, median)).then(|| 0.6745 * (x - median) / mad)
}

/// [`robust_z`] without sorting the deviations: they grow outwards from the median on both
/// sides, so their median is found by merging the two runs (O(n), no allocation).
pub fn robust_z_fast(sorted: &[f64], x: f64) -> Option<f64> {
    let n = sorted.len();
    if n < 2 {
        return None;
    }
    let median = percentile_sorted(sorted, 0.5)?;
    let rank = 0.5 * (n - 1) as f64;
    let lo = rank.floor() as usize;
    let hi = (lo + 1).min(n - 1);
    let split = sorted.partition_point(|v| *v < median);
    let (mut l, mut r) = (split, split);
    let (mut at_lo, mut at_hi) = (0.0, 0.0);
    for k in 0..=hi {
        let left = (l > 0).then(|| (sorted[l - 1] - median).abs());
        let right = sorted.get(r).map(|v| (v - median).abs());
        let d = match (left, right) {
            (Some(a), Some(b)) if a <= b => {
                l -= 1;
                a
            }
            (_, Some(b)) => {
                r += 1;
                b
            }
            (Some(a), None) => {
                l -= 1;
                a
            }
            (None, None) => return None,
        };
        if k == lo {
            at_lo = d;
        }
        if k == hi {
            at_hi = d;
        }
    }
    let mad = at_lo + (at_hi - at_lo) * (rank - lo as f64);
    (!no_spread(mad, median)).then(|| 0.6745 * (x - median) / mad)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const P: Params = Params { min_samples: 30, zscore: 3.0, iqr_k: 1.5, robust_z: 3.5 };

    fn noisy(n: usize, seed: u64) -> Vec<f64> {
        // A deterministic noise in 9..11 (a linear congruential generator).
        let mut s = seed;
        (0..n)
            .map(|_| {
                s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                10.0 + ((s >> 33) as f64 / (1u64 << 31) as f64) * 2.0 - 1.0
            })
            .collect()
    }

    #[test]
    fn the_scores_match_hand_computed_values() {
        let v = [1.0, 2.0, 3.0, 4.0, 5.0];
        // mean 3, sample sd sqrt(2.5)
        assert!((zscore(&v, 6.0).unwrap_or(0.0) - 3.0 / 2.5f64.sqrt()).abs() < 1e-12);
        // Q1 2, Q3 4 (numpy linear): fence 4 + 1.5 x 2 = 7
        assert_eq!(upper_fence(&v, 1.5), Some(7.0));
        // median 3, MAD 1: 0.6745 x 3
        assert!((robust_z(&v, 6.0).unwrap_or(0.0) - 0.6745 * 3.0).abs() < 1e-12);
    }

    #[test]
    fn a_planted_spike_is_found_by_all_three() {
        let mut w = Window::new(200);
        for x in noisy(200, 7) {
            w.push(x);
        }
        let v = w.score(25.0, &P);
        assert_eq!(v.flags, [true, true, true], "{v:?}");
        assert_eq!(w.score(10.2, &P).votes(), 0);
    }

    #[test]
    fn too_few_samples_score_nothing() {
        let mut w = Window::new(200);
        for x in noisy(29, 1) {
            w.push(x);
        }
        assert_eq!(w.score(1e9, &P), Verdict::default());
    }

    #[test]
    fn the_window_keeps_the_newest_values() {
        let mut w = Window::new(3);
        for x in [1.0, 2.0, 3.0, 4.0, f64::NAN] {
            w.push(x);
        }
        assert_eq!(w.values, VecDeque::from([2.0, 3.0, 4.0]));
        w.resize(2);
        assert_eq!(w.values, VecDeque::from([3.0, 4.0]));
    }

    proptest! {
        #[test]
        fn a_constant_series_raises_nothing(c in -1e6f64..1e6, n in 30usize..300, x in -1e9f64..1e9) {
            let mut w = Window::new(300);
            for _ in 0..n {
                w.push(c);
            }
            // Every spread is zero: each score is undefined, whatever the new value.
            prop_assert_eq!(w.score(x, &P).votes(), 0);
        }

        #[test]
        fn a_value_inside_the_window_range_is_never_flagged_by_all_three(seed in 0u64..10_000) {
            let v = noisy(200, seed);
            let mut w = Window::new(200);
            for x in &v {
                w.push(*x);
            }
            let median = { let mut s = v.clone(); s.sort_by(f64::total_cmp); s[100] };
            prop_assert_eq!(w.score(median, &P).votes(), 0);
        }

        #[test]
        fn the_kept_sorted_window_is_the_window_sorted(xs in proptest::collection::vec(prop_oneof![-5i32..5, -1000i32..1000].prop_map(f64::from), 0..400), cap in 1usize..60) {
            let mut w = Window::new(cap);
            for x in &xs {
                w.push(*x);
                let mut sorted: Vec<f64> = w.values.iter().copied().collect();
                sorted.sort_by(f64::total_cmp);
                prop_assert_eq!(&w.sorted, &sorted);
            }
        }

        #[test]
        fn the_merged_mad_is_the_sorted_one(xs in proptest::collection::vec(prop_oneof![-3i32..3, -100_000i32..100_000].prop_map(|v| f64::from(v) / 7.0), 2..300), x in -1e6f64..1e6) {
            let mut sorted = xs.clone();
            sorted.sort_by(f64::total_cmp);
            prop_assert_eq!(robust_z_fast(&sorted, x), robust_z(&sorted, x));
        }
    }
}
