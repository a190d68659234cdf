//! An Isolation Forest (Liu, Ting and Zhou, 2008) over fills: trees of random axis-aligned
//! splits grown on sub-samples; a point isolated in few splits is anomalous. Score
//! `s = 2^(-E[h(x)] / c(psi))`, with `c(n) = 2 H(n - 1) - 2 (n - 1) / n` the average path length
//! of an unsuccessful search in a binary tree of `n` points (H the harmonic number, ~ ln + Euler's
//! gamma): about 0.5 for an ordinary point, near 1 for an isolated one. A point outside the
//! range a split node's points spanned is isolated at that node (the trees are grown on the
//! recent fills; a value beyond all of them needs no more splits). Seeded (splitmix64), so the
//! same data and seed grow the same forest. Each score comes with each feature's share of the
//! trees whose last split on the point's path was on it: the features that isolated it.
use serde::{Deserialize, Serialize};

/// Features of a fill, in this order.
pub const FEATURES: [&str; 4] = ["slippage_bps", "latency_log10_ms", "size_vs_volume_log10", "half_spread_bps"];
pub const D: usize = FEATURES.len();

/// A deterministic random stream (splitmix64).
#[derive(Debug, Clone)]
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
enum Node {
    Leaf { size: usize },
    /// `lo..=hi`: the feature's range in the node's points. A point outside it is isolated here
    /// (a value beyond everything the tree saw needs no further split).
    Split { feature: usize, at: f64, lo: f64, hi: f64, left: usize, right: usize },
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
struct Tree {
    nodes: Vec<Node>,
}

/// The forest.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Forest {
    trees: Vec<Tree>,
    sample: usize,
}

/// `c(n)` for the leaf sizes a forest of sub-samples up to this size has, computed once: a
/// score looked it up in every tree (a logarithm each, about 1% of the console's CPU during an
/// ingest, `perf record`). The same function, so the same bits.
const C_TABLE: usize = 1024;
static C_OF: std::sync::LazyLock<Vec<f64>> = std::sync::LazyLock::new(|| (0..C_TABLE).map(c_exact).collect());

/// `c(n)`: the average path length of an unsuccessful search among `n` points.
fn c(n: usize) -> f64 {
    C_OF.get(n).copied().unwrap_or_else(|| c_exact(n))
}

fn c_exact(n: usize) -> f64 {
    match n {
        0 | 1 => 0.0,
        2 => 1.0,
        n => {
            let n = n as f64;
            2.0 * ((n - 1.0).ln() + 0.577_215_664_901_532_9) - 2.0 * (n - 1.0) / n
        }
    }
}

impl Forest {
    /// Grows `trees` trees on sub-samples of `sample` points of `data` (all finite), from `seed`.
    pub fn grow(data: &[[f64; D]], trees: usize, sample: usize, seed: u64) -> Forest {
        let mut rng = Rng(seed);
        let sample = sample.min(data.len());
        let limit = (sample.max(2) as f64).log2().ceil() as usize;
        // One index and one point buffer for every tree: a tree is grown by partitioning its
        // sub-sample in place (the same splits as partitioning into new vectors: a node's
        // range and split depend on its set of points, not their order).
        let mut idx: Vec<usize> = Vec::with_capacity(data.len());
        let mut points: Vec<[f64; D]> = Vec::with_capacity(sample);
        let trees = (0..trees)
            .map(|_| {
                // A sub-sample without replacement (partial Fisher-Yates).
                idx.clear();
                idx.extend(0..data.len());
                for i in 0..sample {
                    let j = i + rng.below(idx.len() - i);
                    idx.swap(i, j);
                }
                points.clear();
                points.extend(idx[..sample].iter().map(|&i| data[i]));
                let mut tree = Tree { nodes: Vec::with_capacity(2 * sample) };
                grow_node(&mut tree, &mut points, 0, limit, &mut rng);
                tree
            })
            .collect();
        Forest { trees, sample }
    }

    pub fn is_empty(&self) -> bool {
        self.trees.is_empty()
    }

    /// The anomaly score of `x` (0..1) and each feature's share of the isolating splits.
    pub fn score(&self, x: &[f64; D]) -> (f64, [f64; D]) {
        // A floor of 0 is reached by every score: every tree is read.
        self.score_from(x, 0.0).unwrap_or((0.0, [0.0; D]))
    }

    /// [`Forest::score`] where the score can reach `floor`, `None` where it cannot: the path
    /// lengths only add up, so once their sum passes the one a score of `floor` allows, the
    /// trees left cannot bring it back (an ordinary fill stops about halfway through the forest;
    /// scoring every tree was a fifth of the anomaly fold). Where it returns a score, it is
    /// [`Forest::score`]'s, bit for bit: the same sums in the same order. The sum allowed has a
    /// margin of 1e-9 over the exact one, so rounding never ends a score at the floor early.
    pub fn score_from(&self, x: &[f64; D], floor: f64) -> Option<(f64, [f64; D])> {
        if self.trees.is_empty() || self.sample < 2 {
            return Some((0.0, [0.0; D]));
        }
        // score >= floor  <=>  mean path <= -log2(floor) c(psi)  <=>  total <= that x trees.
        let allowed = if floor > 0.0 { -floor.log2() * c(self.sample) * self.trees.len() as f64 } else { f64::INFINITY };
        let allowed = allowed * (1.0 + 1e-9) + 1e-9;
        let mut total = 0.0;
        let mut splits = [0.0; D];
        for t in &self.trees {
            let (length, last) = t.path(x);
            total += length;
            if total > allowed {
                return None;
            }
            // The split that isolated it (or put it in its leaf) names the feature.
            if let Some(f) = last {
                splits[f] += 1.0;
            }
        }
        let sum: f64 = splits.iter().sum();
        let shares = if sum > 0.0 { splits.map(|s| s / sum) } else { [0.0; D] };
        Some((self.of_total(total), shares))
    }

    /// The highest score among `points` (the same as the maximum of [`Forest::score`]): tree by
    /// tree over all the points, so each tree is read once while it is in the cache (scoring
    /// the fills a forest was grown on was half of its cost).
    pub fn max_score(&self, points: &[[f64; D]]) -> f64 {
        if self.trees.is_empty() || self.sample < 2 {
            return 0.0;
        }
        let mut totals = vec![0.0; points.len()];
        for t in &self.trees {
            for (total, x) in totals.iter_mut().zip(points) {
                *total += t.path(x).0;
            }
        }
        totals.into_iter().map(|total| self.of_total(total)).fold(0.0, f64::max)
    }

    /// `2^(-E[h(x)] / c(psi))` from the path lengths summed over the trees.
    fn of_total(&self, total: f64) -> f64 {
        let mean = total / self.trees.len() as f64;
        2f64.powf(-mean / c(self.sample))
    }
}

impl Tree {
    /// The path length of `x` (with `c(size)` for the points left in its leaf) and the feature
    /// of the last split on its path.
    fn path(&self, x: &[f64; D]) -> (f64, Option<usize>) {
        let (mut i, mut depth, mut last) = (0usize, 0.0, None);
        loop {
            match self.nodes.get(i) {
                Some(Node::Split { feature, at, lo, hi, left, right }) => {
                    depth += 1.0;
                    last = Some(*feature);
                    let v = x.get(*feature).copied().unwrap_or(f64::NAN);
                    if v < *lo || v > *hi {
                        return (depth, last);
                    }
                    i = if v < *at { *left } else { *right };
                }
                Some(Node::Leaf { size }) => return (depth + c(*size), last),
                // A node index out of range (a corrupt snapshot): the path ends here.
                None => return (depth, last),
            }
        }
    }
}

/// The range of `feature` over `points`.
fn range(points: &[[f64; D]], feature: usize) -> (f64, f64) {
    points.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), p| (lo.min(p[feature]), hi.max(p[feature])))
}

fn grow_node(tree: &mut Tree, points: &mut [[f64; D]], depth: usize, limit: usize, rng: &mut Rng) -> usize {
    let at = tree.nodes.len();
    tree.nodes.push(Node::Leaf { size: points.len() });
    if points.len() <= 1 || depth >= limit {
        return at;
    }
    // A feature with a spread, at random; a split point uniform in its range.
    let ranges: [(f64, f64); D] = std::array::from_fn(|f| range(points, f));
    let mut spread = [0usize; D];
    let mut n = 0;
    for (f, (lo, hi)) in ranges.iter().enumerate() {
        if hi > lo {
            spread[n] = f;
            n += 1;
        }
    }
    if n == 0 {
        return at;
    }
    let feature = spread[rng.below(n)];
    let (lo, hi) = ranges[feature];
    let split = lo + (hi - lo) * rng.unit();
    // Points below the split first (in place).
    let mut left_len = 0;
    for i in 0..points.len() {
        if points[i][feature] < split {
            points.swap(i, left_len);
            left_len += 1;
        }
    }
    let (l, r) = points.split_at_mut(left_len);
    let left = grow_node(tree, l, depth + 1, limit, rng);
    let right = grow_node(tree, r, depth + 1, limit, rng);
    tree.nodes[at] = Node::Split { feature, at: split, lo, hi, left, right };
    at
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cloud(n: usize, seed: u64) -> Vec<[f64; D]> {
        let mut r = Rng(seed);
        (0..n).map(|_| [2.0 + r.unit(), 1.6 + 0.2 * r.unit(), 4.5 + 0.3 * r.unit(), 1.0 + 0.1 * r.unit()]).collect()
    }

    #[test]
    fn an_isolated_fill_scores_high_and_names_its_feature() {
        let data = cloud(512, 3);
        let forest = Forest::grow(&data, 100, 256, 42);
        let (inside, _) = forest.score(&[2.5, 1.7, 4.6, 1.05]);
        // 80 bps of slippage where fills take 2 to 3.
        let (outlier, shares) = forest.score(&[80.0, 1.7, 4.6, 1.05]);
        let train_max = data.iter().map(|p| forest.score(p).0).fold(0.0, f64::max);
        assert!(inside < 0.55, "an ordinary fill scores about 0.5: {inside}");
        assert!(outlier > 0.7 && outlier > train_max, "{outlier} (the fills it grew on: at most {train_max})");
        let top = shares.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1)).map(|(i, _)| i);
        assert_eq!(top.map(|i| FEATURES[i]), Some("slippage_bps"), "{shares:?}");
    }

    #[test]
    fn the_forest_is_deterministic_for_a_seed() {
        let data = cloud(300, 9);
        let x = [9.0, 1.7, 4.6, 1.05];
        assert_eq!(Forest::grow(&data, 50, 128, 7).score(&x), Forest::grow(&data, 50, 128, 7).score(&x));
        assert_eq!(Forest::grow(&data, 50, 128, 7), Forest::grow(&data, 50, 128, 7));
        assert_ne!(Forest::grow(&data, 50, 128, 7), Forest::grow(&data, 50, 128, 8));
    }

    #[test]
    fn the_highest_score_is_the_maximum_of_the_scores() {
        let mut data = cloud(512, 4);
        data.push([40.0, 1.7, 4.6, 1.05]);
        let forest = Forest::grow(&data, 50, 256, 3);
        let each = data.iter().map(|p| forest.score(p).0).fold(0.0, f64::max);
        assert_eq!(forest.max_score(&data), each, "bit for bit: the same sums in the same order");
        assert!(each > 0.6, "the outlier is among them: {each}");
        assert_eq!(Forest::default().max_score(&data), 0.0);
    }

    #[test]
    fn a_score_that_can_reach_the_floor_is_the_full_one_and_only_those_stop_early() {
        let mut data = cloud(512, 5);
        data.extend([[60.0, 1.7, 4.6, 1.05], [2.5, 3.9, 4.6, 1.05], [2.1, 1.7, 9.0, 1.0]]);
        let forest = Forest::grow(&data, 50, 256, 11);
        let mut probes = cloud(300, 6);
        probes.extend(data.iter().copied());
        let full: Vec<(f64, [f64; D])> = probes.iter().map(|p| forest.score(p)).collect();
        let mut stopped = 0;
        // The floors: the detector's default, and each probe's own score (the boundary itself).
        for floor in [0.0, 0.3, 0.5, 0.55, 0.7, 0.9, 1.0, 1.5].into_iter().chain(full.iter().map(|f| f.0)) {
            for (p, f) in probes.iter().zip(&full) {
                match forest.score_from(p, floor) {
                    Some(got) => assert_eq!(got, *f, "a score it returns is the full one"),
                    None => {
                        stopped += 1;
                        assert!(f.0 < floor, "stopped early at floor {floor}, but the score is {}", f.0);
                    }
                }
            }
        }
        assert!(stopped > 0, "ordinary fills stop early");
        assert_eq!(Forest::default().score_from(&[1.0; D], 0.7), Some((0.0, [0.0; D])));
    }

    #[test]
    fn the_table_of_c_is_the_function() {
        for n in [0, 1, 2, 3, 17, 256, C_TABLE - 1, C_TABLE, 5000] {
            assert_eq!(c(n).to_bits(), c_exact(n).to_bits(), "c({n})");
        }
        assert!((c(256) - 10.244_770_920_119_917).abs() < 1e-9, "c(256) as the paper's formula gives: {}", c(256));
    }

    #[test]
    fn constant_data_isolates_nothing() {
        let data = vec![[1.0; D]; 100];
        let f = Forest::grow(&data, 20, 64, 1);
        let (a, _) = f.score(&[1.0; D]);
        let (b, _) = f.score(&[50.0; D]);
        assert_eq!(a, b, "no split on constant data: every point has the same path");
        assert!(Forest::default().score(&[1.0; D]).0 == 0.0);
    }
}
