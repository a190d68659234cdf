//! Performance: a tearsheet of the fund's daily equity returns against the S&P 500 index
//! (growth, underwater, rolling Sharpe / volatility / beta, the distribution, monthly returns,
//! and the metric set with each definition on hover). Exit KPIs, attribution, execution and
//! risk are on their own pages.
use domain::format;
use domain::metrics::{MetricSet, PeriodReturn};
use leptos::prelude::*;

use super::{Empty, Loaded, opt_pct, ratio};
use crate::server_fns::get_performance;


fn date(d: Option<chrono::NaiveDate>) -> String {
    d.map(|d| d.to_string()).unwrap_or_else(|| "—".into())
}

/// (label, value, definition) rows of the metrics table; definitions as in docs/methodology.md.
fn rows(m: &MetricSet) -> Vec<(&'static str, String, &'static str)> {
    let dd = m.max_drawdown_episode.as_ref();
    let long = m.longest_drawdown.as_ref();
    vec![
        ("Cumulative return", opt_pct(m.cumulative_return), "prod(1 + r) - 1 over the daily returns shown."),
        ("CAGR", opt_pct(m.cagr), "(1 + cumulative)^(252 / n) - 1: compound annual growth."),
        ("Annual volatility", opt_pct(m.annual_volatility), "Sample standard deviation of daily returns times sqrt(252)."),
        ("Sharpe", ratio(m.sharpe), "mean / std (ddof 1) of daily returns times sqrt(252); risk-free 0. Same as empyrical sharpe_ratio."),
        ("Sortino", ratio(m.sortino), "mean * 252 / downside risk, downside risk = sqrt(mean(min(r, 0)^2)) * sqrt(252)."),
        ("Calmar", ratio(m.calmar), "CAGR / |max drawdown|."),
        ("Omega", ratio(m.omega), "Sum of gains / sum of losses of daily returns (threshold 0)."),
        ("Max drawdown", opt_pct(m.max_drawdown), "Deepest fall of compounded wealth below its running peak."),
        ("  peak → trough", dd.map(|e| format!("{} → {}", e.start, e.trough)).unwrap_or_else(|| "—".into()), "Date of the peak before the deepest drawdown, and of its trough."),
        ("  recovered", dd.map(|e| date(e.recovery)).unwrap_or_else(|| "—".into()), "First date back at the peak (— while not recovered)."),
        ("  duration", dd.map(|e| format!("{} days", e.duration_days)).unwrap_or_else(|| "—".into()), "Calendar days from the peak to the recovery (or to the last date)."),
        ("Longest drawdown", long.map(|e| format!("{} days from {}", e.duration_days, e.start)).unwrap_or_else(|| "—".into()), "The drawdown episode with the most calendar days."),
        ("Ulcer index", opt_pct(m.ulcer_index), "Root mean square of the daily drawdowns."),
        ("VaR 95% / 99% (historical)", format!("{} / {}", opt_pct(m.var_95), opt_pct(m.var_99)), "5th / 1st percentile of daily returns (a one-day loss not exceeded on 95% / 99% of days)."),
        ("CVaR 95% / 99% (historical)", format!("{} / {}", opt_pct(m.cvar_95), opt_pct(m.cvar_99)), "Mean of the daily returns at or below the VaR: the expected shortfall."),
        ("VaR 95% / 99% (Gaussian)", format!("{} / {}", opt_pct(m.var_95_gaussian), opt_pct(m.var_99_gaussian)), "mean + z * std under a normal distribution."),
        ("CVaR 95% / 99% (Gaussian)", format!("{} / {}", opt_pct(m.cvar_95_gaussian), opt_pct(m.cvar_99_gaussian)), "mean - std * pdf(z) / (1 - level) under a normal distribution."),
        ("Skew", ratio(m.skew), "Bias-adjusted sample skewness of daily returns (pandas skew)."),
        ("Excess kurtosis", ratio(m.kurtosis), "Bias-adjusted sample excess kurtosis (normal = 0; pandas kurt)."),
        ("Tail ratio", ratio(m.tail_ratio), "|95th percentile| / |5th percentile| of daily returns."),
        ("Best / worst day", format!("{} / {}", opt_pct(m.best_day), opt_pct(m.worst_day)), "Largest and smallest daily return."),
        ("Best / worst month", format!("{} / {}", opt_pct(m.best_month), opt_pct(m.worst_month)), "Calendar months, daily returns compounded."),
        ("Alpha (annual)", opt_pct(m.alpha), "(1 + mean(r - beta * b))^252 - 1 against the S&P 500 index (empyrical alpha)."),
        ("Beta", ratio(m.beta), "cov(r, b) / var(b) against the S&P 500 index."),
        ("Correlation", ratio(m.correlation), "Pearson correlation of daily returns with the S&P 500 index."),
        ("Information ratio", ratio(m.information_ratio), "mean(r - b) / std(r - b) * sqrt(252)."),
        ("Tracking error", opt_pct(m.tracking_error), "std(r - b) * sqrt(252)."),
    ]
}

/// Heatmap class of a monthly return: five shades each way, 2 percentage points apart.
fn shade(r: f64) -> String {
    let level = ((r.abs() / 0.02).ceil() as i32).clamp(1, 5);
    if r >= 0.0 { format!("heat pos{level}") } else { format!("heat neg{level}") }
}

#[component]
fn MonthlyTable(months: Vec<PeriodReturn>, years: Vec<PeriodReturn>) -> impl IntoView {
    const NAMES: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    view! {
        <table class="grid compact monthly" data-testid="monthly-returns">
            <thead><tr><th>"Year"</th>{NAMES.iter().map(|n| view! { <th class="num">{*n}</th> }).collect_view()}<th class="num">"Year"</th></tr></thead>
            <tbody>
            {years.into_iter().rev().map(|y| {
                let cells = (1..=12u32).map(|m| match months.iter().find(|p| p.year == y.year && p.month == Some(m)) {
                    Some(p) => view! { <td class=format!("num {}", shade(p.ret))>{format::pct(p.ret)}</td> }.into_any(),
                    None => view! { <td></td> }.into_any(),
                }).collect_view();
                view! { <tr><td>{y.year}</td>{cells}<td class=format!("num {}", shade(y.ret))><strong>{format::pct(y.ret)}</strong></td></tr> }
            }).collect_view()}
            </tbody>
        </table>
    }
}

#[component]
fn TradeTable(t: domain::metrics::TradeStats) -> impl IntoView {
    let money = |d: Option<rust_decimal::Decimal>| d.map(format::pnl).unwrap_or_else(|| "—".into());
    let rows = vec![
        ("Trades (won / lost)", format!("{} ({} / {})", t.trades, t.wins, t.losses), "Closed round trips; breakeven trades count in the total only."),
        ("Hit rate", opt_pct(t.hit_rate), "Winning trades / all trades."),
        ("Profit factor", ratio(t.profit_factor), "Gross profit / gross loss of closed trades."),
        ("Payoff ratio", ratio(t.payoff_ratio), "Average win / |average loss|."),
        ("Expectancy (USD per trade)", money(t.expectancy), "Mean net PnL per closed trade."),
        ("Average win / loss (USD)", format!("{} / {}", money(t.average_win), money(t.average_loss)), "Mean net PnL of winning / losing trades."),
        ("Most wins / losses in a row", format!("{} / {}", t.max_consecutive_wins, t.max_consecutive_losses), "Longest runs of winning and losing trades, in closing order."),
        ("Average holding time", t.average_holding_secs.map(|s| if s >= 86_400.0 { format!("{:.1} days", s / 86_400.0) } else { format!("{:.1} h", s / 3600.0) }).unwrap_or_else(|| "—".into()), "Mean time from the opening fill to the closing fill."),
    ];
    view! {
        <table class="grid compact" data-testid="trade-table"><tbody>
            {rows.into_iter().map(|(label, value, def)| view! { <tr title=def><td>{label}</td><td class="num">{value}</td></tr> }).collect_view()}
        </tbody></table>
    }
}

#[component]
pub fn PerformancePage() -> impl IntoView {
    let query = leptos_router::hooks::use_query_map();
    let native = Memo::new(move |_| query.with(|q| q.get("interval").as_deref() == Some("native")));
    let data = Resource::new(move || native.get(), |n| get_performance(n.then(|| "native".to_string())));
    view! {
        <h1>"Performance"</h1>
        <p class="tabs" data-testid="interval-tabs">
            <a href="/performance" class=move || if native.get() { "" } else { "active" }>"Daily"</a>
            <a href="/performance?interval=native" class=move || if native.get() { "active" } else { "" } data-testid="interval-native">"Native bars"</a>
        </p>
        <p class="hint">{move || if native.get() {
            "Returns between consecutive market timestamps of the fund's equity (the native bar interval: hourly for EURUSD, daily for the stocks), annualised with the observed number of bars a year; no benchmark (daily index closes do not line up with bars). The same set is at GET /api/v1/metrics?interval=native."
        } else {
            "Daily returns of the fund's equity (last equity of each UTC day) against the S&P 500 index. Per-period figures, not per trade; definitions on hover and in docs/methodology.md. The same set is at GET /api/v1/metrics. Exit quality, attribution, execution cost and risk have pages of their own."
        }}</p>
        <Loaded data empty=Empty { when: |v: &domain::view::PerformanceView| v.metrics.periods < 2, text: "No daily returns yet: the metrics need equity on at least three days. Run the replay (tradewatch serve --demo) or post events.", testid: "performance-empty" } view=move |v: domain::view::PerformanceView| {
            let m = v.metrics.clone();
            let unit = if v.interval == "native" { "bar" } else { "daily" };
            let later = format!("Rolling figures appear once there are {} {unit} returns.", v.rolling_window);
            let growth = charts::lines_svg(&[("Fund", &v.growth, true), ("S&P 500", &v.benchmark_growth, false)], "Cumulative return (%)", true, "", 900, 260);
            let underwater = charts::lines_svg(&[("Drawdown", &v.underwater, true)], "Drawdown (%)", true, "", 900, 180);
            let rolling = charts::lines_svg(&[("Sharpe", &v.rolling_sharpe, true), ("Beta", &v.rolling_beta, false)], &format!("Rolling {}-period Sharpe / beta", v.rolling_window), false, &later, 900, 200);
            let vol = charts::lines_svg(&[("Volatility", &v.rolling_volatility, true)], &format!("Rolling {}-period volatility (%)", v.rolling_window), true, &later, 900, 180);
            let dist = charts::distribution_svg(&v.returns, m.var_95, 440, 240);
            view! {
                <p class="asof" data-testid="performance-span">{if v.interval == "native" {
                    format!("{} bar returns, {} to {}; annualised with {:.0} bars a year", m.periods, date(m.start), date(m.end), v.periods_per_year)
                } else {
                    format!("{} daily returns, {} to {}; {} with an S&P 500 return on the same date", m.periods, date(m.start), date(m.end), m.benchmark_periods.unwrap_or(0))
                }}</p>
                <section class="panel chart" data-testid="growth-chart" inner_html=growth></section>
                <section class="panel chart" inner_html=underwater></section>
                <div class="cols">
                    <section class="panel">
                        <h2>"Metrics"</h2>
                        <table class="grid compact" data-testid="metrics-table"><tbody>
                            {rows(&m).into_iter().map(|(label, value, def)| view! {
                                <tr title=def><td>{label}</td><td class="num">{value}</td></tr>
                            }).collect_view()}
                        </tbody></table>
                    </section>
                    <section class="panel">
                        <h2>{format!("Distribution of {unit} returns")}</h2>
                        {(v.returns.len() < m.periods).then(|| view! { <p class="hint">{format!("Drawn from an even sample of {} of the {} returns; the figures use all of them.", v.returns.len(), m.periods)}</p> })}
                        <div class="chart" inner_html=dist></div>
                    </section>
                </div>
                <section class="panel">
                    <h2>"Per trade (closed round trips)"</h2>
                    <p class="hint">"Per-trade figures: each closed round trip (flat to flat) counts once, whatever its size or length. Not comparable with the per-period figures above."</p>
                    <TradeTable t=v.trades.clone()/>
                </section>
                <section class="panel chart" inner_html=rolling></section>
                <section class="panel chart" inner_html=vol></section>
                <section class="panel">
                    <h2>"Monthly returns (%)"</h2>
                    <MonthlyTable months=m.monthly_returns.clone() years=m.yearly_returns.clone()/>
                </section>
            }
        }/>
    }
}
