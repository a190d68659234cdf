//! `domain::risk::Correlation` against pandas (`DataFrame.pct_change(fill_method=None).corr()`,
//! pinned in `scripts/reference/requirements.txt`) on the 20 bundled S&P 500 stocks' daily
//! closes, 1990-2022: every pair within 1e-9.
use std::collections::HashMap;
use std::path::PathBuf;

use chrono::NaiveDate;
use domain::risk::Correlation;
use rust_decimal::prelude::ToPrimitive;
use serde_json::Value;

#[test]
fn correlation_matrix_matches_pandas() -> anyhow::Result<()> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../data/sp500_dataset.csv.gz");
    let mut closes: HashMap<String, Vec<(NaiveDate, f64)>> = HashMap::new();
    for bar in engine::data::load_wide_closes(&path, None, None)? {
        closes.entry(bar.instrument.clone()).or_default().push((bar.ts.date_naive(), bar.close.to_f64().unwrap_or(f64::NAN)));
    }
    for v in closes.values_mut() {
        v.sort_by_key(|x| x.0);
    }
    let ours = Correlation::compute(&closes, None);
    let fixture: Value = serde_json::from_str(include_str!("../../domain/tests/fixtures/metrics_reference.json"))?;
    let names: Vec<String> = serde_json::from_value(fixture["correlation"]["instruments"].clone())?;
    let matrix: Vec<Vec<f64>> = serde_json::from_value(fixture["correlation"]["matrix"].clone())?;
    assert_eq!(names.len(), 20);
    let mut worst = 0.0f64;
    for (i, a) in names.iter().enumerate() {
        for (j, b) in names.iter().enumerate() {
            let (oi, oj) = (ours.instruments.iter().position(|x| x == a), ours.instruments.iter().position(|x| x == b));
            let got = oi.zip(oj).and_then(|(x, y)| ours.matrix[x][y]).unwrap_or(f64::NAN);
            let want = matrix[i][j];
            assert!((got - want).abs() <= 1e-9 * want.abs().max(1e-12), "{a}/{b}: ours {got}, pandas {want}");
            worst = worst.max((got - want).abs());
        }
    }
    println!("largest difference from pandas: {worst:e}");
    Ok(())
}
