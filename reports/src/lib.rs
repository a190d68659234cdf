//! Renderers of the weekly research report (`domain::report::WeeklyReport`): a self-contained
//! HTML file (inline CSS and SVG charts, no script) and an A4 PDF made by typst as a library,
//! with its fonts bundled in the binary (typst-assets): nothing is read from the machine or the
//! network. Both are deterministic: the same report gives byte-identical files (the PDF's
//! document id and date derive from the week, never from the clock).
//!
//! The sections, in both: cover (fund, period, the log's head seq and hash, the checkpoint that
//! covers it), executive summary, performance attribution, execution quality, risk, regimes,
//! compliance, recommendations, and a methodology appendix.
use domain::format;
use domain::report::WeeklyReport;
use rust_decimal::Decimal;

mod html;
mod pdf;
mod text;

pub use html::html;
pub use pdf::{PdfError, pdf};

/// The methodology appendix: how each figure is defined (the same text in both files).
pub const METHODOLOGY: &[(&str, &str)] = &[
    ("PnL", "Change of equity (capital plus realized and unrealized PnL, net of fees, at the marks) between two daily closes, in USD, summed exactly (decimal arithmetic). The week's PnL compares the week's last close with the previous week's last close; month and year to date compare with the last close before the month or year."),
    ("Returns", "Simple returns between consecutive daily closes of equity (market time). Week, month and year returns are the period's PnL over the equity at its start."),
    ("Sharpe", "Annualised Sharpe ratio of daily returns since inception to the week's end: mean over standard deviation (sample), times sqrt(252), risk-free rate 0; as empyrical sharpe_ratio. Undefined under 2 returns or with no variation."),
    ("Max drawdown", "Largest fall of equity from a previous peak, as a fraction of that peak, since inception to the week's end."),
    ("VaR and CVaR", "One-day historical value at risk at 95% and 99% of the daily returns since inception (the loss not exceeded on that share of days, as a positive fraction); CVaR 95 is the mean loss beyond VaR 95."),
    ("Attribution", "Realized PnL of round trips (flat to flat, per instrument) closed during the week, by instrument, UTC hour and weekday of the close. By factor: each trade's PnL split by its opening signal's factor betas (MTUM, QUAL, SIZE, USMV, VLUE) times the factor ETFs' returns over the holding period, the rest residual; since inception, at generation."),
    ("Execution quality", "Implementation shortfall of fills against the decision price, split into spread, impact and timing, in basis points of filled notional; fill rate (orders filled over orders that reached a final status) and latency percentiles (signal to order, order to fill, console clock); since inception, at generation."),
    ("Limits", "Each compliance limit's value against its maximum at generation; 80% is the pre-breach warning level."),
    ("Regimes", "Daily returns grouped by market regime (trend and volatility of the S&P 500), since inception, at generation."),
    ("Recommendations", "Rule-based: an instrument losing money with execution costs 5 bps above the fund's average; a limit at 80% or more of its maximum; a regime of 20+ days in which the fund loses while the S&P 500 gains; open compliance issues. Each names its figure."),
    ("Verification", "The cover names the log's head (seq and hash) the report was computed from and the newest signed checkpoint (Merkle tree head, RFC 9162, ed25519) that covers it. Check the log against the checkpoint with `tradewatch verify --checkpoint`; the report's SHA-256 is recorded in the log as a report_published event."),
];

pub(crate) fn money(d: Decimal) -> String {
    format::money(d.round_dp(2))
}

pub(crate) fn pnl(d: Decimal) -> String {
    format::pnl(d.round_dp(2))
}

pub(crate) fn pct(x: Option<f64>) -> String {
    format::opt(x, format::pct)
}

pub(crate) fn num(x: Option<f64>) -> String {
    format::opt(x, |v| format!("{v:.2}"))
}

pub(crate) fn bps(x: Option<f64>) -> String {
    format::opt(x, |v| format!("{v:.1}"))
}

fn quantile_row(label: &str, q: &domain::projection::Quantiles) -> Vec<String> {
    let ms = |x: Option<f64>| format::opt(x, |v| format!("{v:.1}"));
    vec![label.to_string(), q.count.to_string(), ms(q.p50_ms), ms(q.p95_ms), ms(q.p99_ms)]
}

/// The report's tables as (title, header, rows): the one source both renderers lay out.
pub(crate) struct Table {
    pub title: String,
    pub header: Vec<String>,
    pub rows: Vec<Vec<String>>,
    /// Columns aligned right (numbers).
    pub numeric: Vec<bool>,
}

fn table(title: &str, header: &[&str], rows: Vec<Vec<String>>) -> Table {
    let numeric = header.iter().enumerate().map(|(i, _)| i > 0).collect();
    Table { title: title.to_string(), header: header.iter().map(|h| h.to_string()).collect(), rows, numeric }
}

/// A section: its title, the tables and the charts (SVG) under it, and a note.
pub(crate) struct Section {
    pub title: &'static str,
    pub note: Option<String>,
    pub tables: Vec<Table>,
    pub charts: Vec<(String, String)>,
}

/// Every section of the report, in order (the cover and the appendix aside).
pub(crate) fn sections(r: &WeeklyReport) -> Vec<Section> {
    let s = &r.summary;
    let m = &s.metrics;
    let mut out = Vec::new();
    let trade_rows = |lines: &[domain::report::TradeLine]| -> Vec<Vec<String>> {
        lines.iter().map(|t| vec![t.instrument.clone(), t.side.clone(), t.opened.to_string(), t.closed.to_string(), pnl(t.pnl)]).collect()
    };
    out.push(Section {
        title: "Executive summary",
        note: Some(match s.last_day {
            Some(d) => format!("Figures to the close of {d}, the week's last trading day in the log."),
            None => "No trading day of this week is in the log.".into(),
        }),
        tables: vec![
            table(
                "Performance",
                &["Period", "PnL (USD)", "Return"],
                vec![
                    vec!["Week".into(), pnl(s.week_pnl), pct(s.week_return)],
                    vec!["Month to date".into(), pnl(s.mtd_pnl), pct(s.mtd_return)],
                    vec!["Year to date".into(), pnl(s.ytd_pnl), pct(s.ytd_return)],
                    vec!["Since inception".into(), pnl(s.inception_pnl), pct(m.cumulative_return)],
                ],
            ),
            table(
                "Risk-adjusted, since inception",
                &["Figure", "Value"],
                vec![
                    vec!["Equity (USD)".into(), format::opt(s.equity_end, money)],
                    vec!["Sharpe (annualised)".into(), num(m.sharpe)],
                    vec!["Sortino".into(), num(m.sortino)],
                    vec!["Annual volatility".into(), pct(m.annual_volatility)],
                    vec!["Max drawdown".into(), pct(m.max_drawdown)],
                    vec!["Trades closed this week".into(), s.week_trades.trades.to_string()],
                    vec!["Hit rate this week".into(), pct(s.week_trades.hit_rate)],
                ],
            ),
            table("Key wins", &["Instrument", "Side", "Opened", "Closed", "PnL (USD)"], trade_rows(&s.best)),
            table("Key losses", &["Instrument", "Side", "Opened", "Closed", "PnL (USD)"], trade_rows(&s.worst)),
        ],
        charts: vec![
            ("Equity (USD) at each daily close".into(), charts::equity_svg(&r.equity, 860, 260)),
            ("Drawdown".into(), charts::drawdown_svg(&r.drawdown, 860, 180)),
        ],
    });
    let buckets = |b: &[domain::analytics::Bucket]| -> Vec<Vec<String>> { b.iter().map(|b| vec![b.key.clone(), pnl(b.pnl), b.trades.to_string()]).collect() };
    out.push(Section {
        title: "Performance attribution",
        note: Some("Realized PnL of the round trips closed this week; the last table since inception.".into()),
        tables: vec![
            table("By instrument (this week)", &["Instrument", "PnL (USD)", "Trades"], buckets(&r.attribution.by_instrument)),
            table("By hour of the close, UTC (this week)", &["Hour", "PnL (USD)", "Trades"], buckets(&r.attribution.by_hour)),
            table("By instrument (since inception)", &["Instrument", "PnL (USD)", "Trades"], buckets(&r.attribution_inception)),
            table("By factor (since inception, at generation)", &["Factor", "PnL (USD)", "Trades"], buckets(&r.attribution_factors)),
        ],
        charts: vec![(
            "PnL by instrument since inception (USD)".into(),
            charts::bars_svg(&r.attribution_inception.iter().map(|b| (b.key.clone(), rust_decimal::prelude::ToPrimitive::to_f64(&b.pnl).unwrap_or(0.0))).collect::<Vec<_>>(), "USD", 860),
        )],
    });
    let exec_row = |e: &domain::report::ExecutionRow| vec![e.instrument.clone(), e.fills.to_string(), money(e.notional), bps(e.spread_bps), bps(e.impact_bps), bps(e.model_impact_bps), bps(e.timing_bps), bps(e.total_bps)];
    let mut exec: Vec<Vec<String>> = r.execution.iter().map(exec_row).collect();
    exec.push(exec_row(&r.execution_total));
    out.push(Section {
        title: "Execution quality",
        note: Some("Implementation shortfall in bps of filled notional (positive: a cost), since inception, at generation. \"Impact, paper model\" is what the paper engine's impact model (k x sqrt(notional / 1M USD) bps) expects for the same fills.".into()),
        tables: vec![
            table("Slippage decomposition", &["Instrument", "Fills", "Notional (USD)", "Spread", "Impact", "Impact, paper model", "Timing", "Total (bps)"], exec),
            table(
                "Fill rate and latency",
                &["Figure", "Count", "p50 (ms)", "p95 (ms)", "p99 (ms)"],
                vec![
                    vec!["Fill rate (orders filled / orders final)".into(), pct(r.fills.fill_rate), String::new(), String::new(), String::new()],
                    quantile_row("Signal to order", &r.fills.latency.signal_to_order),
                    quantile_row("Order to fill", &r.fills.latency.order_to_fill),
                ],
            ),
        ],
        charts: Vec::new(),
    });
    let rk = &r.risk;
    let limits = rk.limits.iter().take(12).map(|l| vec![format!("{} {}", l.scope, l.limit), format!("{:.2}", l.value), format!("{:.2}", l.max), l.unit.clone(), format!("{:.1}%", l.utilisation_pct)]).collect();
    let mut risk_charts = vec![("Daily returns since inception, with VaR 95".to_string(), charts::distribution_svg(&r.returns, rk.var_95, 860, 220))];
    if !rk.correlation_instruments.is_empty() {
        risk_charts.push(("Correlation of daily returns (at generation)".into(), charts::heatmap_svg(&rk.correlation_instruments, &rk.correlation, 520)));
    }
    out.push(Section {
        title: "Risk",
        note: Some("VaR from daily returns to the week's end; exposure, concentration and limits at generation.".into()),
        tables: vec![
            table(
                "Value at risk and exposure",
                &["Figure", "Value"],
                vec![
                    vec!["VaR 95 (1 day, historical)".into(), pct(rk.var_95)],
                    vec!["VaR 99 (1 day, historical)".into(), pct(rk.var_99)],
                    vec!["CVaR 95".into(), pct(rk.cvar_95)],
                    vec!["Gross exposure (USD)".into(), money(rk.gross)],
                    vec!["Net exposure (USD)".into(), money(rk.net)],
                    vec!["Leverage".into(), num(rk.leverage)],
                    vec!["Concentration (HHI)".into(), format::opt(rk.hhi, |h| format!("{h:.3}"))],
                    vec!["Largest position share".into(), pct(rk.top1)],
                ],
            ),
            table("Limit utilisation (most used first)", &["Limit", "Value", "Maximum", "Unit", "Used"], limits),
        ],
        charts: risk_charts,
    });
    out.push(Section {
        title: "Regimes",
        note: Some("Performance by market regime since inception, at generation.".into()),
        tables: vec![table(
            "By regime",
            &["Regime", "Days", "Fund return", "Sharpe", "S&P 500 return"],
            r.regimes.iter().map(|g| vec![format!("{}: {}", g.dimension, g.regime), g.days.to_string(), pct(Some(g.cumulative_return)), num(g.sharpe), pct(Some(g.benchmark_cumulative_return))]).collect(),
        )],
        charts: Vec::new(),
    });
    let c = &r.compliance;
    out.push(Section {
        title: "Compliance",
        note: None,
        tables: vec![
            table(
                "Issues opened this week",
                &["Figure", "Count"],
                vec![
                    vec!["Opened".into(), c.opened.to_string()],
                    vec!["Of which breaches (critical)".into(), c.breaches.to_string()],
                    vec!["Closed by the week's end".into(), c.closed.to_string()],
                    vec!["Still needing a person".into(), c.open_now.to_string()],
                ],
            ),
            table("By rule", &["Rule", "Opened"], c.by_rule.iter().map(|(k, n)| vec![k.clone(), n.to_string()]).collect()),
        ],
        charts: Vec::new(),
    });
    out.push(Section {
        title: "Recommendations",
        note: Some(if r.recommendations.is_empty() { "No rule fired this week.".into() } else { "Each follows from the figure beside it (rules in the appendix).".into() }),
        tables: vec![table("Recommendations", &["Recommendation", "Evidence"], r.recommendations.iter().map(|x| vec![x.text.clone(), x.evidence.clone()]).collect())],
        charts: Vec::new(),
    });
    for s in &mut out {
        for t in &mut s.tables {
            if t.title == "Recommendations" {
                t.numeric = vec![false, false];
            }
        }
    }
    out
}

/// The cover's lines: (label, value).
pub(crate) fn cover(r: &WeeklyReport) -> Vec<(&'static str, String)> {
    let p = &r.provenance;
    let mut lines = vec![
        ("Period", format!("{} (Monday {} to Sunday {}, market time)", r.week, r.monday, r.sunday)),
        ("Computed from the log up to event", format!("#{}", p.head_seq)),
        ("Head hash", p.head_hash.clone()),
    ];
    match (p.checkpoint_seq, p.checkpoint_size, &p.checkpoint_root) {
        (Some(seq), Some(size), Some(root)) => {
            lines.push(("Newest signed checkpoint", format!("event #{seq}: events 1-{size}, Merkle root {root}")));
        }
        _ => lines.push(("Signed checkpoint", "none signed yet".into())),
    }
    lines
}

#[cfg(test)]
mod tests;
