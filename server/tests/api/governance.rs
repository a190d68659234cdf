//! Governance over real HTTP: the authorization matrix, sign-in, gating with approvals, pauses,
//! config changes with reasons, and the engine-facing API.
use domain::governance::{Permission, Role};
use serde_json::{Value, json};

use crate::helpers::*;

/// Every server function, a valid body for it, and what it needs (None = anyone, signed in or not).
const SERVER_FNS: &[(&str, &str, Option<Permission>)] = &[
    ("whoami", "", None),
    ("logout", "", None),
    ("get_dashboard", "", Some(Permission::ViewOperations)),
    ("get_signals", "limit=10", Some(Permission::ViewOperations)),
    ("get_events", "query[limit]=5", Some(Permission::ViewOperations)),
    ("get_event", "seq=1", Some(Permission::ViewOperations)),
    ("get_lineage", "signal_id=x", Some(Permission::ViewOperations)),
    ("verify_chain", "", Some(Permission::ViewOperations)),
    ("get_governance", "", Some(Permission::ViewOperations)),
    ("get_performance", "", Some(Permission::ViewOperations)),
    ("get_kpis", "", Some(Permission::ViewOperations)),
    ("get_kpi_week", "week=2024-10-21", Some(Permission::ViewOperations)),
    ("get_attribution", "", Some(Permission::ViewOperations)),
    ("get_execution", "", Some(Permission::ViewOperations)),
    ("get_risk", "", Some(Permission::ViewOperations)),
    ("get_config", "", Some(Permission::ViewOperations)),
    ("get_config_history", "", Some(Permission::ViewOperations)),
    ("get_config_text", "", Some(Permission::ViewOperations)),
    ("save_config_json", "base_version=99&config_json=%7B%7D&reason=matrix+test+change", Some(Permission::ChangeConfig)),
    ("decide_signal", "signal_id=x&action=approve", Some(Permission::DecideSignals)),
    ("set_paused", "automation=momentum-1&pause=true&reason=matrix+test+pause", Some(Permission::PauseAutomation)),
    ("set_paused", "pause=true&reason=matrix+test+pause", Some(Permission::PauseGlobal)),
    ("save_config", "base_version=99&config[gating][threshold]=3&reason=matrix+test+change", Some(Permission::ChangeConfig)),
    ("rollback_config", "to_version=99&reason=matrix+test+rollback", Some(Permission::ChangeConfig)),
    ("get_users", "", Some(Permission::ManageUsers)),
    ("get_login_attempts", "", Some(Permission::ManageUsers)),
    ("get_tokens", "", Some(Permission::ManageUsers)),
    ("create_token", "name=matrix-token&scopes[0]=read", Some(Permission::ManageUsers)),
    ("revoke_token", "id=999", Some(Permission::ManageUsers)),
    ("get_compliance", "query[limit]=5", Some(Permission::ViewCompliance)),
    ("get_compliance_issue", "id=1", Some(Permission::ViewCompliance)),
    ("review_compliance_issue", "id=1&action=acknowledge", Some(Permission::ReviewCompliance)),
    ("compliance_report", "kind=monthly&format=html&period=2024-10", Some(Permission::ComplianceReports)),
    ("get_compliance_form", "", Some(Permission::ViewOperations)),
    ("get_alerts", "query[limit]=5", Some(Permission::ViewOperations)),
    ("get_health", "", Some(Permission::ViewOperations)),
    ("get_alert", "fingerprint=0000000000000000", Some(Permission::ViewOperations)),
    ("acknowledge_alert", "fingerprint=0000000000000000&note=x", Some(Permission::ActOnAlerts)),
    ("silence_alert", "fingerprint=0000000000000000&scope=alert&minutes=60&reason=matrix+test+silence", Some(Permission::ActOnAlerts)),
    ("expire_silence", "id=999999", Some(Permission::ActOnAlerts)),
    ("compliance_form", "fields[enabled]=on&step=preview&base_version=0&reason=matrix+test+change", Some(Permission::ChangeConfig)),
    ("get_settings_form", "", Some(Permission::ViewOperations)),
    ("settings_form", "fields[/gating/threshold]=10&step=preview&base_version=0&reason=matrix+test+change", Some(Permission::ChangeConfig)),
    ("get_investor_summary", "", Some(Permission::ViewInvestor)),
    ("get_checkpoints", "", Some(Permission::ViewInvestor)),
    ("get_methodology", "slug=pnl", Some(Permission::ViewInvestor)),
    ("get_backtest", "", Some(Permission::ViewInvestor)),
    ("get_decision_records", "", Some(Permission::ViewInvestor)),
    ("list_reports", "", Some(Permission::ViewInvestor)),
    ("get_report_html", "week=2024-W43", Some(Permission::ViewInvestor)),
    ("download_report", "week=2024-W43&format=pdf", Some(Permission::ViewInvestor)),
    ("generate_report", "week=2024-W43", Some(Permission::GenerateReports)),
    ("export_data", "dataset=returns&format=csv", Some(Permission::ViewOperations)),
    ("change_password", "current=wrong&new=whatever-long-enough", Some(Permission::ViewInvestor)),
    ("totp_status", "", Some(Permission::ViewInvestor)),
    ("totp_begin", "", Some(Permission::ViewInvestor)),
    ("totp_confirm", "code=000000", Some(Permission::ViewInvestor)),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_server_function_checks_the_role_on_the_server() {
    let app = spawn().await;
    app.post(&round_trip()).await; // so momentum-1 exists
    let mut cookies = vec![(None, None)];
    for role in Role::ALL {
        cookies.push((Some(role), Some(app.login(role).await)));
    }
    let mut failures = Vec::new();
    for (name, body, needs) in SERVER_FNS {
        for (role, cookie) in &cookies {
            let (status, text) = app.call(cookie.as_deref(), name, body).await;
            let expected_denial = match (needs, role) {
                (None, _) => None,
                (Some(_), None) => Some(401),
                (Some(p), Some(r)) if !r.allows(*p) => Some(403),
                _ => None,
            };
            let ok = match expected_denial {
                Some(code) => status == code,
                None => status != 401 && status != 403,
            };
            if !ok {
                failures.push(format!("{name} as {role:?}: got {status} {text:.120}, expected {expected_denial:?}"));
            }
            if name == &"logout" {
                continue; // the session of this cookie is gone now; log in again below
            }
        }
        if name == &"logout" {
            for c in cookies.iter_mut().skip(1) {
                c.1 = Some(app.login(c.0.expect("role")).await);
            }
        }
    }
    assert!(failures.is_empty(), "authorization matrix:\n{}", failures.join("\n"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_redirect_to_login_and_investors_only_see_the_portal() {
    let app = spawn().await;
    let (status, _, location) = app.page(None, "/audit").await;
    assert_eq!((status, location.as_deref()), (303, Some("/login?next=/audit")));
    let (status, html, _) = app.page(None, "/login").await;
    assert_eq!(status, 200);
    assert!(html.contains("Sign in"));
    let investor = app.login(Role::Investor).await;
    for path in ["/", "/signals", "/audit", "/config", "/performance", "/trades/sig-1"] {
        let (status, _, location) = app.page(Some(&investor), path).await;
        assert_eq!((status, location.as_deref()), (303, Some("/investor")), "{path}");
    }
    let (status, html, _) = app.page(Some(&investor), "/investor").await;
    assert_eq!(status, 200);
    assert!(html.contains("Investor portal"));
    // An investor calling an operator's server function directly is refused on the server.
    let (status, _) = app.call(Some(&investor), "decide_signal", "signal_id=x&action=approve").await;
    assert_eq!(status, 403);
    let trader = app.login(Role::Trader).await;
    let (status, html, _) = app.page(Some(&trader), "/").await;
    assert_eq!(status, 200);
    assert!(html.contains("Trading dashboard"));
    // Security headers, with a CSP whose nonce is the hydration script's.
    let res = app.http.get(format!("{}/", app.base)).header("cookie", &trader).send().await.expect("page");
    let csp = res.headers().get("content-security-policy").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    assert_eq!(res.headers().get("x-frame-options").and_then(|v| v.to_str().ok()), Some("DENY"));
    let html = res.text().await.expect("html");
    let nonce = csp.split("'nonce-").nth(1).and_then(|s| s.split('\'').next()).expect("a nonce in the CSP");
    assert!(html.contains(&format!("nonce=\"{nonce}\"")), "the inline hydration script carries the CSP nonce");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_passwords_get_one_answer_and_then_a_lock() {
    let app = spawn().await;
    let attempt = |user: &'static str, pw: &'static str| {
        let http = app.http.clone();
        let base = app.base.clone();
        async move {
            let res = http.post(format!("{base}/api/login")).form(&[("username", user), ("password", pw)]).send().await.expect("login");
            (res.status().as_u16(), res.text().await.unwrap_or_default())
        }
    };
    let (s1, unknown) = attempt("nobody", "whatever-password").await;
    let (s2, wrong) = attempt("trader", "whatever-password").await;
    assert_eq!((s1, s2), (401, 401));
    assert_eq!(unknown, wrong, "an unknown user and a wrong password look the same");
    for _ in 0..4 {
        attempt("trader", "whatever-password").await;
    }
    let (status, body) = attempt("trader", "trader-password-123").await;
    assert_eq!(status, 429, "locked after 5 failures even with the right password: {body}");
    // Cross-site posts to server functions are refused.
    let res = app.http.post(format!("{}/api/login", app.base)).header("origin", "http://evil.example").form(&[("username", "risk")]).send().await.expect("post");
    assert_eq!(res.status(), 403);
    let admin = app.login(Role::Admin).await;
    let (_, attempts) = app.call(Some(&admin), "get_login_attempts", "").await;
    assert!(attempts.contains("nobody"), "admins see the attempts");
}

fn entry(id: &str, signal_id: &str, automation: &str, at: i64) -> Value {
    let mut s = signal(id, signal_id, at);
    s["automation_id"] = json!(automation);
    s
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gated_entries_wait_for_an_approval_that_the_engine_reads() {
    let app = spawn().await;
    let trader = app.login(Role::Trader).await;
    let (status, ack) = app.post(&[entry("g1", "sig-g1", "auto-a", 0), risk("g2", "sig-g1", 5), entry("g3", "sig-g2", "auto-a", 10)]).await;
    assert_eq!(status, 200, "{ack}");
    let (status, automations) = app.get_with(&app.engine_token, "/api/v1/automations").await;
    assert_eq!(status, 200);
    assert_eq!(automations["automations"][0]["mode"], "gated");
    assert_eq!(automations["automations"][0]["pending"], 2);
    assert_eq!((automations["pending"].as_array().map(Vec::len), &automations["pending_total"]), (Some(2), &serde_json::json!(2)));
    // The page's view reads each listed row's detail from the log (the fold keeps it compact).
    let (status, g) = app.call(Some(&trader), "get_governance", "").await;
    assert_eq!(status, 200, "{g}");
    let g: Value = serde_json::from_str(&g).expect("json");
    let first = &g["pending"][0];
    assert_eq!((first["signal_id"].as_str(), first["features"]["rsi_14"].as_f64()), (Some("sig-g1"), Some(61.2)), "{first}");
    assert_eq!((first["checks"][0]["name"].as_str(), first["risk_decision"].as_str()), (Some("position_limit"), Some("approve")));
    assert_eq!(g["pending"][1]["checks"].as_array().map(Vec::len), Some(0), "no risk check yet for the second");
    // An order for a signal nobody approved is stored but flagged.
    let (_, ack) = app.post(&[order("g4", "ord-g1", "sig-g1", "buy", "1", "submitted", 20)]).await;
    assert_eq!(ack["flagged"][0]["flag"], "unapproved_signal");
    // Engines cannot approve their own signals.
    let forged = json!({"event_id": "forged", "kind": "operator_response", "ts": ts(30), "signal_id": "sig-g2", "action": "approve", "actor": "engine"});
    let (status, body) = app.post(&[forged]).await;
    assert_eq!((status, body["field"].as_str()), (422, Some("kind")));

    // Reject without a reason is refused; with one it is recorded.
    let (status, body) = app.call(Some(&trader), "decide_signal", "signal_id=sig-g2&action=reject").await;
    assert!(status >= 400 && body.contains("reason"), "{status} {body}");
    let (status, _) = app.call(Some(&trader), "decide_signal", "signal_id=sig-g2&action=reject&comment=spread+too+wide+today").await;
    assert_eq!(status, 200);
    let (status, _) = app.call(Some(&trader), "decide_signal", "signal_id=sig-g1&action=approve").await;
    assert_eq!(status, 200);
    let (status, _) = app.call(Some(&trader), "decide_signal", "signal_id=sig-g1&action=approve").await;
    assert_eq!(status, 409, "a decided signal cannot be decided again");

    let (status, d) = app.get_with(&app.engine_token, "/api/v1/automations/auto-a/decisions?after_seq=0").await;
    assert_eq!(status, 200);
    let decisions: Vec<(String, String, String)> = d["decisions"]
        .as_array()
        .expect("decisions")
        .iter()
        .map(|x| (x["signal_id"].as_str().unwrap_or("").into(), x["action"].as_str().unwrap_or("").into(), x["actor"].as_str().unwrap_or("").into()))
        .collect();
    assert_eq!(decisions, vec![("sig-g2".into(), "reject".into(), "trader".into()), ("sig-g1".into(), "approve".into(), "trader".into())]);
    assert!(d["decisions"][1]["response_ms"].as_i64().is_some());
    // The decision is an event in the chain, with who and why.
    let (_, page) = app.get("/api/v1/events?kind=operator_response").await;
    assert_eq!(page["events"][0]["event"]["comment"], "spread too wide today");
    let (status, _) = app.get_with(&app.read_token, "/api/v1/automations/auto-a/decisions").await;
    assert_eq!(status, 200);
    let (status, _) = app.get_with(&app.ingest_token, "/api/v1/automations").await;
    assert_eq!(status, 403, "the ingest scope does not read governance");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_config_editor_sends_text_that_the_server_parses_and_checks() {
    let app = spawn().await;
    let risk_user = app.login(Role::Risk).await;
    let (status, body) = app.call(Some(&risk_user), "get_config_text", "").await;
    assert_eq!(status, 200, "{body}");
    let text: Value = serde_json::from_str(&body).expect("json");
    assert_eq!(text["version"], 0);
    assert_eq!(text["fresh_totp_required"], false);
    let mut config: Value = serde_json::from_str(text["json"].as_str().expect("the config as text")).expect("pretty JSON");
    assert_eq!(config["gating"]["threshold"], 10);
    let form = |json: &str, reason: &str| {
        let enc = |s: &str| s.bytes().map(|b| format!("%{b:02X}")).collect::<String>();
        format!("base_version=0&config_json={}&reason={}", enc(json), enc(reason))
    };
    let reason = "the editor test changes the config";
    let (status, body) = app.call(Some(&risk_user), "save_config_json", &form("{\"gating\": ", reason)).await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("not valid JSON"), "{body}");
    config["gating"]["threshold"] = json!(20_000);
    let (status, body) = app.call(Some(&risk_user), "save_config_json", &form(&config.to_string(), reason)).await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("gating.threshold") && body.contains("at most 10000"), "the field and the reason: {body}");
    let (status, body) = app.call(Some(&risk_user), "save_config_json", &form(&"x".repeat(300 * 1024), reason)).await;
    assert_eq!(status, 400, "{body}");
    config["gating"]["threshold"] = json!(0);
    let (status, body) = app.call(Some(&risk_user), "save_config_json", &form(&config.to_string(), reason)).await;
    assert_eq!(status, 403, "risk cannot lower gating.threshold by text either: {body}");
    config["gating"]["threshold"] = json!(12);
    let (status, body) = app.call(Some(&risk_user), "save_config_json", &form(&config.to_string(), "short")).await;
    assert!(status >= 400 && body.contains("reason"), "{status} {body}");
    let (status, body) = app.call(Some(&risk_user), "save_config_json", &form(&config.to_string(), reason)).await;
    assert_eq!((status, body.as_str()), (200, "1"));
    let (_, history) = app.call(Some(&risk_user), "get_config_history", "").await;
    let history: Value = serde_json::from_str(&history).expect("json");
    assert_eq!(history[0]["changes"], json!([{"path": "gating.threshold", "before": "10", "after": "12"}]));
    assert_eq!(history[0]["reason"], reason);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn config_changes_need_a_reason_and_keep_a_diffed_history() {
    let app = spawn().await;
    let risk_user = app.login(Role::Risk).await;
    let (status, body) = app.call(Some(&risk_user), "save_config", "base_version=0&config[gating][threshold]=2&reason=++++").await;
    assert!(status >= 400 && body.contains("reason"), "{status} {body}");
    // Fewer approvals weaken the four-eyes control: risk may not, an admin may.
    let (status, body) = app.call(Some(&risk_user), "save_config", "base_version=0&config[gating][threshold]=0&reason=no+approvals+needed+any+more").await;
    assert_eq!(status, 403, "risk cannot lower gating.threshold: {body}");
    let admin = app.login(Role::Admin).await;
    let (status, body) = app.call(Some(&admin), "save_config", "base_version=0&config[gating][threshold]=2&reason=two+approvals+are+enough+for+this+desk").await;
    assert_eq!(status, 200, "{body}");
    let (status, _) = app.call(Some(&risk_user), "save_config", "base_version=0&config[gating][threshold]=14&reason=a+stale+form+must+not+win").await;
    assert_eq!(status, 409, "a change based on an old version is refused");
    let (_, history) = app.call(Some(&risk_user), "get_config_history", "").await;
    let history: Value = serde_json::from_str(&history).expect("json");
    assert_eq!(history[0]["version"], 1);
    assert_eq!(history[0]["actor"], "admin");
    assert_eq!(history[0]["changes"], json!([{"path": "gating.threshold", "before": "10", "after": "2"}]));
    let (status, c) = app.get_with(&app.engine_token, "/api/v1/config").await;
    assert_eq!((status, c["version"].as_u64(), c["config"]["gating"]["threshold"].as_u64()), (200, Some(1), Some(2)));
    let (status, _) = app.call(Some(&risk_user), "rollback_config", "to_version=1&reason=short").await;
    assert!(status >= 400);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pause_flags_orders_and_resume_needs_a_reason() {
    let app = spawn().await;
    app.post(&round_trip()).await;
    let risk_user = app.login(Role::Risk).await;
    let (status, _) = app.call(Some(&risk_user), "set_paused", "pause=true").await;
    assert!(status >= 400, "a pause without a reason is refused");
    let (status, body) = app.call(Some(&risk_user), "set_paused", "pause=true&reason=desk+halt+for+a+data+check").await;
    assert_eq!(status, 200, "{body}");
    let (_, a) = app.get_with(&app.engine_token, "/api/v1/automations").await;
    assert_eq!(a["global_pause"]["actor"], "risk");
    let (_, ack) = app.post(&[order("p1", "ord-p1", "sig-1", "sell", "0.1", "submitted", 70_000)]).await;
    assert_eq!(ack["flagged"][0]["flag"], "paused", "orders during a pause are stored and flagged, not dropped");
    let (status, _) = app.call(Some(&risk_user), "set_paused", "pause=false&reason=data+check+done").await;
    assert_eq!(status, 200);
    let (_, a) = app.get_with(&app.engine_token, "/api/v1/automations").await;
    assert!(a["global_pause"].is_null());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_factor_enrolment_then_sign_in_needs_a_code_and_recovery_codes_work_once() {
    let app = spawn().await;
    let cookie = app.login(Role::Auditor).await;
    let (status, body) = app.call(Some(&cookie), "totp_begin", "").await;
    assert_eq!(status, 200, "{body}");
    let enrolment: Value = serde_json::from_str(&body).expect("json");
    assert!(enrolment["qr_svg"].as_str().unwrap_or("").contains("<svg"), "a QR code as SVG");
    let secret = enrolment["secret"].as_str().expect("secret").to_string();
    let (status, _) = app.call(Some(&cookie), "totp_confirm", "code=000001").await;
    assert_eq!(status, 400, "a wrong code does not enable it");
    let code = totp_rs::Builder::new()
        .with_secret(totp_rs::Secret::try_from_base32(&secret).expect("base32"))
        .with_account_name("auditor".to_string())
        .with_issuer(Some("Tradewatch"))
        .build()
        .expect("totp")
        .generate(chrono::Utc::now().timestamp() as u64)
        .to_string();
    let (status, body) = app.call(Some(&cookie), "totp_confirm", &format!("code={code}")).await;
    assert_eq!(status, 200, "{body}");
    let recovery: Vec<String> = serde_json::from_str(&body).expect("codes");
    assert_eq!(recovery.len(), 10);

    let login = |code: Option<String>| {
        let http = app.http.clone();
        let base = app.base.clone();
        async move {
            let mut form = vec![("username", "auditor".to_string()), ("password", password(Role::Auditor))];
            if let Some(c) = code {
                form.push(("code", c));
            }
            http.post(format!("{base}/api/login")).form(&form).send().await.expect("login").status().as_u16()
        }
    };
    assert_eq!(login(None).await, 401, "the password alone is not enough now");
    assert_eq!(login(Some(code.clone())).await, 401, "a TOTP code is accepted once");
    assert_eq!(login(Some(recovery[0].clone())).await, 200, "a recovery code signs in");
    assert_eq!(login(Some(recovery[0].clone())).await, 401, "and only once");
}

async fn enrol(app: &TestApp, cookie: &str, username: &str) -> String {
    let (_, body) = app.call(Some(cookie), "totp_begin", "").await;
    let secret = serde_json::from_str::<Value>(&body).expect("json")["secret"].as_str().expect("secret").to_string();
    let (status, body) = app.call(Some(cookie), "totp_confirm", &format!("code={}", totp_code(&secret, username, 0))).await;
    assert_eq!(status, 200, "{body}");
    secret
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_admin_policy_asks_for_a_fresh_totp_code_per_action() {
    let app = spawn().await;
    app.post(&[entry("s1", "sig-s1", "auto-s", 0), entry("s2", "sig-s2", "auto-s", 10)]).await;
    let (admin, risk_user, trader) = (app.login(Role::Admin).await, app.login(Role::Risk).await, app.login(Role::Trader).await);
    let policy = "config[security][fresh_totp_for_actions]=true&reason=step-up+for+every+sensitive+action";
    let (status, _) = app.call(Some(&risk_user), "save_config", &format!("base_version=0&{policy}")).await;
    assert_eq!(status, 403, "only an admin changes security policies");
    let (status, body) = app.call(Some(&admin), "save_config", &format!("base_version=0&{policy}")).await;
    assert_eq!(status, 200, "{body}");

    let (status, body) = app.call(Some(&trader), "decide_signal", "signal_id=sig-s1&action=approve").await;
    assert!(status == 403 && body.contains("two-factor"), "no code, no approval: {status} {body}");
    let secret = enrol(&app, &trader, "trader").await;
    let (status, body) = app.call(Some(&trader), "decide_signal", "signal_id=sig-s1&action=approve&totp=123456").await;
    assert!(status == 403 && body.contains("two-factor"), "a wrong code: {status} {body}");
    let fresh = totp_code(&secret, "trader", 30);
    let (status, body) = app.call(Some(&trader), "decide_signal", &format!("signal_id=sig-s1&action=approve&totp={fresh}")).await;
    assert_eq!(status, 200, "{body}");
    let (status, _) = app.call(Some(&trader), "decide_signal", &format!("signal_id=sig-s2&action=approve&totp={fresh}")).await;
    assert_eq!(status, 403, "a code works once");
    // Risk has no two-factor: pausing is refused until it is turned on.
    let (status, body) = app.call(Some(&risk_user), "set_paused", "pause=true&reason=desk+halt+for+a+data+check").await;
    assert!(status == 403 && body.contains("turn two-factor on"), "{status} {body}");
    let (_, g) = app.call(Some(&trader), "get_governance", "").await;
    assert_eq!(serde_json::from_str::<Value>(&g).expect("json")["fresh_totp_required"], true, "pages learn the policy");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn traders_act_only_on_the_automations_they_own() {
    let app = spawn().await;
    app.post(&[entry("o1", "sig-o1", "auto-o", 0), entry("o2", "sig-o2", "auto-free", 10)]).await;
    let (risk_user, trader) = (app.login(Role::Risk).await, app.login(Role::Trader).await);
    let (status, body) = app.call(Some(&risk_user), "save_config", "base_version=0&config[owners][auto-o][0]=alice&reason=auto-o+belongs+to+alice").await;
    assert_eq!(status, 200, "{body}");
    let (status, _) = app.call(Some(&trader), "decide_signal", "signal_id=sig-o1&action=approve").await;
    assert_eq!(status, 403, "not his automation");
    let (status, _) = app.call(Some(&trader), "set_paused", "automation=auto-o&pause=true&reason=not+mine+to+pause").await;
    assert_eq!(status, 403);
    let (status, _) = app.call(Some(&trader), "decide_signal", "signal_id=sig-o2&action=approve").await;
    assert_eq!(status, 200, "an automation without owners is open to every trader");
    let (status, _) = app.call(Some(&risk_user), "set_paused", "automation=auto-o&pause=true&reason=risk+may+pause+any+automation").await;
    assert_eq!(status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admins_create_list_and_revoke_api_tokens_in_the_chain() {
    let app = spawn().await;
    let admin = app.login(Role::Admin).await;
    let (status, body) = app.call(Some(&admin), "create_token", "name=desk-reader&scopes[0]=read").await;
    assert_eq!(status, 200, "{body}");
    let secret: String = serde_json::from_str(&body).expect("secret");
    assert!(secret.starts_with("tw_"));
    let (status, _) = app.get_with(&secret, "/api/v1/summary").await;
    assert_eq!(status, 200, "the new token reads");
    let (status, _) = app.call(Some(&admin), "create_token", "name=desk-reader&scopes[0]=read").await;
    assert_eq!(status, 409, "names are unique");
    let (status, _) = app.call(Some(&admin), "create_token", "name=bad&scopes[0]=root").await;
    assert_eq!(status, 400, "unknown scopes are refused");
    let (_, list) = app.call(Some(&admin), "get_tokens", "").await;
    let list: Value = serde_json::from_str(&list).expect("json");
    let row = list.as_array().expect("tokens").iter().find(|t| t["name"] == "desk-reader").expect("listed").clone();
    assert!(!list.to_string().contains(&secret), "the secret is never listed");
    let (status, _) = app.call(Some(&admin), "revoke_token", &format!("id={}", row["id"])).await;
    assert_eq!(status, 200);
    let (status, _) = app.get_with(&secret, "/api/v1/summary").await;
    assert_eq!(status, 401, "a revoked token is refused at once");
    let (_, page) = app.get("/api/v1/events?kind=system").await;
    let details: Vec<&str> = page["events"].as_array().expect("events").iter().filter_map(|e| e["event"]["detail"].as_str()).collect();
    assert!(details.iter().any(|d| d.contains("'desk-reader' (read) created by admin")), "{details:?}");
    assert!(details.iter().any(|d| d.contains("'desk-reader' revoked by admin")), "{details:?}");
}

/// Who may call an API route: token scopes, and which signed-in roles (by permission).
struct RouteRule {
    method: &'static str,
    path: &'static str,
    body: &'static str,
    scopes: &'static [&'static str],
    session: Option<Permission>,
}

const ANY: &[&str] = &["ingest", "engine", "read", "metrics"];

const ROUTES: &[RouteRule] = &[
    RouteRule { method: "POST", path: "/api/v1/events", body: "[]", scopes: &["ingest"], session: None },
    RouteRule { method: "GET", path: "/api/v1/events", body: "", scopes: &["read"], session: None },
    RouteRule { method: "GET", path: "/api/v1/trades/sig-1/lineage", body: "", scopes: &["read"], session: None },
    RouteRule { method: "GET", path: "/api/v1/summary", body: "", scopes: &["read"], session: None },
    RouteRule { method: "GET", path: "/api/v1/audit/verify", body: "", scopes: &["read"], session: None },
    RouteRule { method: "GET", path: "/api/v1/automations", body: "", scopes: &["engine", "read"], session: None },
    RouteRule { method: "GET", path: "/api/v1/automations/momentum-1/decisions", body: "", scopes: &["engine", "read"], session: None },
    RouteRule { method: "GET", path: "/api/v1/config", body: "", scopes: &["engine", "read"], session: None },
    // Ingest and engine tokens read nothing of the analytics (issue: who sees what).
    RouteRule { method: "GET", path: "/api/v1/metrics", body: "", scopes: &["read"], session: Some(Permission::ViewInvestor) },
    // Metrics of the caller's own returns read nothing of the console: any scope.
    RouteRule { method: "POST", path: "/api/v1/metrics/returns", body: r#"[{"date":"2024-01-02","return":0.01},{"date":"2024-01-03","return":0.0}]"#, scopes: ANY, session: Some(Permission::ViewInvestor) },
    RouteRule { method: "GET", path: "/api/v1/kpis/week?week=2024-10-21", body: "", scopes: &["read"], session: Some(Permission::ViewOperations) },
    RouteRule { method: "GET", path: "/live/dashboard", body: "", scopes: &[], session: Some(Permission::ViewOperations) },
    RouteRule { method: "GET", path: "/live/dashboard?fragment=compliance", body: "", scopes: &[], session: Some(Permission::ViewCompliance) },
    RouteRule { method: "GET", path: "/api/v1/compliance/issues", body: "", scopes: &["read"], session: Some(Permission::ViewCompliance) },
    RouteRule { method: "GET", path: "/api/v1/compliance/issues/1", body: "", scopes: &["read"], session: Some(Permission::ViewCompliance) },
    RouteRule { method: "GET", path: "/api/v1/compliance/limits", body: "", scopes: &["read"], session: Some(Permission::ViewCompliance) },
    // A Prometheus scraper's token, and nothing else.
    RouteRule { method: "GET", path: "/metrics", body: "", scopes: &["metrics"], session: None },
    RouteRule { method: "GET", path: "/live/dashboard?fragment=alerts", body: "", scopes: &[], session: Some(Permission::ViewOperations) },
    RouteRule { method: "GET", path: "/api/v1/alerts", body: "", scopes: &["read"], session: Some(Permission::ViewOperations) },
    RouteRule { method: "GET", path: "/api/v1/alerts/0000000000000000", body: "", scopes: &["read"], session: Some(Permission::ViewOperations) },
    RouteRule { method: "GET", path: "/api/v1/health", body: "", scopes: &["read"], session: Some(Permission::ViewOperations) },
    RouteRule { method: "GET", path: "/api/v1/anomalies", body: "", scopes: &["read"], session: Some(Permission::ViewOperations) },
    // Checkpoints and proofs are for whoever checks the records, investors included.
    RouteRule { method: "GET", path: "/api/v1/checkpoints", body: "", scopes: &["read"], session: Some(Permission::ViewInvestor) },
    RouteRule { method: "GET", path: "/api/v1/checkpoints/latest", body: "", scopes: &["read"], session: Some(Permission::ViewInvestor) },
    RouteRule { method: "GET", path: "/api/v1/proofs/inclusion?seq=1", body: "", scopes: &["read"], session: Some(Permission::ViewInvestor) },
    RouteRule { method: "GET", path: "/api/v1/proofs/consistency?from=1&to=2", body: "", scopes: &["read"], session: Some(Permission::ViewInvestor) },
    RouteRule { method: "GET", path: "/api/v1/reports", body: "", scopes: &["read"], session: Some(Permission::ViewInvestor) },
    RouteRule { method: "GET", path: "/api/v1/reports/2024-W43.pdf", body: "", scopes: &["read"], session: Some(Permission::ViewInvestor) },
    RouteRule { method: "GET", path: "/api/v1/export/returns.csv", body: "", scopes: &["read"], session: Some(Permission::ViewOperations) },
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_api_route_checks_the_token_scope_or_the_session_role() {
    let app = spawn().await;
    app.post(&round_trip()).await;
    let metrics_token = app.console.store().create_token("matrix-metrics", &"metrics".parse().expect("scope"), chrono::Utc::now()).await.expect("token");
    let tokens = [("ingest", app.ingest_token.clone()), ("engine", app.engine_token.clone()), ("read", app.read_token.clone()), ("metrics", metrics_token)];
    let mut sessions = Vec::new();
    for role in Role::ALL {
        sessions.push((role, app.login(role).await));
    }
    let mut failures = Vec::new();
    for rule in ROUTES {
        let send = |header: Option<(&'static str, String)>| {
            let url = format!("{}{}", app.base, rule.path);
            let mut req = if rule.method == "POST" { app.http.post(url).header("content-type", "application/json").body(rule.body) } else { app.http.get(url) };
            if let Some((k, v)) = header {
                req = req.header(k, v);
            }
            async move { req.send().await.map(|r| r.status().as_u16()).unwrap_or(0) }
        };
        // No credentials at all.
        let status = send(None).await;
        if status != 401 {
            failures.push(format!("{} {} without credentials: {status}, expected 401", rule.method, rule.path));
        }
        for (scope, token) in &tokens {
            let status = send(Some(("authorization", format!("Bearer {token}")))).await;
            let allowed = rule.scopes.contains(scope);
            let ok = if allowed { status != 401 && status != 403 } else if rule.scopes.is_empty() { status == 401 } else { status == 403 };
            if !ok {
                failures.push(format!("{} {} with a {scope} token: {status}, allowed {allowed}", rule.method, rule.path));
            }
        }
        for (role, cookie) in &sessions {
            let status = send(Some(("cookie", cookie.clone()))).await;
            let expected = match rule.session {
                None => Some(401),
                Some(p) if !role.allows(p) => Some(403),
                Some(_) => None,
            };
            let ok = match expected {
                Some(code) => status == code,
                None => status != 401 && status != 403,
            };
            if !ok {
                failures.push(format!("{} {} as {role:?}: {status}, expected {expected:?}", rule.method, rule.path));
            }
        }
    }
    for public in ["/healthz", "/readyz"] {
        let status = app.http.get(format!("{}{public}", app.base)).send().await.map(|r| r.status().as_u16()).unwrap_or(0);
        if status != 200 {
            failures.push(format!("{public}: {status}, expected 200 for anyone"));
        }
    }
    assert!(failures.is_empty(), "route authorization matrix:\n{}", failures.join("\n"));
}
