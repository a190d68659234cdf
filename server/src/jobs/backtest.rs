//! The paper engine's backtest on the bundled market data, for the investor portal's
//! "Backtesting results": run once, in the background, off the async runtime, through the
//! console's own projection (the same book code as the live record), and kept in memory.
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Result;
use domain::view::{BacktestView, Point};
use engine::replay::{Dataset, ReplayConfig, Speed};
use rust_decimal::Decimal;

use crate::console::Console;

/// The seed of the backtest: the demo's own (`tradewatch replay --seed 42`).
pub const SEED: u64 = 42;

pub struct Backtest {
    pub console: Arc<Console>,
    /// The bundled data (`sp500_dataset.csv.gz`, `EURUSD.csv`).
    pub market_data: PathBuf,
    pub capital: Decimal,
}

/// The engine's configuration: everything bundled, from the first bar to the last, at the
/// demo's seed, nothing gated or paused (no console answers a backtest).
pub fn config(market_data: PathBuf, capital: Decimal) -> ReplayConfig {
    ReplayConfig {
        console: String::new(),
        token: String::new(),
        speed: Speed::Max,
        dataset: Dataset::All,
        data_dir: market_data,
        from: None,
        to: None,
        seed: SEED,
        run_id: "backtest".into(),
        capital,
        max_steps: None,
        warm_up_days: 0,
        inject_after: None,
    }
}

/// Runs the engine over `cfg` and summarises the book.
pub fn run(cfg: ReplayConfig, fees: domain::track_record::FeeSchedule) -> Result<BacktestView> {
    let started = std::time::Instant::now();
    let seed = cfg.seed;
    let capital = cfg.capital;
    let book = engine::replay::simulate(cfg)?;
    let daily = book.daily_equity();
    let record = domain::track_record::build(&daily, capital, fees, crate::reference::sp500());
    let equity_curve = daily
        .iter()
        .filter_map(|(d, e)| Some(Point { t: d.and_hms_opt(21, 0, 0)?.and_utc().timestamp_millis(), v: rust_decimal::prelude::ToPrimitive::to_f64(e)? }))
        .collect();
    Ok(BacktestView {
        dataset: "20 S&P 500 stocks (daily) and EUR/USD (hourly), bundled".into(),
        seed,
        record,
        trades: domain::metrics::TradeStats::compute(book.closed_trades()),
        fees: book.fees(),
        equity_curve,
        computed_ms: started.elapsed().as_millis() as u64,
    })
}

impl Backtest {
    /// Computes the backtest on a thread of its own at the idle scheduling priority (it runs
    /// on a core nothing else wants: at start-up it took about a second of CPU, a tenth of the
    /// console's while a load ingested its first 200,000 events), and hands it to the console;
    /// a failure is logged and the portal says the results are unavailable.
    pub fn spawn(self) {
        tokio::spawn(async move {
            let cfg = config(self.market_data.clone(), self.capital);
            let fees = self.console.fee_schedule();
            let (tx, rx) = tokio::sync::oneshot::channel();
            let started = std::thread::Builder::new().name("backtest".into()).spawn(move || {
                at_idle_priority();
                // The receiver is gone only when the console stopped meanwhile.
                let _ = tx.send(run(cfg, fees));
            });
            let result = match started {
                Ok(_) => rx.await.map_err(|_| "the backtest thread ended without a result".to_string()),
                Err(e) => Err(format!("starting the backtest thread: {e}")),
            };
            match result {
                Ok(Ok(view)) => {
                    tracing::info!(ms = view.computed_ms, trades = view.trades.trades, "backtest on the bundled data done");
                    self.console.set_backtest(view);
                    self.console.job_done("backtest", true, chrono::Utc::now());
                }
                Ok(Err(e)) => {
                    tracing::error!(error = format!("{e:#}"), dir = %self.market_data.display(), "backtest on the bundled data failed");
                    self.console.job_done("backtest", false, chrono::Utc::now());
                }
                Err(e) => {
                    tracing::error!(error = %e, "backtest task failed");
                    self.console.job_done("backtest", false, chrono::Utc::now());
                }
            }
        });
    }
}

/// Moves the calling thread to the idle scheduling policy (Linux `SCHED_IDLE`: it runs only when
/// a core has nothing else to run); where that is refused it runs as it is, and says so.
fn at_idle_priority() {
    #[cfg(target_os = "linux")]
    {
        use thread_priority::{NormalThreadSchedulePolicy, ThreadPriority, ThreadSchedulePolicy, set_thread_priority_and_policy, thread_native_id};
        if let Err(e) = set_thread_priority_and_policy(thread_native_id(), ThreadPriority::Min, ThreadSchedulePolicy::Normal(NormalThreadSchedulePolicy::Idle)) {
            tracing::warn!(error = ?e, "the backtest runs at normal priority (the idle policy was refused)");
        }
    }
}
