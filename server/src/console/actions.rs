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
        let reason = Reason::parse(&format!(
            "demo set-up: automations trade automatically, except {DEMO_GATED_AUTOMATION}, whose first 3 entries need a person's approval"
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
    })
}
