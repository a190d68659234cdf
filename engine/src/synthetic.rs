//! Synthetic but well-formed event streams for benchmarks and load tests: complete trades
//! (snapshot, signal, risk check, order, fill, order filled, snapshot), 7 events each.
use chrono::{DateTime, Duration, SecondsFormat, Utc};
use serde_json::{Value, json};

pub const EVENTS_PER_TRADE: u64 = 7;
const INSTRUMENTS: [&str; 5] = ["AAPL", "MSFT", "JPM", "XOM", "EURUSD"];

fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// The events of trade number `n` of run `run` (ids unique per run and trade), at `base` + n minutes.
pub fn trade(run: &str, n: u64, base: DateTime<Utc>) -> Vec<Value> {
    let t = base + Duration::minutes(n as i64);
    let inst = INSTRUMENTS[(n % INSTRUMENTS.len() as u64) as usize];
    let mid = 100.0 + (n % 50) as f64;
    let side = if n % 2 == 0 { "buy" } else { "sell" };
    let id = |s: &str| format!("{run}-{s}-{n}");
    let px = |x: f64| format!("{x:.4}");
    let ms = |m: i64| ts(t + Duration::milliseconds(m));
    vec![
        json!({"event_id": id("m1"), "kind": "market_snapshot", "ts": ms(0), "instrument": inst, "bid": px(mid - 0.01), "ask": px(mid + 0.01), "mid": px(mid), "last": px(mid), "volume": "1200"}),
        json!({"event_id": id("s"), "kind": "signal", "ts": ms(1), "signal_id": id("sig"), "automation_id": "bench", "instrument": inst, "intent": "entry",
            "signal_type": "momentum", "side": side, "strength": 0.6, "features": {"zscore_20": -1.2, "beta_mtum": 0.9}, "model_version": "bench-1",
            "prediction": 0.01, "confidence": 0.7}),
        json!({"event_id": id("r"), "kind": "risk_check", "ts": ms(3), "signal_id": id("sig"), "decision": "approve", "risk_score": 0.3,
            "checks": [{"name": "position_limit", "status": "pass", "value": 0.03, "limit": 0.1}]}),
        json!({"event_id": id("o1"), "kind": "order", "ts": ms(25), "order_id": id("ord"), "signal_id": id("sig"), "instrument": inst, "side": side,
            "quantity": "10", "order_type": "market", "status": "submitted"}),
        json!({"event_id": id("f"), "kind": "fill", "ts": ms(70), "fill_id": id("fill"), "order_id": id("ord"), "quantity": "10", "price": px(mid + 0.02),
            "fee": "0.05", "fee_currency": "USD", "liquidity": "taker"}),
        json!({"event_id": id("o2"), "kind": "order", "ts": ms(71), "order_id": id("ord"), "signal_id": id("sig"), "instrument": inst, "side": side,
            "quantity": "10", "order_type": "market", "status": "filled"}),
        json!({"event_id": id("m2"), "kind": "market_snapshot", "ts": ms(30_000), "instrument": inst, "bid": px(mid + 0.09), "ask": px(mid + 0.11), "mid": px(mid + 0.1), "last": px(mid + 0.1), "volume": "900"}),
    ]
}

/// Events `from .. from + size` of a run's endless stream of trades (consecutive batches never
/// overlap, so every event is new).
pub fn batch(run: &str, from: u64, size: u64, base: DateTime<Utc>) -> Vec<Value> {
    let mut n = from / EVENTS_PER_TRADE;
    let skip = (from % EVENTS_PER_TRADE) as usize;
    let mut out: Vec<Value> = Vec::with_capacity(size as usize + EVENTS_PER_TRADE as usize);
    while (out.len() as u64) < size + skip as u64 {
        out.extend(trade(run, n, base));
        n += 1;
    }
    out.drain(..skip);
    out.truncate(size as usize);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn consecutive_batches_do_not_overlap() {
        let base = DateTime::<Utc>::default();
        let a = batch("r", 0, 10, base);
        let b = batch("r", 10, 10, base);
        let whole = batch("r", 0, 20, base);
        assert_eq!([a, b].concat(), whole);
    }
}
