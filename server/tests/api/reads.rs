use std::time::{Duration, Instant};

use futures::StreamExt;
use serde_json::Value;

use crate::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_and_readiness() {
    let app = spawn().await;
    let r = app.http.get(format!("{}/healthz", app.base)).send().await.expect("healthz");
    assert_eq!(r.status(), 200);
    let r = app.http.get(format!("{}/readyz", app.base)).send().await.expect("readyz");
    assert_eq!(r.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
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
    // Newest first: from past the head, then on from the page's last seq, to the first event.
    let (status, page) = app.get("/api/v1/events?before_seq=18446744073709551615&limit=3").await;
    assert_eq!(status, 200, "{page}");
    let head = page["events"][0]["seq"].as_u64().unwrap_or(0);
    assert!(head >= 7, "{page}");
    let mut seqs: Vec<u64> = Vec::new();
    let mut before = head + 1;
    loop {
        let (_, page) = app.get(&format!("/api/v1/events?before_seq={before}&limit=3")).await;
        seqs.extend(page["events"].as_array().map(|a| a.iter().filter_map(|e| e["seq"].as_u64()).collect::<Vec<_>>()).unwrap_or_default());
        assert!(page.get("next_after_seq").is_none(), "{page}");
        match page["next_before_seq"].as_u64() {
            Some(next) => before = next,
            None => break,
        }
    }
    assert_eq!(seqs, (1..=head).rev().collect::<Vec<_>>());
    let (_, page) = app.get("/api/v1/events?kind=market_snapshot&instrument=BTCUSDT&before_seq=7").await;
    assert_eq!(page["events"].as_array().map(|a| a.iter().filter_map(|e| e["seq"].as_u64()).collect::<Vec<_>>()), Some(vec![1]));
    let (status, body) = app.get("/api/v1/events?after_seq=1&before_seq=5").await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["field"], "before_seq", "{body}");
    let (status, body) = app.get("/api/v1/events?kind=nope").await;
    assert_eq!(status, 400, "{body}");
    let (status, _) = app.get("/api/v1/events?limit=0").await;
    assert_eq!(status, 400);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_need_a_read_token() {
    let app = spawn().await;
    for path in ["/api/v1/summary", "/api/v1/events", "/api/v1/audit/verify", "/api/v1/trades/x/lineage"] {
        let none = app.http.get(format!("{}{path}", app.base)).send().await.expect("get");
        assert_eq!(none.status(), 401, "{path} without a token");
        let ingest = app.http.get(format!("{}{path}", app.base)).bearer_auth(&app.ingest_token).send().await.expect("get");
        assert_eq!(ingest.status(), 403, "{path} with an ingest token");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
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

/// Reads SSE frames from `stream` until `done` accepts one (event name, data), within 5 s.
async fn next_frame<B: AsRef<[u8]>>(
    stream: &mut (impl futures::Stream<Item = reqwest::Result<B>> + Unpin),
    buf: &mut String,
    mut done: impl FnMut(&str, &str) -> bool,
) -> (String, String) {
    tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            while let Some(end) = buf.find("\n\n") {
                let frame: String = buf.drain(..end + 2).collect();
                let event = frame.lines().find_map(|l| l.strip_prefix("event: ")).unwrap_or("").to_string();
                let data = frame.lines().filter_map(|l| l.strip_prefix("data: ").or_else(|| (l == "data:").then_some(""))).collect::<Vec<_>>().join("\n");
                if done(&event, &data) {
                    return (event, data);
                }
            }
            let chunk = stream.next().await.expect("message").expect("bytes");
            buf.push_str(&String::from_utf8_lossy(chunk.as_ref()));
        }
    })
    .await
    .expect("the frame arrives")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_live_fragments_carry_the_head_and_the_server_drawn_html() {
    let app = spawn().await;
    let url = |f: &str| format!("{}/live/dashboard?fragment={f}", app.base);
    let res = app.http.get(url("dashboard")).send().await.expect("sse");
    assert_eq!(res.status(), 401, "a fragment needs a session too");
    let investor = app.login(domain::governance::Role::Investor).await;
    let res = app.http.get(url("signals")).header("cookie", &investor).send().await.expect("sse");
    assert_eq!(res.status(), 403, "investors see no operations, in any format");
    let cookie = app.login(domain::governance::Role::Trader).await;
    let res = app.http.get(url("../etc/passwd")).header("cookie", &cookie).send().await.expect("sse");
    assert_eq!(res.status(), 400);
    let body: Value = res.json().await.expect("json");
    assert_eq!(body["error"], "bad_fragment");

    let res = app.http.get(url("dashboard")).header("cookie", &cookie).send().await.expect("sse");
    assert_eq!(res.status(), 200);
    let mut dash = res.bytes_stream();
    let res = app.http.get(url("signals")).header("cookie", &cookie).send().await.expect("sse");
    let mut feed = res.bytes_stream();
    let res = app.http.get(url("head")).header("cookie", &cookie).send().await.expect("sse");
    let mut head = res.bytes_stream();
    let (mut b1, mut b2, mut b3) = (String::new(), String::new(), String::new());
    // On connect: the head, then the fragment as it is now.
    let (_, first) = next_frame(&mut dash, &mut b1, |e, _| e == "head").await;
    assert_eq!(first, "0");
    let (_, html) = next_frame(&mut dash, &mut b1, |e, _| e == "fragment").await;
    assert!(html.contains("No events yet") && html.contains("data-testid=\"pnl-total\""), "{html}");

    let (status, _) = app.post(&round_trip()).await;
    assert_eq!(status, 200);
    next_frame(&mut dash, &mut b1, |e, d| e == "head" && d == "7").await;
    let (_, html) = next_frame(&mut dash, &mut b1, |e, _| e == "fragment").await;
    assert!(html.contains("+49.91"), "total PnL 49.9075 in the pushed HTML");
    assert!(html.contains("<svg") && html.matches("data-chart-pane").count() == 2, "both charts drawn by the server");
    assert!(html.contains("BTCUSDT") && html.contains("sig-1"));
    assert!(!html.contains("<html") && !html.contains("<script"), "a fragment, not a page");
    next_frame(&mut feed, &mut b2, |e, d| e == "head" && d == "7").await;
    let (_, html) = next_frame(&mut feed, &mut b2, |e, _| e == "fragment").await;
    assert!(html.contains("data-testid=\"signals\"") && html.contains("/trades/sig-1"), "{html}");
    next_frame(&mut head, &mut b3, |e, d| e == "head" && d == "7").await;
    // A head-only subscriber never gets HTML.
    let (status, _) = app.post(&[snapshot("e8", "BTCUSDT", "68100", 120_000)]).await;
    assert_eq!(status, 200);
    let (event, _) = next_frame(&mut head, &mut b3, |e, d| e == "fragment" || (e == "head" && d == "8")).await;
    assert_eq!(event, "head");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
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
