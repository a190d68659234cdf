//! Server functions of governance: decisions on signals, pauses, the versioned config.
#[cfg(feature = "ssr")]
use domain::governance::Permission;
use leptos::prelude::*;

use crate::error::AppError;
#[cfg(feature = "ssr")]
use crate::error::with_status;
#[cfg(feature = "ssr")]
use super::{console, fresh_second_factor};
use domain::governance::Config;
use domain::view::{ConfigVersionView, GovernanceView};

#[server(endpoint = "get_governance")]
pub async fn get_governance() -> Result<GovernanceView, AppError> {
    Ok(console(Permission::ViewOperations)?.governance().await)
}

/// Approve or reject a pending entry signal, or acknowledge an exit signal.
#[server(endpoint = "decide_signal")]
pub async fn decide_signal(signal_id: String, action: String, comment: Option<String>, totp: Option<String>) -> Result<(), AppError> {
    let user = crate::session::require(Permission::DecideSignals)?;
    let c = console(Permission::DecideSignals)?;
    fresh_second_factor(&c, &user, totp).await?;
    with_status(c.decide(&user, &signal_id, &action, comment).await)
}

/// Pause or resume one automation, or (`automation` empty) everything.
#[server(endpoint = "set_paused")]
pub async fn set_paused(automation: Option<String>, pause: bool, reason: String, totp: Option<String>) -> Result<(), AppError> {
    let automation = automation.filter(|a| !a.trim().is_empty());
    let p = if automation.is_some() { Permission::PauseAutomation } else { Permission::PauseGlobal };
    let user = crate::session::require(p)?;
    let c = console(p)?;
    fresh_second_factor(&c, &user, totp).await?;
    with_status(c.control(&user, automation, pause, &reason).await)
}

#[server(endpoint = "get_config")]
pub async fn get_config() -> Result<(u32, Config), AppError> {
    Ok(console(Permission::ViewOperations)?.config())
}

/// The current config as the editor shows it: version, pretty JSON, and whether each action
/// needs a fresh two-factor code (the browser never parses a config: the server does).
#[server(endpoint = "get_config_text")]
pub async fn get_config_text() -> Result<ConfigText, AppError> {
    let (version, config) = console(Permission::ViewOperations)?.config();
    let json = serde_json::to_string_pretty(&config).map_err(|_| AppError::Internal)?;
    Ok(ConfigText { version, json, fresh_totp_required: config.security.fresh_totp_for_actions })
}

/// The config editor's text (see [`get_config_text`]).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ConfigText {
    pub version: u32,
    pub json: String,
    pub fresh_totp_required: bool,
}

/// The most JSON the config editor may send (the defaults are ~3 KB).
#[cfg(feature = "ssr")]
const MAX_CONFIG_JSON: usize = 256 * 1024;

/// Saves a new config version from the editor's JSON text, parsed and checked on the server
/// (errors name the field); otherwise as [`save_config`].
#[server(endpoint = "save_config_json")]
pub async fn save_config_json(base_version: u32, config_json: String, reason: String, totp: Option<String>) -> Result<u32, AppError> {
    // The role first: a caller who may not change the config learns nothing about the text.
    super::config_changer().await?;
    if config_json.len() > MAX_CONFIG_JSON {
        return with_status(Err(AppError::Invalid(format!("the config is over {MAX_CONFIG_JSON} bytes"))));
    }
    let config = serde_json::from_str::<serde_json::Value>(&config_json)
        .map_err(|e| AppError::Invalid(format!("not valid JSON: {e}")))
        .and_then(|v| Config::parse_value(&v).map_err(|e| AppError::Invalid(e.to_string())));
    save_config(base_version, with_status(config)?, reason, totp).await
}

#[server(endpoint = "get_config_history")]
pub async fn get_config_history() -> Result<Vec<ConfigVersionView>, AppError> {
    Ok(console(Permission::ViewOperations)?.config_history())
}

/// Saves a new config version. The reason is parsed on the server whatever the form sent.
#[server(endpoint = "save_config")]
pub async fn save_config(base_version: u32, config: Config, reason: String, totp: Option<String>) -> Result<u32, AppError> {
    let (user, c) = super::config_changer().await?;
    fresh_second_factor(&c, &user, totp).await?;
    with_status(c.change_config(&user, base_version, config, &reason).await)
}

/// Rolls back to an earlier version: a new version with that version's config, and a reason.
#[server(endpoint = "rollback_config")]
pub async fn rollback_config(to_version: u32, reason: String, totp: Option<String>) -> Result<u32, AppError> {
    let (user, c) = super::config_changer().await?;
    fresh_second_factor(&c, &user, totp).await?;
    let history = c.config_history();
    let target = with_status(history.iter().find(|v| v.version == to_version).ok_or(AppError::NotFound))?;
    let config: Config = serde_json::from_str(&target.config).map_err(|_| AppError::Internal)?;
    let (current, _) = c.config();
    with_status(c.change_config(&user, current, config, &reason).await)
}
