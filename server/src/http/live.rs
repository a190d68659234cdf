//! `/live/dashboard`: the console's live stream over server-sent events.
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use futures::{Stream, StreamExt};
use serde::Deserialize;

use crate::console::{Console, LiveFrame};
use crate::AppState;

/// The live stream.
pub fn router() -> Router<AppState> {
    Router::new().route("/live/dashboard", get(live_dashboard))
}

/// What a subscriber asks for (`?fragment=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fragment {
    /// The log head only (`event: head`).
    Head,
    /// The head, then the dashboard's body as HTML (`event: fragment`).
    Dashboard,
    /// The head, then the signal feed's table as HTML.
    Signals,
    /// The head, then the compliance desk's live panel as HTML (as the viewer may see it).
    Compliance,
    /// The head, then the alerts page's live panel as HTML.
    Alerts,
}

impl Fragment {
    fn parse(s: &str) -> Option<Self> {
        match s {
            "head" => Some(Self::Head),
            "dashboard" => Some(Self::Dashboard),
            "signals" => Some(Self::Signals),
            "compliance" => Some(Self::Compliance),
            "alerts" => Some(Self::Alerts),
            _ => None,
        }
    }
}

#[derive(Debug, Deserialize)]
struct LiveQuery {
    fragment: Option<String>,
}

/// The fragments' HTML, rendered once per log head and fragment, whatever the number of
/// subscribers (the render runs under the fragment's lock, so a burst of subscribers waits for
/// one render instead of doing it each).
#[derive(Default)]
pub struct Fragments {
    dashboard: tokio::sync::Mutex<Option<(u64, Arc<str>)>>,
    signals: tokio::sync::Mutex<Option<(u64, Arc<str>)>>,
    compliance: tokio::sync::Mutex<Option<(u64, Arc<str>)>>,
    alerts: tokio::sync::Mutex<Option<(u64, Arc<str>)>>,
}

impl Fragments {
    async fn html(&self, which: Fragment, frame: &LiveFrame, console: &Console, viewer: &app::session::SessionUser) -> Option<Arc<str>> {
        use app::service::ConsoleService;
        let compliance = |viewer: Option<&app::session::SessionUser>| -> Arc<str> {
            app::fragments::compliance(console.compliance_issues(viewer, &app::fragments::compliance_query()), console.compliance_limits()).into()
        };
        let slot = match which {
            Fragment::Head => return None,
            Fragment::Dashboard => &self.dashboard,
            Fragment::Signals => &self.signals,
            // A trader sees his automations' issues only: drawn for him, not shared.
            Fragment::Compliance if viewer.role == domain::governance::Role::Trader => return Some(compliance(Some(viewer))),
            Fragment::Compliance => &self.compliance,
            Fragment::Alerts => &self.alerts,
        };
        let mut slot = slot.lock().await;
        if let Some((head, html)) = slot.as_ref()
            && *head == frame.head_seq
        {
            return Some(Arc::clone(html));
        }
        let html: Arc<str> = match which {
            Fragment::Dashboard => app::fragments::dashboard(frame.view.clone()).into(),
            // Everyone but a trader sees every issue.
            Fragment::Compliance => compliance(None),
            Fragment::Alerts => app::fragments::alerts(console.alerts_page(&app::fragments::alerts_query(), chrono::Utc::now())).into(),
            _ => app::fragments::signals(console.signals(app::fragments::SIGNAL_FEED)).into(),
        };
        *slot = Some((frame.head_seq, Arc::clone(&html)));
        Some(html)
    }
}

/// Server-sent events, once on connect and after every change, coalesced to at most one message
/// per 50 ms. Without `fragment`: the dashboard view as JSON (`event: dashboard`). With
/// `?fragment=head`: the log's head seq (`event: head`); `dashboard` or `signals`: the head,
/// then that page's live part as server-drawn HTML (`event: fragment`), which the browser swaps
/// in. Needs a signed-in session allowed to see operations.
async fn live_dashboard(
    State(state): State<AppState>,
    Query(q): Query<LiveQuery>,
    session: tower_sessions::Session,
    user: Option<axum::Extension<app::session::SessionUser>>,
) -> Response {
    let fragment = match q.fragment.as_deref().map(Fragment::parse) {
        None => None,
        Some(Some(f)) => Some(f),
        Some(None) => return super::error::bad("bad_fragment", "fragment must be head, dashboard, signals, compliance or alerts").into_response(),
    };
    match (user, session.id()) {
        (Some(axum::Extension(u)), Some(id)) if u.role.allows(domain::governance::Permission::ViewOperations) => {
            if fragment == Some(Fragment::Compliance) && !u.role.allows(domain::governance::Permission::ViewCompliance) {
                return StatusCode::FORBIDDEN.into_response();
            }
            live_stream(state, id, u, fragment).into_response()
        }
        (Some(_), _) => StatusCode::FORBIDDEN.into_response(),
        (None, _) => StatusCode::UNAUTHORIZED.into_response(),
    }
}

/// How often the live stream re-checks its session: sign-out, expiry or a disabled account end
/// the stream within this long.
const LIVE_SESSION_CHECK: Duration = Duration::from_secs(2);

fn live_stream(
    state: AppState,
    session: tower_sessions::session::Id,
    user: app::session::SessionUser,
    fragment: Option<Fragment>,
) -> Sse<impl Stream<Item = Result<SseEvent, Infallible>>> {
    let rx = state.console.live();
    let sessions = crate::auth::Sessions::new(state.console.store());
    let user_id = user.id;
    let stream = futures::stream::unfold((rx, true), move |(mut rx, first)| {
        let sessions = sessions.clone();
        let state = state.clone();
        let user = user.clone();
        async move {
            if !first {
                loop {
                    tokio::select! {
                        changed = rx.changed() => {
                            if changed.is_err() { return None; }
                            break;
                        }
                        _ = tokio::time::sleep(LIVE_SESSION_CHECK) => {}
                    }
                    if !sessions.still_signed_in(&session, user_id).await {
                        return None;
                    }
                }
            }
            if !sessions.still_signed_in(&session, user_id).await {
                return None;
            }
            let frame = Arc::clone(&rx.borrow_and_update());
            let events = match fragment {
                None => vec![SseEvent::default().event("dashboard").data(&*frame.json)],
                Some(f) => {
                    let mut out = vec![SseEvent::default().event("head").data(frame.head_seq.to_string())];
                    if let Some(html) = state.fragments.html(f, &frame, &state.console, &user).await {
                        out.push(SseEvent::default().event("fragment").data(&*html));
                    }
                    out
                }
            };
            Some((futures::stream::iter(events.into_iter().map(Ok)), (rx, false)))
        }
    })
    .flatten();
    Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
}
