//! `/metrics` for a Prometheus scraper (token scope `metrics`), checked by Debian's promtool; the
//! alerting rules in `deploy/prometheus/` pass `promtool test rules`; every Grafana panel's query
//! parses.
use std::process::Command;

use chrono::Utc;
use domain::governance::Role;

use crate::helpers::*;

fn promtool() -> Command {
    // Debian's prometheus package; scripts/setup.sh --test installs it. Missing: fail, never skip.
    assert!(std::path::Path::new("/usr/bin/promtool").exists(), "/usr/bin/promtool is missing (Debian prometheus; scripts/setup.sh --test installs it)");
    Command::new("/usr/bin/promtool")
}

fn deploy(path: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy").join(path)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_need_the_metrics_scope_and_a_live_scrape_passes_promtool() {
    let app = spawn().await;
    app.post(&round_trip()).await;
    let metrics_token = app.console.store().create_token("scraper", &"metrics".parse().expect("scope"), Utc::now()).await.expect("token");
    let get = |token: Option<String>| {
        let app = &app;
        async move {
            let mut req = app.http.get(format!("{}/metrics", app.base));
            if let Some(t) = token {
                req = req.bearer_auth(t);
            }
            let res = req.send().await.expect("get");
            (res.status().as_u16(), res.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_string(), res.text().await.unwrap_or_default())
        }
    };
    let none = get(None).await;
    assert_eq!(none.0, 401, "{none:?}");
    assert_eq!(get(Some(app.read_token.clone())).await.0, 403, "the read scope does not reach /metrics");
    assert_eq!(get(Some(app.ingest_token.clone())).await.0, 403);
    // A session does not either: a scraper has a token.
    let risk = app.login(Role::Risk).await;
    let res = app.http.get(format!("{}/metrics", app.base)).header("cookie", &risk).send().await.expect("get");
    assert_eq!(res.status().as_u16(), 401);
    let (status, content_type, text) = get(Some(metrics_token.clone())).await;
    assert_eq!(status, 200);
    assert!(content_type.starts_with("text/plain; version=0.0.4"), "{content_type}");
    for line in [
        "tradewatch_ingest_events_total{outcome=\"accepted\"} 7",
        "tradewatch_head_seq 7",
        "tradewatch_paused{breaker=\"\",scope=\"all\"} 0",
        "tradewatch_alerts{severity=\"critical\",state=\"firing\"} 0",
        "tradewatch_compliance_issues_open{severity=\"critical\"} 0",
    ] {
        assert!(text.contains(line) || text.contains(&line.replace("{breaker=\"\",scope=\"all\"}", "{scope=\"all\",breaker=\"\"}")), "missing {line}:\n{text}");
    }
    assert!(text.contains("tradewatch_http_requests_total{method=\"POST\",route=\"/api/v1/events\",status=\"2xx\"} 1"), "{text}");
    assert!(text.contains("tradewatch_ingest_batch_duration_seconds_count{outcome=\"accepted\"} 1"), "{text}");
    assert!(text.contains("tradewatch_pnl_usd{kind=\"unrealized\"} 49.975"), "{text}");
    // promtool reads it as Prometheus would, and lints it.
    let mut child = promtool().args(["check", "metrics"]).stdin(std::process::Stdio::piped()).stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped()).spawn().expect("promtool");
    use std::io::Write;
    child.stdin.take().expect("stdin").write_all(text.as_bytes()).expect("write");
    let out = child.wait_with_output().expect("promtool");
    assert!(out.status.success(), "promtool check metrics:\n{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
}

#[test]
fn the_alerting_rules_pass_promtool_check_and_their_unit_tests() {
    let rules = deploy("prometheus/tradewatch.rules.yml");
    let out = promtool().arg("check").arg("rules").arg(&rules).output().expect("promtool");
    assert!(out.status.success(), "{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    let out = promtool().arg("test").arg("rules").arg(deploy("prometheus/tradewatch.rules.test.yml")).output().expect("promtool");
    assert!(out.status.success(), "promtool test rules:\n{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
}

#[test]
fn every_grafana_panel_query_parses_and_names_our_metrics() {
    let dir = deploy("grafana/dashboards");
    let mut exprs = Vec::new();
    let mut dashboards = 0;
    for entry in std::fs::read_dir(&dir).expect("dashboards") {
        let path = entry.expect("entry").path();
        if path.extension().is_none_or(|e| e != "json") {
            continue;
        }
        dashboards += 1;
        let d: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path).expect("read")).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert!(d["title"].is_string() && d["uid"].is_string(), "{}", path.display());
        let panels = d["panels"].as_array().unwrap_or_else(|| panic!("{}: no panels", path.display()));
        assert!(!panels.is_empty());
        for p in panels {
            for t in p["targets"].as_array().map(Vec::as_slice).unwrap_or(&[]) {
                let e = t["expr"].as_str().unwrap_or_else(|| panic!("{}: a target without expr", path.display()));
                assert!(e.contains("tradewatch"), "{}: {e}", path.display());
                exprs.push(e.to_string());
            }
        }
    }
    assert_eq!(dashboards, 8, "System Health, Signal Flow, Latency, PnL & Slippage, Audit, Safety, Risk, Security");
    // Each query as a recording rule: promtool parses every expression.
    let mut yaml = String::from("groups:\n  - name: panels\n    rules:\n");
    for (i, e) in exprs.iter().enumerate() {
        yaml.push_str(&format!("      - record: panel_{i}\n        expr: {}\n", serde_json::to_string(e).expect("json")));
    }
    let file = tempfile::NamedTempFile::new().expect("tmp");
    std::fs::write(file.path(), yaml).expect("write");
    let out = promtool().arg("check").arg("rules").arg(file.path()).output().expect("promtool");
    assert!(out.status.success(), "{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    let provisioning = std::fs::read_to_string(deploy("grafana/provisioning/dashboards.yml")).expect("provisioning file");
    assert!(provisioning.contains("path:"), "{provisioning}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_reports_heartbeats_data_quality_routes_and_problems() {
    let app = spawn().await;
    let hb = |id: &str, ts: String| serde_json::json!({"event_id": id, "kind": "heartbeat", "ts": ts, "component": "engine-1", "status": "ok"});
    // A live engine whose clock is 2 s behind; marks with a zero spread and one stamped backwards.
    let now = Utc::now();
    let behind = |ms: i64| (now - chrono::Duration::milliseconds(ms)).to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let (status, body) = app.post(&[hb("h1", behind(2_000)), snapshot("m1", "BTCUSDT", "100", 0), snapshot("m2", "BTCUSDT", "100", 60_000), snapshot("m3", "BTCUSDT", "100", 30_000)]).await;
    assert_eq!(status, 200, "{body}");
    let (status, h) = app.get("/api/v1/health").await;
    assert_eq!(status, 200, "{h}");
    assert_eq!(h["components"][0]["component"], "engine-1");
    assert!(h["components"][0]["age_secs"].as_f64().is_some_and(|a| a < 30.0), "{h}");
    let clock = &h["clocks"][0];
    assert_eq!((clock["source"].as_str(), clock["replay"].as_bool()), (Some("engine-1"), Some(false)), "{h}");
    assert!(clock["drift_ms"].as_i64().is_some_and(|d| (2_000..2_500).contains(&d)), "{h}");
    let btc = &h["instruments"][0];
    assert_eq!((btc["marks"].as_u64(), btc["out_of_order"].as_u64(), btc["zero_spread"].as_u64()), (Some(3), Some(1), Some(3)), "{h}");
    let problems: Vec<&str> = h["problems"].as_array().expect("problems").iter().filter_map(|p| p.as_str()).collect();
    assert!(problems.iter().any(|p| p.contains("clock of engine-1 off by")), "{problems:?}");
    assert!(problems.iter().any(|p| p.contains("BTCUSDT: 1 marks stamped before")), "{problems:?}");
    // Every route answered this far is listed with its p95.
    assert!(h["routes"].as_array().is_some_and(|r| r.iter().any(|r| r["route"] == "/api/v1/events" && r["requests"] == 1 && r["p95_ms"].is_number())), "{h}");
    // The rules job has run at least once by now (every second).
    tokio::time::sleep(std::time::Duration::from_millis(1_200)).await;
    let (_, h) = app.get("/api/v1/health").await;
    assert!(h["jobs"].as_array().is_some_and(|j| j.iter().any(|j| j["job"] == "rules" && j["failures"] == 0)), "{h}");
    // The page draws it for an operations role.
    let risk = app.login(Role::Risk).await;
    let (status, html, _) = app.page(Some(&risk), "/health").await;
    assert_eq!(status, 200);
    assert!(html.contains("clock of engine-1 off by") && html.contains("health-instruments"), "{html:.300}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_alert_quality_run_detects_every_injected_anomaly_on_the_bundled_data() {
    let data = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../data");
    let from = chrono::NaiveDate::from_ymd_opt(2017, 4, 19).expect("date");
    let to = chrono::NaiveDate::from_ymd_opt(2018, 10, 31).expect("date");
    let run = server::quality::run(data, from, to, true, None).await.expect("a run");
    // At least one injection of each kind, each caught.
    assert!(run.injections.len() >= 6, "{run:?}");
    let missed: Vec<_> = run.injections.iter().filter(|i| !i.detected).map(|i| i.kind.name()).collect();
    assert!(missed.is_empty(), "missed: {missed:?}");
    assert!(run.alerts.get("clock_drift").is_some_and(|n| *n >= 1) && run.alerts.get("breaker_trip").is_some_and(|n| *n >= 1), "{:?}", run.alerts);
}
