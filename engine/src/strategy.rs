//! Strategies, indicators and sizing. All long-only entries; exits by rule, stop-loss or take-profit.
use std::collections::{BTreeMap, VecDeque};

/// The strategy families the engine runs (the `signal_type` of its signals).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Family {
    /// Trend confirmation: fast SMA(20) above slow SMA(50) and price above both.
    Momentum,
    /// z-score of price against its 20-bar mean below -2; exit when it returns above 0.
    MeanReversion,
    /// Close above the previous close plus 1.5 x ATR(14); exit after 10 bars or by stop.
    VolatilityBreakout,
}

impl Family {
    pub const ALL: [Family; 3] = [Family::Momentum, Family::MeanReversion, Family::VolatilityBreakout];
    pub fn name(self) -> &'static str {
        match self {
            Family::Momentum => "momentum",
            Family::MeanReversion => "mean_reversion",
            Family::VolatilityBreakout => "volatility_breakout",
        }
    }
}

const WINDOW: usize = 60;

/// Rolling indicator state of one instrument.
#[derive(Debug, Clone, Default)]
pub struct Indicators {
    closes: VecDeque<f64>,
    true_ranges: VecDeque<f64>,
    /// (instrument return, factor returns in `FACTORS` order) of the days all factors have one.
    factor_days: VecDeque<(f64, [f64; 5])>,
    pub bars: u64,
}

impl Indicators {
    pub fn push(&mut self, high: f64, low: f64, close: f64) {
        let prev = self.closes.back().copied();
        let tr = match prev {
            Some(p) => (high - low).max((high - p).abs()).max((low - p).abs()),
            None => high - low,
        };
        push_bounded(&mut self.closes, close, WINDOW);
        push_bounded(&mut self.true_ranges, tr, WINDOW);
        self.bars += 1;
    }

    /// Records the instrument's latest return against the factors' same-day returns (a day
    /// without all five factors is skipped).
    pub fn push_factors(&mut self, factor_returns: &[(String, f64)]) {
        let Some(r) = self.last_return() else { return };
        let mut row = [0.0; 5];
        for (slot, k) in row.iter_mut().zip(domain::analytics::FACTORS) {
            match factor_returns.iter().find(|(n, _)| n.eq_ignore_ascii_case(k)) {
                Some((_, x)) => *slot = *x,
                None => return,
            }
        }
        push_bounded(&mut self.factor_days, (r, row), WINDOW);
    }

    pub fn close(&self) -> Option<f64> {
        self.closes.back().copied()
    }

    fn last_return(&self) -> Option<f64> {
        let n = self.closes.len();
        (n >= 2).then(|| self.closes[n - 1] / self.closes[n - 2] - 1.0)
    }

    pub fn sma(&self, n: usize) -> Option<f64> {
        (self.closes.len() >= n).then(|| self.closes.iter().rev().take(n).sum::<f64>() / n as f64)
    }

    pub fn zscore(&self, n: usize) -> Option<f64> {
        if self.closes.len() < n {
            return None;
        }
        let xs: Vec<f64> = self.closes.iter().rev().take(n).copied().collect();
        let sd = domain::metrics::std_dev(&xs)?;
        let mean = domain::metrics::mean(&xs)?;
        (sd > 0.0).then(|| (xs[0] - mean) / sd)
    }

    /// Average true range over `n` bars (true range from high/low where the data has them,
    /// otherwise the absolute close-to-close move).
    pub fn atr(&self, n: usize) -> Option<f64> {
        (self.true_ranges.len() > n).then(|| self.true_ranges.iter().rev().take(n).sum::<f64>() / n as f64)
    }

    /// Annualised volatility of the last `n` simple returns.
    pub fn volatility(&self, n: usize, periods_per_year: f64) -> Option<f64> {
        if self.closes.len() <= n {
            return None;
        }
        let closes: Vec<f64> = self.closes.iter().rev().take(n + 1).rev().copied().collect();
        let r = domain::metrics::simple_returns(&closes);
        domain::metrics::std_dev(&r).map(|sd| sd * periods_per_year.sqrt())
    }

    /// Factor exposures: the slopes of one OLS regression (with intercept) of the instrument's
    /// daily returns on all five factor ETFs' together, over the last `WINDOW` days (at least
    /// 30), solved by SVD (nalgebra). Joint, not one factor at a time: the ETFs all carry the
    /// market, and five one-factor betas would count it five times.
    pub fn factor_betas(&self) -> BTreeMap<String, f64> {
        let n = self.factor_days.len();
        if n < 30 {
            return BTreeMap::new();
        }
        let x = nalgebra::DMatrix::from_fn(n, 6, |i, j| if j == 0 { 1.0 } else { self.factor_days[i].1[j - 1] });
        let y = nalgebra::DVector::from_iterator(n, self.factor_days.iter().map(|d| d.0));
        let Ok(b) = x.svd(true, true).solve(&y, 1e-12) else { return BTreeMap::new() };
        domain::analytics::FACTORS.iter().enumerate().filter(|(k, _)| b[k + 1].is_finite()).map(|(k, name)| (format!("beta_{name}"), b[k + 1])).collect()
    }
}

fn push_bounded<T>(q: &mut VecDeque<T>, x: T, cap: usize) {
    q.push_back(x);
    if q.len() > cap {
        q.pop_front();
    }
}

/// An entry a strategy wants, with what it saw.
#[derive(Debug, Clone)]
pub struct EntryIdea {
    pub family: Family,
    pub strength: f64,
    pub features: BTreeMap<String, f64>,
    /// Stop-loss and take-profit distances from the entry, in price units.
    pub stop_distance: f64,
    pub target_distance: f64,
}

/// The first strategy family (in [`Family::ALL`] order) that wants to enter.
pub fn entry(ind: &Indicators) -> Option<EntryIdea> {
    let close = ind.close()?;
    let atr = ind.atr(14)?;
    if atr <= 0.0 {
        return None;
    }
    let mut features = BTreeMap::from([("atr_14".to_string(), atr)]);
    let (fast, slow) = (ind.sma(20)?, ind.sma(50)?);
    let z = ind.zscore(20)?;
    features.insert("sma_20".into(), fast);
    features.insert("sma_50".into(), slow);
    features.insert("zscore_20".into(), z);
    features.extend(ind.factor_betas());
    let prev = ind.closes.get(ind.closes.len().wrapping_sub(2)).copied()?;

    let idea = |family: Family, strength: f64, stop_atr: f64, target_atr: f64| EntryIdea {
        family,
        strength: strength.clamp(0.0, 1.0),
        features: features.clone(),
        stop_distance: stop_atr * atr,
        target_distance: target_atr * atr,
    };
    // Momentum enters on the cross, not on every bar of a trend.
    let prev_fast = (ind.closes.iter().rev().skip(1).take(20).sum::<f64>()) / 20.0;
    let prev_slow = (ind.closes.iter().rev().skip(1).take(50).sum::<f64>()) / 50.0;
    if fast > slow && prev_fast <= prev_slow && close > fast {
        return Some(idea(Family::Momentum, (fast / slow - 1.0) * 20.0, 2.0, 4.0));
    }
    if z < -2.0 {
        return Some(idea(Family::MeanReversion, (-z - 2.0) / 2.0 + 0.5, 2.5, 2.0));
    }
    if close > prev + 1.5 * atr {
        return Some(idea(Family::VolatilityBreakout, (close - prev) / atr / 3.0, 1.5, 3.0));
    }
    None
}

/// Whether the family's own exit rule fires for an open position held `held_bars`.
pub fn rule_exit(family: Family, ind: &Indicators, held_bars: u64) -> bool {
    match family {
        Family::Momentum => matches!((ind.sma(20), ind.sma(50)), (Some(f), Some(s)) if f < s),
        Family::MeanReversion => ind.zscore(20).is_some_and(|z| z > 0.0),
        Family::VolatilityBreakout => held_bars >= 10,
    }
}

/// Capped Kelly sizing: `f* = p - (1 - p) / b` from the family's closed trades (win rate `p`,
/// payoff ratio `b`), with a prior of 20 trades at p = 0.52, b = 1.2; half Kelly, capped.
#[derive(Debug, Clone, Default)]
pub struct Kelly {
    wins: f64,
    losses: f64,
    win_sum: f64,
    loss_sum: f64,
}

impl Kelly {
    const PRIOR_N: f64 = 20.0;
    const PRIOR_P: f64 = 0.52;
    const PRIOR_B: f64 = 1.2;

    pub fn record(&mut self, pnl: f64) {
        if pnl > 0.0 {
            self.wins += 1.0;
            self.win_sum += pnl;
        } else {
            self.losses += 1.0;
            self.loss_sum += -pnl;
        }
    }

    /// The fraction of equity to commit, in `0..=cap`.
    pub fn fraction(&self, cap: f64) -> f64 {
        let n = self.wins + self.losses;
        let p = (self.wins + Self::PRIOR_P * Self::PRIOR_N) / (n + Self::PRIOR_N);
        let avg_win = if self.wins > 0.0 { self.win_sum / self.wins } else { 0.0 };
        let avg_loss = if self.losses > 0.0 { self.loss_sum / self.losses } else { 0.0 };
        let b = if avg_win > 0.0 && avg_loss > 0.0 {
            (avg_win / avg_loss * n + Self::PRIOR_B * Self::PRIOR_N) / (n + Self::PRIOR_N)
        } else {
            Self::PRIOR_B
        };
        (0.5 * (p - (1.0 - p) / b)).clamp(0.0, cap)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn factor_betas_recover_a_joint_exposure() {
        let mut ind = Indicators::default();
        let mut px = 100.0;
        ind.push(px, px, px);
        for i in 0..60 {
            let f: Vec<f64> = (0..5).map(|k| (((i * 7 + k * 13) % 17) as f64 - 8.0) / 400.0 + (k as f64) * 1e-4 * (i % 3) as f64).collect();
            let r = 0.0005 + 1.2 * f[0] - 0.5 * f[2];
            px *= 1.0 + r;
            ind.push(px, px, px);
            let named: Vec<(String, f64)> = ["MTUM", "QUAL", "SIZE", "USMV", "VLUE"].iter().zip(&f).map(|(n, x)| (n.to_string(), *x)).collect();
            ind.push_factors(&named);
        }
        let b = ind.factor_betas();
        assert!((b["beta_mtum"] - 1.2).abs() < 1e-6, "{b:?}");
        assert!((b["beta_size"] + 0.5).abs() < 1e-6, "{b:?}");
        assert!(b["beta_qual"].abs() < 1e-6 && b["beta_vlue"].abs() < 1e-6, "{b:?}");
    }

    #[test]
    fn kelly_prior_is_positive_and_capped() {
        let k = Kelly::default();
        let f = k.fraction(1.0);
        assert!((f - 0.5 * (0.52 - 0.48 / 1.2)).abs() < 1e-12);
        assert_eq!(k.fraction(0.01), 0.01);
        let mut losing = Kelly::default();
        for _ in 0..200 {
            losing.record(-1.0);
        }
        assert_eq!(losing.fraction(1.0), 0.0);
    }

    #[test]
    fn indicators_on_a_ramp() {
        let mut ind = Indicators::default();
        for i in 1..=60 {
            let x = i as f64;
            ind.push(x, x, x);
        }
        assert_eq!(ind.sma(20), Some((41..=60).sum::<i32>() as f64 / 20.0));
        assert_eq!(ind.atr(14), Some(1.0));
        assert!(ind.zscore(20).is_some_and(|z| z > 1.0));
    }

    #[test]
    fn mean_reversion_fires_on_a_crash() {
        let mut ind = Indicators::default();
        for i in 0..59 {
            let x = 100.0 + (i % 2) as f64;
            ind.push(x, x, x);
        }
        ind.push(90.0, 90.0, 90.0);
        let idea = entry(&ind).map(|i| i.family);
        assert_eq!(idea, Some(Family::MeanReversion));
    }
}
