//! Prints the daily returns of the replay's own equity (`ReplayConfig::reference`: 2017-04-19 to
//! 2017-12-31, seed 1, all bundled data, through the console's projection) as CSV: the "replay"
//! series of the metrics reference fixture.
//! `cargo run -p engine --example replay_returns > domain/tests/fixtures/replay_equity_returns.csv`
use std::path::PathBuf;

use engine::replay::ReplayConfig;

fn main() -> anyhow::Result<()> {
    let cfg = ReplayConfig::reference(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../data"));
    let (dates, returns) = engine::replay::equity_daily_returns(cfg)?;
    println!("date,return");
    for (d, r) in dates.iter().zip(returns) {
        // Debug formatting is the shortest representation that reads back to the same f64.
        println!("{d},{r:?}");
    }
    Ok(())
}
