//! The investor portal: the track record's figures are the book's, every tab renders for an
//! investor, decision records carry the desk's answer and the reviewer's reasoning a day later
//! and nothing of an order, and the backtest is labelled as simulated.
use domain::governance::Role;
use serde_json::{Value, json};

use crate::*;

const DAY: i64 = 86_400_000;

fn exit_signal(id: &str, signal_id: &str, at: i64) -> Value {
    json!({"event_id": id, "kind": "signal", "ts": ts(at), "signal_id": signal_id, "automation_id": "momentum-1",
        "instrument": "BTCUSDT", "intent": "exit", "signal_type": "momentum", "side": "sell", "strength": 1.0,
        "features": {"unrealized_pnl": 512.5, "exit_take_profit": 1.0}, "model_version": "v3", "prediction": 0.0, "confidence": 0.9,
        "response_window_secs": 3600})
}

fn review(id: &str, signal_id: &str, at: i64) -> Value {
    json!({"event_id": id, "kind": "llm_decision", "ts": ts(at), "signal_id": signal_id, "model": "reviewer-1",
        "prompt": "Review the exit.", "response": "exit", "reasoning": "The price reached the profit target set at entry.",
        "confidence": 0.9, "decision": "exit"})
}

/// The round trip's position marked daily for 40 days (two calendar months of returns).
async fn forty_days(app: &TestApp) {
    let (status, body) = app.post(&round_trip()).await;
    assert_eq!(status, 200, "{body}");
    let marks: Vec<Value> = (1..=40).map(|d| snapshot(&format!("m{d}"), "BTCUSDT", &format!("{}", 68_000 + (d * 211) % 1_300 - 500), d * DAY)).collect();
    let (status, body) = app.post(&marks).await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_track_record_compounds_the_books_daily_equity_and_nets_the_fees() {
    let app = spawn().await;
    forty_days(&app).await;
    let investor = app.login(Role::Investor).await;
    let (status, body) = app.call(Some(&investor), "get_investor_summary", "").await;
    assert_eq!(status, 200, "{body}");
    let v: Value = serde_json::from_str(&body).expect("json");
    let r = &v["track_record"];
    // Since inception, gross, is the equity over the capital (the first return is against it).
    let equity: f64 = v["equity"].as_str().and_then(|s| s.parse().ok()).expect("equity");
    let capital: f64 = v["capital"].as_str().and_then(|s| s.parse().ok()).expect("capital");
    let cumulative = r["gross"]["cumulative"].as_f64().expect("cumulative");
    assert!((cumulative - (equity / capital - 1.0)).abs() < 1e-12, "{cumulative} vs {}", equity / capital - 1.0);
    // Months compound to the year; net of 2 and 20 is below gross; under a year: not annualised.
    let months = r["months"].as_array().expect("months");
    assert_eq!(months.len(), 3, "2024-10-24 to 2024-12-02: {months:?}");
    let year = r["years"][0]["gross"].as_f64().expect("year");
    let compounded = months.iter().map(|m| 1.0 + m["gross"].as_f64().unwrap_or(0.0)).product::<f64>() - 1.0;
    assert!((year - compounded).abs() < 1e-12);
    assert!(r["net"]["cumulative"].as_f64().expect("net") < cumulative);
    assert_eq!(r["gross"]["annualised"], Value::Null);
    assert_eq!(r["years"][0]["partial"], true);
    // The bundled S&P 500 ends before 2024: no benchmark figure rather than a wrong one.
    assert!(months.iter().all(|m| m["benchmark"].is_null()), "{months:?}");
    assert_eq!(r["benchmark"], Value::Null);
    // The management fee accrues by calendar day: November (30 days, gross about 0) costs
    // about 2% x 30/365 = 0.164%, not 30/252.
    let nov = &months[1];
    let fee = (1.0 + nov["gross"].as_f64().unwrap_or(0.0)) - (1.0 + nov["net"].as_f64().unwrap_or(0.0));
    assert!((fee - 0.02 * 30.0 / 365.0).abs() < 2e-5, "November's fee {fee}");

    // The page shows the tables, the notes and the drawdown chart, and no instrument.
    let (status, html, _) = app.page(Some(&investor), "/investor").await;
    assert_eq!(status, 200);
    for needle in ["data-testid=\"monthly-returns\"", "Net of fees", "S&amp;P 500", "time-weighted", "data-testid=\"drawdown-chart\"", "Verify these records"] {
        assert!(html.contains(needle), "/investor lacks {needle}");
    }
    assert!(!html.contains("BTCUSDT"), "the track record names no instrument");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_portal_tab_renders_for_an_investor_and_none_leaks_operations() {
    let app = spawn().await;
    forty_days(&app).await;
    let investor = app.login(Role::Investor).await;
    for (path, needle) in [
        ("/investor/methodology", "Methodology"),
        ("/investor/methodology/pnl", "Realized PnL"),
        ("/investor/disclosures", "Simulated and paper results"),
        ("/investor/decisions", "Decision records"),
        ("/investor/backtest", "Simulated results."),
    ] {
        let (status, html, location) = app.page(Some(&investor), path).await;
        assert_eq!(status, 200, "{path}: {location:?}");
        assert!(html.contains(needle), "{path} lacks {needle}");
    }
    let (_, html, _) = app.page(Some(&investor), "/investor/methodology/no-such-section").await;
    assert!(html.contains("methodology-missing"));
    // Without the bundled data the backtest says so rather than showing numbers.
    let (_, html, _) = app.page(Some(&investor), "/investor/backtest").await;
    assert!(html.contains("backtest-pending"));
    // Operations pages still send an investor back to the portal; signed out, to the login.
    let (status, _, location) = app.page(Some(&investor), "/signals").await;
    assert_eq!((status, location.as_deref()), (303, Some("/investor")));
    let (status, _, location) = app.page(None, "/investor/decisions").await;
    assert_eq!(status, 303);
    assert!(location.unwrap_or_default().starts_with("/login"));
    for f in ["get_methodology", "get_backtest", "get_decision_records"] {
        let (status, _) = app.call(None, f, "slug=").await;
        assert_eq!(status, 401, "{f} without a session");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn decision_records_show_the_desks_answer_and_the_reasoning_a_day_later_and_no_order() {
    let app = spawn().await;
    let (status, body) = app.post(&round_trip()).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = app.post(&[exit_signal("x1", "sig-x1", 2 * 60_000), review("x2", "sig-x1", 2 * 60_000 + 5)]).await;
    assert_eq!(status, 200, "{body}");
    let trader = app.login(Role::Trader).await;
    let (status, body) = app.call(Some(&trader), "decide_signal", "signal_id=sig-x1&action=acknowledge&comment=closing+as+planned").await;
    assert_eq!(status, 200, "{body}");
    let investor = app.login(Role::Investor).await;

    // Within a day of market time: not yet shown (the position may still be open).
    let (status, body) = app.call(Some(&investor), "get_decision_records", "").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body.trim(), "[]");

    // A day later the record appears, with the answer, its timing and the reasoning.
    let (status, body) = app.post(&[snapshot("m2", "BTCUSDT", "68200", 2 * DAY), exit_signal("x3", "sig-x3", 2 * DAY)]).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = app.call(Some(&investor), "get_decision_records", "").await;
    assert_eq!(status, 200, "{body}");
    let rows: Vec<Value> = serde_json::from_str(&body).expect("json");
    assert_eq!(rows.len(), 1, "the newer exit waits its day: {rows:?}");
    let r = &rows[0];
    assert_eq!(r["record"]["signal_id"], "sig-x1");
    assert_eq!(r["record"]["response"]["action"], "acknowledge");
    assert_eq!(r["record"]["response"]["actor"], "trader");
    assert!(r["record"]["response"]["response_ms"].as_i64().is_some());
    assert_eq!(r["exit_reason"], "take profit");
    assert_eq!(r["llm_reasoning"], "The price reached the profit target set at entry.");
    for field in ["quantity", "price", "order_id", "unrealized_pnl", "features"] {
        assert!(!body.contains(&format!("\"{field}\"")), "a decision record carries no {field}: {body}");
    }
    assert!(!body.contains("512.5"), "nor the position's unrealized PnL");
    let (status, html, _) = app.page(Some(&investor), "/investor/decisions").await;
    assert_eq!(status, 200);
    assert!(html.contains("acknowledge by trader") && html.contains("inside the window"), "the page shows the answer");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_backtest_is_the_engines_book_and_is_labelled_simulated() {
    let app = spawn().await;
    let data = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../data");
    let mut cfg = server::jobs::backtest::config(data.clone(), rust_decimal::Decimal::from(1_000_000));
    cfg.from = chrono::NaiveDate::from_ymd_opt(2017, 4, 19);
    cfg.to = chrono::NaiveDate::from_ymd_opt(2017, 9, 30);
    let view = server::jobs::backtest::run(cfg.clone(), domain::track_record::FeeSchedule::default()).expect("backtest");
    // The same engine and book as the metrics' reference replay: the same daily returns.
    let (_, returns) = engine::replay::equity_daily_returns(cfg).expect("replay");
    let compounded = returns.iter().map(|r| 1.0 + r).product::<f64>() - 1.0;
    let first_day = view.record.months[0].gross; // includes the first day's return against capital
    assert!(view.trades.trades > 0, "the engine traded");
    assert!(view.record.gross.cumulative.is_some() && first_day.is_finite());
    let cumulative = view.record.gross.cumulative.expect("cumulative");
    let first = view.equity_curve[0].v / 1_000_000.0 - 1.0;
    assert!(((1.0 + cumulative) - (1.0 + first) * (1.0 + compounded)).abs() < 1e-9, "{cumulative} vs {first} then {compounded}");
    app.console.set_backtest(view);
    let investor = app.login(Role::Investor).await;
    let (status, html, _) = app.page(Some(&investor), "/investor/backtest").await;
    assert_eq!(status, 200);
    for needle in ["Simulated results.", "data-testid=\"backtest-results\"", "Simulated, net of fees", "Latency model", "closed trades"] {
        assert!(html.contains(needle), "/investor/backtest lacks {needle}");
    }
}
