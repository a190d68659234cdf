//! kill -9: every batch the console acknowledged is in the log after a crash, on this run's
//! backend (SQLite: WAL with synchronous=FULL; PostgreSQL: a committed transaction), and the
//! restarted console folds it.
//!
//! Its own test binary, so it never runs beside the API tests: while it ran in their process,
//! about one run in five left a page test waiting forever for its response (6 of 6 runs passed
//! without it; the cause is not found: see the README's Known limits).
use std::collections::HashSet;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};

use chrono::Utc;
use serde_json::Value;
use server::store::{Location, Store};

#[path = "../api/helpers.rs"]
#[allow(dead_code)]
mod helpers;
use helpers::*;

/// Starts `tradewatch serve` on port 0 on `location`; returns the process and its base URL.
fn serve(dir: &std::path::Path, location: &Location) -> (Child, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tradewatch"));
    cmd.args(["serve", "--addr", "127.0.0.1:0", "--data-dir"]).arg(dir).env("RUST_LOG", "warn").env_remove("DATABASE_URL").stdout(Stdio::piped()).stderr(Stdio::null());
    if let Location::Postgres(url) = location {
        cmd.env("DATABASE_URL", secrecy::ExposeSecret::expose_secret(url));
    }
    let mut child = cmd.spawn().expect("start tradewatch serve");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let base = loop {
        let line = lines.next().expect("the console says where it listens").expect("line");
        if let Some(url) = line.strip_prefix("Tradewatch listening on ") {
            break url.trim().to_string();
        }
    };
    // Keep draining stdout so the console never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    (child, base)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_kill_9_every_acknowledged_event_is_in_the_log() {
    let dir = tempfile::tempdir().expect("tempdir");
    let location = fresh_location(dir.path()).await;
    let token = Store::connect(&location).await.expect("store").create_token("crash-test", &"ingest".parse().expect("scope"), Utc::now()).await.expect("token");
    let (mut child, base) = serve(dir.path(), &location);
    let acknowledged: Arc<Mutex<Vec<String>>> = Arc::default();
    let http = reqwest::Client::new();
    let mut posters = Vec::new();
    for w in 0..3 {
        let (http, base, token, acknowledged) = (http.clone(), base.clone(), token.clone(), acknowledged.clone());
        posters.push(tokio::spawn(async move {
            for b in 0.. {
                let events: Vec<Value> = (0..200).map(|i| snapshot(&format!("w{w}-b{b}-{i}"), "BTCUSDT", "67500", b * 1000 + i)).collect();
                let ids: Vec<String> = (0..200).map(|i| format!("w{w}-b{b}-{i}")).collect();
                match http.post(format!("{base}/api/v1/events")).bearer_auth(&token).json(&events).send().await {
                    Ok(res) if res.status() == 200 => acknowledged.lock().expect("lock").extend(ids),
                    _ => break, // the console is gone
                }
            }
        }));
    }
    // Let it ingest for a while, then SIGKILL it mid-stream.
    while acknowledged.lock().expect("lock").len() < 6_000 {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    child.kill().expect("kill -9");
    child.wait().expect("reaped");
    for p in posters {
        let _ = p.await;
    }
    let acked: HashSet<String> = acknowledged.lock().expect("lock").iter().cloned().collect();
    assert!(acked.len() >= 6_000);

    // On PostgreSQL the killed console's sessions end when their backends see the closed
    // socket; a COMMIT already sent still lands then. Wait for them, so what is read below is
    // everything the killed console will ever have written.
    if let Location::Postgres(url) = &location {
        wait_for_other_sessions_to_end(secrecy::ExposeSecret::expose_secret(url)).await;
    }

    // Every acknowledged event is stored, and the chain holds.
    let store = Store::connect(&location).await.expect("reopen after the crash");
    let (stored, last_seq) = stored_ids(&store).await;
    let lost: Vec<&String> = acked.iter().filter(|id| !stored.contains(*id)).take(5).collect();
    assert!(lost.is_empty(), "{} acknowledged events lost after kill -9 on {}, e.g. {lost:?}", acked.iter().filter(|id| !stored.contains(*id)).count(), store.backend_name());
    let report = store.verify().await.expect("verify");
    assert!(report.ok, "the chain does not hold after kill -9 on {}: {report:?}", store.backend_name());

    // A new console starts on it and folds every stored event.
    let (mut again, base) = serve(dir.path(), &location);
    let res = reqwest::Client::new().get(format!("{base}/api/v1/summary")).bearer_auth(store.create_token("crash-read", &"read".parse().expect("scope"), Utc::now()).await.expect("token")).send().await.expect("summary");
    let summary: Value = res.json().await.expect("json");
    // Stopped as an operator stops it (SIGTERM): an append it had folded when it answered
    // (its first checkpoint) is then written, not cut off by a kill -9 between its two stages,
    // which left the count one above the log in a test run.
    let stopped = Command::new("kill").args(["-TERM", &again.id().to_string()]).status().expect("kill -TERM");
    assert!(stopped.success());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while again.try_wait().expect("wait").is_none() {
        if std::time::Instant::now() > deadline {
            let _ = again.kill();
            panic!("the console did not stop within 60 s of SIGTERM");
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    // The new console records events of its own (its first checkpoint: the job runs at start,
    // once the log holds events; an alert its rules raise), before or after it answers. None
    // may be what the posters sent: that would be a write of the killed console landing late.
    let rows = store.rows_after(last_seq, 5_000).await.expect("rows after the crash");
    let own: Vec<&str> = rows.iter().map(|r| r.kind.as_str()).collect();
    assert!(own.iter().all(|k| *k != "market_snapshot"), "rows after the crash that the new console did not record: {own:?}");
    let counted = summary["counts"]["events"].as_u64().unwrap_or_else(|| panic!("no event count in {summary}"));
    let (low, high) = (stored.len() as u64, (stored.len() + own.len()) as u64);
    assert!((low..=high).contains(&counted), "the new console counts {counted} events; the log held {low} after the crash and {high} after the new console ran: {summary}");
}

/// Every stored event id, and the last seq.
async fn stored_ids(store: &Store) -> (HashSet<String>, u64) {
    let (mut stored, mut after) = (HashSet::new(), 0);
    loop {
        let rows = store.rows_after(after, 5_000).await.expect("rows");
        let Some(last) = rows.last() else { break };
        after = last.seq as u64;
        stored.extend(rows.into_iter().map(|r| r.event_id));
    }
    (stored, after)
}

/// Waits (up to 30 s) until no session but this one is connected to `url`'s database.
async fn wait_for_other_sessions_to_end(url: &str) {
    use sqlx::Connection;
    let mut conn = sqlx::PgConnection::connect(url).await.expect("connect to the test database");
    for _ in 0..300 {
        let others: i64 = sqlx::query_scalar("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()")
            .fetch_one(&mut conn)
            .await
            .expect("pg_stat_activity");
        if others == 0 {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("the killed console's PostgreSQL sessions did not end in 30 s");
}
