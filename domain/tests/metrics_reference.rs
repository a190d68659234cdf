//! The metric set against reference values from empyrical-reloaded 0.7.1 (and numpy / scipy /
//! pandas where empyrical has none), on the bundled real data: AAPL, an equal-weight portfolio of
//! the 20 stocks, XOM since 2014 and the replay's own equity (2017), each against the S&P 500 index. The fixture and the script
//! that made it: `domain/tests/fixtures/metrics_reference.json`, `scripts/reference/`.
use chrono::NaiveDate;
use domain::metrics::{MetricSet, ROLLING_WINDOW, Rolling, TRADING_DAYS};
use serde_json::Value;

const TOLERANCE: f64 = 1e-9;

fn close(name: &str, field: &str, ours: Option<f64>, reference: &Value) -> Option<String> {
    let Some(want) = reference.as_f64() else { return Some(format!("{name}.{field}: no reference value")) };
    match ours {
        Some(got) if (got - want).abs() <= TOLERANCE * want.abs().max(1e-12) || (got - want).abs() < 1e-15 => None,
        other => Some(format!("{name}.{field}: ours {other:?}, reference {want}")),
    }
}

#[test]
fn every_metric_matches_the_reference_within_1e_9_relative() {
    let raw = include_str!("fixtures/metrics_reference.json");
    let fixture: Value = serde_json::from_str(raw).unwrap_or_else(|e| panic!("fixture: {e}"));
    let series = fixture["series"].as_object().unwrap_or_else(|| panic!("series"));
    assert_eq!(series.len(), 4, "aapl, equal_weight, xom_2014, replay");
    let mut failures = Vec::new();
    for (name, s) in series {
        let pairs = s["returns"].as_array().unwrap_or_else(|| panic!("returns"));
        let dates: Vec<NaiveDate> = pairs.iter().map(|p| NaiveDate::parse_from_str(p[0].as_str().unwrap_or(""), "%Y-%m-%d").unwrap_or_else(|e| panic!("{e}"))).collect();
        let r: Vec<f64> = pairs.iter().map(|p| p[1].as_f64().unwrap_or(f64::NAN)).collect();
        let b: Vec<f64> = s["benchmark"].as_array().unwrap_or_else(|| panic!("benchmark")).iter().map(|x| x.as_f64().unwrap_or(f64::NAN)).collect();
        assert_eq!(r.len(), s["n"].as_u64().unwrap_or(0) as usize);
        let m = MetricSet::compute(&dates, &r, Some(&b), TRADING_DAYS);
        let checks: [(&str, Option<f64>); 35] = [
            ("cumulative_return", m.cumulative_return),
            ("cagr", m.cagr),
            ("annual_volatility", m.annual_volatility),
            ("sharpe", m.sharpe),
            ("sortino", m.sortino),
            ("downside_risk", m.downside_risk),
            ("calmar", m.calmar),
            ("omega", m.omega),
            ("max_drawdown", m.max_drawdown),
            ("ulcer_index", m.ulcer_index),
            ("var_95", m.var_95),
            ("var_99", m.var_99),
            ("cvar_95", m.cvar_95),
            ("cvar_99", m.cvar_99),
            ("var_95_gaussian", m.var_95_gaussian),
            ("var_99_gaussian", m.var_99_gaussian),
            ("cvar_95_gaussian", m.cvar_95_gaussian),
            ("cvar_99_gaussian", m.cvar_99_gaussian),
            ("skew", m.skew),
            ("kurtosis", m.kurtosis),
            ("tail_ratio", m.tail_ratio),
            ("best_day", m.best_day),
            ("worst_day", m.worst_day),
            ("best_month", m.best_month),
            ("worst_month", m.worst_month),
            ("alpha", m.alpha),
            ("beta", m.beta),
            ("correlation", m.correlation),
            ("information_ratio", m.information_ratio),
            ("tracking_error", m.tracking_error),
            ("max_drawdown", m.max_drawdown_episode.as_ref().map(|e| e.depth)),
            ("rolling_sharpe_last", None),
            ("rolling_volatility_last", None),
            ("rolling_beta_last", None),
            ("n", Some(m.periods as f64)),
        ];
        let rolling = Rolling::compute(&r, Some(&b), ROLLING_WINDOW, TRADING_DAYS);
        let last = |v: &Vec<Option<f64>>| v.last().copied().flatten();
        let rolled = [
            ("rolling_sharpe_last", last(&rolling.sharpe)),
            ("rolling_volatility_last", last(&rolling.volatility)),
            ("rolling_beta_last", last(&rolling.beta)),
        ];
        for (field, ours) in checks.into_iter().filter(|(_, v)| v.is_some()).chain(rolled) {
            failures.extend(close(name, field, ours, &s[field]));
        }
        assert_eq!(rolling.sharpe.iter().filter(|x| x.is_some()).count() as u64, s["rolling_sharpe_count"].as_u64().unwrap_or(0), "{name}: rolling count");
        for (key, ours) in [("monthly_returns", &m.monthly_returns), ("yearly_returns", &m.yearly_returns)] {
            let want = s[key].as_array().unwrap_or_else(|| panic!("{key}"));
            assert_eq!(ours.len(), want.len(), "{name}.{key} length");
            for (o, w) in ours.iter().zip(want) {
                let wv = w.as_array().and_then(|a| a.last()).cloned().unwrap_or(Value::Null);
                failures.extend(close(name, &format!("{key}[{}-{:?}]", o.year, o.month), Some(o.ret), &wv));
            }
        }
    }
    assert!(failures.is_empty(), "{} mismatches:\n{}", failures.len(), failures.join("\n"));
}

/// `domain::regime::classify` against the same rules written with pandas rolling windows
/// (`scripts/reference/metrics_fixtures.py`, `regimes`) on the S&P 500 index, 1990-2022: every
/// label of every day.
#[test]
fn regime_labels_match_pandas() {
    use domain::regime::{RegimeParams, classify};
    let fixture: Value = serde_json::from_str(include_str!("fixtures/metrics_reference.json")).unwrap_or_else(|e| panic!("fixture: {e}"));
    // The AAPL series carries the index's returns on every one of its 8,312 dates.
    let s = &fixture["series"]["aapl"];
    let dates: Vec<NaiveDate> = s["returns"].as_array().unwrap_or_else(|| panic!("returns")).iter().map(|p| NaiveDate::parse_from_str(p[0].as_str().unwrap_or(""), "%Y-%m-%d").unwrap_or_else(|e| panic!("{e}"))).collect();
    let b: Vec<f64> = s["benchmark"].as_array().unwrap_or_else(|| panic!("benchmark")).iter().map(|x| x.as_f64().unwrap_or(f64::NAN)).collect();
    let index = dates.iter().copied().zip(b).collect();
    let ours = classify(&index, &RegimeParams::default());
    let want = &fixture["regimes"];
    let want_dates = want["dates"].as_array().unwrap_or_else(|| panic!("regimes.dates"));
    assert_eq!(want_dates.len(), 8312);
    let mut mismatches = Vec::new();
    for (d, labels) in want_dates.iter().zip(want["labels"].as_array().unwrap_or_else(|| panic!("regimes.labels"))) {
        let date = NaiveDate::parse_from_str(d.as_str().unwrap_or(""), "%Y-%m-%d").unwrap_or_else(|e| panic!("{e}"));
        let got = ours.get(&date).copied().unwrap_or([None; 3]);
        let want: Vec<Option<&str>> = labels.as_array().unwrap_or_else(|| panic!("labels")).iter().map(Value::as_str).collect();
        if got.to_vec() != want {
            mismatches.push(format!("{date}: ours {got:?}, pandas {want:?}"));
        }
    }
    assert!(mismatches.is_empty(), "{} of 8,312 days differ:\n{}", mismatches.len(), mismatches.iter().take(10).cloned().collect::<Vec<_>>().join("\n"));
}
