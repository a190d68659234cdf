use serde_json::{Value, json};

use crate::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_accepted_batch_is_stored_chained_and_projected() {
    let app = spawn().await;
    let (status, body) = app.post(&round_trip()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["accepted"], 7);
    assert_eq!(body["duplicates"], 0);
    assert_eq!(body["first_seq"], 1);
    assert_eq!(body["last_seq"], 7);
    assert_eq!(body["head_hash"].as_str().map(str::len), Some(64));

    let (_, s) = app.get("/api/v1/summary").await;
    // bought 0.1 at 67,500.25, marked at 68,000: unrealized 49.975, fee 0.0675
    assert_eq!(s["pnl"]["unrealized"], "49.975");
    assert_eq!(s["pnl"]["fees"], "0.0675");
    assert_eq!(s["counts"]["fills"], 1);
    assert_eq!(s["signals"][0]["status"], "filled");

    let (_, v) = app.get("/api/v1/audit/verify").await;
    assert_eq!(v["ok"], true);
    assert_eq!(v["verified"], 7);
    assert_eq!(v["head_hash"], body["head_hash"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ndjson_works_and_resent_ids_are_acknowledged_not_stored_twice() {
    let app = spawn().await;
    let ndjson: String = round_trip().iter().map(|e| format!("{e}\n")).collect();
    let (status, body) = app.post_raw(Some(&app.ingest_token), ndjson.clone()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["accepted"], 7);
    let (status, again) = app.post_raw(Some(&app.ingest_token), ndjson).await;
    assert_eq!(status, 200);
    assert_eq!(again["accepted"], 0);
    assert_eq!(again["duplicates"], 7);
    assert_eq!(again["first_seq"], Value::Null);
    assert_eq!(app.stored_events().await, 7);
    // A duplicate inside one batch is stored once too.
    let e = snapshot("dup", "BTCUSDT", "1", 5);
    let (_, body) = app.post(&[e.clone(), e]).await;
    assert_eq!((body["accepted"].as_u64(), body["duplicates"].as_u64()), (Some(1), Some(1)));
}

/// Each bad batch: its status, the field named (if any), and nothing stored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_refused_with_a_reason_and_stores_nothing() {
    let app = spawn().await;
    app.post(&[snapshot("seed", "BTCUSDT", "100", 0)]).await;
    let good = snapshot("g1", "BTCUSDT", "100", 1);
    let mut far_future = snapshot("x", "BTCUSDT", "100", 0);
    far_future["ts"] = json!("2999-01-01T00:00:00Z");
    let cases: Vec<(&str, Vec<Value>, u16, Option<&str>)> = vec![
        ("unknown kind", vec![good.clone(), json!({"event_id": "x", "kind": "teleport", "ts": ts(0)})], 422, Some("kind")),
        ("missing field", vec![good.clone(), { let mut f = fill("x", "ord", "1", "1", "0", 0); f.as_object_mut().map(|o| o.remove("price")); f }], 422, Some("price")),
        ("negative quantity", vec![good.clone(), fill("x", "ord", "-1", "1", "0", 0)], 422, Some("quantity")),
        ("zero quantity", vec![good.clone(), fill("x", "ord", "0", "1", "0", 0)], 422, Some("quantity")),
        ("NaN price", vec![good.clone(), fill("x", "ord", "1", "NaN", "0", 0)], 422, Some("price")),
        ("infinite strength", vec![good.clone(), { let mut s = signal("x", "s", 0); s["strength"] = json!("inf"); s }], 422, Some("strength")),
        ("far-future timestamp", vec![good.clone(), far_future], 422, Some("ts")),
        ("empty id", vec![good.clone(), snapshot("", "BTCUSDT", "1", 0)], 422, Some("event_id")),
    ];
    for (name, batch, status, field) in cases {
        let (got, body) = app.post(&batch).await;
        assert_eq!(got, status, "{name}: {body}");
        assert_eq!(body["line"], 2, "{name}: the bad line is named: {body}");
        assert_eq!(body["field"].as_str(), field, "{name}: {body}");
        assert!(body["reason"].as_str().is_some_and(|r| !r.is_empty()), "{name}: {body}");
        assert_eq!(app.stored_events().await, 1, "{name}: nothing of the batch was stored");
    }

    let (status, body) = app.post_raw(Some(&app.ingest_token), format!("{good}\n{{\"event_id\": \"x\",\n")).await;
    assert_eq!(status, 400, "invalid JSON: {body}");
    assert_eq!(body["error"], "invalid_json");
    assert_eq!(body["line"], 2);

    let (status, body) = app.post_raw(Some(&app.ingest_token), "\n\n").await;
    assert_eq!((status, body["error"].as_str()), (400, Some("empty_batch")));

    let big: Vec<Value> = (0..10_001).map(|i| snapshot(&format!("big{i}"), "BTCUSDT", "1", 0)).collect();
    let (status, body) = app.post(&big).await;
    assert_eq!(status, 413, "{body}");

    let (status, body) = app.post_raw(Some("tw_wrong"), serde_json::to_vec(&[good.clone()]).unwrap_or_default()).await;
    assert_eq!(status, 401, "{body}");
    let (status, _) = app.post_raw(None, serde_json::to_vec(&[good.clone()]).unwrap_or_default()).await;
    assert_eq!(status, 401);
    let (status, _) = app.post_raw(Some(&app.read_token), serde_json::to_vec(&[good]).unwrap_or_default()).await;
    assert_eq!(status, 403, "a read token cannot ingest");
    assert_eq!(app.stored_events().await, 1);

    let (_, s) = app.get("/api/v1/summary").await;
    assert!(s["ingest"]["rejected_batches"].as_u64().is_some_and(|n| n >= 11), "{}", s["ingest"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fill_for_an_order_already_final_is_stored_flagged_and_not_applied() {
    let app = spawn().await;
    let (status, body) = app.post(&[order("o1", "ord-1", "s", "buy", "2", "submitted", 0), fill("f1", "ord-1", "2", "100", "0", 1), order("o2", "ord-1", "s", "buy", "2", "filled", 2)]).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["flagged"], json!([]));
    let (_, before) = app.get("/api/v1/summary").await;
    let (status, body) = app.post(&[fill("f2", "ord-1", "1", "100", "0", 3)]).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["flagged"][0]["flag"], "final_order", "{body}");
    let (_, after) = app.get("/api/v1/summary").await;
    assert_eq!(after["positions"], before["positions"], "a fill after the order is final is not applied");
    assert_eq!(after["counts"]["orphan_fills"], 1);
    let (_, page) = app.get("/api/v1/events?kind=fill").await;
    assert_eq!(page["events"][1]["flags"], "final_order", "{page}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fill_for_an_unknown_order_is_stored_and_flagged() {
    let app = spawn().await;
    let (status, body) = app.post(&[fill("orphan", "ord-nobody", "1", "100", "0", 0)]).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["accepted"], 1);
    assert_eq!(body["flagged"][0]["flag"], "unknown_order");
    assert_eq!(body["flagged"][0]["line"], 1);
    let (_, s) = app.get("/api/v1/summary").await;
    assert_eq!(s["counts"]["orphan_fills"], 1);
    let (_, page) = app.get("/api/v1/events?kind=fill").await;
    assert_eq!(page["events"][0]["flags"], "unknown_order");
    // A fill for an order earlier in the same batch is not flagged.
    let (_, body) = app.post(&[order("o1", "ord-2", "s", "buy", "1", "submitted", 0), fill("f2", "ord-2", "1", "100", "0", 1)]).await;
    assert_eq!(body["flagged"], json!([]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tampered_payload_is_found_by_the_api_and_by_the_offline_verifier() {
    let app = spawn().await;
    app.post(&round_trip()).await;
    let exe = env!("CARGO_BIN_EXE_tradewatch");
    let ok = std::process::Command::new(exe).arg("verify").args(app.store_args()).output().expect("run verify");
    assert!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stderr));

    // Edit a stored payload directly in the database, as an attacker with the file could.
    let raw = app.raw().await;
    let refused = raw.exec("UPDATE events SET payload = '{}' WHERE seq = 3").await;
    assert!(refused.is_err(), "the append-only trigger refuses plain updates");
    assert!(raw.exec("DELETE FROM events WHERE seq = 3").await.is_err(), "and deletes");
    raw.drop_update_guard().await;
    raw.exec("UPDATE events SET payload = replace(payload, '0.4', '0.1') WHERE seq = 3").await.expect("tamper");
    raw.close().await;

    let (_, v) = app.get("/api/v1/audit/verify").await;
    assert_eq!(v["ok"], false, "{v}");
    assert_eq!(v["first_break"], 3);
    assert_eq!(v["verified"], 2);
    let out = std::process::Command::new(exe).arg("verify").args(app.store_args()).output().expect("run verify");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("\"first_break\": 3"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reused_event_id_with_different_content_is_a_conflict_and_stores_nothing() {
    let app = spawn().await;
    app.post(&round_trip()).await;
    let mut altered = round_trip()[4].clone();
    altered["price"] = json!("1.00");
    let (status, body) = app.post(&[snapshot("new-1", "BTCUSDT", "1", 0), altered]).await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["line"], 2);
    assert_eq!(body["event_id"], "e5");
    assert_eq!(app.stored_events().await, 7, "not even the new line 1 was stored");
    // Within one batch too.
    let a = snapshot("twin", "BTCUSDT", "1", 0);
    let b = snapshot("twin", "BTCUSDT", "2", 0);
    let (status, _) = app.post(&[a, b]).await;
    assert_eq!(status, 409);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flagged_lines_are_numbered_as_sent_in_ndjson() {
    let app = spawn().await;
    let body = format!("\n{}\n\n{}\n", snapshot("s", "X", "1", 0), fill("orphan", "nobody", "1", "1", "0", 1));
    let (status, out) = app.post_raw(Some(&app.ingest_token), body).await;
    assert_eq!(status, 200, "{out}");
    assert_eq!(out["flagged"][0]["line"], 4);
}

/// Appends must not fail when other connections write to the database at the same time (session
/// saves, login attempts): the append takes the write lock up front instead of upgrading a read.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ingest_succeeds_while_other_connections_write() {
    let app = spawn().await;
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut writers = Vec::new();
    for w in 0..2 {
        let stop = stop.clone();
        let raw = app.raw().await;
        writers.push(tokio::spawn(async move {
            let mut n = 0u32;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let _ = raw.exec(&format!("INSERT INTO login_attempts (username, ip, at_ms, success) VALUES ('w{w}', 'test', 0, TRUE)")).await;
                n += 1;
                tokio::task::yield_now().await;
            }
            n
        }));
    }
    let mut failures = Vec::new();
    for i in 0..60 {
        let events: Vec<Value> = (0..50).map(|j| snapshot(&format!("c{i}-{j}"), "BTCUSDT", "67500", i * 1000 + j)).collect();
        let (status, body) = app.post(&events).await;
        if status != 200 {
            failures.push(format!("batch {i}: {status} {body}"));
        }
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut writes = 0;
    for w in writers {
        writes += w.await.unwrap_or(0);
    }
    assert!(writes > 20, "the other writers ran ({writes} writes)");
    assert!(failures.is_empty(), "{} of 60 batches failed: {failures:?}", failures.len());
    assert_eq!(app.stored_events().await, 3000);
}

/// A request dropped while its commit was in flight (an engine killed mid-batch) leaves events
/// committed that the console's head never saw. The next append must take them in, not reuse
/// their seqs and fail (it did: a 500 on every later append; seen in an end-to-end run).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_committed_by_an_unfinished_request_are_taken_in_before_the_next_append() {
    let app = spawn().await;
    let (status, _) = app.post(&round_trip()).await;
    assert_eq!(status, 200);
    // What the dropped request committed: two events appended behind the console's back.
    let store = app.store().await;
    let head = store.head().await.expect("head");
    let now = chrono::Utc::now();
    let missed: Vec<server::store::Incoming> = [snapshot("lost-1", "BTCUSDT", "68100", 120_000), snapshot("lost-2", "BTCUSDT", "68200", 180_000)]
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let raw = v.to_string();
            let event = domain::event::Event::parse_json(&raw, now).expect("parses");
            server::store::Incoming { line: i + 1, event, raw, flags: None }
        })
        .collect();
    store.append(head, missed, now).await.expect("append behind the console");
    let (status, ack) = app.post(&[snapshot("next", "BTCUSDT", "68300", 240_000)]).await;
    assert_eq!(status, 200, "the next batch is stored: {ack}");
    assert_eq!(ack["first_seq"].as_u64(), Some(head.0 + 3), "after the two it had not seen: {ack}");
    let (_, summary) = app.get("/api/v1/summary").await;
    assert_eq!(summary["counts"]["market_snapshots"].as_u64(), Some(5), "the missed snapshots are in the projection: {}", summary["counts"]);
    let (_, verify) = app.get("/api/v1/audit/verify").await;
    assert_eq!(verify["ok"].as_bool(), Some(true), "{verify}");
}

/// Appends run in two stages (a batch is folded while the one before it is written), and two
/// consoles on one log make each other's linked batches miss (the log moved) and fold it again.
/// 60 batches at once, half to each console, 15 of them sent to both: every event is stored
/// once, the chain verifies, and each console's folds equal a replay of the log.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_batches_from_two_consoles_on_one_log_are_stored_once_and_folded_as_replayed() {
    use server::startup::Application;
    let app = spawn().await;
    let other = Application::build(app.config()).await.expect("a second console");
    let batch = |i: i64| -> Vec<Value> {
        let (sig, ord, price) = (format!("sig-c{i}"), format!("ord-c{i}"), format!("{}", 67_000 + i));
        vec![
            snapshot(&format!("c{i}-m"), "BTCUSDT", &price, i * 1000),
            signal(&format!("c{i}-s"), &sig, i * 1000 + 1),
            order(&format!("c{i}-o"), &ord, &sig, "buy", "0.01", "submitted", i * 1000 + 2),
            fill(&format!("c{i}-f"), &ord, "0.01", &price, "0.01", i * 1000 + 3),
            order(&format!("c{i}-o2"), &ord, &sig, "buy", "0.01", "filled", i * 1000 + 4),
        ]
    };
    let app = std::sync::Arc::new(app);
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..60i64 {
        let events = batch(i);
        let targets: &[bool] = if i % 4 == 1 { &[true, false] } else if i % 2 == 0 { &[true] } else { &[false] };
        for &to_app in targets {
            let (app, console, events) = (app.clone(), other.console.clone(), events.clone());
            tasks.spawn(async move {
                if to_app {
                    let (status, body) = app.post(&events).await;
                    assert_eq!(status, 200, "batch {i}: {body}");
                    (body["accepted"].as_u64().unwrap_or(0), body["duplicates"].as_u64().unwrap_or(0))
                } else {
                    let now = chrono::Utc::now();
                    let parsed = server::http::parse_batch(&serde_json::to_vec(&events).expect("json"), now).map_err(|_| "parse").expect("parses");
                    let out = console.ingest(parsed, now).await.unwrap_or_else(|e| panic!("batch {i} on the second console: {e}"));
                    (out.accepted, out.duplicates)
                }
            });
        }
    }
    let (mut accepted, mut duplicates) = (0, 0);
    while let Some(r) = tasks.join_next().await {
        let (a, d) = r.expect("a batch task");
        accepted += a;
        duplicates += d;
    }
    assert_eq!((accepted, duplicates), (300, 75), "every event stored once; the batches sent twice are duplicates the second time");
    let (_, verify) = app.get("/api/v1/audit/verify").await;
    assert_eq!(verify["ok"].as_bool(), Some(true), "{verify}");
    let (_, fills) = app.get("/api/v1/events?kind=fill&limit=1000").await;
    assert_eq!(fills["events"].as_array().map(Vec::len), Some(60), "each fill once");
    // Each console, once it has appended again (taking in the other's events), folds what a
    // console opened on the log folds.
    for (n, console) in [app.console.clone(), other.console.clone()].into_iter().enumerate() {
        let mut same = false;
        for attempt in 0..10 {
            let now = chrono::Utc::now();
            let tail = serde_json::to_vec(&[snapshot(&format!("tail-{n}-{attempt}"), "ETHUSDT", "2400", 100_000 + attempt)]).expect("json");
            console.ingest(server::http::parse_batch(&tail, now).map_err(|_| "parse").expect("parses"), now).await.expect("a later batch");
            let replay = Application::build(app.config()).await.expect("a console on the log");
            use app::service::ConsoleService;
            if console.dashboard().head_seq != replay.console.dashboard().head_seq {
                continue; // a job of either console appended meanwhile
            }
            let (mut a, mut b) = (crate::snapshots::state(&console).await, crate::snapshots::state(&replay.console).await);
            for s in [&mut a, &mut b] {
                s["dashboard"]["ingest"] = Value::Null; // this process's request counters
            }
            for key in ["dashboard", "signals", "governance", "kpis", "execution", "config"] {
                if a[key] != b[key] {
                    let (x, y) = (a[key].to_string(), b[key].to_string());
                    let at = x.bytes().zip(y.bytes()).position(|(p, q)| p != q).unwrap_or(0);
                    panic!("console {n}: {key} differs at {at}: {} | {}", &x[at.saturating_sub(200)..(at + 200).min(x.len())], &y[at.saturating_sub(200)..(at + 200).min(y.len())]);
                }
            }
            same = true;
            break;
        }
        assert!(same, "console {n}: the log kept moving");
    }
}
