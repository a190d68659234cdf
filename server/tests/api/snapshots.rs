//! Fold snapshots: a restart from one equals a full replay; a corrupt, stale or foreign one is
//! refused and the console folds the whole log instead; the job and shutdown write them.
use chrono::Utc;
use serde_json::{Value, json};
use server::console::{Console, Rebuilt};
use server::startup::Application;

use crate::*;

async fn open(app: &TestApp) -> Application {
    Application::build(app.config()).await.expect("a console on the log")
}

/// Everything the folds show, in one value (the governance view's clock left out).
pub(crate) async fn state(c: &Console) -> Value {
    use app::service::ConsoleService;
    let mut gov = serde_json::to_value(c.governance().await).expect("json");
    gov["now"] = Value::Null;
    json!({
        "dashboard": c.dashboard(),
        "signals": c.signals(500),
        "governance": gov,
        "kpis": c.kpi_view(),
        "execution": c.execution_view(),
        "config": c.config(),
    })
}

/// A log with positions, a signal waiting for a person, a closed trade and a config change.
async fn busy_log(app: &TestApp) {
    let (status, body) = app.post(&round_trip()).await;
    assert_eq!(status, 200, "{body}");
    let mut exit = order("e10", "ord-2", "sig-1", "sell", "0.1", "submitted", 70_000);
    exit["order_type"] = json!("market");
    let batch = vec![
        signal("e8", "sig-2", 65_000),
        snapshot("e9", "BTCUSDT", "68200", 66_000),
        exit,
        fill("e11", "ord-2", "0.1", "68190", "0.06", 70_100),
        order("e12", "ord-2", "sig-1", "sell", "0.1", "filled", 70_200),
    ];
    let (status, body) = app.post(&batch).await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_from_a_snapshot_equals_a_full_replay() {
    let app = spawn().await;
    busy_log(&app).await;
    let first = open(&app).await;
    assert_eq!(first.console.rebuilt(), &Rebuilt::FullReplay { replayed: 12, reason: "no snapshot".into() });
    assert_eq!(first.console.write_snapshot(Utc::now()).await.expect("write"), Some(12));
    assert_eq!(first.console.write_snapshot(Utc::now()).await.expect("write"), None, "nothing new to cover");
    // More events after the snapshot: a restart folds only those.
    let (status, _) = app.post(&[snapshot("e13", "BTCUSDT", "67000", 80_000), signal("e14", "sig-3", 81_000)]).await;
    assert_eq!(status, 200);
    let restored = open(&app).await;
    assert_eq!(restored.console.rebuilt(), &Rebuilt::FromSnapshot { seq: 12, replayed: 2 });
    app.store().await.drop_snapshots().await.expect("drop");
    let replayed = open(&app).await;
    assert!(matches!(replayed.console.rebuilt(), Rebuilt::FullReplay { replayed: 14, .. }));
    let (a, b) = (state(&restored.console).await, state(&replayed.console).await);
    assert_eq!(a, b, "restored + 2 events = the whole log folded");
    assert_eq!(a["dashboard"]["counts"]["events"], 14);
    assert_eq!(a["governance"]["pending_total"], 3, "sig-1 (ordered unapproved, flagged), sig-2 and sig-3 wait for a person");
    assert_eq!(a["dashboard"]["closed_trades"], 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_corrupt_stale_or_foreign_snapshot_is_refused_and_the_log_folded_instead() {
    let app = spawn().await;
    busy_log(&app).await;
    let truth = state(&open(&app).await.console).await;
    let raw = app.raw().await;
    let pg = raw.is_postgres();
    for (edit, why) in [
        (if pg { "data = '\\x00ff00ff'::bytea" } else { "data = x'00ff00ff'" }, "fold snapshot"),
        ("data = substr(data, 1, length(data) / 2)", "fold snapshot"),
        (if pg { "head_hash = decode(repeat('00', 32), 'hex')" } else { "head_hash = zeroblob(32)" }, "does not have the hash"),
        ("seq = seq + 100", "the log ends at"),
        ("format = format + 1", "this build reads"),
        ("capital = '5'", "starting capital"),
    ] {
        let c = open(&app).await;
        c.console.write_snapshot(Utc::now()).await.expect("write");
        raw.exec(&format!("UPDATE fold_snapshots SET {edit}")).await.expect("edit");
        let again = open(&app).await;
        match again.console.rebuilt() {
            Rebuilt::FullReplay { replayed, reason } => {
                assert_eq!(*replayed, 12, "{edit}");
                assert!(reason.contains(why), "{edit}: {reason}");
            }
            other => panic!("{edit}: the snapshot was used: {other:?}"),
        }
        assert_eq!(state(&again.console).await, truth, "{edit}: the console starts right");
        app.store().await.drop_snapshots().await.expect("drop");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_job_writes_every_n_events_and_shutdown_writes_the_last() {
    let app = spawn().await;
    busy_log(&app).await;
    let c = open(&app).await;
    let gap = std::time::Duration::from_secs(600);
    let t0 = Utc::now();
    let off = server::jobs::Snapshots::new(c.console.clone(), 0, gap);
    assert_eq!(off.run_once(t0).await.expect("run"), None, "0 turns them off");
    let ten = server::jobs::Snapshots::new(c.console.clone(), 13, gap);
    assert_eq!(ten.run_once(t0).await.expect("run"), None, "12 events, fewer than 13");
    let job = server::jobs::Snapshots::new(c.console.clone(), 10, gap);
    assert_eq!(job.run_once(t0).await.expect("run"), None, "a first check only learns the head (it could be a burst)");
    assert_eq!(job.run_once(t0).await.expect("run"), Some(12));
    assert_eq!(job.run_once(t0).await.expect("run"), None, "nothing new");
    let note = |n: u32| server::console::system_event("test", "note", format!("note {n}")).expect("body");
    let every_one = server::jobs::Snapshots::new(c.console.clone(), 1, gap);
    assert_eq!(every_one.run_once(t0).await.expect("run"), None, "12 is covered");
    c.console.record(vec![note(1)], t0).await.expect("record");
    assert_eq!(every_one.run_once(t0).await.expect("run"), Some(13), "this job had written none yet");
    c.console.record(vec![note(2)], t0).await.expect("record");
    assert_eq!(every_one.run_once(t0 + chrono::Duration::seconds(599)).await.expect("run"), None, "within the gap");
    assert_eq!(every_one.run_once(t0 + chrono::Duration::seconds(600)).await.expect("run"), Some(14));
    // While a burst is under way (1,000 events or more since the previous check) a due snapshot
    // waits, at most MAX_DEFER.
    let no_gap = server::jobs::Snapshots::new(c.console.clone(), 1, std::time::Duration::ZERO);
    assert_eq!(no_gap.run_once(t0).await.expect("run"), None);
    // 1,000 new events, ingested by this console.
    let burst = |from: usize| -> Vec<server::store::Incoming> {
        (from..from + 1000)
            .map(|i| {
                let raw = snapshot(&format!("burst-{i}"), "ETHUSDT", "2400", 90_000 + i as i64).to_string();
                server::store::Incoming { line: i - from + 1, event: domain::event::Event::parse_json(&raw, Utc::now()).expect("parses"), raw, flags: None }
            })
            .collect()
    };
    c.console.ingest(burst(0), Utc::now()).await.expect("a burst");
    assert_eq!(no_gap.run_once(t0).await.expect("run"), None, "a burst: the snapshot waits");
    assert_eq!(no_gap.run_once(t0).await.expect("run"), Some(1014), "the burst is over");
    c.console.ingest(burst(1000), Utc::now()).await.expect("a burst");
    assert_eq!(no_gap.run_once(t0).await.expect("run"), None, "a burst again");
    let later = t0 + chrono::Duration::from_std(server::jobs::snapshots::MAX_DEFER).expect("duration");
    c.console.ingest(burst(2000), Utc::now()).await.expect("a burst that goes on");
    assert_eq!(no_gap.run_once(later).await.expect("run"), Some(3014), "held back MAX_DEFER: written in the burst");
    drop(c);
    // A console that stops writes one covering everything it applied.
    let (status, _) = app.post(&[snapshot("e15", "BTCUSDT", "67000", 80_000)]).await;
    assert_eq!(status, 200);
    let last = open(&app).await;
    assert_eq!(last.console.rebuilt(), &Rebuilt::FromSnapshot { seq: 3014, replayed: 1 });
    let console = last.console.clone();
    last.run_until_stopped(async {}).await.expect("stops");
    assert_eq!(console.snapshot_seq(), 3015);
    assert_eq!(app.store().await.latest_snapshot().await.expect("read").map(|s| s.seq), Some(3015));
    assert_eq!(open(&app).await.console.rebuilt(), &Rebuilt::FromSnapshot { seq: 3015, replayed: 0 });
}
