//! The live dashboard: re-rendered as JSON after each change, coalesced, for the SSE stream.
use std::sync::Arc;

use tokio::sync::watch;


use super::*;

impl Console {
    pub fn live(&self) -> watch::Receiver<Arc<str>> {
        self.live_tx.subscribe()
    }

    pub(super) fn publish(&self) {
        match serde_json::to_string(&self.summary()) {
            Ok(json) => {
                self.live_tx.send_replace(Arc::from(json));
            }
            Err(e) => tracing::error!(error = %e, "serialising the dashboard"),
        }
    }

    /// Renders the dashboard once per burst of appends, for every SSE subscriber at once.
    pub(super) async fn run_live(self: Arc<Self>) {
        let mut rx = self.head_tx.subscribe();
        while rx.changed().await.is_ok() {
            self.publish();
            tokio::time::sleep(LIVE_MIN_GAP).await;
        }
    }

}
