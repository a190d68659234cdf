//! The investor portal: the track record only, read-only (no signals, orders or config).
use domain::format;
use leptos::prelude::*;

use super::{Kpi, Loaded, time, tone};
use crate::server_fns::{get_checkpoints, get_investor_summary};

#[component]
pub fn InvestorPage() -> impl IntoView {
    let data = Resource::new(|| (), |_| get_investor_summary());
    view! {
        <h1>"Investor portal"</h1>
        <p class="hint">"The fund's track record from the audited event log. Methodology: every figure is defined in docs/methodology.md; past performance does not guarantee future results."</p>
        <Loaded data view=move |v: domain::view::InvestorView| {
            let svg = charts::equity_svg(&v.equity_curve, 900, 280);
            view! {
                <p class="asof">"As of (market time) "{v.as_of.map(time).unwrap_or_else(|| "—".into())}</p>
                <div class="kpis" data-testid="investor-kpis">
                    <Kpi label="Equity (USD)" value=format::money(v.equity) title="Capital plus realized and unrealized PnL, net of fees."/>
                    <Kpi label="Total PnL (USD)" value=format::pnl(v.total_pnl) tone=Signal::derive(move || tone(v.total_pnl)) title="Realized + unrealized - fees since inception."/>
                    <Kpi label="Max drawdown" value=format::pct(v.max_drawdown) title="Largest fall of equity from a previous peak, as a fraction of that peak."/>
                    <Kpi label=format!("Sharpe ({} d)", v.sharpe_window) value=v.rolling_sharpe.map(|s| format!("{s:.2}")).unwrap_or_else(|| "—".into()) title="Annualised Sharpe of daily returns, sqrt(252) scaling, risk-free 0."/>
                </div>
                <section class="panel chart" inner_html=svg></section>
            }
        }/>
        <Checkpoints/>
    }
}

/// The signed checkpoints: what an investor saves to check later that nothing was altered.
#[component]
fn Checkpoints() -> impl IntoView {
    let data = Resource::new(|| (), |_| get_checkpoints());
    view! {
        <section class="panel" data-testid="checkpoints">
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
