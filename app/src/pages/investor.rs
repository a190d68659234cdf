//! The investor portal (read-only, every signed-in role; the only pages an investor sees):
//! the track record, the methodology, the simulated backtest, risk disclosures, decision
//! records, the weekly reports and the signed checkpoints. No page here shows a position,
//! an order or a signal beyond the decision records.
use domain::format;
use domain::track_record::{MonthRow, Summary, TrackRecord};
use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

use super::{Kpi, Loaded, opt_pct, ratio, time, tone};
use crate::server_fns::{get_backtest, get_checkpoints, get_decision_records, get_investor_summary, get_methodology};

type MaybeSection = Option<crate::server_fns::MethodologyPage>;
type Records = Vec<domain::view::DecisionRecordView>;

/// The portal's heading and its own navigation; `here` is the current tab's path.
#[component]
fn PortalNav(here: &'static str) -> impl IntoView {
    let tabs = [
        ("/investor", "Track record"),
        ("/investor/methodology", "Methodology"),
        ("/investor/backtest", "Backtesting results"),
        ("/investor/disclosures", "Risk disclosures"),
        ("/investor/decisions", "Decision records"),
        ("/reports", "Weekly reports"),
    ];
    view! {
        <h1>"Investor portal"</h1>
        <nav class="tabs" aria-label="Investor portal" data-testid="portal-nav">
            {tabs.into_iter().map(|(href, label)| view! { <a href=href class:active=here == href aria-current=(here == href).then_some("page")>{label}</a> }).collect_view()}
        </nav>
    }
}

fn sign_class(x: Option<f64>) -> &'static str {
    match x {
        Some(x) if x < 0.0 => "num neg",
        Some(_) => "num pos",
        None => "num",
    }
}

fn pct_cell(x: Option<f64>) -> impl IntoView {
    view! { <td class=sign_class(x)>{opt_pct(x)}</td> }
}

/// Gross, net and the S&P 500 over the whole record: `who` names the series ("Fund",
/// "Simulated"), `first` the cumulative column.
fn summary_table(r: &TrackRecord, who: &str, first: &'static str) -> impl IntoView {
    view! {
        <table class="table">
            <thead><tr><th></th><th class="num">{first}</th><th class="num">"Annualised"</th><th class="num">"Volatility (ann.)"</th><th class="num">"Sharpe"</th><th class="num">"Max drawdown"</th></tr></thead>
            <tbody>
                {summary_row(format!("{who}, gross of fees"), Some(r.gross.clone()))}
                {summary_row(format!("{who}, net of fees"), Some(r.net.clone()))}
                {summary_row("S&P 500".into(), r.benchmark.clone())}
            </tbody>
        </table>
    }
}

/// Cumulative, annualised, volatility, Sharpe and max drawdown of one series.
fn summary_row(label: String, s: Option<Summary>) -> impl IntoView {
    let s = s.unwrap_or_default();
    view! {
        <tr>
            <th scope="row">{label}</th>
            {pct_cell(s.cumulative)}
            {pct_cell(s.annualised)}
            <td class="num">{opt_pct(s.volatility)}</td>
            <td class="num">{ratio(s.sharpe)}</td>
            {pct_cell(s.max_drawdown)}
        </tr>
    }
}

/// One row a calendar year: gross, net, S&P 500.
fn annual_table(r: &TrackRecord) -> impl IntoView {
    let years = r.years.iter().map(|y| view! {
        <tr><th scope="row">{if y.partial { format!("{} (part)", y.year) } else { y.year.to_string() }}</th>{pct_cell(Some(y.gross))}{pct_cell(Some(y.net))}{pct_cell(y.benchmark)}</tr>
    }).collect_view();
    view! {
        <table class="table" data-testid="annual-returns">
            <thead><tr><th>"Year"</th><th class="num">"Gross"</th><th class="num">"Net"</th><th class="num">"S&P 500"</th></tr></thead>
            <tbody>{years}</tbody>
        </table>
    }
}

const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/// Years down, months across; three rows a year: gross, net, S&P 500.
fn monthly_table(r: &TrackRecord) -> impl IntoView {
    let rows = r.years.iter().map(|y| {
        let months: Vec<&MonthRow> = r.months.iter().filter(|m| m.year == y.year).collect();
        let cells = |f: &dyn Fn(&MonthRow) -> Option<f64>| {
            (1..=12u32).map(|m| pct_cell(months.iter().find(|x| x.month == m).and_then(|x| f(x)))).collect_view()
        };
        let year = if y.partial { format!("{}*", y.year) } else { y.year.to_string() };
        view! {
            <tr class="year-start"><th scope="rowgroup" rowspan="3">{year}</th><td>"Gross"</td>{cells(&|m| Some(m.gross))}{pct_cell(Some(y.gross))}</tr>
            <tr><td>"Net"</td>{cells(&|m| Some(m.net))}{pct_cell(Some(y.net))}</tr>
            <tr class="bench"><td>"S&P 500"</td>{cells(&|m| m.benchmark)}{pct_cell(y.benchmark)}</tr>
        }
    }).collect_view();
    view! {
        <div class="scroll">
            <table class="table monthly" data-testid="monthly-returns">
                <thead><tr><th>"Year"</th><th></th>{MONTHS.iter().map(|m| view! { <th class="num">{*m}</th> }).collect_view()}<th class="num">"Year"</th></tr></thead>
                <tbody>{rows}</tbody>
            </table>
        </div>
    }
}

#[component]
pub fn InvestorPage() -> impl IntoView {
    let data = Resource::new(|| (), |_| get_investor_summary());
    view! {
        <PortalNav here="/investor"/>
        <p class="hint">"The fund's track record, computed from the audited event log. Past performance does not guarantee future results; read the "<a href="/investor/disclosures">"risk disclosures"</a>"."</p>
        <Loaded data view=move |v: domain::view::InvestorView| {
            let svg = charts::equity_svg(&v.equity_curve, 900, 280);
            let r = v.track_record;
            let dd = charts::lines_svg(&[("Fund (gross)", &r.drawdown, true), ("S&P 500", &r.benchmark_drawdown, false)], "Drawdown", true, "The drawdown appears once the record has two days.", 900, 240);
            let period = match (r.start, r.end) {
                (Some(a), Some(b)) => format!("{a} to {b} ({} daily returns)", r.days),
                _ => "no returns yet".into(),
            };
            let fees = r.fees.map(|f| format!("a management fee of {} a year, accrued by calendar day, and a performance fee of {} of the net gain above the high-water mark, taken at each month end", format::pct(f.management), format::pct(f.performance))).unwrap_or_else(|| "no fees (the configured fee terms are invalid)".into());
            view! {
                <p class="asof">"As of (market time) "{v.as_of.map(time).unwrap_or_else(|| "—".into())}" · record "{period.clone()}</p>
                <div class="kpis" data-testid="investor-kpis">
                    <Kpi label="Equity (USD)" value=format::money(v.equity) title="Capital plus realized and unrealized PnL, net of trading costs, before management and performance fees."/>
                    <Kpi label="Total PnL (USD)" value=format::pnl(v.total_pnl) tone=Signal::derive(move || tone(v.total_pnl)) title="Realized + unrealized - commissions since inception."/>
                    <Kpi label="Max drawdown" value=format::pct(v.max_drawdown) title="Largest fall of equity from a previous peak, as a fraction of that peak."/>
                    <Kpi label=format!("Sharpe ({} d)", v.sharpe_window) value=v.rolling_sharpe.map(|s| format!("{s:.2}")).unwrap_or_else(|| "—".into()) title="Annualised Sharpe of daily returns, sqrt(252) scaling, risk-free 0."/>
                </div>
                <section class="panel" data-testid="track-record">
                    <h2>"Track record"</h2>
                    {summary_table(&r, "Fund", "Since inception")}
                    <h3>"Annual returns"</h3>
                    {annual_table(&r)}
                    <h3>"Monthly returns"</h3>
                    {monthly_table(&r)}
                    <p class="hint">"* part of the year: the record starts or ends inside it (the current year is year to date)."</p>
                </section>
                <section class="panel chart"><h2>"Equity (USD)"</h2><div inner_html=svg></div></section>
                <section class="panel chart" data-testid="drawdown-chart"><h2>"Drawdown: fund against the S&P 500"</h2><div inner_html=dd></div></section>
                <section class="panel" data-testid="presentation-notes">
                    <h2>"Notes to the presentation"</h2>
                    <ul class="notes">
                        <li>"What is included: every fill of every automation the console records, from the first event in the log ("{period}"). Nothing is excluded or back-filled; the log is hash-chained and can be checked against the signed checkpoints below."</li>
                        <li>"Currency: "{r.currency.clone()}". Starting capital: "{format::money(r.capital)}" USD. The book has no deposits or withdrawals, so the daily returns are time-weighted returns, linked geometrically into months, years and the whole record."</li>
                        <li>"Valuation: daily, at the last event of each UTC day of market time, with open positions at their latest mark."</li>
                        <li>"Gross of fees: after trading costs (commissions, spread and market impact are in the fill prices) and before management and performance fees. Net of fees: gross less "{fees}". These are model fees, as set in the console's configuration; an investor's own terms may differ."</li>
                        <li>"Annualised figures appear only for records of a year or more, as the GIPS standards require. Volatility is the annualised standard deviation of daily returns (sqrt 252); Sharpe is annualised, risk-free rate 0; drawdown is the fall of the compounded value from its running peak."</li>
                        <li>"Benchmark: the S&P 500 price index (no dividends), bundled with the console, over the same calendar span. The fund does not try to track it; it is shown for context."</li>
                        <li>"Where the trades come from a paper engine, as in the demo, the record is simulated."</li>
                    </ul>
                </section>
            }
        }/>
        <Checkpoints/>
    }
}

/// The methodology, one section per page.
#[component]
pub fn MethodologyPage() -> impl IntoView {
    let params = use_params_map();
    let slug = move || params.with(|p| p.get("section").unwrap_or_default());
    let data = Resource::new(slug, get_methodology);
    view! {
        <PortalNav here="/investor/methodology"/>
        <Loaded data view=move |page: MaybeSection| match page {
            None => view! { <p class="empty" data-testid="methodology-missing">"No such section of the methodology. "<a href="/investor/methodology">"Contents"</a></p> }.into_any(),
            Some(page) => {
                let at = page.sections.iter().position(|(s, _)| *s == page.slug).unwrap_or(0);
                let link = |i: usize, label: &'static str| page.sections.get(i).map(|(s, t)| view! { <a href=format!("/investor/methodology/{s}")>{format!("{label} {t}")}</a> });
                let prev = at.checked_sub(1).and_then(|i| link(i, "←"));
                let next = link(at + 1, "→");
                let toc = page.sections.iter().map(|(s, t)| {
                    let here = *s == page.slug;
                    view! { <li><a href=format!("/investor/methodology/{s}") aria-current=here.then_some("page")>{t.clone()}</a></li> }
                }).collect_view();
                view! {
                    <div class="doc-layout">
                        <nav class="doc-toc" aria-label="Methodology contents"><h2>"Methodology"</h2><ol>{toc}</ol></nav>
                        // Our own file rendered on the server; raw HTML in it is escaped (app::docs).
                        <article class="panel doc" data-testid="methodology">
                            <h2>{page.title.clone()}</h2>
                            <div inner_html=page.html.clone()></div>
                            <p class="doc-pager">{prev}" "{next}</p>
                        </article>
                    </div>
                }.into_any()
            }
        }/>
    }
}

/// The paper engine's results on the bundled data, labelled as simulated.
#[component]
pub fn BacktestPage() -> impl IntoView {
    let data = Resource::new(|| (), |_| get_backtest());
    view! {
        <PortalNav here="/investor/backtest"/>
        <Loaded data view=move |page: crate::server_fns::BacktestPage| {
            let results = match page.results {
                None => view! { <p class="empty" data-testid="backtest-pending">"The backtest is being computed (or this console has no bundled market data); reload in a minute."</p> }.into_any(),
                Some(b) => {
                    let r = b.record;
                    let svg = charts::equity_svg(&b.equity_curve, 900, 260);
                    let dd = charts::lines_svg(&[("Backtest", &r.drawdown, true), ("S&P 500", &r.benchmark_drawdown, false)], "Drawdown", true, "No drawdown yet.", 900, 220);
                    let t = b.trades;
                    view! {
                        <p class="asof">{format!("{} · {} to {} · seed {} · starting capital {} USD · computed in {:.1} s",
                            b.dataset, r.start.map(|d| d.to_string()).unwrap_or_default(), r.end.map(|d| d.to_string()).unwrap_or_default(), b.seed, format::money(r.capital), b.computed_ms as f64 / 1000.0)}</p>
                        <section class="panel" data-testid="backtest-results">
                            <h2>"Results"</h2>
                            {summary_table(&r, "Simulated", "Cumulative")}
                            <p>{format!("{} closed trades, hit rate {}, profit factor {}, commissions {} USD.", t.trades, opt_pct(t.hit_rate), ratio(t.profit_factor), format::money(b.fees))}</p>
                            <h3>"Annual returns"</h3>
                            {annual_table(&r)}
                        </section>
                        <section class="panel chart"><h2>"Simulated equity (USD)"</h2><div inner_html=svg></div></section>
                        <section class="panel chart"><h2>"Simulated drawdown against the S&P 500"</h2><div inner_html=dd></div></section>
                    }.into_any()
                }
            };
            view! {
                <p class="warning" data-testid="simulated-label"><strong>"Simulated results."</strong>" These are hypothetical: the paper engine replayed the bundled market data with the models below. No money was at risk, no order reached a market, and the figures were computed with hindsight of the data they ran on. Simulated results have inherent limits and do not predict the fund's results."</p>
                {results}
                <section class="panel doc" data-testid="backtest-models">
                    <h2>"The models the simulation used"</h2>
                    // The methodology's own section (app::docs), so the page and the document never differ.
                    <div inner_html=page.models_html></div>
                </section>
            }
        }/>
    }
}

/// Risk disclosures: fixed text.
#[component]
pub fn DisclosuresPage() -> impl IntoView {
    view! {
        <PortalNav here="/investor/disclosures"/>
        <section class="panel doc" data-testid="disclosures">
            <h2>"Risk disclosures"</h2>
            <p>"Read these before relying on any figure in this portal."</p>
            <h3>"Loss of capital"</h3>
            <p>"Systematic trading can lose money, including all of the capital invested. Past performance, simulated or real, does not guarantee future results."</p>
            <h3>"Simulated and paper results"</h3>
            <p>"The backtesting results, and any record produced by a paper engine (as in this demonstration), are hypothetical. They are computed with models of spread, market impact, commissions and latency, not with real executions, and with knowledge of the data they ran on. Real trading faces liquidity, queue position, outages and costs the models do not capture."</p>
            <h3>"Model and strategy risk"</h3>
            <p>"The strategies follow rules fitted to past markets (trend, mean reversion, volatility breakouts). Markets change; a rule that worked can stop working without warning. Position sizes come from a capped Kelly fraction estimated from past trades, which can overstate the edge."</p>
            <h3>"Leverage, concentration and liquidity"</h3>
            <p>"Gross exposure may reach 150% of equity, and positions can concentrate in a few instruments. Losses are then larger than on unleveraged, diversified holdings, and closing positions in a falling market can cost more than the model assumes."</p>
            <h3>"Currency and instruments"</h3>
            <p>"Figures are in US dollars. The fund trades US equities and EUR/USD; an investor whose own currency is not the dollar also bears the exchange rate."</p>
            <h3>"Automation and operations"</h3>
            <p>"Orders are placed by software. Limits, circuit breakers, human approval of each automation's first trades and an emergency pause reduce, but do not remove, the risk of a software or data fault causing losses."</p>
            <h3>"Automated reviews of decisions"</h3>
            <p>"Decision records show the reasoning an automated reviewer recorded beside each exit. In this demonstration that reviewer is rule-based text from the paper engine, not a language model; in any case it is an input to the desk, not advice."</p>
            <h3>"Fees"</h3>
            <p>"Net-of-fee figures use the model fee terms stated on the track record. Your own terms, taxes and the costs of your account are not included."</p>
            <h3>"Verification"</h3>
            <p>"The signed checkpoints prove that the events behind these figures were not altered or removed after signing. They do not prove that the events describe real trades: that is the work of the fund's auditors."</p>
        </section>
    }
}

/// Exit signals with the desk's answer and the reviewer's reasoning.
#[component]
pub fn DecisionsPage() -> impl IntoView {
    let data = Resource::new(|| (), |_| get_decision_records());
    view! {
        <PortalNav here="/investor/decisions"/>
        <p class="hint">"Each exit signal an automation raised, with the reasoning the automated reviewer recorded beside it, and whether and how fast the desk acknowledged it inside the engine's recommended window. Records appear one day of market time after the signal, so no open position shows; orders, sizes and prices are not shown."</p>
        <Loaded data view=move |rows: Records| {
            if rows.is_empty() {
                return view! { <p class="empty" data-testid="decisions-empty">"No decision records yet: they appear one day of market time after an exit signal."</p> }.into_any();
            }
            let rows = rows.into_iter().map(|d| {
                let r = d.record;
                let window = if r.window_secs > 0 { format!("{} min", r.window_secs / 60) } else { "—".into() };
                let (answer, timing, class) = match &r.response {
                    Some(a) => {
                        let ms = a.response_ms.unwrap_or(0);
                        let inside = r.window_secs == 0 || ms <= i64::from(r.window_secs) * 1000;
                        (format!("{} by {}", a.action, a.actor), format!("{} {}", format::ms(ms as f64), if inside { "(inside the window)" } else { "(after the window)" }), if inside { "good" } else { "bad" })
                    }
                    None => ("not acknowledged".to_string(), "—".to_string(), "muted"),
                };
                view! {
                    <tr>
                        <td>{time(r.ts)}</td>
                        <td>{r.automation_id.clone()}</td>
                        <td>{r.instrument.clone()}</td>
                        <td>{d.exit_reason.clone().unwrap_or_else(|| r.signal_type.clone())}</td>
                        <td class="reasoning">{d.llm_reasoning.clone().unwrap_or_else(|| "—".into())}</td>
                        <td class="num">{window}</td>
                        <td class=class>{answer}</td>
                        <td class="num">{timing}</td>
                    </tr>
                }
            }).collect_view();
            view! {
                <table class="table" data-testid="decision-records">
                    <thead><tr><th>"Signal (market time)"</th><th>"Automation"</th><th>"Instrument"</th><th>"Exit"</th><th>"Reviewer's reasoning"</th><th class="num">"Window"</th><th>"Desk's answer"</th><th class="num">"Answered after"</th></tr></thead>
                    <tbody>{rows}</tbody>
                </table>
            }.into_any()
        }/>
    }
}

/// The signed checkpoints: what an investor saves to check later that nothing was altered.
#[component]
fn Checkpoints() -> impl IntoView {
    let data = Resource::new(|| (), |_| get_checkpoints());
    view! {
        <section class="panel" id="verify" data-testid="checkpoints">
            <h2>"Verify these records"</h2>
            <p class="hint">
                "Every event behind these figures is in a hash-chained log. At regular points the console signs a checkpoint: the Merkle tree head (RFC 9162) of the log so far, with its ed25519 key. "
                "Save a checkpoint; later, anyone with a copy of the log can prove that every event it covered is still there, unchanged: "
                <code>"tradewatch verify --checkpoint checkpoint.json --key KEY"</code>
                ". Proofs for one event: " <code>"GET /api/v1/proofs/inclusion?seq=N"</code> "."
            </p>
            <Loaded data view=move |v: domain::view::CheckpointsView| {
                let key = v.public_key.clone().unwrap_or_else(|| "checkpoints are off on this console".into());
                let rows = v.checkpoints.into_iter().map(|r| {
                    let c = r.checkpoint;
                    view! {
                        <tr>
                            <td>{time(c.signed_at)}</td>
                            <td class="num">{format!("1–{}", c.tree_size)}</td>
                            <td><code title=c.root.clone()>{c.root.chars().take(16).collect::<String>()}"…"</code></td>
                            <td class="num">{format!("event #{}", r.seq)}</td>
                            <td class=if r.signature_ok { "good" } else { "bad" }>{if r.signature_ok { "valid" } else { "INVALID" }}</td>
                        </tr>
                    }
                }).collect_view();
                view! {
                    <p>"Public key: " <code data-testid="checkpoint-key">{key}</code></p>
                    <p>"The log holds " {v.head_seq} " events. " <a href="/api/v1/checkpoints/latest" download="checkpoint.json">"Download the latest checkpoint"</a></p>
                    <table class="table">
                        <thead><tr><th>"Signed (UTC)"</th><th>"Events covered"</th><th>"Merkle root"</th><th>"Recorded as"</th><th>"Signature"</th></tr></thead>
                        <tbody>{rows}</tbody>
                    </table>
                }
            }/>
        </section>
    }
}
