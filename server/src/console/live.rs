//! The live dashboard: re-read after each change, coalesced, for the SSE stream.
use std::sync::Arc;

use domain::view::DashboardView;
use tokio::sync::watch;

use super::*;

/// One state of the dashboard as the live stream sends it: the view, its JSON (the stream's
/// default format, serialised once for every subscriber) and the head seq it covers.
#[derive(Debug, Default)]
pub struct LiveFrame {
    pub head_seq: u64,
    pub json: Arc<str>,
    pub view: DashboardView,
}

impl Console {
    pub fn live(&self) -> watch::Receiver<Arc<LiveFrame>> {
        self.live_tx.subscribe()
    }

    /// Subscribers of the live frames now (the SSE streams).
    pub fn live_subscribers(&self) -> usize {
        self.live_tx.receiver_count()
    }

    pub(super) fn publish(&self) {
        let view = self.summary();
        match serde_json::to_string(&view) {
            Ok(json) => {
                self.live_tx.send_replace(Arc::new(LiveFrame { head_seq: view.head_seq, json: Arc::from(json), view }));
            }
            Err(e) => tracing::error!(error = %e, "serialising the dashboard"),
        }
    }

    /// Re-reads the dashboard once per burst of appends, for every SSE subscriber at once.
    pub(super) async fn run_live(self: Arc<Self>) {
        let mut rx = self.head_tx.subscribe();
        while rx.changed().await.is_ok() {
            self.publish();
            tokio::time::sleep(LIVE_MIN_GAP).await;
        }
    }
}
