//! Load tool for the compliance desk (loopback only): fills a running console with compliance
//! issues, then times the desk's pages and API at that size.
//!
//! cargo run --release -p server --example compliance_load -- http://127.0.0.1:3000 INGEST_TOKEN READ_TOKEN [ISSUES=100000]
//!
//! Needs `TW_USER` / `TW_PASSWORD` of a risk account: it saves a config (with a reason) that puts
//! the synthetic stream's instruments on the restricted list, so every order is an issue, posts
//! synthetic batches of 1,000 events until the log holds ISSUES issues, and renders each page
//! 300 times signed in.
use std::time::Instant;

use chrono::{TimeZone, Utc};
use serde_json::{Value, json};

fn quantiles(mut xs: Vec<f64>) -> String {
    xs.sort_by(f64::total_cmp);
    let q = |p: f64| xs[((xs.len() - 1) as f64 * p).round() as usize];
    format!("p50 {:.2} ms, p95 {:.2} ms, p99 {:.2} ms, max {:.2} ms (n={})", q(0.5), q(0.95), q(0.99), q(1.0), xs.len())
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let [_, base, ingest, read, rest @ ..] = args.as_slice() else {
        anyhow::bail!("usage: compliance_load BASE_URL INGEST_TOKEN READ_TOKEN [ISSUES=100000]");
    };
    let host = reqwest::Url::parse(base)?.host_str().unwrap_or_default().to_string();
    anyhow::ensure!(host == "127.0.0.1" || host == "localhost" || host == "::1", "the load tool only targets loopback");
    let target: u64 = rest.first().map(|s| s.parse()).transpose()?.unwrap_or(100_000);
    let http = reqwest::Client::new();
    let (user, password) = (std::env::var("TW_USER")?, std::env::var("TW_PASSWORD")?);
    let res = http.post(format!("{base}/api/login")).form(&[("username", user), ("password", password)]).send().await?;
    anyhow::ensure!(res.status().is_success(), "login answered {}", res.status());
    let cookie = res
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("tradewatch_session="))
        .and_then(|v| v.split(';').next())
        .map(str::to_string)
        .ok_or_else(|| anyhow::anyhow!("no session cookie"))?;
    let call = |name: &str, form: Vec<(&str, String)>| {
        let req = http.post(format!("{base}/api/{name}")).header("cookie", &cookie).header("origin", base.as_str()).form(&form);
        async move {
            let res = req.send().await?;
            let status = res.status();
            let text = res.text().await?;
            anyhow::ensure!(status.is_success(), "{status}: {text}");
            Ok::<String, anyhow::Error>(text)
        }
    };
    // The synthetic instruments on the restricted list, on top of the current config.
    let current: Value = serde_json::from_str(&call("get_config_text", vec![]).await?)?;
    let version = current["version"].as_u64().unwrap_or(0);
    let mut config: Value = serde_json::from_str(current["json"].as_str().unwrap_or("{}"))?;
    let mut prohibited = serde_json::Map::new();
    for i in ["AAPL", "MSFT", "JPM", "XOM", "EURUSD"] {
        prohibited.insert(i.into(), json!({"reason": "compliance load test: every order is an issue", "since": "2020-01-01"}));
    }
    if config["compliance"]["prohibited"] != Value::Object(prohibited.clone()) {
        config["compliance"]["prohibited"] = Value::Object(prohibited);
        call("save_config_json", vec![("base_version", version.to_string()), ("config_json", config.to_string()), ("reason", "compliance load test: restricted list of every synthetic instrument".into())]).await?;
    }

    let issues_now = || {
        let req = http.get(format!("{base}/api/v1/compliance/issues?limit=1")).bearer_auth(read);
        async move { Ok::<u64, anyhow::Error>(req.send().await?.json::<Value>().await?["total"].as_u64().unwrap_or(0)) }
    };
    let run = format!("cl{:04x}", rand::random::<u16>());
    let t0 = Utc.with_ymd_and_hms(2020, 1, 2, 14, 30, 0).single().unwrap_or_default();
    let start = Instant::now();
    let mut next = 0u64;
    let mut have = issues_now().await?;
    while have < target {
        let events = engine::synthetic::batch(&run, next, 1000, t0);
        next += events.len() as u64;
        let res = http.post(format!("{base}/api/v1/events")).bearer_auth(ingest).json(&events).send().await?;
        anyhow::ensure!(res.status().is_success(), "ingest answered {}", res.status());
        if next % 50_000 == 0 {
            have = issues_now().await?;
            eprintln!("  {next} events, {have} issues, {:.0} s", start.elapsed().as_secs_f64());
        }
    }
    have = issues_now().await?;
    println!("{have} compliance issues after {next} events in {:.1} s", start.elapsed().as_secs_f64());

    let newest: Value = http.get(format!("{base}/api/v1/compliance/issues?limit=1")).bearer_auth(read).send().await?.json().await?;
    let id = newest["issues"][0]["id"].as_u64().unwrap_or(1);
    for page in ["/compliance".to_string(), "/compliance?rule=prohibited_instrument&instrument=MSFT&state=open".into(), format!("/compliance/{id}")] {
        let mut xs = Vec::new();
        for _ in 0..300 {
            let t = Instant::now();
            let res = http.get(format!("{base}{page}")).header("cookie", &cookie).send().await?;
            anyhow::ensure!(res.status().is_success(), "{page}: {}", res.status());
            let body = res.text().await?;
            anyhow::ensure!(body.contains("Compliance"), "{page}: not the desk");
            xs.push(t.elapsed().as_secs_f64() * 1e3);
        }
        println!("page {page} (full SSR HTML, signed in, {have} issues): {}", quantiles(xs));
    }
    for api in ["/api/v1/compliance/issues", "/api/v1/compliance/issues?state=open&rule=prohibited_instrument&limit=500", "/api/v1/compliance/limits"] {
        let mut xs = Vec::new();
        for _ in 0..300 {
            let t = Instant::now();
            let res = http.get(format!("{base}{api}")).bearer_auth(read).send().await?;
            anyhow::ensure!(res.status().is_success(), "{api}: {}", res.status());
            let _ = res.bytes().await?;
            xs.push(t.elapsed().as_secs_f64() * 1e3);
        }
        println!("api {api}: {}", quantiles(xs));
    }
    Ok(())
}
