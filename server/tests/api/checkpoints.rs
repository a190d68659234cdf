//! Signed checkpoints: the job signs the tree head and records it in the chain; the API's
//! inclusion and consistency proofs verify against the signed roots; `tradewatch verify
//! --checkpoint` catches a cut tail the chain alone accepts, and a forged signature.
use std::time::Duration;

use chrono::Utc;
use domain::chain::from_hex;
use domain::merkle::{Checkpoint, verify_consistency, verify_inclusion};
use serde_json::{Value, json};
use server::jobs::CheckpointJob;
use server::startup::Application;

use crate::*;

/// `n` market snapshots from `start` (enough to cross the tree's 64-leaf blocks).
fn snapshots(start: usize, n: usize) -> Vec<Value> {
    (start..start + n).map(|i| snapshot(&format!("cp-{i}"), "BTCUSDT", "68000", 1_000 + i as i64)).collect()
}

/// A second console on the test's log, and a checkpoint job on it that signs every `every` events.
async fn job(app: &TestApp, every: u64) -> (Application, CheckpointJob) {
    let other = Application::build(app.config()).await.expect("a console on the log");
    let checkpoints = other.console.checkpoints().expect("enabled").clone();
    let job = CheckpointJob { console: other.console.clone(), checkpoints, every, max_age: Duration::from_secs(3600) };
    (other, job)
}

/// The stored event `seq`, as `GET /api/v1/events` lists it.
async fn event(app: &TestApp, seq: u64) -> Value {
    let (status, page) = app.get_with(&app.read_token, &format!("/api/v1/events?after_seq={}&limit=1", seq - 1)).await;
    assert_eq!(status, 200, "{page}");
    page["events"][0].clone()
}

fn hashes(v: &Value) -> Vec<[u8; 32]> {
    v.as_array().expect("a list").iter().map(|h| from_hex(h.as_str().expect("hex")).expect("32 bytes")).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checkpoints_are_signed_in_the_chain_and_proofs_verify_against_them() {
    let app = spawn().await;
    for batch in [snapshots(0, 100), snapshots(100, 100)] {
        let (status, body) = app.post(&batch).await;
        assert_eq!(status, 200, "{body}");
    }
    let (_other, job) = job(&app, 50).await;
    let first = job.run_once(Utc::now()).await.expect("run").expect("a first checkpoint");
    assert!(first.checkpoint.tree_size >= 200, "covers the log: {}", first.checkpoint.tree_size);
    assert!(job.run_once(Utc::now()).await.expect("run").is_none(), "nothing new: not due");

    // Published with the key; the signature verifies with it.
    let (status, list) = app.get_with(&app.read_token, "/api/v1/checkpoints").await;
    assert_eq!(status, 200, "{list}");
    let key = list["public_key"].as_str().expect("key").to_string();
    let newest: Checkpoint = serde_json::from_value(list["checkpoints"][0].clone()).expect("a checkpoint");
    assert_eq!(newest, first.checkpoint);
    assert_eq!(newest.verify(Some(&key)), Ok(()));
    // The checkpoint is itself an event in the chain.
    assert_eq!(event(&app, first.seq).await["kind"], "checkpoint");

    // Inclusion: event 77's chain hash is leaf 76 of the signed tree.
    let (status, proof) = app.get_with(&app.read_token, "/api/v1/proofs/inclusion?seq=77").await;
    assert_eq!(status, 200, "{proof}");
    assert_eq!(proof["tree_size"], json!(newest.tree_size));
    assert_eq!(proof["checkpoint"]["seq"], json!(first.seq));
    let stored = event(&app, 77).await;
    assert_eq!(proof["chain_hash"], stored["hash"], "the leaf is the stored event's chain hash");
    let leaf = from_hex(stored["hash"].as_str().expect("hash")).expect("hash");
    let root = newest.root_hash().expect("root");
    assert_eq!(verify_inclusion(&root, newest.tree_size, 76, &leaf, &hashes(&proof["path"])), Ok(()));
    let other_leaf = from_hex(event(&app, 78).await["hash"].as_str().expect("hash")).expect("hash");
    assert!(verify_inclusion(&root, newest.tree_size, 76, &other_leaf, &hashes(&proof["path"])).is_err(), "another event does not pass for it");

    // The log grows; a second checkpoint is consistent with the first.
    let (status, _) = app.post(&snapshots(200, 70)).await;
    assert_eq!(status, 200);
    let second = job.run_once(Utc::now()).await.expect("run").expect("due after 50 more events");
    let (old, new) = (first.checkpoint.tree_size, second.checkpoint.tree_size);
    let (status, c) = app.get_with(&app.read_token, &format!("/api/v1/proofs/consistency?from={old}&to={new}")).await;
    assert_eq!(status, 200, "{c}");
    let (old_root, new_root) = (first.checkpoint.root_hash().expect("root"), second.checkpoint.root_hash().expect("root"));
    assert_eq!(verify_consistency(&old_root, old, &new_root, new, &hashes(&c["path"])), Ok(()));
    assert_eq!(c["from_root"], json!(first.checkpoint.root));
    // An inclusion proof in an older checkpoint's tree, by its size.
    let (status, p) = app.get_with(&app.read_token, &format!("/api/v1/proofs/inclusion?seq=3&tree_size={old}")).await;
    assert_eq!(status, 200, "{p}");
    assert_eq!(p["root"], json!(first.checkpoint.root));

    // Refusals name the parameter; tokens without read scope and strangers get nothing.
    for (path, field) in [
        ("/api/v1/proofs/inclusion", "seq"),
        ("/api/v1/proofs/inclusion?seq=0", "seq"),
        ("/api/v1/proofs/inclusion?seq=abc", "seq"),
        ("/api/v1/proofs/inclusion?seq=99999999", "seq"),
        ("/api/v1/proofs/inclusion?seq=1&tree_size=99999999", "tree_size"),
        ("/api/v1/proofs/inclusion?seq=1&size=3", "size"),
        ("/api/v1/proofs/consistency?from=10&to=5", "from"),
        ("/api/v1/proofs/consistency?from=1&to=99999999", "to"),
        ("/api/v1/checkpoints?limit=0", "limit"),
    ] {
        let (status, body) = app.get_with(&app.read_token, path).await;
        assert_eq!((status, body["field"].as_str()), (400, Some(field)), "{path}: {body}");
    }
    assert_eq!(app.get_with(&app.ingest_token, "/api/v1/checkpoints").await.0, 403);
    let stranger = app.http.get(format!("{}/api/v1/checkpoints/latest", app.base)).send().await.expect("get");
    assert_eq!(stranger.status().as_u16(), 401);
    // An investor may check the records: checkpoints and proofs are for them.
    let investor = app.login(domain::governance::Role::Investor).await;
    let res = app.http.get(format!("{}/api/v1/checkpoints/latest", app.base)).header("cookie", &investor).send().await.expect("get");
    assert_eq!(res.status().as_u16(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_checks_the_log_against_a_saved_checkpoint_and_names_what_broke() {
    let app = spawn().await;
    let (status, _) = app.post(&snapshots(0, 150)).await;
    assert_eq!(status, 200);
    let (_other, job) = job(&app, 10).await;
    let cp = job.run_once(Utc::now()).await.expect("run").expect("a checkpoint").checkpoint;
    let (status, latest) = app.get_with(&app.read_token, "/api/v1/checkpoints/latest").await;
    assert_eq!(status, 200);
    let dir = tempfile::tempdir().expect("tempdir");
    let saved = dir.path().join("checkpoint.json");
    std::fs::write(&saved, latest.to_string()).expect("save");
    let exe = env!("CARGO_BIN_EXE_tradewatch");
    let verify = |file: &std::path::Path, key: Option<&str>| {
        let mut cmd = std::process::Command::new(exe);
        cmd.arg("verify").args(app.store_args()).arg("--checkpoint").arg(file);
        if let Some(k) = key {
            cmd.arg("--key").arg(k);
        }
        cmd.output().expect("run verify")
    };
    let ok = verify(&saved, Some(&cp.public_key));
    assert!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stderr));
    let report: Value = serde_json::from_slice(&ok.stdout).expect("json");
    assert_eq!(report["checkpoint"]["ok"], true);

    // Another key than the published one: refused even though the file's signature is fine.
    let wrong = verify(&saved, Some(&"ab".repeat(32)));
    assert!(!wrong.status.success());
    assert!(String::from_utf8_lossy(&wrong.stderr).contains("not the expected"), "{}", String::from_utf8_lossy(&wrong.stderr));

    // A forged signature.
    let mut forged = latest.clone();
    let sig = forged["signature"].as_str().expect("sig").to_string();
    let flipped = format!("{}{}", &sig[..127], if sig.ends_with('0') { "1" } else { "0" });
    forged["signature"] = json!(flipped);
    let forged_file = dir.path().join("forged.json");
    std::fs::write(&forged_file, forged.to_string()).expect("save");
    let out = verify(&forged_file, None);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("signature"), "{}", String::from_utf8_lossy(&out.stderr));

    // Cut the tail: the last signed event and everything after it. The chain of what is left
    // still links (nothing outside remembered the head), the checkpoint does not.
    let raw = app.raw().await;
    match raw.is_postgres() {
        true => raw.exec("DROP TRIGGER events_append_only_delete ON events").await,
        false => raw.exec("DROP TRIGGER events_append_only_delete").await,
    }
    .expect("drop the guard");
    let cut = raw.exec(&format!("DELETE FROM events WHERE seq >= {}", cp.tree_size)).await.expect("delete");
    assert!(cut >= 2);
    let chain_only = std::process::Command::new(exe).arg("verify").args(app.store_args()).output().expect("run verify");
    assert!(chain_only.status.success(), "the chain alone accepts a cut tail");
    let out = verify(&saved, Some(&cp.public_key));
    assert!(!out.status.success(), "the checkpoint catches it");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(&format!("the log holds {} events but the checkpoint signed {}", cp.tree_size - 1, cp.tree_size)), "{stderr}");
    assert!(stderr.contains("removed"), "{stderr}");
}
