//! `/live/dashboard`: the dashboard view pushed over server-sent events.
use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use futures::Stream;

use crate::AppState;

/// The live dashboard stream.
pub fn router() -> Router<AppState> {
    Router::new().route("/live/dashboard", get(live_dashboard))
}

/// Server-sent events: the dashboard view as JSON (`event: dashboard`) on connect and after
/// every change, coalesced to at most one message per 50 ms. Needs a signed-in session allowed
/// to see operations.
async fn live_dashboard(State(state): State<AppState>, session: tower_sessions::Session, user: Option<axum::Extension<app::session::SessionUser>>) -> Response {
    match (user, session.id()) {
        (Some(axum::Extension(u)), Some(id)) if u.role.allows(domain::governance::Permission::ViewOperations) => live_stream(state, id, u.id).into_response(),
        (Some(_), _) => StatusCode::FORBIDDEN.into_response(),
        (None, _) => StatusCode::UNAUTHORIZED.into_response(),
    }
}

/// How often the live stream re-checks its session: sign-out, expiry or a disabled account end
/// the stream within this long.
const LIVE_SESSION_CHECK: Duration = Duration::from_secs(2);

fn live_stream(state: AppState, session: tower_sessions::session::Id, user_id: i64) -> Sse<impl Stream<Item = Result<SseEvent, Infallible>>> {
    let rx = state.console.live();
    let sessions = crate::auth::SqliteSessions::new(state.console.store());
    let stream = futures::stream::unfold((rx, true), move |(mut rx, first)| {
        let sessions = sessions.clone();
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
            let json = rx.borrow_and_update().clone();
            Some((Ok(SseEvent::default().event("dashboard").data(&*json)), (rx, false)))
        }
    });
    Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
}
