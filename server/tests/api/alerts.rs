//! Alerts end to end: the runbook's rules fire from ingested events and reach a webhook (axum on
//! a free port), an email box (aiosmtpd) and a real Alertmanager (Debian's, started here);
//! acknowledgements and silences only through server functions; escalation by `run_once(now)`;
//! a restart mid-delivery loses nothing.
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::Utc;
use domain::governance::Role;
use serde_json::{Value, json};
use server::startup::Application;

use crate::helpers::*;
use crate::reports::{delivered, smtp_server};

/// A webhook receiver: every body it got, with when; answers `fail_first` requests with 500.
#[derive(Clone, Default)]
struct Hook {
    got: Arc<Mutex<Vec<(Instant, Value)>>>,
    fail_first: Arc<Mutex<u32>>,
}

impl Hook {
    async fn start(fail_first: u32) -> (Hook, String) {
        let hook = Hook { fail_first: Arc::new(Mutex::new(fail_first)), ..Hook::default() };
        let h = hook.clone();
        let app = axum::Router::new().route(
            "/hook",
            axum::routing::post(move |axum::Json(body): axum::Json<Value>| {
                let h = h.clone();
                async move {
                    let mut fail = h.fail_first.lock().expect("lock");
                    if *fail > 0 {
                        *fail -= 1;
                        return axum::http::StatusCode::INTERNAL_SERVER_ERROR;
                    }
                    h.got.lock().expect("lock").push((Instant::now(), body));
                    axum::http::StatusCode::OK
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}/hook", listener.local_addr().expect("addr"));
        tokio::spawn(async move { axum::serve(listener, app).await });
        (hook, url)
    }

    /// Waits up to `within` for a message with an alert of `rule` whose status is `status`.
    async fn wait(&self, rule: &str, status: &str, within: Duration) -> Option<(Instant, Value)> {
        let start = Instant::now();
        while start.elapsed() < within {
            let of = |b: &Value| b["alerts"].as_array().is_some_and(|a| a.iter().any(|a| a["labels"]["alertname"] == rule && a["status"] == status));
            if let Some(hit) = self.got.lock().expect("lock").iter().find(|(_, b)| of(b)).cloned() {
                return Some(hit);
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        None
    }
}

/// Three fills of momentum-1 each 60 bps above the arrival mid: the runbook's slippage rule
/// (above 50 bps on 3 consecutive fills, critical).
fn slippage_run(tag: &str) -> Vec<Value> {
    let mut out = vec![snapshot(&format!("{tag}-m"), "BTCUSDT", "67500", 0)];
    for i in 0..3 {
        let t = 1_000 * (i + 1);
        let (sig, ord) = (format!("{tag}-sig{i}"), format!("{tag}-ord{i}"));
        out.push(signal(&format!("{tag}-s{i}"), &sig, t));
        out.push(order(&format!("{tag}-o{i}"), &ord, &sig, "buy", "0.1", "submitted", t + 20));
        out.push(fill(&format!("{tag}-f{i}"), &ord, "0.1", "67905", "0.05", t + 60));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_runbook_alert_reaches_the_webhook_within_a_second_and_the_email_box_and_escalates_unacknowledged() {
    let smtp = smtp_server().await;
    let (hook, url) = Hook::start(0).await;
    let app = spawn_with(|c| {
        c.alerting.webhook_url = Some(url.clone().into());
        c.smtp_url = Some(format!("smtp://127.0.0.1:{}", smtp.port).into());
        c.alerting.recipients = vec!["risk@fund.example".into()];
        c.alerting.console_url = "https://console.fund.example".into();
    })
    .await;
    // Escalation after 2 minutes (the slippage alert resolves after 5 quiet minutes).
    let (_, current) = app.get_with(&app.read_token, "/api/v1/config").await;
    let mut config = current["config"].clone();
    config["alerting"]["escalate_after_secs"] = json!(120);
    let risk = app.login(Role::Risk).await;
    let form = format!(
        "base_version={}&config_json={}&reason=escalate+sooner+for+the+test",
        current["version"],
        form_urlencoded::byte_serialize(config.to_string().as_bytes()).collect::<String>()
    );
    let (status, body) = app.call(Some(&risk), "save_config_json", &form).await;
    assert_eq!(status, 200, "{body}");
    let sent = Instant::now();
    let (status, body) = app.post(&slippage_run("a")).await;
    assert_eq!(status, 200, "{body}");
    let (at, got) = hook.wait("slippage_consecutive", "firing", Duration::from_secs(5)).await.expect("the webhook got the alert");
    let latency = at - sent;
    assert!(latency < Duration::from_secs(1), "delivered {latency:?} after the batch was sent");
    // Slack-compatible, and Alertmanager's webhook payload: one alert in its group.
    let text = got["text"].as_str().unwrap_or_default();
    assert!(text.starts_with("[FIRING] critical slippage_consecutive"), "{text}");
    assert!(text.contains("<https://console.fund.example/alerts/"), "a link back to the console: {text}");
    assert_eq!(got["attachments"][0]["color"], "#c62828");
    assert_eq!((got["status"].as_str(), got["groupLabels"]["alertname"].as_str(), got["alerts"].as_array().map(Vec::len)), (Some("firing"), Some("slippage_consecutive"), Some(1)), "{got}");
    assert_eq!(got["alerts"][0]["labels"]["automation"], "momentum-1");
    assert_eq!(got["alerts"][0]["annotations"]["runbook_url"], "https://console.fund.example/alerts/runbook#slippage_consecutive");
    let fp = got["alerts"][0]["fingerprint"].as_str().expect("fingerprint").to_string();

    // Critical alerts also go by email; the confirmations are in the chain.
    let mut mails = Vec::new();
    for _ in 0..50 {
        mails = delivered(&smtp.maildir.path().join("mail"));
        if !mails.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(mails.len(), 1, "{mails:?}");
    assert!(mails[0].1.contains("[FIRING] critical slippage_consecutive"), "{:?}", mails[0]);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (status, alert) = app.get_with(&app.read_token, &format!("/api/v1/alerts/{fp}")).await;
    assert_eq!(status, 200, "{alert}");
    let notified: Vec<&str> = alert["history"].as_array().expect("history").iter().filter(|h| h["action"] == "notified").filter_map(|h| h["actor"].as_str()).collect();
    assert!(notified.contains(&"webhook") && notified.contains(&"email"), "{alert}");
    assert!(!notified.contains(&"alertmanager"), "no Alertmanager is configured: {alert}");

    // Nobody acknowledges it: 2 minutes later the rules escalate it (step 1: email).
    server::jobs::Rules { console: app.console.clone() }.run_once(Utc::now() + chrono::Duration::seconds(121)).await;
    let (_, alert) = app.get_with(&app.read_token, &format!("/api/v1/alerts/{fp}")).await;
    assert_eq!(alert["step"], 1, "{alert}");
    let mut escalated = false;
    for _ in 0..50 {
        if delivered(&smtp.maildir.path().join("mail")).iter().any(|m| m.1.contains("[FIRING] critical slippage_consecutive")) && delivered(&smtp.maildir.path().join("mail")).len() == 2 {
            escalated = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(escalated, "the escalation step emailed again");

    // The API lists it, and filters it.
    let (status, page) = app.get_with(&app.read_token, "/api/v1/alerts?state=firing&severity=critical").await;
    assert_eq!(status, 200);
    assert_eq!(page["alerts"][0]["fingerprint"], fp.as_str());
    assert_eq!(page["firing_by_severity"], json!([0, 0, 1]));
    let (status, bad) = app.get_with(&app.read_token, "/api/v1/alerts?state=burning").await;
    assert_eq!(status, 400);
    assert_eq!(bad["field"], "state", "{bad}");
    let (status, anomalies) = app.get_with(&app.read_token, "/api/v1/anomalies?limit=10").await;
    assert_eq!(status, 200, "{anomalies}");
    assert!(anomalies["anomalies"].is_array());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn people_acknowledge_and_silence_through_server_functions_and_tokens_only_read() {
    let app = spawn().await;
    let (status, body) = app.post(&slippage_run("b")).await;
    assert_eq!(status, 200, "{body}");
    let (_, page) = app.get_with(&app.read_token, "/api/v1/alerts").await;
    let fp = page["alerts"][0]["fingerprint"].as_str().expect("an alert").to_string();
    // No token and no session: refused; the ingest token cannot read alerts.
    let res = app.http.get(format!("{}/api/v1/alerts", app.base)).send().await.expect("get");
    assert_eq!(res.status().as_u16(), 401);
    let (status, _) = app.get_with(&app.ingest_token, "/api/v1/alerts").await;
    assert_eq!(status, 403);

    // Auditors and investors may not act; a trader who does not operate the automation may not either.
    for role in [Role::Auditor, Role::Investor, Role::Admin] {
        let cookie = app.login(role).await;
        let (status, body) = app.call(Some(&cookie), "acknowledge_alert", &format!("fingerprint={fp}&note=mine")).await;
        assert_eq!(status, 403, "{role:?}: {body}");
    }
    // The risk officer silences with too short a reason: refused, naming why.
    let risk = app.login(Role::Risk).await;
    let (status, body) = app.call(Some(&risk), "silence_alert", &format!("fingerprint={fp}&scope=alert&minutes=60&reason=short")).await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("10 characters"), "{body}");
    // Acknowledged by the trader of the automation (it has no owners: every trader operates it).
    let trader = app.login(Role::Trader).await;
    let (status, body) = app.call(Some(&trader), "acknowledge_alert", &format!("fingerprint={fp}&note=reducing+size")).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = app.call(Some(&trader), "acknowledge_alert", &format!("fingerprint={fp}&note=again")).await;
    assert_eq!(status, 409, "{body}");
    let (_, alert) = app.get_with(&app.read_token, &format!("/api/v1/alerts/{fp}")).await;
    assert_eq!((alert["state"].as_str(), alert["acknowledged_by"].as_str(), alert["acknowledge_note"].as_str()), (Some("acknowledged"), Some("trader"), Some("reducing size")));
    // Silenced by risk for the whole rule: listed as active, then ended early.
    let (status, body) = app.call(Some(&risk), "silence_alert", &format!("fingerprint={fp}&scope=rule&minutes=120&reason=broker+latency+incident+ticket+4411")).await;
    assert_eq!(status, 200, "{body}");
    let (_, page) = app.get_with(&app.read_token, "/api/v1/alerts").await;
    let silence = &page["silences"][0];
    assert_eq!(silence["matchers"], json!({"alertname": "slippage_consecutive", "automation": "momentum-1"}));
    assert_eq!(page["alerts"][0]["state"], "silenced");
    let id = silence["id"].as_u64().expect("id");
    let (status, _) = app.call(Some(&trader), "expire_silence", &format!("id={id}")).await;
    assert_eq!(status, 403, "a trader ends only his own silences");
    let (status, body) = app.call(Some(&risk), "expire_silence", &format!("id={id}")).await;
    assert_eq!(status, 200, "{body}");
    let (_, page) = app.get_with(&app.read_token, "/api/v1/alerts").await;
    assert_eq!(page["silences"], json!([]));
    // Every step is an event in the chain.
    let (_, events) = app.get_with(&app.read_token, "/api/v1/events?kind=alert_action&limit=10").await;
    let actions: Vec<&str> = events["events"].as_array().expect("events").iter().filter_map(|e| e["event"]["action"].as_str()).collect();
    assert_eq!(actions.len(), 3, "{events}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_webhook_is_retried_and_a_restart_mid_delivery_loses_nothing() {
    let (hook, url) = Hook::start(1).await;
    // A console whose webhook is down: the alert is owed, not delivered.
    let app = spawn_with(|c| c.alerting.webhook_url = Some("http://127.0.0.1:9/hook".to_string().into())).await;
    let (status, _) = app.post(&slippage_run("c")).await;
    assert_eq!(status, 200);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let webhook = |c: &server::console::Console| c.receivers().into_iter().find(|h| h.receiver == "webhook");
    assert_eq!(webhook(&app.console).map(|h| h.failed > 0), Some(true), "the failure is counted");
    // A second console on the same log, its webhook up (failing once, then accepting): the
    // owed notification is delivered after one retry, exactly once.
    let mut config = app.config();
    config.alerting.webhook_url = Some(url.into());
    let other = Application::build(config).await.expect("a second console");
    let got = hook.wait("slippage_consecutive", "firing", Duration::from_secs(10)).await;
    assert!(got.is_some(), "delivered after the restart");
    let mut health = webhook(&other.console);
    for _ in 0..50 {
        if health.as_ref().is_some_and(|h| h.delivered == 1) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
        health = webhook(&other.console);
    }
    assert_eq!(health.as_ref().map(|h| (h.failed, h.delivered, h.failing_for)), Some((1, 1, 0)), "{health:?}");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(hook.got.lock().expect("lock").len(), 1, "confirmed once, sent once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_groups_second_alert_waits_for_the_group_interval_and_goes_out_with_the_first_and_unacknowledged_groups_are_repeated() {
    let (hook, url) = Hook::start(0).await;
    let app = spawn_with(|c| c.alerting.webhook_url = Some(url.clone().into())).await;
    let (status, _) = app.post(&slippage_run("g")).await;
    assert_eq!(status, 200);
    hook.wait("slippage_consecutive", "firing", Duration::from_secs(5)).await.expect("the first alert of the group at once");
    // A second automation's run: same rule, same group; held for the group interval (60 s).
    let other: Vec<Value> = slippage_run("h")
        .into_iter()
        .map(|mut e| {
            if e["kind"] == "signal" {
                e["automation_id"] = json!("momentum-2");
            }
            e
        })
        .collect();
    let (status, body) = app.post(&other).await;
    assert_eq!(status, 200, "{body}");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(hook.got.lock().expect("lock").len(), 1, "held for the group interval");
    // A pass a minute on: one message with both firing alerts of the group.
    let settings = server::config::Alerting { webhook_url: Some(url.into()), ..Default::default() };
    let job = server::jobs::AlertDelivery::new(app.console.clone(), settings, None).expect("a delivery job");
    let done = job.run_once(Utc::now() + chrono::Duration::seconds(61)).await.expect("a pass");
    assert_eq!(done.sent, 1, "{done:?}");
    let got = hook.got.lock().expect("lock").last().map(|g| g.1.clone()).expect("a second message");
    assert!(got["text"].as_str().is_some_and(|t| t.starts_with("[FIRING:2] critical slippage_consecutive")), "{got}");
    let automations: Vec<&str> = got["alerts"].as_array().expect("alerts").iter().filter_map(|a| a["labels"]["automation"].as_str()).collect();
    assert_eq!(automations.len(), 2, "{got}");
    assert_eq!(got["commonLabels"]["alertname"], "slippage_consecutive");
    assert!(got["commonLabels"].get("automation").is_none(), "{got}");
    // Confirmed in the chain: nothing more is owed.
    assert_eq!(job.run_once(Utc::now() + chrono::Duration::seconds(62)).await.expect("a pass").sent, 0);
    // Four hours on, nobody has acknowledged them: one reminder of the group.
    let done = job.run_once(Utc::now() + chrono::Duration::seconds(4 * 3600 + 62)).await.expect("a pass");
    assert_eq!(done.sent, 1, "{done:?}");
    let got = hook.got.lock().expect("lock").last().map(|g| g.1.clone()).expect("a reminder");
    assert_eq!((got["repeat"].as_bool(), got["alerts"].as_array().map(Vec::len)), (Some(true), Some(2)), "{got}");
    assert_eq!(job.run_once(Utc::now() + chrono::Duration::seconds(4 * 3600 + 70)).await.expect("a pass").sent, 0, "once per repeat interval");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn more_than_five_percent_of_ingest_batches_rejected_alerts_and_an_engine_cannot_forge_the_consoles_status() {
    let app = spawn().await;
    // An engine may not write the console's own status events (they raise and clear alerts).
    let forged = json!({"event_id": "forged-1", "kind": "system", "ts": ts(0), "component": "console.ingest", "status": "ok", "detail": "all fine"});
    let (status, body) = app.post(&[forged]).await;
    assert_eq!((status, body["field"].as_str()), (422, Some("component")), "{body}");
    // 18 batches accepted, 3 rejected (the forged one among them): 14% of 21 over 5 minutes.
    for i in 0..18 {
        let (status, body) = app.post(&[snapshot(&format!("m{i}"), "BTCUSDT", "67500", i)]).await;
        assert_eq!(status, 200, "{body}");
    }
    for _ in 0..2 {
        let (status, _) = app.post_raw(Some(&app.ingest_token), "{not json").await;
        assert!((400..500).contains(&status), "{status}");
    }
    let rules = server::jobs::Rules { console: app.console.clone() };
    rules.run_once(Utc::now()).await;
    let (_, page) = app.get_with(&app.read_token, "/api/v1/alerts?rule=ingest_error_rate").await;
    let alert = &page["alerts"][0];
    assert_eq!((alert["state"].as_str(), alert["severity"].as_str()), (Some("firing"), Some("warning")), "{page}");
    assert!(alert["summary"].as_str().is_some_and(|s| s.contains("3 of 21 batches rejected")), "{alert}");
    // Five quiet minutes later the window is empty: resolved.
    rules.run_once(Utc::now() + chrono::Duration::seconds(301)).await;
    let (_, page) = app.get_with(&app.read_token, "/api/v1/alerts?rule=ingest_error_rate").await;
    assert_eq!(page["alerts"][0]["state"], "resolved", "{page}");
}

/// Debian's Alertmanager on a free loopback port, killed on drop.
struct Alertmanager {
    url: String,
    child: std::process::Child,
    _dir: tempfile::TempDir,
}

impl Drop for Alertmanager {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn alertmanager() -> Alertmanager {
    let dir = tempfile::tempdir().expect("dir");
    let config = dir.path().join("alertmanager.yml");
    std::fs::write(&config, "route:\n  receiver: nobody\nreceivers:\n  - name: nobody\n").expect("config");
    let port = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port").local_addr().expect("addr").port();
    let child = std::process::Command::new("/usr/bin/prometheus-alertmanager")
        .arg(format!("--config.file={}", config.display()))
        .arg(format!("--storage.path={}", dir.path().join("data").display()))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .arg("--cluster.listen-address=")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("/usr/bin/prometheus-alertmanager (Debian prometheus-alertmanager; scripts/setup.sh --test installs it)");
    let url = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    for _ in 0..100 {
        if http.get(format!("{url}/-/ready")).send().await.is_ok_and(|r| r.status().is_success()) {
            return Alertmanager { url, child, _dir: dir };
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("alertmanager did not become ready on {port}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_real_alertmanager_receives_the_alert_and_a_console_silence_suppresses_it() {
    let am = alertmanager().await;
    let app = spawn_with(|c| c.alerting.alertmanager_url = Some(am.url.clone())).await;
    let (status, _) = app.post(&slippage_run("d")).await;
    assert_eq!(status, 200);
    let http = reqwest::Client::new();
    let find = |alerts: &Value| alerts.as_array().and_then(|a| a.iter().find(|x| x["labels"]["alertname"] == "slippage_consecutive").cloned());
    let mut seen = None;
    for _ in 0..50 {
        let alerts: Value = http.get(format!("{}/api/v2/alerts", am.url)).send().await.expect("get").json().await.expect("json");
        if let Some(a) = find(&alerts) {
            seen = Some(a);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let seen = seen.expect("Alertmanager has the alert");
    assert_eq!(seen["status"]["state"], "active", "{seen}");
    assert_eq!(seen["labels"]["severity"], "critical");
    assert!(seen["annotations"]["summary"].as_str().is_some_and(|s| s.contains("consecutive fills")), "{seen}");

    // A silence made on the console holds in Alertmanager too.
    let (_, page) = app.get_with(&app.read_token, "/api/v1/alerts").await;
    let fp = page["alerts"][0]["fingerprint"].as_str().expect("fp").to_string();
    let risk = app.login(Role::Risk).await;
    let (status, body) = app.call(Some(&risk), "silence_alert", &format!("fingerprint={fp}&scope=alert&minutes=60&reason=known+broker+issue+INC-7")).await;
    assert_eq!(status, 200, "{body}");
    // A delivery pass a minute on: the console's silence is created in Alertmanager too.
    let settings = server::config::Alerting { alertmanager_url: Some(am.url.clone()), ..Default::default() };
    let job = server::jobs::AlertDelivery::new(app.console.clone(), settings, None).expect("a delivery job");
    job.run_once(Utc::now() + chrono::Duration::seconds(61)).await.expect("a pass");
    let alerts: Value = http.get(format!("{}/api/v2/alerts", am.url)).send().await.expect("get").json().await.expect("json");
    let now = find(&alerts).expect("still known");
    assert_eq!(now["status"]["state"], "suppressed", "{now}");
    let silences: Value = http.get(format!("{}/api/v2/silences", am.url)).send().await.expect("get").json().await.expect("json");
    assert!(silences.as_array().is_some_and(|s| s.iter().any(|x| x["createdBy"] == "risk" && x["comment"].as_str().is_some_and(|c| c.contains("INC-7")))), "{silences}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_config_change_is_recorded_and_alerts() {
    let app = spawn().await;
    let (_, current) = app.get_with(&app.read_token, "/api/v1/config").await;
    let mut config = current["config"].clone();
    config["security"]["fresh_totp_for_actions"] = json!(true);
    let form = format!(
        "base_version={}&config_json={}&reason=turn+on+two-factor+for+actions",
        current["version"],
        form_urlencoded::byte_serialize(config.to_string().as_bytes()).collect::<String>()
    );
    // Risk may change the config, but not an admin-only setting; a trader may not change it at all.
    let risk = app.login(Role::Risk).await;
    let (status, body) = app.call(Some(&risk), "save_config_json", &form).await;
    assert_eq!(status, 403, "{body}");
    let trader = app.login(Role::Trader).await;
    let (status, _) = app.call(Some(&trader), "save_config_json", &form).await;
    assert_eq!(status, 403);
    let (_, page) = app.get_with(&app.read_token, "/api/v1/alerts?rule=config_refused").await;
    let users: Vec<&str> = page["alerts"].as_array().expect("alerts").iter().filter_map(|a| a["labels"]["user"].as_str()).collect();
    assert_eq!(users.len(), 2, "{page}");
    assert!(users.contains(&"risk") && users.contains(&"trader"), "{page}");
    let risk_alert = page["alerts"].as_array().and_then(|a| a.iter().find(|a| a["labels"]["user"] == "risk")).expect("risk's");
    assert!(risk_alert["summary"].as_str().is_some_and(|s| s.contains("admin-only setting")), "{risk_alert}");
    // The config did not change.
    let (_, after) = app.get_with(&app.read_token, "/api/v1/config").await;
    assert_eq!(after["version"], current["version"]);
}
