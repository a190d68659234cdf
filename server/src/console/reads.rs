//! What the pages and the API read: fold views at one log position, and the analytics reports,
//! each computed once per head seq.
use std::sync::atomic::Ordering;

use anyhow::Result;
use chrono::Utc;
use domain::governance::Config;
use domain::view::{DashboardView, IngestView, Lineage};


use super::*;

/// Most order and fill events one daily trade report reads.
pub const TRADE_DAY_MAX: usize = 500_000;

/// A report computed once per version of the log (its head seq): pages and API reads between
/// two appends share one computation.
pub(super) struct PerHead<T> {
    pub(super) slot: std::sync::Mutex<Option<(u64, T)>>,
}

impl<T: Clone> PerHead<T> {
    pub(super) fn new() -> Self {
        Self { slot: std::sync::Mutex::new(None) }
    }

    pub(super) fn get(&self, head: u64, compute: impl FnOnce() -> T) -> T {
        if let Ok(slot) = self.slot.lock()
            && let Some((h, v)) = slot.as_ref()
            && *h == head
        {
            return v.clone();
        }
        // Computed outside the lock: a slow report never blocks a reader of a cached one.
        let v = compute();
        if let Ok(mut slot) = self.slot.lock() {
            *slot = Some((head, v.clone()));
        }
        v
    }
}

/// The analytics pages' reports, each cached per head seq.
pub(super) struct Reports {
    pub(super) performance: PerHead<domain::view::PerformanceView>,
    pub(super) performance_native: PerHead<domain::view::PerformanceView>,
    pub(super) kpis: PerHead<domain::view::KpiView>,
    pub(super) attribution: PerHead<domain::view::AttributionView>,
    pub(super) execution: PerHead<domain::analytics::SlippageReport>,
    pub(super) risk: PerHead<domain::risk::RiskReport>,
    pub(super) track_record: PerHead<domain::track_record::TrackRecord>,
}

impl Console {
    /// The investor track record of the book (monthly, annual, since inception; gross and net
    /// of the configured fees; against the S&P 500), cached per log head.
    pub fn track_record(&self) -> domain::track_record::TrackRecord {
        self.reports.track_record.get(self.head_seq(), || {
            let (daily, capital) = {
                let folds = read(&self.folds);
                (folds.book.daily_equity(), folds.book.capital())
            };
            domain::track_record::build(&daily, capital, self.fee_schedule(), crate::reference::sp500())
        })
    }

    /// The fee terms of the track record's net returns (`Application` sets them from the config).
    pub fn fee_schedule(&self) -> domain::track_record::FeeSchedule {
        self.fees.get().copied().unwrap_or_default()
    }

    /// Sets the fee terms once, at start-up; a second call is ignored.
    pub fn set_fee_schedule(&self, fees: domain::track_record::FeeSchedule) {
        let _ = self.fees.set(fees);
    }

    /// Sets the report mailer once, at start-up; a second call is ignored.
    pub fn set_mailer(&self, mailer: crate::mail::Mailer) {
        let _ = self.mailer.set(mailer);
    }

    /// The paper engine's backtest on the bundled data, once `jobs::Backtest` has run.
    pub fn backtest(&self) -> Option<Arc<domain::view::BacktestView>> {
        self.backtest.get().cloned()
    }

    pub fn set_backtest(&self, view: domain::view::BacktestView) {
        let _ = self.backtest.set(Arc::new(view));
    }

    /// The investor portal's decision records: the newest `limit` exit signals older than one
    /// day of market time (so no open position shows), each with the desk's answer and timing
    /// and the LLM's reasoning beside it, read from the log. No order, quantity or price.
    pub async fn decision_records(&self, limit: usize) -> Result<Vec<domain::view::DecisionRecordView>> {
        let (records, as_of) = {
            let folds = read(&self.folds);
            (folds.governance.exit_records(domain::governance::EXIT_LOG), folds.book.as_of())
        };
        let Some(as_of) = as_of else { return Ok(Vec::new()) };
        let cutoff = as_of - chrono::TimeDelta::days(1);
        let records: Vec<_> = records.into_iter().filter(|r| r.ts <= cutoff).take(limit).collect();
        let ids: Vec<&str> = records.iter().map(|r| r.signal_id.as_str()).collect();
        let events = self.store.signal_details(&ids).await?;
        Ok(records
            .into_iter()
            .map(|record| {
                let llm = events.iter().find_map(|e| match &e.body {
                    domain::event::Body::LlmDecision(l) if l.signal_id.as_str() == record.signal_id => Some(l),
                    _ => None,
                });
                let reason = events.iter().find_map(|e| match &e.body {
                    domain::event::Body::Signal(s) if s.signal_id.as_str() == record.signal_id => s.features.keys().find_map(|k| k.strip_prefix("exit_")).map(|k| k.replace('_', " ")),
                    _ => None,
                });
                domain::view::DecisionRecordView {
                    llm_decision: llm.map(|l| l.decision.to_string()),
                    llm_reasoning: llm.map(|l| l.reasoning.clone()),
                    exit_reason: reason,
                    record,
                }
            })
            .collect())
    }

    /// The governance state: pending rows compact (no features, checks or LLM text).
    pub fn governance_view(&self) -> domain::view::GovernanceView {
        read(&self.folds).governance.view(Utc::now())
    }

    /// The governance state with each listed pending row's detail read from the log (at most
    /// `governance::PENDING_LISTED` rows, one query). If the store cannot answer, the rows come
    /// without detail rather than not at all.
    pub async fn governance_view_detailed(&self) -> domain::view::GovernanceView {
        let mut view = self.governance_view();
        let ids: Vec<&str> = view.pending.iter().map(|p| p.signal_id.as_str()).collect();
        match self.store.signal_details(&ids).await {
            Ok(events) => {
                for row in &mut view.pending {
                    domain::governance::fill_pending_detail(row, &events);
                }
            }
            Err(e) => tracing::error!(error = %e, "reading pending signals' detail"),
        }
        view
    }

    pub fn decisions(&self, automation: Option<&str>, after_seq: u64, limit: usize) -> Vec<domain::view::DecisionRow> {
        read(&self.folds).governance.decisions(automation, after_seq, limit)
    }

    pub fn current_config(&self) -> (u32, Config) {
        {
        let folds = read(&self.folds);
            let g = &folds.governance;
        (g.config_version(), g.config().clone())
    }
    }

    pub fn record_rejected_batch(&self) {
        self.counters.batch(false);
    }

    pub fn ingest_view(&self) -> IngestView {
        let c = &self.counters;
        let (ok, bad) = (c.accepted_batches.load(Ordering::Relaxed), c.rejected_batches.load(Ordering::Relaxed));
        IngestView {
            accepted_events: c.accepted_events.load(Ordering::Relaxed),
            duplicate_events: c.duplicate_events.load(Ordering::Relaxed),
            accepted_batches: ok,
            rejected_batches: bad,
            error_rate: (ok + bad > 0).then(|| bad as f64 / (ok + bad) as f64),
        }
    }

    /// Daily returns of the console's equity (last equity of each UTC day), between two dates
    /// (inclusive) when given.
    /// A data export's bytes as they are produced (trades and returns copied out of the folds
    /// now; events and fills read from the store as the stream goes).
    pub fn export_stream(&self, dataset: crate::export::Dataset, format: crate::export::Format, filter: crate::export::Filter) -> tokio::sync::mpsc::Receiver<Result<bytes::Bytes, std::io::Error>> {
        use crate::export::{Dataset, Held};
        let held = match dataset {
            Dataset::Trades => Held::Trades(self.closed_trades_between(filter.from, filter.to)),
            Dataset::Returns => Held::Returns(self.daily_returns(filter.from.map(|t| t.date_naive()), filter.to.map(|t| t.date_naive()))),
            Dataset::Events | Dataset::Fills => Held::Log,
        };
        crate::export::stream(self.store.clone(), held, dataset, format, filter)
    }

    /// Closed round trips whose close is in the range (inclusive), oldest first.
    pub fn closed_trades_between(&self, from: Option<DateTime<Utc>>, to: Option<DateTime<Utc>>) -> Vec<domain::metrics::ClosedTrade> {
        read(&self.folds).book.closed_trades().iter().filter(|t| from.is_none_or(|f| t.closed >= f) && to.is_none_or(|b| t.closed <= b)).cloned().collect()
    }

    pub fn daily_returns(&self, from: Option<chrono::NaiveDate>, to: Option<chrono::NaiveDate>) -> (Vec<chrono::NaiveDate>, Vec<f64>) {
        let (dates, returns) = domain::metrics::daily_returns(read(&self.folds).book.daily_closes());
        dates.into_iter().zip(returns).filter(|(d, _)| from.is_none_or(|f| *d >= f) && to.is_none_or(|t| *d <= t)).unzip()
    }

    /// Returns of the console's equity at the native bar interval (one per distinct market
    /// timestamp) and the observed periods per year, between two dates when given.
    pub fn native_returns(&self, from: Option<chrono::NaiveDate>, to: Option<chrono::NaiveDate>) -> domain::metrics::NativeReturns {
        {
        let folds = read(&self.folds);
        let p = &folds.book;
        domain::metrics::native_returns(p.equity_points(), from, to)
    }
    }

    /// The seq of the last event applied (a version of everything folded from the log).
    pub fn head_seq(&self) -> u64 {
        *self.head_tx.borrow()
    }

    /// Exit-quality KPIs as of the latest market time in the log.
    pub fn exit_kpis(&self) -> domain::kpi::KpiReport {
        let now = read(&self.folds).book.as_of().unwrap_or_else(Utc::now);
        read(&self.folds).kpis.report(now)
    }

    /// Execution cost of every fill against its decision price, in parts.
    pub fn slippage(&self) -> domain::analytics::SlippageReport {
        read(&self.folds).slippage.report().clone()
    }

    /// Realized PnL of the closed round trips, broken down four ways.
    pub fn attribution(&self) -> domain::analytics::Attribution {
        {
        let folds = read(&self.folds);
        let p = &folds.book;
        domain::analytics::Attribution::compute(p.closed_trades())
    }
    }

    /// Realized PnL of the closed round trips by factor (exposures of the opening signal times
    /// the factor ETFs' returns over the holding span) and residual.
    pub fn factor_attribution(&self) -> domain::analytics::FactorAttribution {
        let empty = domain::analytics::FactorReturns::default();
        let factors = crate::reference::factors().unwrap_or(&empty);
        {
        let folds = read(&self.folds);
        let p = &folds.book;
        domain::analytics::FactorAttribution::compute(p.closed_trades(), factors)
    }
    }

    /// The fund's daily returns and closed trades by the S&P 500's regime.
    pub fn regimes(&self, from: Option<chrono::NaiveDate>, to: Option<chrono::NaiveDate>) -> domain::regime::RegimeReport {
        let (Some(index), Some(labels)) = (crate::reference::sp500(), crate::reference::sp500_regimes()) else { return Default::default() };
        let (dates, returns) = self.daily_returns(from, to);
        let params = domain::regime::RegimeParams::default();
        {
        let folds = read(&self.folds);
        let p = &folds.book;
        domain::regime::RegimeReport::compute_with(&dates, &returns, p.closed_trades(), index, labels, &params)
    }
    }

    /// Exposure, leverage, concentration and correlation of the book.
    pub fn risk(&self) -> domain::risk::RiskReport {
        let folds = read(&self.folds);
        let p = &folds.book;
        domain::risk::RiskReport::compute(&p.daily_exposure(), &p.position_notionals(), p.daily_marks())
    }

    /// The exits and trades behind one week of the KPIs.
    pub fn kpi_week(&self, week: chrono::NaiveDate) -> domain::kpi::KpiWeek {
        let now = read(&self.folds).book.as_of().unwrap_or_else(Utc::now);
        read(&self.folds).kpis.week(week, now)
    }

    /// Per-trade figures of every closed round trip.
    pub fn trade_stats(&self) -> domain::metrics::TradeStats {
        {
        let folds = read(&self.folds);
        let p = &folds.book;
        domain::metrics::TradeStats::compute(p.closed_trades())
    }
    }

    /// The components watched for heartbeats, with how long since each was heard at `now`, s.
    pub fn heartbeat_ages(&self, now: chrono::DateTime<Utc>) -> Vec<(String, f64)> {
        read(&self.folds).governance.heartbeats().map(|(c, t)| (c.to_string(), (now - t).num_milliseconds() as f64 / 1000.0)).collect()
    }

    pub fn summary(&self) -> DashboardView {
        let mut view = {
            let folds = read(&self.folds);
            let mut view = folds.book.dashboard(DASHBOARD_FEED);
            folds.compliance.flag_signals(&mut view.signals);
            view.compliance_active = folds.compliance.active_counts();
            let q = domain::anomaly::alerts::AlertQuery { state: Some(domain::anomaly::alerts::AlertState::Firing), severity: Some(domain::event::Severity::Critical), rule: None, limit: Some(5) };
            view.alerts_critical = folds
                .alerts
                .query(&q, Utc::now(), None)
                .alerts
                .into_iter()
                .map(|a| domain::projection::FiringAlert { fingerprint: a.fingerprint, rule: a.rule, summary: a.summary, since: a.starts_at })
                .collect();
            view
        };
        view.ingest = self.ingest_view();
        view
    }

    /// The daily trade report's rows: the orders and fills stamped on `day` (UTC, source time),
    /// read from the log in pages, at most [`TRADE_DAY_MAX`] events.
    pub async fn trade_day_rows(&self, day: chrono::NaiveDate) -> Result<Vec<domain::compliance::report::TradeRow>> {
        let from = day.and_time(chrono::NaiveTime::MIN).and_utc();
        let to = from + chrono::Duration::days(1) - chrono::Duration::milliseconds(1);
        let mut events: Vec<(u64, domain::event::Event)> = Vec::new();
        for kind in ["order", "fill"] {
            let mut after = None;
            loop {
                let q = domain::view::EventQuery { kind: Some(kind.into()), from: Some(from), to: Some(to), after_seq: after, limit: Some(crate::store::MAX_PAGE), ..Default::default() };
                let page = self.store.events(&q).await?;
                for r in &page.rows {
                    match domain::event::Event::parse_json(&r.payload, r.received_at) {
                        Ok(e) => events.push((r.seq, e)),
                        Err(e) => tracing::error!(seq = r.seq, error = %e, "a stored event no longer parses"),
                    }
                }
                match page.next {
                    Some(n) if events.len() < TRADE_DAY_MAX => after = Some(n),
                    _ => break,
                }
            }
        }
        events.sort_by_key(|(seq, _)| *seq);
        Ok(read(&self.folds).compliance.trade_rows(&events))
    }

    pub async fn lineage_of(&self, signal_id: &str) -> Result<Option<Lineage>> {
        let events = self.store.trade_events(signal_id).await?;
        Ok(domain::lineage::build(signal_id, &events))
    }
}
