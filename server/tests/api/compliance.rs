//! The compliance desk over real HTTP: issues raised by ingested events within the request that
//! posted them, the API's filters and 400s, the workflow through server functions (people only),
//! who sees which issue, and the events in the chain.
use domain::governance::Role;
use serde_json::{Value, json};

use crate::helpers::*;

/// Saves a config whose compliance section is `compliance` (as risk), on top of version `base`.
async fn set_policy(app: &TestApp, risk: &str, base: u32, compliance: Value, owners: Value) {
    let config = json!({"compliance": compliance, "owners": owners});
    let body = format!(
        "base_version={base}&config_json={}&reason={}",
        form_urlencoded::byte_serialize(config.to_string().as_bytes()).collect::<String>(),
        "compliance+test+policy"
    );
    let (status, text) = app.call(Some(risk), "save_config_json", &body).await;
    assert_eq!(status, 200, "{text}");
}

fn policy() -> Value {
    json!({
        "market_hours": {"enabled": false},
        "instruments": {"BTCUSDT": {"max_order_quantity": "1", "max_position_quantity": "1"}},
        "prohibited": {"DOGEUSDT": {"reason": "not on the approved list", "since": "2024-01-01"}},
    })
}

/// Posts a signal, its risk check and an order of `qty` BTCUSDT (buy), and a fill of it.
fn trade(n: u32, qty: &str, at: i64) -> Vec<Value> {
    let sig = format!("sig-c{n}");
    let ord = format!("ord-c{n}");
    vec![
        signal(&format!("c{n}-s"), &sig, at),
        risk(&format!("c{n}-r"), &sig, at + 1),
        order(&format!("c{n}-o"), &ord, &sig, "buy", qty, "submitted", at + 2),
        fill(&format!("c{n}-f"), &ord, qty, "67500", "0", at + 3),
    ]
}

async fn issues(app: &TestApp, query: &str) -> (u16, Value) {
    app.get_with(&app.read_token, &format!("/api/v1/compliance/issues{query}")).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_order_over_a_limit_is_an_issue_in_the_api_when_its_batch_is_acknowledged() {
    let app = spawn().await;
    let risk_cookie = app.login(Role::Risk).await;
    set_policy(&app, &risk_cookie, 0, policy(), json!({})).await;
    let mut batch = vec![snapshot("c-m", "BTCUSDT", "67500", 0)];
    batch.extend(trade(1, "0.5", 10));
    let (status, _) = app.post(&batch).await;
    assert_eq!(status, 200);
    let (_, page) = issues(&app, "").await;
    assert_eq!(page["total"], 0, "0.5 of 1 is under every threshold: {page}");
    // 0.5 more: the position is at exactly 100% of its limit; the order at 50%.
    let (status, _) = app.post(&trade(2, "0.5", 100)).await;
    assert_eq!(status, 200);
    let (_, page) = issues(&app, "?rule=max_position_quantity").await;
    let issue = &page["issues"][0];
    assert_eq!((issue["severity"].as_str(), issue["state"].as_str(), issue["utilisation"].as_f64()), (Some("critical"), Some("open"), Some(1.0)), "{page}");
    // An order over its size limit, flagged on the order, its evidence the signal and the order.
    let (status, _) = app.post(&trade(3, "2", 200)).await;
    assert_eq!(status, 200);
    let (_, page) = issues(&app, "?rule=max_order_quantity").await;
    let issue = page["issues"][0].clone();
    assert_eq!((issue["order_id"].as_str(), issue["signal_id"].as_str(), issue["severity"].as_str()), (Some("ord-c3"), Some("sig-c3"), Some("critical")), "{page}");
    let id = issue["id"].as_u64().expect("id");
    let evidence: Vec<u64> = issue["evidence"].as_array().expect("evidence").iter().filter_map(Value::as_u64).collect();
    assert_eq!(evidence.len(), 2);
    assert!(evidence.iter().all(|s| *s < id), "evidence precedes the issue: {evidence:?} < {id}");
    // The flag is in the trade's lineage.
    let (_, lineage) = app.get_with(&app.read_token, "/api/v1/trades/sig-c3/lineage").await;
    assert!(lineage.to_string().contains("compliance issue opened (critical, max_order_quantity)"), "{lineage}");
    // A prohibited instrument.
    let mut doge = order("c4-o", "ord-c4", "sig-c4", "buy", "1", "submitted", 300);
    doge["instrument"] = json!("DOGEUSDT");
    app.post(&[doge]).await;
    let (_, page) = issues(&app, "?rule=prohibited_instrument&severity=critical&state=open&instrument=DOGEUSDT").await;
    assert_eq!(page["matched"], 1, "{page}");
    // The issue with its history, and the limits table.
    let (status, one) = app.get_with(&app.read_token, &format!("/api/v1/compliance/issues/{id}")).await;
    assert_eq!(status, 200);
    assert_eq!(one["history"][0]["action"], "open");
    let (status, limits) = app.get_with(&app.read_token, "/api/v1/compliance/limits").await;
    assert_eq!(status, 200);
    let row = limits["limits"].as_array().expect("rows").iter().find(|r| r["limit_name"] == "max_position_quantity").cloned().unwrap_or_default();
    assert_eq!((row["scope_id"].as_str(), row["level"].as_str(), row["issue_id"].is_u64()), (Some("BTCUSDT"), Some("breach"), true), "{limits}");
    // Every finding is an event in the chain, and the chain verifies.
    let (_, found) = app.get_with(&app.read_token, "/api/v1/events?kind=compliance_issue&limit=100").await;
    assert!(found.to_string().contains("max_order_quantity"), "{found}");
    let (_, verify) = app.get_with(&app.read_token, "/api/v1/audit/verify").await;
    assert_eq!(verify["ok"], true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_filters_get_a_400_naming_the_parameter() {
    let app = spawn().await;
    for (query, field) in [
        ("?state=bogus", "state"),
        ("?severity=high", "severity"),
        ("?limit=0", "limit"),
        ("?limit=501", "limit"),
        ("?after=x", "after"),
        ("?from=yesterday", "from"),
        ("?from=2024-02-01&to=2024-01-01", "to"),
        ("?colour=red", "colour"),
    ] {
        let (status, body) = issues(&app, query).await;
        assert_eq!((status, body["field"].as_str()), (400, Some(field)), "{query}: {body}");
    }
    let (status, body) = app.get_with(&app.read_token, "/api/v1/compliance/issues/abc").await;
    assert_eq!((status, body["field"].as_str()), (400, Some("id")));
    let (status, _) = app.get_with(&app.read_token, "/api/v1/compliance/issues/999999").await;
    assert_eq!(status, 404);
    // Paging: `after` continues where a page ended.
    let risk_cookie = app.login(Role::Risk).await;
    set_policy(&app, &risk_cookie, 0, policy(), json!({})).await;
    let mut batch = vec![snapshot("p-m", "BTCUSDT", "67500", 0)];
    for n in 0..5 {
        batch.extend(trade(10 + n, "2", 10 + i64::from(n) * 10));
    }
    app.post(&batch).await;
    let (_, first) = issues(&app, "?rule=max_order_quantity&limit=3").await;
    let after = first["next_after"].as_u64().expect("a next page");
    let (_, second) = issues(&app, &format!("?rule=max_order_quantity&limit=3&after={after}")).await;
    let ids: Vec<u64> = first["issues"].as_array().into_iter().chain(second["issues"].as_array()).flatten().filter_map(|i| i["id"].as_u64()).collect();
    assert_eq!(ids.len(), 5, "{first} {second}");
    assert!(ids.windows(2).all(|w| w[0] > w[1]), "newest first, no repeats: {ids:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn people_acknowledge_and_resolve_with_a_note_and_a_critical_waiver_takes_two() {
    let app = spawn().await;
    let risk_cookie = app.login(Role::Risk).await;
    set_policy(&app, &risk_cookie, 0, policy(), json!({})).await;
    let mut batch = vec![snapshot("w-m", "BTCUSDT", "67500", 0)];
    batch.extend(trade(1, "2", 10));
    batch.extend(trade(2, "3", 20));
    app.post(&batch).await;
    let (_, page) = issues(&app, "?rule=max_order_quantity").await;
    let ids: Vec<u64> = page["issues"].as_array().expect("rows").iter().filter_map(|i| i["id"].as_u64()).collect();
    let (a, b) = (ids[1], ids[0]);
    let review = |cookie: Option<String>, id: u64, action: &'static str, note: &'static str| {
        let app = &app;
        async move { app.call(cookie.as_deref(), "review_compliance_issue", &format!("id={id}&action={action}&note={}", note.replace(' ', "+"))).await }
    };
    // No session: a token cannot act as a person.
    let res = app.http.post(format!("{}/api/review_compliance_issue", app.base)).bearer_auth(&app.read_token).form(&[("id", a.to_string()), ("action", "acknowledge".into())]).send().await.expect("post");
    assert_eq!(res.status(), 401);
    // Auditors and investors read (or not) but never act.
    for role in [Role::Auditor, Role::Investor, Role::Admin] {
        let (status, _) = review(Some(app.login(role).await), a, "acknowledge", "").await;
        assert_eq!(status, 403, "{role:?}");
    }
    let trader = app.login(Role::Trader).await;
    // A trader may acknowledge his automation's issue, never resolve it.
    let (status, _) = review(Some(trader.clone()), a, "resolve", "handled by the desk today").await;
    assert_eq!(status, 403);
    let (status, text) = review(Some(trader.clone()), a, "acknowledge", "looking at it").await;
    assert_eq!(status, 200, "{text}");
    let (status, text) = review(Some(risk_cookie.clone()), a, "acknowledge", "").await;
    assert_eq!(status, 409, "acknowledged twice: {text}");
    let (status, text) = review(Some(risk_cookie.clone()), a, "resolve", "too short").await;
    assert_eq!(status, 400, "a resolution note of 10+ characters: {text}");
    let (status, _) = review(Some(risk_cookie.clone()), a, "resolve", "order size limit raised for BTC after review").await;
    assert_eq!(status, 200);
    let (_, one) = app.get_with(&app.read_token, &format!("/api/v1/compliance/issues/{a}")).await;
    let steps: Vec<(&str, &str)> = one["history"].as_array().expect("history").iter().map(|h| (h["action"].as_str().unwrap_or(""), h["actor"].as_str().unwrap_or(""))).collect();
    assert_eq!(steps, vec![("open", "console"), ("acknowledge", "trader"), ("resolve", "risk")]);
    assert_eq!(one["state"], "resolved");
    // A critical waiver needs a second person with the risk role.
    let (status, _) = review(Some(risk_cookie.clone()), b, "waive", "approved exception, ticket RISK-42").await;
    assert_eq!(status, 200);
    let (_, one) = app.get_with(&app.read_token, &format!("/api/v1/compliance/issues/{b}")).await;
    assert_eq!(one["state"], "waiver_pending");
    let (status, text) = review(Some(risk_cookie.clone()), b, "confirm_waiver", "").await;
    assert_eq!(status, 409, "the same person cannot confirm: {text}");
    let store = app.store().await;
    store.add_user("risk2", Role::Risk, "risk2-password-123", chrono::Utc::now()).await.expect("user");
    let res = app.http.post(format!("{}/api/login", app.base)).form(&[("username", "risk2"), ("password", "risk2-password-123")]).send().await.expect("login");
    let risk2 = res.headers().get_all("set-cookie").iter().filter_map(|v| v.to_str().ok()).find(|v| v.starts_with("tradewatch_session=")).and_then(|v| v.split(';').next()).expect("cookie").to_string();
    let (status, _) = review(Some(risk2), b, "confirm_waiver", "").await;
    assert_eq!(status, 200);
    let (_, one) = app.get_with(&app.read_token, &format!("/api/v1/compliance/issues/{b}")).await;
    assert_eq!(one["state"], "waived");
    // Each step is a compliance_review event in the chain.
    let (_, found) = app.get_with(&app.read_token, "/api/v1/events?kind=compliance_review&limit=100").await;
    assert_eq!(found["events"].as_array().map(Vec::len), Some(4), "{found}");
    // A plain HTML form post gets a redirect back to the issue, with the outcome in the query.
    let res = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
        .post(format!("{}/api/review_compliance_issue", app.base))
        .header("cookie", &risk_cookie)
        .header("accept", "text/html")
        .header("origin", &app.base)
        .header("referer", format!("{}/compliance/{a}", app.base))
        .form(&[("id", a.to_string()), ("action", "acknowledge".into()), ("note", String::new())])
        .send()
        .await
        .expect("form post");
    let location = res.headers().get("location").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    assert!(res.status().is_redirection(), "{}", res.status());
    assert!(location.starts_with(&format!("/compliance/{a}?error=")), "{location}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trader_sees_only_his_automations_issues() {
    let app = spawn().await;
    let risk_cookie = app.login(Role::Risk).await;
    // momentum-1 (the helpers' automation) belongs to someone else.
    set_policy(&app, &risk_cookie, 0, policy(), json!({"momentum-1": ["alice"]})).await;
    let mut batch = vec![snapshot("t-m", "BTCUSDT", "67500", 0)];
    batch.extend(trade(1, "2", 10));
    app.post(&batch).await;
    let (_, all) = issues(&app, "").await;
    let id = all["issues"][0]["id"].as_u64().expect("an issue");
    let trader = app.login(Role::Trader).await;
    let get = |path: String| {
        let app = &app;
        let trader = trader.clone();
        async move {
            let res = app.http.get(format!("{}{path}", app.base)).header("cookie", trader).send().await.expect("get");
            (res.status().as_u16(), res.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    let (status, page) = get("/api/v1/compliance/issues".into()).await;
    assert_eq!((status, page["total"].as_u64()), (200, Some(0)), "{page}");
    let (status, _) = get(format!("/api/v1/compliance/issues/{id}")).await;
    assert_eq!(status, 404);
    let (status, _) = app.call(Some(&trader), "review_compliance_issue", &format!("id={id}&action=acknowledge")).await;
    assert_eq!(status, 404, "an issue he may not see is not his to acknowledge");
    let (status, html, _) = app.page(Some(&trader), "/compliance").await;
    assert_eq!(status, 200);
    assert!(!html.contains(&format!("data-issue=\"{id}\"")), "the desk lists none of another's issues");
    // Risk sees it, and the page lists it.
    let (status, html, _) = app.page(Some(&risk_cookie), "/compliance").await;
    assert_eq!(status, 200);
    assert!(html.contains(&format!("data-issue=\"{id}\"")), "risk's desk lists the issue");
    let (status, html, _) = app.page(Some(&risk_cookie), &format!("/compliance/{id}")).await;
    assert_eq!(status, 200);
    assert!(html.contains("data-testid=\"form-acknowledge\"") && html.contains("data-testid=\"form-waive\""));
    // An investor has no compliance page.
    let investor = app.login(Role::Investor).await;
    let (status, _, location) = app.page(Some(&investor), "/compliance").await;
    assert_eq!((status, location.as_deref()), (303, Some("/investor")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reports_download_with_the_apis_counts_and_traders_get_none() {
    let app = spawn().await;
    let risk_cookie = app.login(Role::Risk).await;
    set_policy(&app, &risk_cookie, 0, policy(), json!({})).await;
    let mut batch = vec![snapshot("r-m", "BTCUSDT", "67500", 0)];
    batch.extend(trade(1, "2", 10));
    batch.extend(trade(2, "0.5", 20));
    app.post(&batch).await;
    let (_, page) = issues(&app, "").await;
    let total = page["total"].as_u64().expect("total");
    assert!(total >= 2, "{page}");
    let download = |body: String| {
        let app = &app;
        let cookie = risk_cookie.clone();
        async move {
            let res = app
                .http
                .post(format!("{}/api/compliance_report", app.base))
                .header("cookie", cookie)
                .header("accept", "text/html,application/xhtml+xml")
                .header("origin", &app.base)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(body)
                .send()
                .await
                .expect("download");
            let disposition = res.headers().get("content-disposition").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
            (res.status().as_u16(), disposition, res.text().await.unwrap_or_default())
        }
    };
    let month = chrono::Utc::now().format("%Y-%m").to_string();
    let (status, disposition, html) = download(format!("kind=monthly&format=html&period={month}")).await;
    assert_eq!(status, 200, "{html}");
    assert_eq!(disposition, format!("attachment; filename=\"compliance-{month}.html\""));
    assert!(html.starts_with("<!DOCTYPE html>") && !html.contains("<script"), "a self-contained document");
    assert!(html.contains(&format!("data-testid=\"monthly-opened\" class=\"num\">{total}<")), "the report counts what the API counts ({total}): {html}");
    // The day's trades, with the order over its limit flagged.
    let (status, disposition, csv) = download("kind=daily&format=csv&period=2024-10-24".into()).await;
    assert_eq!((status, disposition.as_str()), (200, "attachment; filename=\"trades-2024-10-24.csv\""));
    let lines: Vec<&str> = csv.lines().collect();
    assert!(lines[0].starts_with("seq,ts,order_id"));
    let flagged = lines.iter().find(|l| l.contains("ord-c1")).copied().unwrap_or("");
    assert!(flagged.contains("flagged") && flagged.contains("max_order_quantity (critical)"), "{csv}");
    assert!(lines.iter().any(|l| l.contains("ord-c2") && l.contains(",clean,")), "{csv}");
    let (status, _, _) = download("kind=daily&format=pdf&period=2024-10-24".into()).await;
    assert_eq!(status, 400);
    let (status, _, _) = download("kind=daily&format=csv&period=yesterday".into()).await;
    assert_eq!(status, 400);
    let trader = app.login(Role::Trader).await;
    let (status, _) = app.call(Some(&trader), "compliance_report", &format!("kind=monthly&format=html&period={month}")).await;
    assert_eq!(status, 403);
}
