//! The storage suite: every store trait against a fresh store of this run's backend (SQLite, or
//! PostgreSQL with `TRADEWATCH_TEST_BACKEND=postgres`; `scripts/test.sh` runs both), plus the
//! checks that need both backends at once (the same chain; `store copy`).
use chrono::{DateTime, Duration, TimeZone, Utc};
use domain::event::Event;
use domain::governance::Role;
use domain::view::EventQuery;
use serde_json::Value;
use server::store::snapshots::Snapshot;
use server::store::{AppendError, Incoming, Location, Store};

use crate::*;

/// A fixed clock: received_at is hashed into every link, so the same batches at the same clock
/// give the same chain.
fn clock() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 10, 24, 15, 0, 0).single().expect("time")
}

fn incoming(events: &[Value]) -> Vec<Incoming> {
    events
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let raw = v.to_string();
            let event = Event::parse_json(&raw, clock()).expect("parses");
            Incoming { line: i + 1, event, raw, flags: None }
        })
        .collect()
}

async fn fresh_store() -> (Store, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::connect(&fresh_location(dir.path()).await).await.expect("open");
    (store, dir)
}

/// Appends `events` at the store's head.
async fn append(store: &Store, events: &[Value]) -> Result<server::store::AppendOutcome, AppendError> {
    let head = store.head().await.expect("head");
    store.append(head, incoming(events), clock()).await
}

/// Four batches: a round trip, a second signal with its order, then more marks.
fn batches() -> Vec<Vec<Value>> {
    vec![
        round_trip(),
        vec![signal("b1", "sig-2", 70_000), risk("b2", "sig-2", 70_010), order("b3", "ord-2", "sig-2", "buy", "0.2", "submitted", 70_020)],
        vec![fill("b4", "ord-2", "0.2", "68010", "0.1", 70_100), order("b5", "ord-2", "sig-2", "buy", "0.2", "filled", 70_101)],
        (0..30).map(|i| snapshot(&format!("m{i}"), "ETHUSDT", &format!("{}", 2_400 + i), 80_000 + i)).collect(),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_log_appends_links_pages_and_refuses_rewrites() {
    let (store, _dir) = fresh_store().await;
    assert!(store.ready().await, "{}: migrations applied", store.backend_name());
    assert_eq!(store.head().await.expect("head"), (0, domain::chain::GENESIS));
    for b in batches() {
        append(&store, &b).await.expect("append");
    }
    let (seq, hash) = store.head().await.expect("head");
    assert_eq!(seq, 42);
    assert_eq!(store.hash_at(42).await.expect("hash"), Some(hash));
    assert_eq!(store.hash_at(43).await.expect("hash"), None);
    assert_eq!(store.hash_at(u64::MAX).await.expect("hash"), None);

    // The same batch again: all duplicates, nothing stored.
    let again = append(&store, &round_trip()).await.expect("retry");
    assert_eq!((again.stored.len(), again.duplicates, again.head_seq), (0, 7, 42));
    // Stored and new events in one batch (a retry that grew): the new ones are stored, linked
    // after the head, the stored ones counted as duplicates.
    let mixed = append(&store, &[snapshot("m0", "ETHUSDT", "2400", 80_000), snapshot("new-0", "ETHUSDT", "2500", 90_000), snapshot("m1", "ETHUSDT", "2401", 80_001)]).await.expect("mixed");
    assert_eq!((mixed.stored.len(), mixed.duplicates, mixed.head_seq, mixed.stored[0].seq), (1, 2, 43, 43));
    assert_eq!(store.head().await.expect("head"), (43, mixed.head_hash));
    // An event id with other bytes, a signal id with another signal, an order id with another
    // quantity: each refuses its whole batch, naming the line.
    let mut changed = snapshot("e1", "BTCUSDT", "67500", 0);
    changed["volume"] = "2".into();
    for (batch, field, line) in [
        (vec![snapshot("new-1", "BTCUSDT", "1", 0), changed], "event_id", 2),
        (vec![snapshot("new-2", "BTCUSDT", "1", 0), { let mut s = signal("new-3", "sig-1", 0); s["side"] = "sell".into(); s }], "signal_id", 2),
        (vec![order("new-4", "ord-2", "sig-2", "buy", "0.3", "submitted", 0)], "order_id", 1),
    ] {
        match append(&store, &batch).await {
            Err(AppendError::Conflict { field: f, line: l, .. }) => assert_eq!((f, l), (field, line)),
            other => panic!("{field}: {other:?}"),
        }
    }
    assert_eq!(store.head().await.expect("head").0, 43, "a refused batch stores nothing");

    // Pages forwards and backwards, filters.
    let page = store.events(&EventQuery { limit: Some(10), ..Default::default() }).await.expect("page");
    assert_eq!((page.rows.len(), page.rows[0].seq, page.next), (10, 1, Some(10)));
    let back = store.events(&EventQuery { before_seq: Some(43), limit: Some(5), ..Default::default() }).await.expect("page");
    assert!(store.verify().await.expect("verify").ok);
    assert_eq!(back.rows.iter().map(|r| r.seq).collect::<Vec<_>>(), vec![42, 41, 40, 39, 38]);
    let fills = store.events(&EventQuery { kind: Some("fill".into()), ..Default::default() }).await.expect("fills");
    assert_eq!(fills.rows.len(), 2);
    let eth = store.events(&EventQuery { instrument: Some("ETHUSDT".into()), limit: Some(1000), ..Default::default() }).await.expect("eth");
    assert_eq!((eth.rows.len(), eth.next), (31, None));
    let by_id = store.events(&EventQuery { id: Some("ord-2".into()), ..Default::default() }).await.expect("id");
    assert_eq!(by_id.rows.len(), 3);
    let timed = store.events(&EventQuery { from: Some(clock_of(70_000)), to: Some(clock_of(70_101)), ..Default::default() }).await.expect("range");
    assert_eq!(timed.rows.len(), 5);
    let one = store.event(5).await.expect("event").expect("seq 5");
    assert_eq!((one.kind.as_str(), one.order_id.as_deref(), one.hash.len()), ("fill", Some("ord-1"), 64));
    assert!(store.event(999).await.expect("none").is_none());

    // A trade's lineage and the detail of pending signals.
    let trade: Vec<u64> = store.trade_events("sig-2").await.expect("trade").iter().map(|(s, _)| *s).collect();
    assert_eq!(trade, vec![8, 9, 10, 11, 12]);
    let details = store.signal_details(&["sig-1", "sig-2"]).await.expect("details");
    assert_eq!(details.len(), 4, "two signals and two risk checks");

    // Every row as stored, and the whole chain verified.
    let rows = store.rows_after(40, 100).await.expect("rows");
    assert_eq!(rows.iter().map(|r| r.seq).collect::<Vec<_>>(), vec![41, 42, 43]);
    let report = store.verify().await.expect("verify");
    assert!(report.ok && report.verified == 43, "{report:?}");

    // Replaying reads every event in order.
    let mut seen = Vec::new();
    assert_eq!(store.for_each_event_after(40, |seq, _, _| seen.push(seq)).await.expect("replay"), 3);
    assert_eq!(seen, vec![41, 42, 43]);
}

/// The kind filter pages every kind, oldest or newest first, to exactly the events of that kind,
/// whether the kind is in the `(kind, seq)` index (the rare kinds) or walks the log by seq (the
/// order flow, `ORDER_FLOW_KINDS`); a rare kind's page is read through the index.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_kind_filter_pages_every_kind_and_reads_rare_kinds_through_the_kind_index() {
    let (store, _dir) = fresh_store().await;
    let heartbeat = |i: i64| serde_json::json!({"event_id": format!("hb-{i}"), "kind": "heartbeat", "ts": ts(100_000 + i), "component": "engine-1", "status": "ok"});
    for b in batches() {
        append(&store, &b).await.expect("append");
        let head = store.head().await.expect("head").0 as i64;
        append(&store, &(0..3).map(|i| heartbeat(head * 10 + i)).collect::<Vec<_>>()).await.expect("heartbeats");
    }
    let all = store.events(&EventQuery { limit: Some(1000), ..Default::default() }).await.expect("all").rows;
    assert_eq!(all.len(), 54);
    for kind in server::store::ORDER_FLOW_KINDS.into_iter().chain(["heartbeat", "checkpoint"]) {
        let expected: Vec<u64> = all.iter().filter(|r| r.kind == kind).map(|r| r.seq).collect();
        // Pages of two, oldest first and newest first, follow `next` to the end.
        let (mut forward, mut after) = (Vec::new(), None);
        loop {
            let page = store.events(&EventQuery { kind: Some(kind.into()), after_seq: after, limit: Some(2), ..Default::default() }).await.expect("page");
            forward.extend(page.rows.iter().map(|r| r.seq));
            match page.next { Some(n) => after = Some(n), None => break }
        }
        let (mut backward, mut before) = (Vec::new(), u64::MAX);
        loop {
            let page = store.events(&EventQuery { kind: Some(kind.into()), before_seq: Some(before), limit: Some(2), ..Default::default() }).await.expect("page");
            backward.extend(page.rows.iter().map(|r| r.seq));
            match page.next { Some(n) => before = n, None => break }
        }
        backward.reverse();
        assert_eq!((&forward, &backward), (&expected, &expected), "{kind}");
    }
    // The plan: SQLite names its index in EXPLAIN QUERY PLAN. (PostgreSQL's planner reads a
    // table this small sequentially, whatever its indexes.)
    if store.backend_name() == "sqlite" {
        for kind in ["heartbeat", "checkpoint", "config_change", "alert"] {
            for before in [None, Some(u64::MAX)] {
                let plan = store.events_plan(&EventQuery { kind: Some(kind.into()), before_seq: before, ..Default::default() }).await.expect("plan");
                assert!(plan.contains("events_kind_seq"), "{kind}: {plan}");
            }
        }
        for kind in server::store::ORDER_FLOW_KINDS {
            let plan = store.events_plan(&EventQuery { kind: Some(kind.into()), before_seq: Some(u64::MAX), ..Default::default() }).await.expect("plan");
            assert!(!plan.contains("events_kind_seq"), "{kind}: {plan}");
        }
    }
}

/// A fill names its order, not the instrument: the instrument filter takes in the fills of the
/// instrument's orders (and no other fill), paged oldest or newest first, with or without
/// `kind=fill`. Pages of one and two rows take both ways the fills are found (the window where
/// the page starts, and every order of the instrument when the window holds too few, as after
/// the 1,000 marks below).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_instrument_filter_takes_in_the_fills_of_the_instruments_orders() {
    let (store, _dir) = fresh_store().await;
    for b in batches() {
        append(&store, &b).await.expect("append");
    }
    // An ETHUSDT order with two fills, a fill for an order the log never saw, another BTCUSDT fill.
    let mut eth_order = order("x1", "ord-eth", "sig-1", "sell", "1", "submitted", 90_000);
    eth_order["instrument"] = "ETHUSDT".into();
    eth_order.as_object_mut().expect("object").remove("signal_id");
    append(
        &store,
        &[eth_order, fill("x2", "ord-eth", "0.5", "2410", "0.1", 90_010), fill("x3", "ord-unknown", "1", "2410", "0.1", 90_020), fill("x4", "ord-eth", "0.5", "2411", "0.1", 90_030), fill("x5", "ord-1", "0.1", "68000", "0.1", 90_040)],
    )
    .await
    .expect("append");
    // 1,000 marks of another instrument, then one more BTCUSDT fill: a page of one row reads
    // 400 seqs for its fills first (`FILL_WINDOW_PER_ROW`), so the fill after the marks is found
    // only through the instrument's orders.
    append(&store, &(0..1000).map(|i| snapshot(&format!("s{i}"), "SOLUSDT", "150", 91_000 + i)).collect::<Vec<_>>()).await.expect("append");
    append(&store, &[fill("x6", "ord-2", "0.1", "68100", "0.1", 93_000)]).await.expect("append");
    let (mut all, mut after) = (Vec::new(), None);
    loop {
        let page = store.events(&EventQuery { after_seq: after, limit: Some(1000), ..Default::default() }).await.expect("all");
        all.extend(page.rows);
        match page.next { Some(n) => after = Some(n), None => break }
    }
    assert_eq!(all.len(), 1048);
    let orders_of = |instrument: &str| all.iter().filter(|r| r.kind == "order" && r.instrument.as_deref() == Some(instrument)).filter_map(|r| r.order_id.clone()).collect::<Vec<_>>();
    for instrument in ["BTCUSDT", "ETHUSDT", "XRPUSDT"] {
        let orders = orders_of(instrument);
        let names = |r: &&domain::view::EventRow| r.instrument.as_deref() == Some(instrument);
        let is_fill = |r: &&domain::view::EventRow| r.kind == "fill" && r.order_id.as_ref().is_some_and(|o| orders.contains(o));
        for kind in [None, Some("fill"), Some("order")] {
            let expected: Vec<u64> = all.iter().filter(|r| match kind { None => names(r) || is_fill(r), Some("fill") => is_fill(r), Some(k) => r.kind == k && names(r) }).map(|r| r.seq).collect();
            for limit in [1, 2, 1000] {
                let query = |after_seq, before_seq| EventQuery { instrument: Some(instrument.into()), kind: kind.map(str::to_string), after_seq, before_seq, limit: Some(limit), ..Default::default() };
                let (mut forward, mut after) = (Vec::new(), None);
                loop {
                    let page = store.events(&query(after, None)).await.expect("page");
                    assert!(page.rows.len() <= limit as usize);
                    forward.extend(page.rows.iter().map(|r| r.seq));
                    match page.next { Some(n) => after = Some(n), None => break }
                }
                let (mut backward, mut before) = (Vec::new(), u64::MAX);
                loop {
                    let page = store.events(&query(None, Some(before))).await.expect("page");
                    backward.extend(page.rows.iter().map(|r| r.seq));
                    match page.next { Some(n) => before = n, None => break }
                }
                backward.reverse();
                assert_eq!((&forward, &backward), (&expected, &expected), "{instrument} {kind:?} pages of {limit}");
            }
        }
    }
    // What the test is about: BTCUSDT's four fills are in, the unknown order's and ETHUSDT's are not.
    let btc = store.events(&EventQuery { instrument: Some("BTCUSDT".into()), kind: Some("fill".into()), ..Default::default() }).await.expect("btc").rows;
    assert_eq!(btc.iter().map(|r| r.event_id.as_str()).collect::<Vec<_>>(), ["e5", "b4", "x5", "x6"]);
    let eth = store.events(&EventQuery { instrument: Some("ETHUSDT".into()), id: Some("ord-eth".into()), ..Default::default() }).await.expect("eth").rows;
    assert_eq!(eth.iter().map(|r| r.event_id.as_str()).collect::<Vec<_>>(), ["x1", "x2", "x4"]);
    // The plans (SQLite names its indexes; PostgreSQL reads a table this small sequentially):
    // the window is a range of the primary key with each fill's order found through the order
    // index; every order of the instrument comes from the instrument index, and their fills
    // from the order index. Neither reads the whole log.
    if store.backend_name() == "sqlite" {
        for before in [None, Some(u64::MAX)] {
            let [near, all] = store.fills_plans(&EventQuery { before_seq: before, ..Default::default() }, "BTCUSDT").await.expect("plans");
            assert!(near.contains("INTEGER PRIMARY KEY") && near.contains("events_order"), "{near}");
            assert!(all.contains("events_instrument_seq") && all.contains("events_order"), "{all}");
            assert!(!all.contains("SCAN events"), "{all}");
        }
    }
}

fn clock_of(offset_ms: i64) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(&ts(offset_ms)).expect("ts").with_timezone(&Utc)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_batches_give_the_same_chain_on_sqlite_and_postgresql() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sqlite = Store::connect(&Location::Sqlite(dir.path().to_path_buf())).await.expect("sqlite");
    let postgres = Store::connect(&fresh_postgres().await).await.expect("postgres");
    for b in batches() {
        let a = append(&sqlite, &b).await.expect("sqlite append");
        let p = append(&postgres, &b).await.expect("postgres append");
        assert_eq!((a.head_seq, a.head_hash), (p.head_seq, p.head_hash), "the same head after each batch");
    }
    let (a, p) = (sqlite.head().await.expect("head"), postgres.head().await.expect("head"));
    assert_eq!(a, p);
    assert_eq!(domain::chain::to_hex(&a.1).len(), 64);
    // Not only the head: every stored column of every row.
    assert_eq!(sqlite.rows_after(0, 1000).await.expect("rows"), postgres.rows_after(0, 1000).await.expect("rows"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accounts_attempts_and_second_factor_records() {
    let (store, _dir) = fresh_store().await;
    let now = clock();
    let id = store.insert_user("alice", Role::Risk, "phc-hash".into(), now).await.expect("insert");
    assert!(store.insert_user("alice", Role::Admin, "x".into(), now).await.is_err(), "usernames are unique");
    let bob = store.insert_user("bob", Role::Trader, "phc-bob".into(), now).await.expect("insert");
    assert_ne!(id, bob);
    assert_eq!(store.user_count().await.expect("count"), 2);
    let u = store.user(id).await.expect("user").expect("alice");
    assert_eq!((u.username.as_str(), u.role), ("alice", Role::Risk));
    assert_eq!(store.user_named("bob").await.expect("bob").map(|u| u.id), Some(bob));
    assert!(store.user_named("al\0ice").await.expect("a NUL is no error").is_none());
    assert!(store.user(9_999).await.expect("none").is_none());
    store.set_password_hash(id, "phc-new".into()).await.expect("set");
    assert_eq!(store.users().await.expect("users").iter().map(|u| u.username.as_str()).collect::<Vec<_>>(), vec!["alice", "bob"]);

    for (i, ok) in [false, false, true].into_iter().enumerate() {
        store.record_attempt("alice", "10.0.0.1", ok, now + Duration::seconds(i as i64)).await.expect("attempt");
    }
    store.record_attempt("mallory\0with-a-nul", "10.0.0.2", false, now).await.expect("a NUL is stored without it");
    let (n, last) = store.failures_since("username", "alice", now - Duration::minutes(1)).await.expect("failures");
    assert_eq!((n, last), (2, Some((now + Duration::seconds(1)).timestamp_millis())));
    assert_eq!(store.failures_since("ip", "10.0.0.1", now).await.expect("by ip").0, 2);
    assert_eq!(store.failures_since("ip", "10.9.9.9", now).await.expect("none"), (0, None));
    let attempts = store.login_attempts(10).await.expect("attempts");
    assert_eq!(attempts.len(), 4);
    assert!(attempts.iter().any(|a| a.success));
    assert_eq!(store.prune_attempts_before(now + Duration::seconds(1)).await.expect("prune"), 2);

    // Second factor: a step is spent once; recovery codes once each.
    assert_eq!(store.totp_secret_of(id).await.expect("secret"), Some(None));
    assert_eq!(store.totp_secret_of(9_999).await.expect("no user"), None);
    store.set_totp(id, "BASE32SECRET", 100, &[vec![1; 32], vec![2; 32]]).await.expect("totp");
    assert_eq!(store.totp_secret(id).await.expect("secret").as_deref(), Some("BASE32SECRET"));
    assert!(!store.spend_step(id, 100).await.expect("step"), "the enrolment step is used");
    assert!(store.spend_step(id, 101).await.expect("step"));
    assert!(!store.spend_step(id, 101).await.expect("step"), "a code is accepted once");
    assert!(store.spend_recovery_code(id, &[1; 32], now).await.expect("code"));
    assert!(!store.spend_recovery_code(id, &[1; 32], now).await.expect("code"), "once");
    assert!(!store.spend_recovery_code(bob, &[2; 32], now).await.expect("code"), "another user's code");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_and_sessions_records() {
    let (store, _dir) = fresh_store().await;
    let now = clock();
    let secret = store.create_token("engine-1", &"ingest,engine".parse().expect("scopes"), now).await.expect("token");
    assert!(store.create_token("engine-1", &"read".parse().expect("scopes"), now).await.is_err(), "names are unique");
    assert_eq!(store.token_scope(&secret).await.expect("scope").map(|s| s.as_string()).as_deref(), Some("ingest,engine"));
    assert!(store.token_scope("tw_wrong").await.expect("scope").is_none());
    let listed = store.tokens().await.expect("tokens");
    assert_eq!((listed.len(), listed[0].name.as_str(), listed[0].revoked_at), (1, "engine-1", None));
    assert_eq!(store.revoke_token(listed[0].id, now).await.expect("revoke").as_deref(), Some("engine-1"));
    assert_eq!(store.revoke_token(listed[0].id, now).await.expect("revoke"), None, "already revoked");
    assert!(store.token_scope(&secret).await.expect("scope").is_none(), "a revoked token opens nothing");

    let alice = store.insert_user("alice", Role::Auditor, "phc".into(), now).await.expect("user");
    let data = |uid: i64| format!("{{\"user_id\":{uid},\"login_at_ms\":1}}");
    let live = now.timestamp_millis() + 60_000;
    assert!(store.session_insert("s1", &data(alice), live).await.expect("insert"));
    assert!(!store.session_insert("s1", &data(alice), live).await.expect("insert"), "an id is taken once");
    assert!(store.session_insert("s2", &data(alice), live).await.expect("insert"));
    assert!(store.session_insert("s3", &data(alice + 1), now.timestamp_millis() - 1).await.expect("insert"));
    store.session_upsert("s1", &data(alice), live + 1).await.expect("save");
    assert_eq!(store.session_load("s1", now.timestamp_millis()).await.expect("load"), Some((data(alice), live + 1)));
    assert_eq!(store.session_load("s3", now.timestamp_millis()).await.expect("load"), None, "expired");
    assert_eq!(store.delete_expired_sessions(now).await.expect("sweep"), 1);
    assert_eq!(store.end_sessions_of(alice, Some("s1")).await.expect("end others"), 1);
    assert!(store.session_load("s1", now.timestamp_millis()).await.expect("load").is_some(), "the kept session stays");
    store.session_delete("s1").await.expect("delete");
    assert!(store.session_load("s1", now.timestamp_millis()).await.expect("load").is_none());
    assert!(store.user_enabled(alice).await && !store.user_enabled(alice + 100).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshots_keep_only_the_newest() {
    let (store, _dir) = fresh_store().await;
    assert!(store.latest_snapshot().await.expect("none").is_none());
    let snap = |seq: u64| Snapshot { seq, head_hash: [seq as u8; 32], format: 2, capital: "1000000".into(), data: vec![seq as u8; 1000] };
    store.save_snapshot(&snap(10), clock()).await.expect("save");
    store.save_snapshot(&snap(20), clock()).await.expect("save");
    store.save_snapshot(&snap(20), clock()).await.expect("the same seq again replaces it");
    assert_eq!(store.latest_snapshot().await.expect("latest"), Some(snap(20)));
    assert_eq!(store.drop_snapshots().await.expect("drop"), 1, "older ones were dropped on save");
}

/// `tradewatch store copy`: SQLite -> PostgreSQL -> SQLite, every row unchanged, verified where it
/// arrives; never into a log that has events; a broken chain does not arrive as a good one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn store_copy_moves_a_log_between_backends_and_verifies_it() {
    let exe = env!("CARGO_BIN_EXE_tradewatch");
    let (a, b) = (tempfile::tempdir().expect("tempdir"), tempfile::tempdir().expect("tempdir"));
    let source = Store::connect(&Location::Sqlite(a.path().to_path_buf())).await.expect("source");
    for batch in batches() {
        append(&source, &batch).await.expect("append");
    }
    // Accounts (one with a second factor and recovery codes) and tokens travel with the log.
    let alice = source.insert_user("alice", Role::Risk, "phc-alice".into(), clock()).await.expect("user");
    source.insert_user("bob", Role::Trader, "phc-bob".into(), clock()).await.expect("user");
    source.set_totp(alice, "SECRET", 7, &[vec![1; 32], vec![2; 32]]).await.expect("totp");
    let token = source.create_token("engine", &"ingest,engine".parse().expect("scopes"), clock()).await.expect("token");
    let pg = fresh_postgres().await;
    let pg_url = match &pg {
        Location::Postgres(url) => secrecy::ExposeSecret::expose_secret(url).to_string(),
        Location::Sqlite(_) => unreachable!(),
    };
    let copy = |from: String, to: String| std::process::Command::new(exe).args(["store", "copy", "--from", &from, "--to", &to]).output().expect("run copy");
    let out = copy(format!("sqlite://{}", a.path().display()), pg_url.clone());
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.contains("copied 42 events, 2 accounts and 1 API tokens") && !said.contains(&pg_url), "{said}");
    let on_pg = Store::connect(&pg).await.expect("postgres");
    assert_eq!(on_pg.user_named("alice").await.expect("alice").map(|u| (u.id, u.role)), Some((alice, Role::Risk)));
    assert_eq!(on_pg.totp_secret(alice).await.expect("totp").as_deref(), Some("SECRET"));
    assert!(on_pg.spend_recovery_code(alice, &[2; 32], clock()).await.expect("code"), "recovery codes came along");
    assert_eq!(on_pg.token_scope(&token).await.expect("scope").map(|s| s.as_string()).as_deref(), Some("ingest,engine"));
    let carol = on_pg.insert_user("carol", Role::Auditor, "phc".into(), clock()).await.expect("a new account after the copied ones");
    assert!(carol > alice + 1, "ids continue after the copied ones ({carol})");
    let out = copy(pg_url.clone(), b.path().display().to_string());
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let back = Store::connect(&Location::Sqlite(b.path().to_path_buf())).await.expect("back");
    assert_eq!(source.rows_after(0, 1000).await.expect("rows"), back.rows_after(0, 1000).await.expect("rows"), "every column of every row");
    assert_eq!(back.export_accounts().await.expect("accounts"), on_pg.export_accounts().await.expect("accounts"), "accounts as they were on PostgreSQL");

    let again = copy(format!("sqlite://{}", a.path().display()), pg_url);
    assert!(!again.status.success() && String::from_utf8_lossy(&again.stderr).contains("already holds events"));

    // A tampered source: the copy arrives but does not verify, and says so.
    let raw = raw_db(&Location::Sqlite(a.path().to_path_buf())).await;
    raw.drop_update_guard().await;
    raw.exec("UPDATE events SET payload = replace(payload, '0.4', '0.1') WHERE seq = 3").await.expect("tamper");
    raw.close().await;
    let c = tempfile::tempdir().expect("tempdir");
    let out = copy(a.path().display().to_string(), c.path().display().to_string());
    assert!(!out.status.success(), "a broken chain is not reported as copied");
    assert!(String::from_utf8_lossy(&out.stderr).contains("first break at seq 3"), "{}", String::from_utf8_lossy(&out.stderr));
}
