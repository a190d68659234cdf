//! The metrics API: a client's returns against the reference values (through the embedded
//! S&P 500 benchmark), the console's own equity, errors that name the row and field, access.
use domain::governance::Role;
use serde_json::{Value, json};

use crate::helpers::*;

const DAY: i64 = 86_400_000;

async fn post_returns(app: &TestApp, auth: (&str, &str), query: &str, body: &Value) -> (u16, Value) {
    let res = app.http.post(format!("{}/api/v1/metrics/returns{query}", app.base)).header(auth.0, auth.1).json(body).send().await.expect("post");
    (res.status().as_u16(), res.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clients_returns_match_the_reference_values_against_the_sp500() {
    let app = spawn().await;
    let fixture: Value = serde_json::from_str(include_str!("../../../domain/tests/fixtures/metrics_reference.json")).expect("fixture");
    let s = &fixture["series"]["xom_2014"];
    let rows: Vec<Value> = s["returns"].as_array().expect("returns").iter().map(|p| json!({"date": p[0], "return": p[1]})).collect();
    let bearer = format!("Bearer {}", app.ingest_token);
    let (status, m) = post_returns(&app, ("authorization", &bearer), "?benchmark=sp500", &json!(rows)).await;
    assert_eq!(status, 200, "{m}");
    assert_eq!(m["periods"], 2264);
    assert_eq!(m["benchmark_periods"], 2264, "every date found in the bundled index");
    for field in ["sharpe", "sortino", "max_drawdown", "cagr", "annual_volatility", "calmar", "cvar_95", "var_99", "alpha", "beta", "information_ratio", "tracking_error"] {
        let (got, want) = (m[field].as_f64().unwrap_or(f64::NAN), s[field].as_f64().unwrap_or(f64::NAN));
        assert!((got - want).abs() <= 1e-9 * want.abs(), "{field}: {got} vs reference {want}");
    }
    assert_eq!(m["monthly_returns"][0]["year"], 2014);
    assert!(m["max_drawdown_episode"]["start"].is_string());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_series_are_refused_with_the_row_and_field() {
    let app = spawn().await;
    let bearer = format!("Bearer {}", app.read_token);
    let auth = ("authorization", bearer.as_str());
    let ok = |d: &str, r: f64| json!({"date": d, "return": r});
    let cases = [
        (json!([ok("2024-01-02", 0.01), ok("2024-01-03", 0.02), {"date": "2024-13-01", "return": 0.0}]), 2, "date"),
        (json!([ok("2024-01-02", 0.01), ok("2024-01-02", 0.02)]), 1, "date"),
        (json!([ok("2024-01-02", 0.01), ok("2024-01-03", -1.5)]), 1, "return"),
        (json!([ok("2024-01-02", 0.01), {"date": "2024-01-03"}]), 1, "return"),
    ];
    for (body, index, field) in cases {
        let (status, e) = post_returns(&app, auth, "", &body).await;
        assert_eq!((status, e["index"].as_u64(), e["field"].as_str()), (422, Some(index), Some(field)), "{body} -> {e}");
        assert!(e["message"].as_str().is_some_and(|m| m.contains(&format!("row {index}"))));
    }
    let (status, e) = post_returns(&app, auth, "", &json!({"date": "2024-01-02"})).await;
    assert_eq!((status, e["error"].as_str()), (400, Some("invalid_json")));
    let (status, _) = post_returns(&app, auth, "", &json!([ok("2024-01-02", 0.01)])).await;
    assert_eq!(status, 422, "one return is not a series");
    let (status, _) = post_returns(&app, auth, "?benchmark=nasdaq", &json!([ok("2024-01-02", 0.01), ok("2024-01-03", 0.0)])).await;
    assert_eq!(status, 400);
    let (status, _) = post_returns(&app, ("x-none", "1"), "", &json!([ok("2024-01-02", 0.01), ok("2024-01-03", 0.0)])).await;
    assert_eq!(status, 401, "no token, no session");
    let cookie = app.login(Role::Investor).await;
    let (status, _) = post_returns(&app, ("cookie", &cookie), "", &json!([ok("2024-01-02", 0.01), ok("2024-01-03", 0.0)])).await;
    assert_eq!(status, 200, "a session works like a token");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_consoles_own_equity_has_daily_metrics() {
    let app = spawn().await;
    let mut events = round_trip();
    for (i, mid) in ["69000", "66000", "70000", "71000"].iter().enumerate() {
        events.push(snapshot(&format!("d{i}"), "BTCUSDT", mid, (i as i64 + 1) * DAY));
    }
    // Closed on the last day: one round trip, (71,000 - 67,500.25) * 0.1 - 0.0675 - 0.071 = 349.8365.
    let mut exit = signal("x0", "sig-x", 4 * DAY);
    exit["intent"] = json!("exit");
    exit["side"] = json!("sell");
    exit["response_window_secs"] = json!(600);
    events.push(exit);
    events.push(order("x1", "ord-x", "sig-x", "sell", "0.1", "submitted", 4 * DAY + 1000));
    events.push(fill("x2", "ord-x", "0.1", "71000", "0.071", 4 * DAY + 2000));
    let (status, ack) = app.post(&events).await;
    assert_eq!(status, 200, "{ack}");
    let (status, m) = app.get("/api/v1/metrics").await;
    assert_eq!(status, 200, "{m}");
    assert_eq!((m["series"].as_str(), m["benchmark"].as_str()), (Some("console_equity_daily"), Some("sp500")));
    assert_eq!(m["periods"], 4, "five days of equity, four daily returns");
    assert_eq!(m["benchmark_periods"], 0, "2024 is past the bundled index (ends 2022)");
    assert!(m["worst_day"].as_f64().is_some_and(|w| w < 0.0), "the 69,000 -> 66,000 day lost: {m}");
    assert!(m["max_drawdown"].as_f64().is_some_and(|d| d < 0.0));
    let t = &m["trades"];
    assert_eq!((t["trades"].as_u64(), t["wins"].as_u64(), t["expectancy"].as_str()), (Some(1), Some(1), Some("349.8365")), "per-trade figures, exact: {t}");
    assert_eq!(t["average_holding_secs"].as_f64(), Some((4 * DAY + 2000 - 90) as f64 / 1000.0));
    let a = &m["attribution"];
    assert_eq!((a["total"].as_str(), a["by_instrument"][0]["key"].as_str(), a["by_horizon"][0]["key"].as_str()), (Some("349.8365"), Some("BTCUSDT"), Some("3: 1-5 d")), "{a}");
    let sl = &m["slippage"]["total"];
    assert_eq!(sl["fills"].as_u64(), Some(2), "{sl}");
    let part = |k: &str| sl[k].as_str().and_then(|v| v.parse::<f64>().ok()).unwrap_or(f64::NAN);
    assert!((part("timing") + part("spread") + part("impact") + part("opportunity") - 0.025).abs() < 1e-12, "buy 0.25 over the 67,500 mid x 0.1, sell at the 71,000 mid: {sl}");
    let k = &m["exit_kpis"]["overall"];
    assert_eq!((k["exits"].as_u64(), k["trades_with_stop"].as_u64()), (Some(1), Some(1)), "{k}");
    assert_eq!(k["slar"].as_f64(), Some(0.0), "the mid touched the 66,000 stop on day 2, before the exit signal");
    assert_eq!((k["ert_median_ms"].as_f64(), k["eaw"].as_f64()), (Some(1000.0), Some(1.0)), "ordered 1 s after the exit signal, inside 600 s");
    let f = &m["factor_attribution"];
    assert_eq!((f["total"].as_str(), f["by_factor"][5]["key"].as_str(), f["by_factor"][5]["pnl"].as_str()), (Some("349.8365"), Some("residual"), Some("349.8365")), "no exposures: all residual: {f}");
    assert_eq!(f["factors_last"].as_str(), Some("2022-12-28"));
    let r = &m["regimes"];
    assert_eq!((r["benchmark_last"].as_str(), r["stats"].as_array().map(Vec::len)), (Some("2022-12-28"), Some(0)), "2024 has no regime: {r}");
    assert_eq!(r["pnl"][0][1][0]["key"].as_str(), Some("unlabelled"));
    let risk = &m["risk"];
    assert_eq!((risk["gross"].as_str().and_then(|g| g.parse::<f64>().ok()), risk["concentration"]["positions"].as_u64()), (Some(0.0), Some(0)), "flat at the end: {risk}");
    assert_eq!(risk["exposure"].as_array().map(Vec::len), Some(5), "one point per day of marks");
    assert_eq!(risk["exposure"][1]["gross"].as_str().and_then(|g| g.parse::<f64>().ok()), Some(6900.0), "0.1 BTC at the 69,000 mark on day 1: {risk}");
    assert_eq!(risk["correlation"]["instruments"][0].as_str(), Some("BTCUSDT"));
    // The week behind the exit.
    let week = k["exits"].as_u64().and(m["exit_kpis"]["weekly"].as_array().and_then(|w| w.last()).and_then(|w| w[0].as_str().map(str::to_string))).unwrap_or_default();
    let (status, wk) = app.get(&format!("/api/v1/kpis/week?week={week}")).await;
    assert_eq!(status, 200, "{wk}");
    assert_eq!((wk["exits"][0]["signal_id"].as_str(), wk["exits"][0]["within_window"].as_bool()), (Some("sig-x"), Some(true)), "{wk}");
    assert_eq!((wk["trades"][0]["instrument"].as_str(), wk["trades"][0]["stop"].as_str()), (Some("BTCUSDT"), Some("hit first")));
    let (status, _) = app.get("/api/v1/kpis/week?week=monday").await;
    assert_eq!(status, 400);
    let investor = app.login(Role::Investor).await;
    let res = app.http.get(format!("{}/api/v1/metrics", app.base)).header("cookie", &investor).send().await.expect("get");
    let inv: Value = res.json().await.unwrap_or(Value::Null);
    assert_eq!(inv["risk"]["largest"].as_array().map(Vec::len), Some(0), "an investor does not see the book's positions");
    // Nor any instrument anywhere in the answer (attribution and slippage by instrument, the
    // correlation matrix, exit signals).
    assert!(inv["sharpe"].is_number() || inv["sharpe"].is_null(), "the track record is there: {inv}");
    assert!(!inv.to_string().contains("BTCUSDT"), "an investor's metrics name no instrument: {inv}");
    assert!(!inv.to_string().contains("sig-x"), "an investor's metrics name no signal: {inv}");
    // An ingest-only token reads nothing.
    let res = app.http.get(format!("{}/api/v1/metrics", app.base)).bearer_auth(&app.ingest_token).send().await.expect("get");
    assert_eq!(res.status().as_u16(), 403);
    let (status, native) = app.get("/api/v1/metrics?interval=native").await;
    assert_eq!((status, native["series"].as_str(), native["benchmark"].is_null()), (200, Some("console_equity_native"), true), "{native}");
    assert!(native["periods"].as_u64().is_some_and(|n| n > 4), "more marks than days: {native}");
    assert!(native["periods_per_year"].as_f64().is_some_and(|p| p > 252.0));
    let (status, _) = app.get("/api/v1/metrics?interval=hourly").await;
    assert_eq!(status, 400);
    let (_, later) = app.get("/api/v1/metrics?from=2024-10-27&benchmark=none").await;
    assert_eq!((later["periods"].as_u64(), later["benchmark"].is_null()), (Some(2), true));
    let (status, _) = app.get("/api/v1/metrics?from=27-10-2024").await;
    assert_eq!(status, 400);
}
