//! Property: arbitrary *valid* events, extremes of every bound included, fold through every fold
//! and every report without a panic. Events are made as wire JSON and go through the one parser,
//! so anything the parser accepts is fair game.
use chrono::{DateTime, Duration, TimeZone, Utc};
use domain::event::{Event, bounds};
use proptest::prelude::*;
use rust_decimal::Decimal;
use serde_json::{Value, json};

fn t0() -> DateTime<Utc> {
    Utc.timestamp_opt(1_700_000_000, 0).single().unwrap_or_default()
}

/// A decimal string in (0, max]: the bound itself, the smallest step, or something between.
fn amount(max: Decimal) -> impl Strategy<Value = String> {
    prop_oneof![
        Just(max.to_string()),
        Just("0.0000000001".to_string()),
        Just(bounds::MIN_PRICE.to_string()),
        (1u64..1_000_000_000u64, 0u32..10).prop_map(move |(m, scale)| {
            let d = Decimal::from_i128_with_scale(i128::from(m), scale);
            d.min(max).to_string()
        }),
    ]
}

fn model_value() -> impl Strategy<Value = f64> {
    prop_oneof![Just(bounds::MAX_MODEL_VALUE), Just(-bounds::MAX_MODEL_VALUE), Just(0.0), Just(1e-300), -1e6..1e6f64]
}

#[derive(Debug, Clone)]
enum Step {
    Mark { inst: u8, price: String, volume: String },
    Signal { id: u8, inst: u8, exit: bool, strength: f64, feature: f64 },
    Risk { id: u8, value: f64, reject: bool },
    Order { id: u8, sig: u8, inst: u8, sell: bool, qty: String, status: u8 },
    Fill { order: u8, qty: String, price: String, fee: String },
    Heartbeat,
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        (0u8..3, amount(bounds::MAX_PRICE), amount(bounds::MAX_VOLUME)).prop_map(|(inst, price, volume)| Step::Mark { inst, price, volume }),
        (0u8..6, 0u8..3, any::<bool>(), model_value(), model_value()).prop_map(|(id, inst, exit, strength, feature)| Step::Signal { id, inst, exit, strength, feature }),
        (0u8..6, model_value(), any::<bool>()).prop_map(|(id, value, reject)| Step::Risk { id, value, reject }),
        (0u8..6, 0u8..6, 0u8..3, any::<bool>(), amount(bounds::MAX_QUANTITY), 0u8..6).prop_map(|(id, sig, inst, sell, qty, status)| Step::Order { id, sig, inst, sell, qty, status }),
        (0u8..6, amount(bounds::MAX_QUANTITY), amount(bounds::MAX_PRICE), amount(bounds::MAX_FEE)).prop_map(|(order, qty, price, fee)| Step::Fill { order, qty, price, fee }),
        Just(Step::Heartbeat),
    ]
}

fn wire(i: usize, s: &Step) -> Value {
    let ts = (t0() + Duration::hours(i as i64 * 7)).to_rfc3339();
    let inst = |k: &u8| format!("INST{k}");
    let base = json!({"event_id": format!("e{i}"), "ts": ts});
    let mut v = match s {
        Step::Mark { inst: k, price, volume } => json!({"kind": "market_snapshot", "instrument": inst(k), "bid": price, "ask": price, "mid": price, "last": price, "volume": volume}),
        Step::Signal { id, inst: k, exit, strength, feature } => json!({"kind": "signal", "signal_id": format!("s{id}-{i}"), "automation_id": "auto", "instrument": inst(k),
            "intent": if *exit { "exit" } else { "entry" }, "signal_type": "t", "side": if *exit { "sell" } else { "buy" }, "strength": strength,
            "features": {"x": feature, "beta_mtum": feature}, "model_version": "m", "prediction": feature, "confidence": 0.5,
            "stop_loss": bounds::MAX_PRICE.to_string(), "take_profit": "0.0000000001", "response_window_secs": bounds::MAX_WINDOW_SECS}),
        Step::Risk { id, value, reject } => json!({"kind": "risk_check", "signal_id": format!("s{id}"), "decision": if *reject { "reject" } else { "approve" }, "risk_score": value,
            "checks": [{"name": "c", "status": "warn", "value": value, "limit": value}]}),
        Step::Order { id, sig, inst: k, sell, qty, status } => { let status = ["submitted", "acknowledged", "partially_filled", "filled", "cancelled", "rejected"][*status as usize % 6]; json!({"kind": "order", "order_id": format!("o{id}"), "signal_id": format!("s{sig}"), "instrument": inst(k),
            "side": if *sell { "sell" } else { "buy" }, "quantity": qty, "order_type": "market",
            "status": status}) },
        Step::Fill { order, qty, price, fee } => json!({"kind": "fill", "fill_id": format!("f{i}"), "order_id": format!("o{order}"), "quantity": qty, "price": price, "fee": fee, "fee_currency": "USD", "liquidity": "taker"}),
        Step::Heartbeat => json!({"kind": "heartbeat", "component": "engine", "status": "ok"}),
    };
    if let (Some(o), Some(b)) = (v.as_object_mut(), base.as_object()) {
        o.extend(b.clone());
    }
    v
}

/// A config change whose compliance policy sets every limit at the smallest amount and turns on
/// every rule, so that generated events reach each compliance code path.
fn strict_policy() -> Event {
    use domain::config::compliance::{Limits, Prohibition};
    let tiny = Some(Decimal::new(1, 10));
    let limits = Limits {
        max_position_quantity: tiny,
        max_position_notional: tiny,
        max_order_quantity: tiny,
        max_order_notional: tiny,
        max_gross_exposure: tiny,
        max_net_exposure: tiny,
        max_leverage: Some(1e-9),
        max_concentration: Some(1e-9),
        max_herfindahl: Some(1e-9),
        max_var_95: tiny,
        max_daily_loss: tiny,
        max_stop_distance_pct: Some(1e-9),
    };
    let mut config = domain::config::Config::default();
    let p = &mut config.compliance;
    p.portfolio = limits.clone();
    p.instruments.insert("INST0".into(), limits.clone());
    p.automations.insert("auto".into(), limits);
    p.prohibited.insert("INST1".into(), Prohibition { reason: "restricted".into(), since: chrono::NaiveDate::default() });
    p.market_hours.default_class = Some("us_equity".into());
    p.process.flag_risk_overrides = true;
    p.process.require_risk_check = true;
    p.process.llm_review_automations.insert("auto".into());
    let body = domain::event::Body::ConfigChange(domain::event::ConfigChange {
        version: 2,
        actor: domain::event::Id::parse("fuzz").unwrap_or_else(|_| panic!("id")),
        reason: domain::text::Reason::parse("fuzz policy").unwrap_or_else(|_| panic!("reason")),
        config,
    });
    Event { event_id: domain::event::Id::parse("policy").unwrap_or_else(|_| panic!("id")), ts: t0(), body }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]
    #[test]
    fn every_fold_and_report_survives_any_valid_events(steps in proptest::collection::vec(step(), 1..80)) {
        let now = t0() + Duration::days(400);
        // The console's own list of folds; a contained panic is a failure here.
        let mut folds = domain::folds::Folds::new(Decimal::from(1_000_000));
        let mut failures = Vec::new();
        // Every compliance rule on, with limits every generated value crosses.
        let policy = strict_policy();
        folds.apply(&domain::fold::Stored { seq: 1_000, event: &policy, received_at: now }, &mut failures);
        for (i, s) in steps.iter().enumerate() {
            let v = wire(i, s);
            let e = match Event::parse_value(&v, now) {
                Ok(e) => e,
                Err(e) => { prop_assert!(false, "a generated event must be valid: {e}: {v}"); return Ok(()); }
            };
            // The one writer writes what the one parser reads back as the same event.
            let written = domain::event::wire::to_json(&e);
            match Event::parse_json(&written, now) {
                Ok(back) => prop_assert_eq!(&back, &e, "written as {}", written),
                Err(err) => prop_assert!(false, "the writer's output does not parse: {err}: {written}"),
            }
            let seq = i as u64 + 1;
            folds.apply(&domain::fold::Stored { seq, event: &e, received_at: now }, &mut failures);
        }
        prop_assert!(failures.is_empty(), "no fold may fail: {failures:?}");
        let _ = folds.due(now);
        let domain::folds::Folds { book: projection, governance, kpis, slippage, compliance, anomaly, alerts, event_ids } = &folds;
        let _ = event_ids.may_hold("x");
        let _ = compliance.query(&Default::default(), None);
        let _ = anomaly.anomalies(None, None).count();
        let _ = alerts.query(&Default::default(), now, None);
        let _ = alerts.pending(now, Duration::hours(1));
        let _ = compliance.limits();
        let _ = governance.view(now);
        let _ = projection.dashboard(15);
        let _ = kpis.report(now);
        let _ = slippage.report();
        let trades = domain::metrics::TradeStats::compute(projection.closed_trades());
        let _ = domain::analytics::Attribution::compute(projection.closed_trades());
        let _ = domain::analytics::FactorAttribution::compute(projection.closed_trades(), &Default::default());
        let _ = domain::risk::RiskReport::compute(&projection.daily_exposure(), &projection.position_notionals(), projection.daily_marks());
        let (dates, returns) = domain::metrics::daily_returns(projection.daily_closes());
        let _ = domain::metrics::performance_view(&dates, &returns, None, trades);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]
    /// Snapshot the folds part-way, restore them, fold the rest: every view is what folding the
    /// whole log in one go gives. A snapshot that does not decode is refused, never half-read.
    #[test]
    fn a_restored_snapshot_folds_on_as_if_never_stopped(steps in proptest::collection::vec(step(), 1..80), cut in 0usize..80) {
        let now = t0() + Duration::days(400);
        let events: Vec<Event> = steps.iter().enumerate().filter_map(|(i, s)| Event::parse_value(&wire(i, s), now).ok()).collect();
        let cut = cut.min(events.len());
        let mut straight = domain::folds::Folds::new(Decimal::from(1_000_000));
        let mut failures = Vec::new();
        let policy = strict_policy();
        straight.apply(&domain::fold::Stored { seq: 1_000, event: &policy, received_at: now }, &mut failures);
        let fold = |f: &mut domain::folds::Folds, i: usize, e: &Event, failures: &mut Vec<_>| {
            f.apply(&domain::fold::Stored { seq: i as u64 + 1, event: e, received_at: now }, failures);
        };
        for (i, e) in events.iter().enumerate().take(cut) {
            fold(&mut straight, i, e, &mut failures);
        }
        let bytes = straight.snapshot().map_err(|e| TestCaseError::fail(e.to_string()))?;
        let mut resumed = domain::folds::Folds::restore(&bytes).map_err(|e| TestCaseError::fail(e.to_string()))?;
        for (i, e) in events.iter().enumerate().skip(cut) {
            fold(&mut straight, i, e, &mut failures);
            fold(&mut resumed, i, e, &mut failures);
        }
        prop_assert!(failures.is_empty(), "{failures:?}");
        prop_assert_eq!(straight.due(now), resumed.due(now));
        prop_assert_eq!(straight.book.dashboard(15), resumed.book.dashboard(15));
        prop_assert_eq!(straight.book.closed_trades(), resumed.book.closed_trades());
        prop_assert_eq!(straight.book.daily_closes().collect::<Vec<_>>(), resumed.book.daily_closes().collect::<Vec<_>>());
        prop_assert_eq!(straight.governance.view(now), resumed.governance.view(now));
        prop_assert_eq!(straight.kpis.report(now), resumed.kpis.report(now));
        prop_assert_eq!(straight.slippage.report(), resumed.slippage.report());
        // Corrupt bytes are refused.
        let mut bad = bytes.clone();
        bad.truncate(bytes.len() / 2);
        prop_assert!(domain::folds::Folds::restore(&bad).is_err());
    }
}
