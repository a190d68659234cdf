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
}

#[server(endpoint = "get_compliance")]
pub async fn get_compliance(query: IssueQuery) -> Result<ComplianceDesk, AppError> {
    let user = crate::session::require(Permission::ViewCompliance)?;
    let c = console(Permission::ViewCompliance)?;
    Ok(ComplianceDesk { page: c.compliance_issues(Some(&user), &query), limits: c.compliance_limits(), may_review: user.role.allows(Permission::ReviewCompliance) })
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
    match (user.role, issue.state) {
        (Role::Risk | Role::Trader, IssueState::Open) => actions.push("acknowledge"),
        _ => {}
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
    let from_form = use_context::<axum::http::request::Parts>()
        .and_then(|p| p.headers.get(axum::http::header::ACCEPT).and_then(|v| v.to_str().ok()).map(|v| v.contains("text/html")))
        .unwrap_or(false);
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
