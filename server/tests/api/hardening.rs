//! No input stops the console, engines cannot act as people (issue "Trust what exists", §2-3).
use serde_json::{Value, json};
use domain::governance::Role;
use server::startup::Application;

use crate::*;

/// Numbers past the documented bounds are refused with 422 naming line, field and bound; the
/// batch stores nothing. Today's (old) parser accepted all of these, and the folds overflowed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn numbers_and_sizes_beyond_the_bounds_are_refused_naming_the_field() {
    let app = spawn().await;
    let huge = "79228162514264337593543950335"; // Decimal::MAX
    let mut many_features = signal("x", "sig-x", 0);
    many_features["features"] = Value::Object((0..257).map(|i| (format!("f{i}"), json!(1.0))).collect());
    let mut many_checks = risk("x", "sig-x", 0);
    many_checks["checks"] = Value::Array((0..65).map(|i| json!({"name": format!("c{i}"), "status": "pass", "value": 1, "limit": 2})).collect());
    let mut deep = snapshot("x", "BTCUSDT", "1", 0);
    deep["bids"] = Value::Array((0..101).map(|_| json!(["1", "1"])).collect());
    let mut wild_feature = signal("x", "sig-x", 0);
    wild_feature["features"] = json!({"z": 1e300});
    let mut ancient = snapshot("x", "BTCUSDT", "1", 0);
    ancient["ts"] = json!("0001-01-01T00:00:00Z");
    let cases: Vec<(&str, Value, &str, &str)> = vec![
        ("order quantity", order("x", "o", "s", "buy", huge, "submitted", 0), "quantity", "at most 1000000000"),
        ("fill quantity", fill("x", "o", huge, "1", "0", 0), "quantity", "at most 1000000000"),
        ("fill price", fill("x", "o", "1", "1000000000.01", "0", 0), "price", "at most 1000000000"),
        ("fee", fill("x", "o", "1", "1", "1000000000000.5", 0), "fee", "at most 1000000000000"),
        ("mark", snapshot("x", "BTCUSDT", huge, 0), "bid", "at most"),
        ("features", many_features, "features", "at most 256"),
        ("checks", many_checks, "checks", "at most 64"),
        ("depth", deep, "bids", "at most 100"),
        ("feature value", wild_feature, "features.z", "1e15"),
        ("timestamp", ancient, "ts", "1970"),
    ];
    for (name, bad, field, bound) in cases {
        let (status, body) = app.post(&[snapshot("ok-1", "BTCUSDT", "1", 0), bad]).await;
        assert_eq!(status, 422, "{name}: {body}");
        assert_eq!(body["line"], 2, "{name}: {body}");
        assert_eq!(body["field"].as_str(), Some(field), "{name}: {body}");
        assert!(body["reason"].as_str().is_some_and(|r| r.contains(bound)), "{name}: reason names the bound: {body}");
    }
    let (status, s) = app.get("/api/v1/summary").await;
    assert_eq!((status, s["counts"]["events"].as_u64()), (200, Some(0)), "nothing of any refused batch was stored");
}

/// Events at the bounds are accepted, fold without overflow, and the console goes on: later
/// batches, reads and a restart on the same log all work.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_at_the_bounds_fold_and_the_console_keeps_working_and_restarts() {
    let app = spawn().await;
    let max = "1000000000";
    let mut batch = vec![snapshot("m1", "BTCUSDT", max, 0), signal("s1", "sig-1", 1)];
    for i in 0..20 {
        batch.push(order(&format!("o{i}"), &format!("ord-{i}"), "sig-1", if i % 2 == 0 { "buy" } else { "sell" }, max, "submitted", 2 + i));
        batch.push(fill(&format!("f{i}"), &format!("ord-{i}"), max, if i % 2 == 0 { max } else { "0.0000000001" }, "1000000000000", 3 + i));
    }
    batch.push(snapshot("m2", "BTCUSDT", "0.0000000001", 100));
    let (status, body) = app.post(&batch).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = app.post(&[snapshot("after", "BTCUSDT", "2", 200)]).await;
    assert_eq!(status, 200, "the next batch is accepted: {body}");
    for path in ["/api/v1/summary", "/api/v1/metrics", "/api/v1/audit/verify"] {
        let (status, body) = app.get(path).await;
        assert_eq!(status, 200, "{path}: {body}");
    }
    let (_, s) = app.get("/api/v1/summary").await;
    assert_eq!(s["counts"]["events"].as_u64(), Some(44));
    // A second console on the same log starts and folds it.
    let again = Application::build(app.config()).await.expect("restart on the log");
    use app::service::ConsoleService;
    assert_eq!(again.console.dashboard().counts.events, 44);
}

/// Operator responses of every action are a person's; an ingest token cannot write one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_cannot_post_an_operator_response_of_any_action() {
    let app = spawn().await;
    let mut exit = signal("x1", "sig-exit", 0);
    exit["intent"] = json!("exit");
    exit["side"] = json!("sell");
    exit["response_window_secs"] = json!(600);
    app.post(&[exit]).await;
    for action in ["acknowledge", "approve", "reject", "timeout", "escalate"] {
        let forged = json!({"event_id": format!("forged-{action}"), "kind": "operator_response", "ts": ts(30),
            "signal_id": "sig-exit", "action": action, "actor": "alice"});
        let (status, body) = app.post(&[forged]).await;
        assert_eq!((status, body["field"].as_str(), body["line"].as_u64()), (422, Some("kind"), Some(1)), "{action}: {body}");
    }
    let (_, page) = app.get("/api/v1/events?kind=operator_response").await;
    assert_eq!(page["events"].as_array().map(Vec::len), Some(0), "no forged decision stored");
    let (_, d) = app.get("/api/v1/automations/momentum-1/decisions").await;
    assert_eq!(d["decisions"].as_array().map(Vec::len), Some(0), "nothing shown as alice's decision: {d}");
}

/// A signal id names one signal and an order id one order: re-used with other content, 409.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signal_or_order_id_reused_with_other_content_is_a_conflict() {
    let app = spawn().await;
    app.post(&round_trip()).await;
    // The same signal id under another automation (it would change the signal's owner).
    let mut moved = signal("e-new", "sig-1", 100);
    moved["automation_id"] = json!("someone-else");
    let (status, body) = app.post(&[snapshot("n1", "BTCUSDT", "1", 0), moved]).await;
    assert_eq!((status, body["field"].as_str(), body["line"].as_u64()), (409, Some("signal_id"), Some(2)), "{body}");
    // An order id with another quantity; a status update of the same order is fine.
    let (status, body) = app.post(&[order("e-o2", "ord-1", "sig-1", "buy", "5", "submitted", 100)]).await;
    assert_eq!((status, body["field"].as_str()), (409, Some("order_id")), "{body}");
    let (status, body) = app.post(&[order("e-o3", "ord-1", "sig-1", "buy", "0.1", "cancelled", 100)]).await;
    assert_eq!(status, 200, "a later status of the same order: {body}");
    // Within one batch too.
    let (status, body) = app.post(&[signal("b1", "sig-twin", 0), { let mut s = signal("b2", "sig-twin", 0); s["strength"] = json!(0.1); s }]).await;
    assert_eq!((status, body["field"].as_str()), (409, Some("signal_id")), "{body}");
    assert_eq!(app.stored_events().await, 8, "only the status update was stored");
}

/// A signed-in session cannot replace an enabled second factor without proving the current one;
/// with the proof it can, the change is an event in the chain, and other sessions end.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replacing_two_factor_needs_the_password_and_a_current_code_and_ends_other_sessions() {
    let app = spawn().await;
    let cookie = app.login(Role::Trader).await;
    let (_, body) = app.call(Some(&cookie), "totp_begin", "").await;
    let first: Value = serde_json::from_str(&body).expect("json");
    let first = first["secret"].as_str().expect("secret").to_string();
    let (status, body) = app.call(Some(&cookie), "totp_confirm", &format!("code={}", totp_code(&first, "trader", 0))).await;
    assert_eq!(status, 200, "{body}");
    let recovery: Vec<String> = serde_json::from_str(&body).expect("codes");
    // A second session of the same user (another browser), signed in with a recovery code.
    let other = {
        let res = app.http.post(format!("{}/api/login", app.base))
            .form(&[("username", "trader".to_string()), ("password", password(Role::Trader)), ("code", recovery[0].clone())])
            .send().await.expect("login");
        assert_eq!(res.status(), 200);
        res.headers().get_all("set-cookie").iter().filter_map(|v| v.to_str().ok()).find(|v| v.starts_with("tradewatch_session=")).and_then(|v| v.split(';').next()).expect("cookie").to_string()
    };
    // The attacker's path: a stolen session begins and confirms a new secret of its own.
    let (_, body) = app.call(Some(&cookie), "totp_begin", "").await;
    let second = serde_json::from_str::<Value>(&body).expect("json")["secret"].as_str().expect("secret").to_string();
    let (status, _) = app.call(Some(&cookie), "totp_confirm", &format!("code={}", totp_code(&second, "trader", 0))).await;
    assert_eq!(status, 403, "no proof of the current factor: refused");
    let (status, _) = app.call(Some(&cookie), "totp_confirm", &format!("code={}&current_password=wrong-password-1&current_code={}", totp_code(&second, "trader", 0), recovery[1])).await;
    assert_eq!(status, 400, "a wrong password: refused");
    // With the password and a recovery code of the current factor it is replaced.
    let (status, body) = app.call(Some(&cookie), "totp_confirm", &format!("code={}&current_password={}&current_code={}", totp_code(&second, "trader", 0), password(Role::Trader), recovery[2])).await;
    assert_eq!(status, 200, "{body}");
    let (_, page) = app.get("/api/v1/events?kind=system").await;
    assert!(page.to_string().contains("two_factor_replaced"), "the change is in the chain: {page}");
    // The other session ended; this one goes on.
    let (status, _) = app.call(Some(&other), "totp_status", "").await;
    assert_eq!(status, 401, "the other session was ended");
    let (status, _) = app.call(Some(&cookie), "totp_status", "").await;
    assert_eq!(status, 200);
    // Changing the password with two-factor on needs a code too.
    let (status, body) = app.call(Some(&cookie), "change_password", &format!("current={}&new=another-long-password", password(Role::Trader))).await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("two-factor"), "{body}");
}

/// 100 concurrent wrong passwords for one account: at most the lock threshold are checked as
/// passwords (the rest are refused as locked before argon2 runs), and locked-out attempts do not
/// extend the lock.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_wrong_passwords_check_at_most_the_lock_threshold() {
    let app = spawn().await;
    let attempts = (0..100).map(|_| {
        let http = app.http.clone();
        let base = app.base.clone();
        async move {
            http.post(format!("{base}/api/login")).form(&[("username", "risk"), ("password", "wrong-password-123")]).send().await.map(|r| r.status().as_u16()).unwrap_or(0)
        }
    });
    let statuses = futures::future::join_all(attempts).await;
    let checked = statuses.iter().filter(|s| **s == 401).count();
    let locked = statuses.iter().filter(|s| **s == 423 || **s == 429 || **s == 403).count();
    assert!(checked <= 5, "{checked} wrong passwords were checked; the lock is at 5: {statuses:?}");
    assert_eq!(checked + locked, 100, "{statuses:?}");
    let cookie = app.login(Role::Admin).await;
    let (_, body) = app.call(Some(&cookie), "get_login_attempts", "").await;
    let rows: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
    let failures = rows.as_array().map(|r| r.iter().filter(|a| a["username"] == "risk").count()).unwrap_or(0);
    assert!(failures <= 5, "refused-while-locked attempts are not stored as failures: {failures}");
}

/// The chain covers every stored column: the receive time (it drives gating timeouts on replay)
/// and the flags are hashed; kind, ids, source time and drift are re-derived from the hashed
/// payload. Editing any of them breaks verification, which names the column.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn editing_any_stored_column_breaks_the_chain_and_names_the_column() {
    for (column, edit) in [
        ("kind", "kind = 'heartbeat'"),
        ("instrument", "instrument = 'ETHUSDT'"),
        ("signal_id", "signal_id = 'sig-other'"),
        ("ts_ms", "ts_ms = ts_ms + 1"),
        ("hash", "received_at_ms = received_at_ms - 600000"),
        ("hash", "flags = 'unknown_order'"),
    ] {
        let app = spawn().await;
        app.post(&round_trip()).await;
        let (_, v) = app.get("/api/v1/audit/verify").await;
        assert_eq!(v["ok"], true, "{v}");
        let raw = app.raw().await;
        raw.drop_update_guard().await;
        raw.exec(&format!("UPDATE events SET {edit} WHERE seq = 4")).await.expect("tamper");
        raw.close().await;
        let (_, v) = app.get("/api/v1/audit/verify").await;
        assert_eq!((v["ok"].as_bool(), v["first_break"].as_u64(), v["column"].as_str()), (Some(false), Some(4), Some(column)), "{edit}: {v}");
    }
}

/// The live stream re-checks its session: after sign-out it ends within a few seconds, and the
/// idle timeout moves with use (the cookie's session is re-saved with a later expiry).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_live_stream_ends_after_sign_out() {
    let app = spawn().await;
    let cookie = app.login(Role::Risk).await;
    let mut res = app.http.get(format!("{}/live/dashboard", app.base)).header("cookie", &cookie).send().await.expect("stream");
    assert_eq!(res.status(), 200);
    let first = tokio::time::timeout(std::time::Duration::from_secs(5), res.chunk()).await.expect("first event in time").expect("chunk");
    assert!(first.is_some_and(|c| String::from_utf8_lossy(&c).contains("event: dashboard")));
    let (status, _) = app.call(Some(&cookie), "logout", "").await;
    assert_eq!(status, 200);
    // Keep the console busy so the stream has something to push; it must end instead.
    app.post(&round_trip()).await;
    let ended = tokio::time::timeout(std::time::Duration::from_secs(6), async {
        loop {
            match res.chunk().await {
                Ok(Some(_)) => continue,
                _ => break,
            }
        }
    })
    .await;
    assert!(ended.is_ok(), "the stream still ran 6 s after sign-out");
}

/// The idle timeout counts from the last request, not from sign-in: a session about to expire
/// (its stored expiry 20 s away, last marked in an earlier minute) is moved a full idle period
/// on by the next request; one left alone past its expiry is signed out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_idle_timeout_moves_with_use_and_ends_an_unused_session() {
    use chrono::Utc;
    let app = spawn().await;
    let raw = app.raw().await;
    async fn age(raw: &RawDb, minutes_ago: i64, expires_in_ms: i64) {
        // As if the last request was `minutes_ago` and the expiry is close.
        for (id, data) in raw.sessions().await {
            let mut v: Value = serde_json::from_str(&data).expect("session json");
            v["seen_minute"] = json!(Utc::now().timestamp() / 60 - minutes_ago);
            raw.set_session(&id, &v.to_string(), Utc::now().timestamp_millis() + expires_in_ms).await;
        }
    }
    let cookie = app.login(Role::Auditor).await;
    age(&raw, 29, 20_000).await;
    let (status, _, _) = app.page(Some(&cookie), "/audit").await;
    assert_eq!(status, 200, "still signed in 20 s before the idle expiry");
    let expiry = raw.scalar_i64("SELECT expiry_ms FROM sessions").await;
    let left_min = (expiry - Utc::now().timestamp_millis()) / 60_000;
    assert!(left_min >= 29, "the request moved the expiry a full idle period on (was 20 s away, now {left_min} min)");
    // Left alone past the expiry: the next request is a signed-out one.
    age(&raw, 31, -1_000).await;
    let (status, _, location) = app.page(Some(&cookie), "/audit").await;
    assert!(status == 303 || status == 302 || status == 307, "an expired session is sent to sign in (status {status})");
    assert!(location.is_some_and(|l| l.starts_with("/login")));
    raw.close().await;
}

/// Unknown user, wrong password, and the right password with a wrong code cost the same: the
/// answer's timing does not tell which part was right.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_second_factor_costs_what_a_wrong_password_costs() {
    let app = spawn().await;
    let cookie = app.login(Role::Auditor).await;
    let (_, body) = app.call(Some(&cookie), "totp_begin", "").await;
    let secret = serde_json::from_str::<Value>(&body).expect("json")["secret"].as_str().expect("secret").to_string();
    let (status, _) = app.call(Some(&cookie), "totp_confirm", &format!("code={}", totp_code(&secret, "auditor", 0))).await;
    assert_eq!(status, 200);
    let attempt = |user: &'static str, password: String, code: &'static str| {
        let http = app.http.clone();
        let base = app.base.clone();
        async move {
            let t = std::time::Instant::now();
            let status = http.post(format!("{base}/api/login")).form(&[("username", user.to_string()), ("password", password), ("code", code.to_string())]).send().await.map(|r| r.status().as_u16()).unwrap_or(0);
            (status, t.elapsed().as_millis())
        }
    };
    let (s1, unknown) = attempt("nobody", "wrong-password-123".into(), "000000").await;
    let (s2, wrong_password) = attempt("trader", "wrong-password-123".into(), "000000").await;
    let (s3, wrong_code) = attempt("auditor", password(Role::Auditor), "000000").await;
    assert_eq!((s1, s2, s3), (401, 401, 401));
    for (name, ms) in [("unknown user", unknown), ("wrong password", wrong_password), ("right password, wrong code", wrong_code)] {
        assert!(ms >= 250, "{name} answered in {ms} ms; every failure costs the throttling delay");
    }
}

/// A client that trickles its request headers is cut off (slowloris), and the console goes on
/// serving others meanwhile.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_never_finishes_its_headers_is_cut_off() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = spawn().await;
    let addr = app.base.trim_start_matches("http://").to_string();
    let mut slow = tokio::net::TcpStream::connect(&addr).await.expect("connect");
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n").await.expect("write");
    let (status, _) = app.get("/api/v1/summary").await;
    assert_eq!(status, 200, "others are served meanwhile");
    let started = std::time::Instant::now();
    let mut buf = [0u8; 256];
    let closed = tokio::time::timeout(std::time::Duration::from_secs(15), async {
        loop {
            match slow.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(_) => continue, // a 408 answer, then the close
            }
        }
    })
    .await;
    assert!(closed.is_ok(), "the half-sent request was still open after 15 s");
    assert!(started.elapsed() >= std::time::Duration::from_secs(5), "cut off by the header timeout, not at once");
}

/// Housekeeping is a `run_once(now)` job: driven here with a clock two days ahead, it deletes the
/// expired session (whose cookie then leads to the sign-in page) and sign-in attempts past their
/// retention, and leaves a live session and recent attempts alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn housekeeping_removes_expired_sessions_and_old_attempts_and_nothing_else() {
    let app = spawn().await;
    let cookie = app.login(Role::Trader).await;
    let store = app.store().await;
    let now = chrono::Utc::now();
    store.record_attempt("someone", "10.0.0.9", false, now - chrono::Duration::days(40)).await.expect("old attempt");
    let jobs = server::jobs::Housekeeping { sessions: server::auth::Sessions::new(&store), store: store.clone() };

    let swept = jobs.run_once(now).await.expect("run");
    assert_eq!((swept.sessions, swept.login_attempts), (0, 1), "only the 40-day-old attempt is past retention");
    assert_eq!(app.page(Some(&cookie), "/").await.0, 200, "a live session stays");

    let swept = jobs.run_once(now + chrono::Duration::days(2)).await.expect("run");
    assert_eq!(swept.sessions, 1, "the idle session expired");
    let (status, _, location) = app.page(Some(&cookie), "/").await;
    assert_eq!((status, location.as_deref()), (303, Some("/login")), "the cookie of a swept session is signed out");
    let attempts = store.login_attempts(100).await.expect("attempts");
    assert!(attempts.iter().any(|a| a.username == "trader"), "this session's own sign-in is recent and stays");
}

/// The id-reuse look-up of every append stays on the id indexes for any batch size: a plan on
/// the `(kind, seq)` index reads every stored signal or order per batch (quadratic ingest).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_id_reuse_lookup_uses_the_id_index_for_large_batches() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = server::store::Store::open(dir.path()).await.expect("store");
    for n in [1, 50, 300, 900] {
        for (kind, column, index) in [("signal", "signal_id", "events_signal"), ("order", "order_id", "events_order")] {
            let plan = store.id_lookup_plan(kind, column, n).await.expect("plan");
            assert!(plan.contains(index) && !plan.contains("events_kind_seq"), "{n} {kind} ids: {plan}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_function_called_with_unreadable_arguments_is_a_400_naming_the_field() {
    let app = spawn().await;
    let trader = app.login(Role::Trader).await;
    let (status, body) = app.call(Some(&trader), "get_signals", "").await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("limit"), "the body names the field: {body}");
    let (status, body) = app.call(Some(&trader), "get_signals", "limit=many").await;
    assert_eq!(status, 400, "{body}");
    let (status, _) = app.call(Some(&trader), "get_signals", "limit=5").await;
    assert_eq!(status, 200);
    // A refusal keeps its own status.
    let investor = app.login(Role::Investor).await;
    let (status, _) = app.call(Some(&investor), "get_signals", "limit=5").await;
    assert_eq!(status, 403);
}
