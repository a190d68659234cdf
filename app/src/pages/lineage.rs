//! A trade's lineage: signal -> risk check -> orders -> fills, with the latency of each step.
use domain::format;
use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::use_params_map;

use super::time;
use crate::server_fns::get_lineage;

#[component]
pub fn LineagePage() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.with(|p| p.get("signal_id").unwrap_or_default());
    let lineage = Resource::new(id, get_lineage);
    let ms = |x: Option<i64>| x.map(|m| format::ms(m as f64)).unwrap_or_else(|| "—".into());
    view! {
        <h1>"Trade lineage"</h1>
        <Suspense fallback=|| view! { <p class="empty">"Loading…"</p> }>
            {move || lineage.get().map(|r| match r {
                Err(e) => view! { <p class="error">{format!("No trade with signal id '{}': {e}", id())}</p> }.into_any(),
                Ok(l) => view! {
                    <p class="asof">"Signal "<code>{l.signal_id.clone()}</code></p>
                    <section class="kpis">
                        <div class="kpi"><div class="kpi-label">"Signal → risk check"</div><div class="kpi-value">{ms(l.signal_to_risk_check_ms)}</div></div>
                        <div class="kpi"><div class="kpi-label">"Signal → order"</div><div class="kpi-value" data-testid="signal-to-order">{ms(l.signal_to_order_ms)}</div></div>
                        <div class="kpi"><div class="kpi-label">"Order → first fill"</div><div class="kpi-value">{ms(l.order_to_first_fill_ms)}</div></div>
                        <div class="kpi"><div class="kpi-label">"Signal → last fill"</div><div class="kpi-value">{ms(l.signal_to_last_fill_ms)}</div></div>
                    </section>
                    <ol class="timeline" data-testid="lineage">
                        {l.steps.into_iter().map(|s| view! {
                            <li class=format!("step {}", s.kind)>
                                <div class="step-head">
                                    <span class="step-kind">{s.kind.clone()}</span>
                                    <span class="step-time">{time(s.ts)}</span>
                                    <span class="step-lat">{format!("+{} since signal · +{} since previous", format::ms(s.since_signal_ms as f64), format::ms(s.since_previous_ms as f64))}</span>
                                    <A href=format!("/audit/{}", s.seq)>{format!("seq {}", s.seq)}</A>
                                </div>
                                <div class="step-summary">{s.summary.clone()}</div>
                            </li>
                        }).collect_view()}
                    </ol>
                }.into_any(),
            })}
        </Suspense>
    }
}
