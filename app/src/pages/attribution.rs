//! Attribution: realized PnL of closed trades split by factor, instrument, holding horizon, time
//! of day, day of week and market regime (each split sums to the total), and the fund's daily
//! returns by regime and around regime changes.
use domain::analytics::{Attribution, Bucket, FactorAttribution};
use domain::format;
use domain::regime::RegimeReport;
use leptos::prelude::*;
use rust_decimal::prelude::ToPrimitive;

use super::{opt_pct, pnl_class, ratio};
use super::Loaded;
use crate::server_fns::get_attribution;
use domain::view::AttributionView;

/// A bucket key without its sort prefix ("3: 1-5 d" -> "1-5 d", "2 Tue" -> "Tue").
fn label(k: &str) -> String {
    k.split_once(' ').filter(|(p, _)| p.len() == 1 || p.ends_with(':')).map(|(_, rest)| rest.to_string()).unwrap_or_else(|| k.to_string())
}

#[component]
fn BucketTable(#[prop(into)] title: String, buckets: Vec<Bucket>, #[prop(into)] testid: String) -> impl IntoView {
    view! {
        <table class="grid compact" data-testid=testid>
            <thead><tr><th>{title}</th><th class="num">"Trades"</th><th class="num">"PnL (USD)"</th></tr></thead>
            <tbody>
                {buckets.into_iter().map(|b| view! {
                    <tr><td>{label(&b.key)}</td><td class="num">{b.trades}</td><td class=pnl_class(b.pnl)>{format::pnl(b.pnl)}</td></tr>
                }).collect_view()}
            </tbody>
        </table>
    }
}

#[component]
fn Factors(f: FactorAttribution) -> impl IntoView {
    let bars: Vec<(String, f64)> = f.by_factor.iter().map(|b| (b.key.clone(), b.pnl.to_f64().unwrap_or(0.0))).collect();
    let svg = charts::bars_svg(&bars, "USD", 640);
    view! {
        <p class="hint" data-testid="factor-note">{format!(
            "{} of {} closed trades carried factor exposures (beta_mtum, beta_qual, beta_size, beta_usmv, beta_vlue features of the opening signal). Per trade, factor k adds direction x notional at cost x beta_k x the ETF's compounded return from the opening day's close to the closing day's; the residual is the rest of the trade's PnL, so the parts sum to the total exactly. Trades within one day see no daily factor move and are all residual; the bundled factor returns end on {}.",
            f.trades_with_exposures, f.trades, f.factors_last.map(|d| d.to_string()).unwrap_or_else(|| "—".into())
        )}</p>
        <div class="cols">
            <div class="chart" inner_html=svg></div>
            <BucketTable title="Factor" buckets=f.by_factor.clone() testid="factor-attribution"/>
        </div>
    }
}

#[component]
fn Regimes(r: RegimeReport) -> impl IntoView {
    let methods = r.methods.clone();
    let current = r.current.iter().map(|(d, l)| format!("{d}: {l}")).collect::<Vec<_>>().join(" · ");
    let paths: Vec<(String, Vec<(i64, f64)>)> = r.transitions.iter().map(|t| (format!("{} → {} ({}×)", t.from, t.to, t.count), t.path.clone())).collect();
    let svg = charts::event_paths_svg(&paths, 900, 280);
    view! {
        <p class="asof" data-testid="regime-current">{format!("Latest day: {}", if current.is_empty() { "—".to_string() } else { current })}</p>
        <p class="hint">{format!("Regimes are read from the bundled S&P 500 index, which ends on {}: later days have no regime and count as unlabelled.", r.benchmark_last.map(|d| d.to_string()).unwrap_or_else(|| "—".into()))}</p>
        <ul class="hint">
            {methods.into_iter().map(|(d, m)| view! { <li><strong>{d}</strong>": "{m}</li> }).collect_view()}
        </ul>
        <table class="grid compact" data-testid="regime-stats">
            <thead><tr>
                <th>"Dimension"</th><th>"Regime"</th>
                <th class="num" title="Fund days in this regime (share of the labelled days)">"Days"</th>
                <th class="num" title="The fund's daily returns of these days, compounded">"Fund return"</th>
                <th class="num" title="Mean daily return">"Mean / day"</th>
                <th class="num" title="Sample std of the daily returns x sqrt(252)">"Volatility"</th>
                <th class="num" title="mean / std x sqrt(252) of these days' returns">"Sharpe"</th>
                <th class="num" title="Share of days with a positive return">"Up days"</th>
                <th class="num" title="S&P 500 daily returns of the same days, compounded">"S&P 500"</th>
            </tr></thead>
            <tbody>
                {r.stats.iter().map(|s| view! {
                    <tr>
                        <td>{s.dimension.clone()}</td><td>{s.regime.clone()}</td>
                        <td class="num">{format!("{} ({:.0}%)", s.days, s.share_of_days * 100.0)}</td>
                        <td class="num">{format::pct(s.cumulative_return)}</td>
                        <td class="num">{opt_pct(s.mean_daily_return)}</td>
                        <td class="num">{opt_pct(s.annual_volatility)}</td>
                        <td class="num">{ratio(s.sharpe)}</td>
                        <td class="num">{opt_pct(s.positive_days)}</td>
                        <td class="num">{format::pct(s.benchmark_cumulative_return)}</td>
                    </tr>
                }).collect_view()}
            </tbody>
        </table>
        <h3>"Around regime changes"</h3>
        <p class="hint">"The fund's cumulative return from 5 trading days before to 10 after each change, relative to the close before the change, averaged over the changes of each kind."</p>
        <div class="chart" data-testid="regime-transitions" inner_html=svg></div>
        <table class="grid compact" data-testid="regime-transition-table">
            <thead><tr><th>"Dimension"</th><th>"Change"</th><th class="num">"Count"</th><th class="num" title="Mean compounded return over the 5 days before">"5 days before"</th><th class="num" title="Mean compounded return over the 10 days from the change">"10 days after"</th></tr></thead>
            <tbody>
                {r.transitions.iter().map(|t| view! {
                    <tr><td>{t.dimension.clone()}</td><td>{format!("{} → {}", t.from, t.to)}</td><td class="num">{t.count}</td><td class="num">{opt_pct(t.mean_before)}</td><td class="num">{opt_pct(t.mean_after)}</td></tr>
                }).collect_view()}
            </tbody>
        </table>
        <h3>"Realized PnL by the regime of the closing day"</h3>
        <div class="cols">
            {r.pnl.iter().map(|(dim, buckets)| view! { <BucketTable title=format!("By {dim}") buckets=buckets.clone() testid="regime-pnl"/> }).collect_view()}
        </div>
    }
}

#[component]
fn Splits(a: Attribution) -> impl IntoView {
    view! {
        <div class="cols">
            {a.breakdowns().into_iter().map(|(name, buckets)| view! {
                <BucketTable title=format!("By {name}") buckets=buckets.to_vec() testid="attribution"/>
            }).collect_view()}
        </div>
    }
}

#[component]
pub fn AttributionPage() -> impl IntoView {
    let data = Resource::new(|| (), |_| get_attribution());
    view! {
        <h1>"PnL attribution"</h1>
        <p class="hint">"Realized PnL net of fees of the closed round trips (flat to flat), split several ways; each split sums to the total exactly. Open positions are not included. The same figures are in GET /api/v1/metrics (attribution, factor_attribution, regimes)."</p>
        <Loaded data view=|v: AttributionView| view! {
                <p class="asof" data-testid="attribution-total">{format!("Total {} USD over {} trades", format::pnl(v.attribution.total), v.attribution.trades)}</p>
                <section class="panel">
                    <h2>"By factor"</h2>
                    <Factors f=v.factors.clone()/>
                </section>
                <section class="panel">
                    <h2>"By instrument, holding horizon and time"</h2>
                    <Splits a=v.attribution.clone()/>
                </section>
                <section class="panel">
                    <h2>"By market regime"</h2>
                    <Regimes r=v.regimes.clone()/>
                </section>
            }/>
    }
}
