//! The console's own events: the demo's first config, and what folds ask for (timeouts,
//! unlocks, breaker trips), written through the normal append path.

use anyhow::Result;
use chrono::{DateTime, Utc};
use domain::event::{Body, ConfigChange, Control, ControlAction, Id, OperatorResponse, Status};
use domain::fold::Action;
use domain::governance::{Config, Reason};


use super::*;

impl Console {

    /// The demo's first config version: every automation trades on its own from the start except
    /// [`DEMO_GATED_AUTOMATION`], whose first 3 entries wait for a person on /signals (the
    /// default threshold stays 10). Recorded like any change, with its reason.
    pub async fn demo_config(&self) -> Result<()> {
        let mut config = Config::default();
        config.gating.threshold = 0;
        config.gating.overrides.insert(DEMO_GATED_AUTOMATION.to_string(), 3);
        config.compliance = demo_compliance();
        let reason = Reason::parse(&format!(
            "demo set-up: automations trade automatically, except {DEMO_GATED_AUTOMATION}, whose first 3 entries need a person's approval; compliance limits sized to the demo's book (about 50,000 USD a position)"
        ))?;
        self.record(vec![Body::ConfigChange(ConfigChange { version: 1, actor: wire_id("demo")?, reason, config })], Utc::now())
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
        Ok(())
    }

    /// Whether a new entry signal of this automation would wait for a person.
    pub fn gates(&self, automation: &str) -> bool {
        read(&self.folds).governance.would_gate(automation)
    }

    /// Runs the rules once: times out pending signals, unlocks automations, trips breakers.
    pub async fn evaluate(&self, now: DateTime<Utc>) {
        self.check_ingest_errors(now).await;
        let due = write(&self.folds).due(now);
        if due.is_empty() {
            return;
        }
        let bodies: Vec<Body> = due
            .into_iter()
            .filter_map(|a| match action_event(a) {
                Ok(b) => Some(b),
                Err(e) => {
                    tracing::error!(error = %e, "a rule action that cannot be written");
                    None
                }
            })
            .collect();
        if let Err(e) = self.record(bodies, now).await {
            tracing::error!(error = %e, "appending rule actions");
        }
    }

}

/// The demo's compliance policy, sized to the paper engine's book (positions of about 50,000
/// USD, up to ten at a time, on 1,000,000 USD): within the first minutes the limits table shows
/// pre-breach warnings, AAPL's and the portfolio's limits breach, and GE (on the restricted list)
/// gets its orders flagged. FX trades in its own session; equities in New York's regular hours.
fn demo_compliance() -> domain::config::CompliancePolicy {
    use domain::config::compliance::{Limits, Policy, Prohibition};
    let usd = |x: i64| Some(rust_decimal::Decimal::from(x));
    let mut p = Policy::default();
    p.portfolio = Limits { max_gross_exposure: usd(400_000), max_net_exposure: usd(450_000), max_leverage: Some(0.5), max_order_notional: usd(100_000), max_daily_loss: usd(15_000), max_var_95: usd(5_000), ..Limits::default() };
    p.instruments.insert("AAPL".into(), Limits { max_position_notional: usd(50_000), ..Limits::default() });
    p.instruments.insert("MSFT".into(), Limits { max_position_quantity: usd(900), ..Limits::default() });
    p.instruments.insert("EURUSD".into(), Limits { max_position_quantity: usd(100_000), ..Limits::default() });
    p.automations.insert("volatility_breakout-us-equity".into(), Limits { max_gross_exposure: usd(350_000), ..Limits::default() });
    p.prohibited.insert(
        "GE".into(),
        Prohibition { reason: "restricted list: the fund's research desk holds inside information (demo)".into(), since: chrono::NaiveDate::from_ymd_opt(2017, 1, 1).unwrap_or_default() },
    );
    p.market_hours.default_class = Some("us_equity".into());
    p.market_hours.instruments.insert("EURUSD".into(), "fx".into());
    p.process.flag_risk_overrides = true;
    p
}

/// An id the console writes (its own names, a user's name, an id a page sent back).
pub(super) fn wire_id(s: &str) -> anyhow::Result<Id> {
    Id::parse(s).map_err(|e| anyhow::anyhow!("id '{}': {e}", s.chars().take(40).collect::<String>()))
}

/// A `system` event from one of the console's components.
pub fn system_event(component: &str, status: &str, detail: String) -> anyhow::Result<Body> {
    Ok(Body::System(Status { component: wire_id(component)?, status: wire_id(status)?, detail: Some(detail) }))
}

/// The event that carries out a fold's action.
pub(super) fn action_event(action: Action) -> anyhow::Result<Body> {
    Ok(match action {
        Action::Timeout { signal_id, response_ms, .. } => Body::OperatorResponse(OperatorResponse {
            signal_id: wire_id(&signal_id)?,
            action: wire_id("timeout")?,
            actor: wire_id("console")?,
            comment: Some("no decision within the approval timeout".into()),
            response_ms: Some(response_ms.max(0).unsigned_abs()),
        }),
        Action::Unlock { automation_id, approved, threshold } => Body::Control(Control {
            action: ControlAction::Unlock,
            automation_id: Some(wire_id(&automation_id)?),
            actor: wire_id("console")?,
            reason: Reason::parse(&format!("{approved} approved trades reached the gating threshold of {threshold}; entries now run without a person"))?,
            rule: None,
            value: None,
            limit: None,
        }),
        Action::Trip { automation_id, rule, value, limit } => Body::Control(Control {
            action: ControlAction::Pause,
            automation_id: automation_id.as_deref().map(wire_id).transpose()?,
            actor: wire_id("circuit_breaker")?,
            reason: Reason::parse(&format!("circuit breaker {rule}: value {value:.2} beyond limit {limit:.2}"))?,
            rule: Some(wire_id(rule)?),
            value: Some(value),
            limit: Some(limit),
        }),
        Action::Compliance(issue) => Body::ComplianceIssue(issue),
        Action::Alert(alert) => Body::Alert(alert),
    })
}
