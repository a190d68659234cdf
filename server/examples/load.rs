//! Load tool for a running console (loopback only): sustained ingest over HTTP, ack -> SSE
//! latency, page renders and lineage latencies at the size reached.
//!
//! cargo run --release -p server --example load -- http://127.0.0.1:3000 INGEST_TOKEN READ_TOKEN [EVENTS]
//!
//! Pages need a session: set `TW_USER` and `TW_PASSWORD` (an account made with `tradewatch user
//! add`) and each page is rendered 300 times with it. `EVENTS=0` skips ingest (measure a log that
//! is already there).
use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use futures::StreamExt;
use serde_json::Value;

#[path = "common/proc_status.rs"]
mod proc_status;

fn quantiles(mut xs: Vec<f64>) -> String {
    xs.sort_by(f64::total_cmp);
    let q = |p: f64| xs[((xs.len() - 1) as f64 * p).round() as usize];
    format!("p50 {:.2} ms, p95 {:.2} ms, p99 {:.2} ms, max {:.2} ms (n={})", q(0.5), q(0.95), q(0.99), q(1.0), xs.len())
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let [_, base, ingest, read, rest @ ..] = args.as_slice() else {
        anyhow::bail!("usage: load BASE_URL INGEST_TOKEN READ_TOKEN [EVENTS=1000000]");
    };
    let host = reqwest::Url::parse(base)?.host_str().unwrap_or_default().to_string();
    anyhow::ensure!(host == "127.0.0.1" || host == "localhost" || host == "::1", "the load tool only targets loopback");
    let total: u64 = rest.first().map(|s| s.parse()).transpose()?.unwrap_or(1_000_000);
    let http = reqwest::Client::new();
    let run = format!("load{:04x}", rand::random::<u16>());
    let t0 = Utc.with_ymd_and_hms(2020, 1, 2, 14, 30, 0).single().unwrap_or_default();
    let post = |body: Vec<u8>| {
        let http = http.clone();
        let url = format!("{base}/api/v1/events");
        let auth = format!("Bearer {ingest}");
        async move {
            let res = http.post(url).header("authorization", auth).header("content-type", "application/json").body(body).send().await?;
            anyhow::ensure!(res.status().is_success(), "ingest answered {}", res.status());
            Ok::<Value, anyhow::Error>(res.json().await?)
        }
    };

    // 1. Sustained ingest: batches of 1,000, `LOAD_IN_FLIGHT` requests in flight (default 2; an
    // engine with that many batches outstanding, or that many engines). The console folds one
    // batch while it writes the one before; the rest wait in order. `LOAD_PREBUILT=1` builds
    // every request body before the clock starts (as `raw_insert` builds its rows outside the
    // timed insert): the engine's JSON is then not built on the console's 2 cores meanwhile
    // (it took about a fifth of them, `perf record -a`).
    let in_flight: usize = std::env::var("LOAD_IN_FLIGHT").ok().and_then(|v| v.parse().ok()).filter(|n| *n >= 1).unwrap_or(2);
    let prebuilt = std::env::var("LOAD_PREBUILT").is_ok_and(|v| v == "1");
    let batch = 1000u64;
    let body_of = |from: u64| serde_json::to_vec(&engine::synthetic::batch(&run, from, batch.min(total - from), t0));
    let mut bodies = std::collections::VecDeque::new();
    if prebuilt {
        let mut from = 0;
        while from < total {
            bodies.push_back(body_of(from)?);
            from += batch;
        }
        eprintln!("  {} request bodies built before the clock ({} MB)", bodies.len(), bodies.iter().map(Vec::len).sum::<usize>() >> 20);
    }
    let start = Instant::now();
    let cpu_at_start = proc_status::cpu_secs();
    let mut done = 0u64;
    let mut next = 0u64;
    let mut inflight = futures::stream::FuturesUnordered::new();
    while next < total || !inflight.is_empty() {
        while inflight.len() < in_flight && next < total {
            let body = match bodies.pop_front() {
                Some(b) => b,
                None => body_of(next)?,
            };
            next += batch.min(total - next);
            inflight.push(post(body));
        }
        if let Some(r) = inflight.next().await {
            let r = r?;
            done += r["accepted"].as_u64().unwrap_or(0) + r["duplicates"].as_u64().unwrap_or(0);
            if done % 100_000 < batch {
                eprintln!("  {done} events, {:.0} events/s", done as f64 / start.elapsed().as_secs_f64());
            }
        }
    }
    let secs = start.elapsed().as_secs_f64();
    // The load tool shares the console's cores: what it spent while posting.
    let cpu = proc_status::cpu_secs() - cpu_at_start;
    eprintln!("  load tool CPU while posting: {cpu:.1} s, {:.2} us per event", cpu * 1e6 / done.max(1) as f64);
    println!(
        "ingest over HTTP: {done} events in {secs:.1} s = {:.0} events/s (batches of {batch}, {in_flight} in flight, bodies {})",
        done as f64 / secs,
        if prebuilt { "built before the clock" } else { "built while posting" }
    );

    if total == 0 {
        println!("ingest skipped (EVENTS=0)");
    }
    // A session for the pages and the live stream (they need a signed-in role).
    let cookie = match (std::env::var("TW_USER"), std::env::var("TW_PASSWORD")) {
        (Ok(user), Ok(password)) => {
            let res = http.post(format!("{base}/api/login")).form(&[("username", user), ("password", password)]).send().await?;
            anyhow::ensure!(res.status().is_success(), "login answered {}", res.status());
            res.headers()
                .get_all("set-cookie")
                .iter()
                .filter_map(|v| v.to_str().ok())
                .find(|v| v.starts_with("tradewatch_session="))
                .and_then(|v| v.split(';').next())
                .map(str::to_string)
        }
        _ => None,
    };
    let Some(cookie) = cookie else {
        println!("set TW_USER and TW_PASSWORD (an account with an operations role) to time the live stream and the pages");
        return Ok(());
    };

    // 2. Ack -> SSE: time from the 2xx of a small batch to the dashboard message carrying it.
    let res = http.get(format!("{base}/live/dashboard")).header("cookie", &cookie).send().await?;
    anyhow::ensure!(res.status().is_success(), "live stream answered {}", res.status());
    let mut sse = res.bytes_stream();
    let mut buf = String::new();
    let mut lat = Vec::new();
    for i in 0..50u64 {
        let events = engine::synthetic::batch(&format!("{run}sse"), i * 7, 7, t0);
        let ack = post(serde_json::to_vec(&events)?).await?;
        let acked = Instant::now();
        let want = ack["last_seq"].as_u64().unwrap_or(u64::MAX);
        'wait: loop {
            let chunk = tokio::time::timeout(Duration::from_secs(5), sse.next()).await?.ok_or_else(|| anyhow::anyhow!("stream ended"))??;
            buf.push_str(&String::from_utf8_lossy(&chunk));
            while let Some(end) = buf.find("\n\n") {
                let frame: String = buf.drain(..end + 2).collect();
                if let Some(data) = frame.lines().find_map(|l| l.strip_prefix("data: "))
                    && let Ok(v) = serde_json::from_str::<Value>(data)
                    && v["head_seq"].as_u64().is_some_and(|h| h >= want)
                {
                    lat.push(acked.elapsed().as_secs_f64() * 1e3);
                    break 'wait;
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(60)).await;
    }
    println!("ack -> SSE message: {}", quantiles(lat));

    // 3. Server render of every page (signed in), and the lineage query, at this size.
    let timed = |url: String, auth: Option<String>| {
        let http = http.clone();
        async move {
            let mut xs = Vec::new();
            for _ in 0..300 {
                let mut req = http.get(&url);
                if let Some(a) = &auth {
                    req = req.header("authorization", a);
                }
                let t = Instant::now();
                let res = req.send().await?;
                anyhow::ensure!(res.status().is_success(), "{url}: {}", res.status());
                let _ = res.bytes().await?;
                xs.push(t.elapsed().as_secs_f64() * 1e3);
            }
            Ok::<_, anyhow::Error>(quantiles(xs))
        }
    };
    for page in ["/", "/signals", "/performance", "/performance?interval=native", "/kpis", "/attribution", "/execution", "/risk"] {
        let url = format!("{base}{page}");
        let mut xs = Vec::new();
        for _ in 0..300 {
            let t = Instant::now();
            let res = http.get(&url).header("cookie", &cookie).send().await?;
            anyhow::ensure!(res.status().is_success(), "{url}: {}", res.status());
            let body = res.text().await?;
            anyhow::ensure!(!body.contains("data-testid=\"login\""), "{url}: rendered the sign-in page");
            xs.push(t.elapsed().as_secs_f64() * 1e3);
        }
        println!("page {page} (full SSR HTML, signed in): {}", quantiles(xs));
    }
    if total == 0 {
        return Ok(());
    }
    let signal = format!("{run}-sig-{}", total / engine::synthetic::EVENTS_PER_TRADE / 2);
    let auth = Some(format!("Bearer {read}"));
    println!("lineage (GET /api/v1/trades/{{id}}/lineage): {}", timed(format!("{base}/api/v1/trades/{signal}/lineage"), auth.clone()).await?);
    println!("summary (GET /api/v1/summary): {}", timed(format!("{base}/api/v1/summary"), auth).await?);
    Ok(())
}
