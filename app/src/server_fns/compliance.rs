//! Server functions of the compliance desk: the issue list and one issue (read), the limits'
//! utilisation, and each workflow step (people only; an API token never reviews an issue).
#[cfg(feature = "ssr")]
use domain::governance::Permission;
use domain::compliance::{Issue, IssuePage, IssueQuery, LimitRow};
use leptos::prelude::*;

use crate::error::AppError;
#[cfg(feature = "ssr")]
use crate::error::with_status;
#[cfg(feature = "ssr")]
use super::{console, fresh_second_factor};

/// The desk's first screen: one page of issues the caller may see, and the limits table.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ComplianceDesk {
    pub page: IssuePage,
    pub limits: Vec<LimitRow>,
    /// Whether the caller may acknowledge (trader, risk) and resolve or waive (risk).
    pub may_review: bool,
    /// Whether the caller may download the compliance reports.
    pub reports: bool,
}

#[server(endpoint = "get_compliance")]
pub async fn get_compliance(query: IssueQuery) -> Result<ComplianceDesk, AppError> {
    let user = crate::session::require(Permission::ViewCompliance)?;
    let c = console(Permission::ViewCompliance)?;
    Ok(ComplianceDesk { page: c.compliance_issues(Some(&user), &query), limits: c.compliance_limits(), may_review: user.role.allows(Permission::ReviewCompliance), reports: user.role.allows(Permission::ComplianceReports) })
}

/// One issue with its history, and what the caller may do with it.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct IssueDetail {
    pub issue: Issue,
    /// The actions the caller's role allows on it now (the server checks them again).
    pub actions: Vec<String>,
    pub fresh_totp_required: bool,
}

#[server(endpoint = "get_compliance_issue")]
pub async fn get_compliance_issue(id: u64) -> Result<IssueDetail, AppError> {
    use domain::compliance::IssueState;
    use domain::governance::Role;
    let user = crate::session::require(Permission::ViewCompliance)?;
    let c = console(Permission::ViewCompliance)?;
    let issue = with_status(c.compliance_issue(Some(&user), id).ok_or(AppError::NotFound))?;
    let mut actions = Vec::new();
    if matches!(user.role, Role::Risk | Role::Trader) && issue.state == IssueState::Open {
        actions.push("acknowledge");
    }
    if user.role == Role::Risk {
        if matches!(issue.state, IssueState::Open | IssueState::Acknowledged) {
            actions.extend(["resolve", "waive"]);
        }
        if issue.state == IssueState::WaiverPending && issue.waiver_by.as_deref() != Some(user.username.as_str()) {
            actions.push("confirm_waiver");
        }
    }
    Ok(IssueDetail { issue, actions: actions.into_iter().map(String::from).collect(), fresh_totp_required: c.config().1.security.fresh_totp_for_actions })
}

/// A workflow step: `acknowledge`, `resolve` (note of 10+ characters), `waive` (reason of 10+
/// characters; a critical issue then waits for a second risk officer) or `confirm_waiver`.
/// Posted by the issue page's plain HTML form: the answer is a redirect back to the issue, with
/// `?done=` or `?error=` for the page to show (the page needs no script). Called from code, it
/// answers like any server function.
#[server(endpoint = "review_compliance_issue")]
pub async fn review_compliance_issue(id: u64, action: String, note: Option<String>, totp: Option<String>) -> Result<(), AppError> {
    let from_form = super::from_form();
    let result = async {
        let user = crate::session::require(Permission::ReviewCompliance)?;
        let c = console(Permission::ReviewCompliance)?;
        fresh_second_factor(&c, &user, totp.filter(|t| !t.trim().is_empty())).await?;
        c.review_issue(&user, id, &action, note).await
    }
    .await;
    if !from_form {
        return with_status(result);
    }
    let query = match &result {
        Ok(()) => format!("done={}", urlencode(&action)),
        Err(e) => format!("error={}", urlencode(&e.to_string())),
    };
    leptos_axum::redirect(&format!("/compliance/{id}?{query}"));
    Ok(())
}

#[cfg(feature = "ssr")]
fn urlencode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// A compliance report as a file: `kind` `monthly` (HTML; `period` `YYYY-MM`) or `daily` (the
/// day's orders and fills with their compliance status; `period` `YYYY-MM-DD`; `format` `csv` or
/// `html`). Risk, admins and auditors; a trader gets 403. Answered as the file itself, with
/// `Content-Disposition: attachment` (the desk's download buttons are plain forms posting here).
#[server(endpoint = "compliance_report", output = leptos::server_fn::codec::StreamingText)]
pub async fn compliance_report(kind: String, period: String, format: String) -> Result<leptos::server_fn::codec::TextStream<AppError>, AppError> {
    let user = crate::session::require(Permission::ComplianceReports)?;
    let c = console(Permission::ComplianceReports)?;
    let bad = |what: &str| AppError::Invalid(what.to_string());
    let file = async {
        Ok(match (kind.as_str(), format.as_str()) {
        ("monthly", "html") => {
            let day = chrono::NaiveDate::parse_from_str(&format!("{}-01", period.trim()), "%Y-%m-%d").map_err(|_| bad("period: a month YYYY-MM"))?;
            let report = c.compliance_monthly(Some(&user), day);
            (format!("compliance-{}.html", report.month), "text/html; charset=utf-8", crate::reports::monthly_html(&report))
        }
        ("daily", "csv" | "html") => {
            let day = chrono::NaiveDate::parse_from_str(period.trim(), "%Y-%m-%d").map_err(|_| bad("period: a day YYYY-MM-DD"))?;
            let rows = c.trade_day(day).await?;
            if format == "csv" {
                (format!("trades-{day}.csv"), "text/csv; charset=utf-8", trade_csv(&rows)?)
            } else {
                (format!("trades-{day}.html"), "text/html; charset=utf-8", crate::reports::trade_day_html(day, &rows))
            }
        }
        _ => return Err(bad("kind and format: monthly + html, or daily + csv or html")),
        })
    };
    let (name, mime, body): (String, &'static str, String) = with_status(file.await)?;
    if let Some(r) = use_context::<leptos_axum::ResponseOptions>() {
        use axum::http::{HeaderValue, header};
        r.insert_header(header::CONTENT_TYPE, HeaderValue::from_static(mime));
        if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
            r.insert_header(header::CONTENT_DISPOSITION, v);
        }
    }
    Ok(leptos::server_fn::codec::TextStream::new(futures::stream::once(async move { Ok(body) })))
}

/// The daily trade report as CSV (one row per order).
#[cfg(feature = "ssr")]
fn trade_csv(rows: &[domain::compliance::report::TradeRow]) -> Result<String, AppError> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let header = ["seq", "ts", "order_id", "signal_id", "instrument", "side", "quantity", "order_type", "limit_price", "status", "fills", "filled_quantity", "avg_fill_price", "fees", "compliance", "issues", "rules"];
    w.write_record(header).map_err(|_| AppError::Internal)?;
    for r in rows {
        let issues = r.issues.iter().map(u64::to_string).collect::<Vec<_>>().join(" ");
        w.write_record([
            r.seq.to_string(),
            r.ts.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            r.order_id.clone(),
            r.signal_id.clone().unwrap_or_default(),
            r.instrument.clone(),
            r.side.clone(),
            r.quantity.to_string(),
            r.order_type.clone(),
            r.limit_price.map(|p| p.to_string()).unwrap_or_default(),
            r.status.clone(),
            r.fills.to_string(),
            r.filled_quantity.to_string(),
            r.avg_fill_price.map(|p| p.to_string()).unwrap_or_default(),
            r.fees.to_string(),
            r.compliance.clone(),
            issues,
            r.rules.clone(),
        ])
        .map_err(|_| AppError::Internal)?;
    }
    let bytes = w.into_inner().map_err(|_| AppError::Internal)?;
    String::from_utf8(bytes).map_err(|_| AppError::Internal)
}

/// A config form as the page shows it (the compliance limits form and the settings form): the fields (the current policy, or a draft the caller
/// posted), an error per field, and the field-by-field diff a valid draft would make.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ConfigFormView {
    pub version: u32,
    pub fields: domain::config::form::Fields,
    pub errors: domain::config::form::FieldErrors,
    /// Set when the posted draft is valid: what saving it would change.
    pub diff: Option<Vec<domain::config::FieldChange>>,
    pub reason: String,
    pub may_change: bool,
    pub fresh_totp_required: bool,
}

/// Drafts of the limits form between a post and the page that shows its errors or its diff:
/// kept in memory for their author only, the newest [`drafts::KEPT`].
#[cfg(feature = "ssr")]
mod drafts {
    use std::collections::VecDeque;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::{Mutex, OnceLock, PoisonError};

    pub const KEPT: usize = 200;

    #[derive(Clone)]
    pub struct Draft {
        pub id: u64,
        pub user_id: i64,
        pub view: super::ConfigFormView,
    }

    fn store() -> &'static Mutex<VecDeque<Draft>> {
        static DRAFTS: OnceLock<Mutex<VecDeque<Draft>>> = OnceLock::new();
        DRAFTS.get_or_init(|| Mutex::new(VecDeque::new()))
    }

    pub fn put(user_id: i64, view: super::ConfigFormView) -> u64 {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        let id = NEXT.fetch_add(1, Ordering::Relaxed);
        let mut s = store().lock().unwrap_or_else(PoisonError::into_inner);
        s.push_back(Draft { id, user_id, view });
        while s.len() > KEPT {
            s.pop_front();
        }
        id
    }

    pub fn get(user_id: i64, id: u64) -> Option<super::ConfigFormView> {
        store().lock().unwrap_or_else(PoisonError::into_inner).iter().find(|d| d.id == id && d.user_id == user_id).map(|d| d.view.clone())
    }
}

/// A config form's fields for the page: the caller's draft `draft`, or `fields_of` the current config.
#[cfg(feature = "ssr")]
fn form_view(draft: Option<u64>, fields_of: impl FnOnce(&domain::config::Config) -> domain::config::form::Fields) -> Result<ConfigFormView, AppError> {
    let user = crate::session::require(Permission::ViewOperations)?;
    let c = console(Permission::ViewOperations)?;
    let (version, config) = c.config();
    if let Some(d) = draft.and_then(|id| drafts::get(user.id, id)) {
        return Ok(d);
    }
    Ok(ConfigFormView {
        version,
        fields: fields_of(&config),
        errors: Default::default(),
        diff: None,
        reason: String::new(),
        may_change: user.role.allows(Permission::ChangeConfig),
        fresh_totp_required: config.security.fresh_totp_for_actions,
    })
}

/// A config form's post: `parse` reads the fields over the current config (an error per field);
/// `step` `preview` shows the diff, `save` also records the new version with its reason (as the
/// JSON editor does). Answers with a redirect to `page` showing the draft (`?draft=`) or the
/// saved version (`?saved=`).
#[cfg(feature = "ssr")]
async fn submit_form(
    page: &str,
    fields: domain::config::form::Fields,
    step: &str,
    base_version: u32,
    reason: String,
    totp: Option<String>,
    parse: impl FnOnce(&domain::config::Config, &domain::config::form::Fields) -> Result<domain::config::Config, domain::config::form::FieldErrors>,
) -> Result<(), AppError> {
    let (user, c) = super::config_changer().await?;
    let (_, config) = c.config();
    let mut view = ConfigFormView {
        version: base_version,
        fields: fields.clone(),
        errors: Default::default(),
        diff: None,
        reason: reason.chars().take(2000).collect(),
        may_change: true,
        fresh_totp_required: config.security.fresh_totp_for_actions,
    };
    match parse(&config, &fields) {
        Err(errors) => view.errors = errors,
        Ok(next) => {
            view.diff = Some(next.diff(&config));
            if step == "save" {
                let saved = async {
                    fresh_second_factor(&c, &user, totp.filter(|t| !t.trim().is_empty())).await?;
                    c.change_config(&user, base_version, next, &reason).await
                }
                .await;
                match saved {
                    Ok(v) => {
                        leptos_axum::redirect(&format!("{page}?saved={v}"));
                        return Ok(());
                    }
                    Err(e) => {
                        view.errors.insert("_".into(), e.to_string());
                    }
                }
            }
        }
    }
    let id = drafts::put(user.id, view);
    leptos_axum::redirect(&format!("{page}?draft={id}"));
    Ok(())
}

#[server(endpoint = "get_compliance_form")]
pub async fn get_compliance_form(draft: Option<u64>) -> Result<ConfigFormView, AppError> {
    form_view(draft, |c| domain::config::form::to_fields(&c.compliance))
}

/// The limits form's post (the compliance section), redirecting to `/config/compliance`.
#[server(endpoint = "compliance_form")]
pub async fn compliance_form(fields: domain::config::form::Fields, step: String, base_version: u32, reason: String, totp: Option<String>) -> Result<(), AppError> {
    submit_form("/config/compliance", fields, &step, base_version, reason, totp, |config, fields| {
        let mut next = config.clone();
        next.compliance = domain::config::form::from_fields(&config.compliance, fields)?;
        Ok(next)
    })
    .await
}

#[server(endpoint = "get_settings_form")]
pub async fn get_settings_form(draft: Option<u64>) -> Result<ConfigFormView, AppError> {
    form_view(draft, domain::config::form::settings_fields)
}

/// The settings form's post (every config section but compliance, a field per setting),
/// redirecting to `/config/settings`.
#[server(endpoint = "settings_form")]
pub async fn settings_form(fields: domain::config::form::Fields, step: String, base_version: u32, reason: String, totp: Option<String>) -> Result<(), AppError> {
    submit_form("/config/settings", fields, &step, base_version, reason, totp, domain::config::form::settings_from_fields).await
}
