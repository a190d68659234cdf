//! Server functions of the alerts page: the list and one alert (read: every operations role),
//! acknowledge, silence and end a silence (people only: a trader on his automations' alerts, risk
//! on all; an API token never acts).
#[cfg(feature = "ssr")]
use domain::governance::Permission;
use domain::anomaly::AnomalyRecord;
use domain::anomaly::alerts::{AlertPage, AlertQuery, AlertRow};
use leptos::prelude::*;

use crate::error::AppError;
#[cfg(feature = "ssr")]
use crate::error::with_status;
#[cfg(feature = "ssr")]
use super::console;

/// Anomalies the page lists.
pub const ANOMALIES_SHOWN: usize = 20;

/// The alerts page: one page of alerts, the newest anomalies, and whether the caller may act.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct AlertDesk {
    pub page: AlertPage,
    pub anomalies: Vec<AnomalyRecord>,
    pub anomalies_found: u64,
    /// Fingerprints of the listed alerts the caller may acknowledge or silence.
    pub actionable: Vec<String>,
}

#[server(endpoint = "get_alerts")]
pub async fn get_alerts(query: AlertQuery) -> Result<AlertDesk, AppError> {
    let user = crate::session::require(Permission::ViewOperations)?;
    let c = console(Permission::ViewOperations)?;
    let page = c.alerts(&query);
    let (anomalies, anomalies_found) = c.anomalies(ANOMALIES_SHOWN);
    let actionable = if user.role.allows(Permission::ActOnAlerts) { page.alerts.iter().filter(|a| c.may_act_on_alert(&user, a)).map(|a| a.fingerprint.clone()).collect() } else { Vec::new() };
    Ok(AlertDesk { page, anomalies, anomalies_found, actionable })
}

/// One alert with its history, and whether the caller may act on it.
#[server(endpoint = "get_alert")]
pub async fn get_alert(fingerprint: String) -> Result<(AlertRow, bool), AppError> {
    let user = crate::session::require(Permission::ViewOperations)?;
    let c = console(Permission::ViewOperations)?;
    let alert = with_status(c.alert(&fingerprint).ok_or(AppError::NotFound))?;
    let may = user.role.allows(Permission::ActOnAlerts) && c.may_act_on_alert(&user, &alert);
    Ok((alert, may))
}

/// Runs a step for a plain form post (a redirect to `back` with `?done=` or `?error=`) or for
/// code (the status of the result).
#[cfg(feature = "ssr")]
async fn step(step: crate::service::AlertStepRequest, back: String, done: &str) -> Result<(), AppError> {
    let from_form = super::from_form();
    let result = async {
        let user = crate::session::require(Permission::ActOnAlerts)?;
        let c = console(Permission::ActOnAlerts)?;
        c.alert_step(&user, step).await.map(|_| ())
    }
    .await;
    if !from_form {
        return with_status(result);
    }
    let query = match &result {
        Ok(()) => format!("done={done}"),
        Err(e) => format!("error={}", form_urlencoded::byte_serialize(e.to_string().as_bytes()).collect::<String>()),
    };
    leptos_axum::redirect(&format!("{back}?{query}"));
    Ok(())
}

/// Acknowledges a firing alert (stops its escalation), with an optional note.
#[server(endpoint = "acknowledge_alert")]
pub async fn acknowledge_alert(fingerprint: String, note: Option<String>) -> Result<(), AppError> {
    let back = format!("/alerts/{}", fingerprint.chars().filter(char::is_ascii_hexdigit).take(16).collect::<String>());
    step(crate::service::AlertStepRequest::Acknowledge { fingerprint, note }, back, "acknowledged").await
}

/// Silences an alert (`scope` `alert`) or every alert of its rule and automation (`rule`) for
/// `minutes` (1 to 43200), with a reason of 10+ characters; `until_resolved` ends it early when
/// the alert resolves.
#[server(endpoint = "silence_alert")]
pub async fn silence_alert(fingerprint: String, scope: String, minutes: u32, reason: String, until_resolved: Option<String>) -> Result<(), AppError> {
    let back = format!("/alerts/{}", fingerprint.chars().filter(char::is_ascii_hexdigit).take(16).collect::<String>());
    let whole_rule = match scope.as_str() {
        "alert" => false,
        "rule" => true,
        _ => return with_status(Err(AppError::Invalid("scope is alert or rule".into()))),
    };
    let until_resolved = until_resolved.is_some_and(|v| v == "on" || v == "true");
    step(crate::service::AlertStepRequest::Silence { fingerprint, whole_rule, minutes, until_resolved, reason }, back, "silenced").await
}

/// Ends a silence now (risk: any; a trader: his own).
#[server(endpoint = "expire_silence")]
pub async fn expire_silence(id: u64) -> Result<(), AppError> {
    step(crate::service::AlertStepRequest::ExpireSilence { id }, "/alerts".into(), "silence_ended").await
}

/// Every part's health: heartbeats, jobs, alert receivers, routes, data quality, clocks.
#[server(endpoint = "get_health")]
pub async fn get_health() -> Result<domain::view::HealthView, AppError> {
    crate::session::require(Permission::ViewOperations)?;
    Ok(console(Permission::ViewOperations)?.health())
}
