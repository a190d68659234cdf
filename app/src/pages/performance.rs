//! Performance: a tearsheet of the fund's daily equity returns against the S&P 500 index
//! (growth, underwater, rolling Sharpe / volatility / beta, the distribution, monthly returns,
//! and the metric set with each definition on hover).
use domain::format;
use domain::metrics::{MetricSet, PeriodReturn};
use leptos::prelude::*;

use super::opt_pct;
use crate::api::get_performance;
use crate::charts;

fn ratio(x: Option<f64>) -> String {
    format::opt(x, format::ratio)
}

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

fn ms(x: Option<f64>) -> String {
    format::opt(x, format::ms)
}

#[component]
fn KpiTable(report: domain::kpi::KpiReport) -> impl IntoView {
    let heads = [
        ("SLAR", "Of closed trades with a stop-loss, the share an exit signal closed before the mid crossed the stop."),
        ("PRR", "Realized price gain / best unrealized price gain, quantity-weighted."),
        ("TTDR", "Of exits with an open position, the share after which the mid first moved 1% against that position within 5 days."),
        ("FER", "Of those exits, the share after which the mid first moved 1% further in the position's favour."),
        ("ERT p50 / p95", "Time from the exit signal to the first operator response or order for it."),
        ("EAW%", "Exit signals reacted to within their recommended window."),
        ("Exits", "Exit signals (judged for TTDR / FER)."),
    ];
    let row = |label: String, v: &domain::kpi::KpiValues| {
        view! {
            <tr>
                <td>{label}</td>
                <td class="num">{opt_pct(v.slar)}</td>
                <td class="num">{opt_pct(v.prr)}</td>
                <td class="num">{opt_pct(v.ttdr)}</td>
                <td class="num">{opt_pct(v.fer)}</td>
                <td class="num">{format!("{} / {}", ms(v.ert_median_ms), ms(v.ert_p95_ms))}</td>
                <td class="num">{opt_pct(v.eaw)}</td>
                <td class="num">{format!("{} ({})", v.exits, v.exits_judged)}</td>
            </tr>
        }
    };
    let overall = row("All".into(), &report.overall);
    let weeks = report.weekly.iter().rev().take(12).map(|(w, v)| row(format!("week of {w}"), v)).collect_view();
    view! {
        <table class="grid compact" data-testid="kpi-table">
            <thead><tr><th></th>{heads.into_iter().map(|(h, def)| view! { <th class="num" title=def>{h}</th> }).collect_view()}</tr></thead>
            <tbody>{overall}{weeks}</tbody>
        </table>
    }
}

#[component]
fn SlippageTable(r: domain::analytics::SlippageReport) -> impl IntoView {
    use domain::analytics::CostParts;
    let cell = |c: &CostParts, part: rust_decimal::Decimal| format!("{} ({})", format::pnl(part), format::opt(c.bps(part), format::bps));
    let row = move |label: String, c: &CostParts| {
        view! {
            <tr>
                <td>{label}</td><td class="num">{c.fills}</td>
                <td class="num">{cell(c, c.timing)}</td><td class="num">{cell(c, c.spread)}</td><td class="num">{cell(c, c.impact)}</td>
                <td class="num">{cell(c, c.opportunity)}</td><td class="num"><strong>{cell(c, c.total())}</strong></td>
            </tr>
        }
    };
    let groups = [("instrument", &r.by_instrument), ("order type", &r.by_order_type), ("liquidity", &r.by_liquidity)];
    view! {
        <table class="grid compact" data-testid="slippage-table">
            <thead><tr><th></th><th class="num">"Fills"</th><th class="num">"Timing"</th><th class="num">"Spread"</th><th class="num">"Impact"</th><th class="num">"Opportunity"</th><th class="num">"Total"</th></tr></thead>
            <tbody>
                {row("All fills".into(), &r.total)}
                {groups.into_iter().flat_map(|(name, map)| map.iter().map(move |(k, c)| row(format!("{name}: {k}"), c)).collect::<Vec<_>>()).collect_view()}
            </tbody>
        </table>
    }
}

#[component]
fn AttributionTables(a: domain::analytics::Attribution) -> impl IntoView {
    let total = format::pnl(a.total);
    let label = |k: &str| k.split_once(' ').filter(|(p, _)| p.len() == 1 || p.ends_with(':')).map(|(_, rest)| rest.to_string()).unwrap_or_else(|| k.to_string());
    view! {
        <p data-testid="attribution-total">{format!("Total {total} USD over {} trades", a.trades)}</p>
        <div class="cols">
            {a.breakdowns().into_iter().map(|(name, buckets)| view! {
                <table class="grid compact" data-testid="attribution">
                    <thead><tr><th>{format!("By {name}")}</th><th class="num">"Trades"</th><th class="num">"PnL (USD)"</th></tr></thead>
                    <tbody>
                        {buckets.iter().map(|b| view! {
                            <tr><td>{label(&b.key)}</td><td class="num">{b.trades}</td><td class=if b.pnl.is_sign_negative() { "num neg" } else { "num pos" }>{format::pnl(b.pnl)}</td></tr>
                        }).collect_view()}
                    </tbody>
                </table>
            }).collect_view()}
        </div>
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
    let data = Resource::new(|| (), |_| get_performance());
    view! {
        <h1>"Performance"</h1>
        <p class="hint">"Daily returns of the fund's equity (last equity of each UTC day) against the S&P 500 index. Per-period figures, not per trade; definitions on hover and in docs/methodology.md. The same set is at GET /api/v1/metrics."</p>
        <Suspense fallback=|| view! { <p class="empty">"Loading…"</p> }>
            {move || data.get().map(|r| match r {
                Err(e) => view! { <p class="error">{e.to_string()}</p> }.into_any(),
                Ok(v) if v.metrics.periods < 2 => view! {
                    <p class="empty" data-testid="performance-empty">"No daily returns yet: the metrics need equity on at least three days. Run the replay (tradewatch serve --demo) or post events."</p>
                }.into_any(),
                Ok(v) => {
                    let m = v.metrics.clone();
                    let later = format!("Rolling figures appear once there are {} daily returns.", v.rolling_window);
                    let growth = charts::lines_svg(&[("Fund", &v.growth, true), ("S&P 500", &v.benchmark_growth, false)], "Cumulative return (%)", true, "", 900, 260);
                    let underwater = charts::lines_svg(&[("Drawdown", &v.underwater, true)], "Drawdown (%)", true, "", 900, 180);
                    let rolling = charts::lines_svg(&[("Sharpe", &v.rolling_sharpe, true), ("Beta", &v.rolling_beta, false)], &format!("Rolling {} d Sharpe / beta", v.rolling_window), false, &later, 900, 200);
                    let vol = charts::lines_svg(&[("Volatility", &v.rolling_volatility, true)], &format!("Rolling {} d volatility (%)", v.rolling_window), true, &later, 900, 180);
                    let dist = charts::distribution_svg(&v.returns, m.var_95, 440, 240);
                    view! {
                        <p class="asof" data-testid="performance-span">{format!("{} daily returns, {} to {}; {} with an S&P 500 return on the same date", m.periods, date(m.start), date(m.end), m.benchmark_periods.unwrap_or(0))}</p>
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
                                <h2>"Distribution of daily returns"</h2>
                                <div class="chart" inner_html=dist></div>
                            </section>
                        </div>
                        <section class="panel">
                            <h2>"Per trade (closed round trips)"</h2>
                            <p class="hint">"Per-trade figures: each closed round trip (flat to flat) counts once, whatever its size or length. Not comparable with the per-period figures above."</p>
                            <TradeTable t=v.trades.clone()/>
                        </section>
                        <section class="panel">
                            <h2>"Exit quality"</h2>
                            <p class="hint">"How well exits work: SLAR stop-loss avoidance, PRR profit retention, TTDR / FER exits confirmed / contradicted by the next 1% move within 5 days, ERT reaction time, EAW% reacted within the window. Definitions on hover and in docs/methodology.md."</p>
                            <KpiTable report=v.exit_kpis.clone()/>
                        </section>
                        <section class="panel">
                            <h2>"PnL attribution (closed trades, USD)"</h2>
                            <p class="hint">"Realized PnL net of fees of the closed round trips, split four ways; each split sums to the total. Open positions are not included."</p>
                            <AttributionTables a=v.attribution.clone()/>
                        </section>
                        <section class="panel">
                            <h2>"Execution quality: cost against the decision price"</h2>
                            <p class="hint">"USD and bps of filled notional, positive = a cost. Timing: the mid moved between signal and order. Spread: half the spread paid at the order. Impact: the fill against the touch. Opportunity: unfilled quantity times the move since the signal, at cancel or reject. The parts add up to the total."</p>
                            <SlippageTable r=v.slippage.clone()/>
                        </section>
                        <section class="panel chart" inner_html=rolling></section>
                        <section class="panel chart" inner_html=vol></section>
                        <section class="panel">
                            <h2>"Monthly returns (%)"</h2>
                            <MonthlyTable months=m.monthly_returns.clone() years=m.yearly_returns.clone()/>
                        </section>
                    }.into_any()
                }
            })}
        </Suspense>
    }
}
