//! Performance statistics on return and equity series (`f64`: statistics, not money).
//!
//! Conventions follow empyrical: simple returns, sample standard deviation (ddof = 1),
//! annualisation by `sqrt(periods_per_year)`, risk-free rate 0.

/// Trading days in a year, for annualising daily figures.
pub const TRADING_DAYS: f64 = 252.0;

/// Simple returns `x[i] / x[i-1] - 1` of a positive series; pairs with a non-positive base are skipped.
pub fn simple_returns(series: &[f64]) -> Vec<f64> {
    series.windows(2).filter(|w| w[0] > 0.0).map(|w| w[1] / w[0] - 1.0).collect()
}

pub fn mean(xs: &[f64]) -> Option<f64> {
    (!xs.is_empty()).then(|| xs.iter().sum::<f64>() / xs.len() as f64)
}

/// Sample standard deviation (ddof = 1); `None` for fewer than 2 values.
pub fn std_dev(xs: &[f64]) -> Option<f64> {
    if xs.len() < 2 {
        return None;
    }
    let m = mean(xs)?;
    let var = xs.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (xs.len() as f64 - 1.0);
    Some(var.sqrt())
}

/// Annualised Sharpe ratio of periodic returns: `mean / std * sqrt(periods_per_year)`, risk-free 0.
/// Same as empyrical `sharpe_ratio`. `None` for fewer than 2 returns or zero volatility.
pub fn sharpe(returns: &[f64], periods_per_year: f64) -> Option<f64> {
    let sd = std_dev(returns)?;
    if sd == 0.0 || !sd.is_finite() {
        return None;
    }
    Some(mean(returns)? / sd * periods_per_year.sqrt())
}

/// Drawdown at each point: `x / running_peak - 1`, always `<= 0`.
pub fn drawdowns(equity: &[f64]) -> Vec<f64> {
    let mut peak = f64::NEG_INFINITY;
    equity
        .iter()
        .map(|&x| {
            peak = peak.max(x);
            if peak > 0.0 { (x / peak - 1.0).min(0.0) } else { 0.0 }
        })
        .collect()
}

/// Deepest drawdown, a fraction `<= 0` (0 for an empty or never-falling series).
pub fn max_drawdown(equity: &[f64]) -> f64 {
    drawdowns(equity).into_iter().fold(0.0, f64::min)
}

/// Gross profit / gross loss (both positive numbers). `None` without losses.
pub fn profit_factor(gross_profit: f64, gross_loss: f64) -> Option<f64> {
    (gross_loss > 0.0).then(|| gross_profit / gross_loss)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn sharpe_matches_a_hand_computation() {
        // mean 0.01, sample sd of [0.01, 0.02, 0.0] = 0.01 -> 1 * sqrt(252)
        let s = sharpe(&[0.01, 0.02, 0.0], TRADING_DAYS).unwrap_or_default();
        assert!((s - 252f64.sqrt()).abs() < 1e-12);
        assert_eq!(sharpe(&[0.01], TRADING_DAYS), None);
        assert_eq!(sharpe(&[0.01, 0.01], TRADING_DAYS), None);
    }

    #[test]
    fn drawdown_of_a_known_path() {
        let dd = drawdowns(&[100.0, 120.0, 90.0, 130.0]);
        assert_eq!(dd, vec![0.0, 0.0, -0.25, 0.0]);
        assert_eq!(max_drawdown(&[100.0, 120.0, 90.0, 130.0]), -0.25);
    }

    proptest! {
        #[test]
        fn drawdown_is_never_positive(xs in prop::collection::vec(0.01f64..1e9, 0..200)) {
            for d in drawdowns(&xs) {
                prop_assert!(d <= 0.0);
                prop_assert!(d >= -1.0);
            }
        }
    }
}
