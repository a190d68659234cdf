use std::time::{Duration, Instant};

use futures::StreamExt;
use serde_json::Value;

use crate::*;

#[tokio::test]
async fn health_and_readiness() {
    let app = spawn().await;
    let r = app.http.get(format!("{}/healthz", app.base)).send().await.expect("healthz");
    assert_eq!(r.status(), 200);
    let r = app.http.get(format!("{}/readyz", app.base)).send().await.expect("readyz");
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn events_page_by_kind_and_instrument_in_seq_order() {
    let app = spawn().await;
    app.post(&round_trip()).await;
    let (status, page) = app.get("/api/v1/events?kind=market_snapshot&instrument=BTCUSDT").await;
    assert_eq!(status, 200);
    let seqs: Vec<u64> = page["events"].as_array().map(|a| a.iter().filter_map(|e| e["seq"].as_u64()).collect()).unwrap_or_default();
    assert_eq!(seqs, vec![1, 7]);
    assert_eq!(page["events"][0]["event"]["mid"], "67500");
    let (_, page) = app.get("/api/v1/events?after_seq=2&limit=2").await;
    let seqs: Vec<u64> = page["events"].as_array().map(|a| a.iter().filter_map(|e| e["seq"].as_u64()).collect()).unwrap_or_default();
    assert_eq!(seqs, vec![3, 4]);
    assert_eq!(page["next_after_seq"], 4);
    let (status, body) = app.get("/api/v1/events?kind=nope").await;
    assert_eq!(status, 400, "{body}");
    let (status, _) = app.get("/api/v1/events?limit=0").await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn reads_need_a_read_token() {
    let app = spawn().await;
    for path in ["/api/v1/summary", "/api/v1/events", "/api/v1/audit/verify", "/api/v1/trades/x/lineage"] {
        let none = app.http.get(format!("{}{path}", app.base)).send().await.expect("get");
        assert_eq!(none.status(), 401, "{path} without a token");
        let ingest = app.http.get(format!("{}{path}", app.base)).bearer_auth(&app.ingest_token).send().await.expect("get");
        assert_eq!(ingest.status(), 403, "{path} with an ingest token");
    }
}

#[tokio::test]
async fn lineage_links_signal_risk_order_and_fills_with_latencies() {
    let app = spawn().await;
    app.post(&round_trip()).await;
    let (status, l) = app.get("/api/v1/trades/sig-1/lineage").await;
    assert_eq!(status, 200, "{l}");
    let kinds: Vec<&str> = l["steps"].as_array().map(|s| s.iter().filter_map(|x| x["kind"].as_str()).collect()).unwrap_or_default();
    assert_eq!(kinds, vec!["signal", "risk_check", "order", "fill", "order"]);
    assert_eq!(l["signal_to_risk_check_ms"], 2);
    assert_eq!(l["signal_to_order_ms"], 30);
    assert_eq!(l["order_to_first_fill_ms"], 50);
    let (status, _) = app.get("/api/v1/trades/none/lineage").await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn the_live_stream_pushes_a_new_dashboard_soon_after_an_ack() {
    let app = spawn().await;
    let res = app.http.get(format!("{}/live/dashboard", app.base)).send().await.expect("sse");
    assert_eq!(res.status(), 401, "the live stream needs a session");
    let cookie = app.login(domain::governance::Role::Trader).await;
    let res = app.http.get(format!("{}/live/dashboard", app.base)).header("cookie", &cookie).send().await.expect("sse");
    assert_eq!(res.status(), 200);
    let mut stream = res.bytes_stream();
    let mut buf = String::new();
    // The first message is the current view.
    while !buf.contains("\n\n") {
        let chunk = stream.next().await.expect("first message").expect("bytes");
        buf.push_str(&String::from_utf8_lossy(&chunk));
    }
    buf.clear();
    let acked = {
        let (status, _) = app.post(&round_trip()).await;
        assert_eq!(status, 200);
        Instant::now()
    };
    let deadline = Duration::from_secs(5);
    let pushed = tokio::time::timeout(deadline, async {
        loop {
            let chunk = stream.next().await.expect("message").expect("bytes");
            buf.push_str(&String::from_utf8_lossy(&chunk));
            for frame in buf.split("\n\n") {
                if let Some(data) = frame.lines().find_map(|l| l.strip_prefix("data: "))
                    && let Ok(v) = serde_json::from_str::<Value>(data)
                    && v["head_seq"] == 7
                {
                    return v;
                }
            }
        }
    })
    .await
    .expect("a dashboard with the new head arrives");
    assert_eq!(pushed["pnl"]["fees"], "0.0675");
    eprintln!("ack -> SSE: {:?}", acked.elapsed());
}

#[tokio::test]
async fn pages_render_on_the_server_with_figures_and_empty_states() {
    let app = spawn().await;
    let cookie = app.login(domain::governance::Role::Auditor).await;
    let page = |path: &'static str| {
        let http = app.http.clone();
        let base = app.base.clone();
        let cookie = cookie.clone();
        async move { http.get(format!("{base}{path}")).header("cookie", cookie).send().await.expect("page").text().await.expect("html") }
    };
    let html = page("/").await;
    assert!(html.contains("Trading dashboard"));
    assert!(html.contains("No events yet"), "empty state explains what to do");
    app.post(&round_trip()).await;
    let html = page("/").await;
    assert!(html.contains("Total PnL (USD)"));
    assert!(html.contains("+49.91"), "total PnL 49.975 - 0.0675 = 49.9075 shown as +49.91");
    assert!(html.contains("<svg"), "the equity chart is rendered on the server");
    let html = page("/audit").await;
    assert!(html.contains("Audit trail") && html.contains("e4"));
    let html = page("/trades/sig-1").await;
    assert!(html.contains("risk check: approve"));
    let html = page("/audit/5").await;
    assert!(html.contains("fill_id") && html.contains("Previous hash"));
}
