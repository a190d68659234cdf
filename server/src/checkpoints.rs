//! Signed checkpoints of the log (see `domain::merkle`): the console's Merkle tree over the
//! stored chain hashes, its ed25519 key, and the proofs the API hands out.
//!
//! The tree is not on the ingest path: it follows the log ([`Checkpoints::catch_up`], run by the
//! checkpoint job and before any proof). The console hands it the chain hashes of each batch it
//! has written ([`Checkpoints::written`], a copy of 32 bytes an event), so the catch-up reads
//! the log only for what it was not handed (another writer's events, or after a gap): reading
//! every hash back took ~5% of the CPU during a 60,000 events/s ingest. At start-up it is rebuilt from the log in the background (1M
//! events: ~0.5 s of one core); until then the API answers 503.
//!
//! The key: `TRADEWATCH_CHECKPOINT_KEY` (the 32-byte ed25519 seed as 64 hex digits), or the file
//! `checkpoint-ed25519.key` in the data dir, created (mode 0600) on first start. It is never in the
//! log, the HTML or the bundle; only its public half is published.
use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, Result};
use chrono::{DateTime, SubsecRound, Utc};
use domain::chain::{Hash, to_hex};
use domain::event::{Body, Event};
use domain::merkle::{BLOCK, Checkpoint, Leaves, Tree};
use domain::view::EventQuery;
use ed25519_dalek::{Signer, SigningKey};
use serde::Serialize;
use tokio::sync::RwLock;

use crate::store::Store;

/// The environment variable holding the signing key's seed.
pub const KEY_ENV: &str = "TRADEWATCH_CHECKPOINT_KEY";
/// The key file in the data dir.
pub const KEY_FILE: &str = "checkpoint-ed25519.key";
/// The name checkpoints carry (the first line after the format in the signed text).
pub const ORIGIN: &str = "tradewatch";
/// Chain hashes read per query while the tree catches up.
const PAGE: u32 = 20_000;

/// Loads the signing key from [`KEY_ENV`], or from the data dir's [`KEY_FILE`], creating it when
/// neither exists.
pub fn load_key(data_dir: &Path) -> Result<SigningKey> {
    if let Ok(seed) = std::env::var(KEY_ENV) {
        return parse_seed(seed.trim()).with_context(|| format!("{KEY_ENV} must be 64 hex digits (an ed25519 seed)"));
    }
    let path = data_dir.join(KEY_FILE);
    match std::fs::read_to_string(&path) {
        Ok(text) => parse_seed(text.trim()).with_context(|| format!("{} must hold 64 hex digits (an ed25519 seed)", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            std::fs::create_dir_all(data_dir).with_context(|| format!("creating {}", data_dir.display()))?;
            let mut seed = [0u8; 32];
            rand::Rng::fill(&mut rand::rng(), &mut seed);
            write_private(&path, &hex::encode(seed))?;
            let key = SigningKey::from_bytes(&seed);
            tracing::info!(path = %path.display(), public_key = %hex::encode(key.verifying_key().as_bytes()), "created the checkpoint signing key");
            Ok(key)
        }
        Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
    }
}

fn parse_seed(text: &str) -> Result<SigningKey> {
    let mut seed = [0u8; 32];
    hex::decode_to_slice(text, &mut seed)?;
    Ok(SigningKey::from_bytes(&seed))
}

#[cfg(unix)]
fn write_private(path: &Path, text: &str) -> Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path).with_context(|| format!("creating {}", path.display()))?;
    f.write_all(text.as_bytes())?;
    f.sync_all()?;
    Ok(())
}

#[cfg(not(unix))]
fn write_private(path: &Path, text: &str) -> Result<()> {
    std::fs::write(path, text).with_context(|| format!("creating {}", path.display()))
}

/// A published checkpoint: the signed tree head and the seq of the `checkpoint` event that
/// recorded it in the chain.
#[derive(Debug, Clone, Serialize)]
pub struct Published {
    pub seq: u64,
    #[serde(flatten)]
    pub checkpoint: Checkpoint,
}

/// An inclusion proof, as `GET /api/v1/proofs/inclusion` answers it.
#[derive(Debug, Clone, Serialize)]
pub struct InclusionAnswer {
    pub seq: u64,
    /// The leaf's index in the tree: `seq - 1`.
    pub leaf_index: u64,
    pub tree_size: u64,
    /// The event's chain hash: the leaf's data.
    pub chain_hash: String,
    /// The audit path, leaf to root (RFC 9162 §2.1.3).
    pub path: Vec<String>,
    pub root: String,
    /// The published checkpoint of this tree size, when there is one.
    pub checkpoint: Option<Published>,
}

/// A consistency proof between two tree sizes (RFC 9162 §2.1.4).
#[derive(Debug, Clone, Serialize)]
pub struct ConsistencyAnswer {
    pub from_size: u64,
    pub to_size: u64,
    pub from_root: String,
    pub to_root: String,
    pub path: Vec<String>,
}

/// Why a proof could not be given.
#[derive(Debug, thiserror::Error)]
pub enum ProofRefusal {
    #[error("the Merkle tree is still being built from the log; try again in a few seconds")]
    NotReady,
    #[error("{0}")]
    Bad(String),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

pub struct Checkpoints {
    store: Store,
    key: SigningKey,
    tree: RwLock<Tree>,
    /// Set once the start-up rebuild has caught up with the log.
    ready: std::sync::atomic::AtomicBool,
    /// One catch-up at a time (the rebuild, the job and proofs may all ask).
    catching_up: tokio::sync::Mutex<()>,
    /// Chain hashes the console has written, `(first seq, hashes)` in log order, until the next
    /// catch-up takes them (at most [`HANDED_KEPT`] batches; the oldest are dropped past that,
    /// and the log is read for them).
    handed: std::sync::Mutex<std::collections::VecDeque<(u64, Vec<Hash>)>>,
}

/// Batches of hashes waiting for the catch-up (1,000-event batches: ~8 MB).
const HANDED_KEPT: usize = 256;

impl Checkpoints {
    pub fn new(store: Store, key: SigningKey) -> Arc<Self> {
        Arc::new(Self { store, key, tree: RwLock::new(Tree::new()), ready: false.into(), catching_up: tokio::sync::Mutex::new(()), handed: Default::default() })
    }

    /// Rebuilds the tree from the log in the background.
    pub fn spawn_rebuild(self: &Arc<Self>) {
        let this = Arc::clone(self);
        tokio::spawn(async move {
            let started = std::time::Instant::now();
            match this.catch_up().await {
                Ok(n) => tracing::info!(events = n, elapsed_ms = started.elapsed().as_millis() as u64, "checkpoint tree built"),
                Err(e) => tracing::error!(error = %e, "building the checkpoint tree; retried by the checkpoint job"),
            }
        });
    }

    pub fn public_key(&self) -> String {
        hex::encode(self.key.verifying_key().as_bytes())
    }

    pub fn is_ready(&self) -> bool {
        self.ready.load(std::sync::atomic::Ordering::Acquire)
    }

    /// The chain hashes of events the console has just written, from `first_seq` on.
    pub fn written(&self, first_seq: u64, hashes: Vec<Hash>) {
        if hashes.is_empty() {
            return;
        }
        let mut handed = self.handed.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if handed.len() >= HANDED_KEPT {
            handed.pop_front();
        }
        handed.push_back((first_seq, hashes));
    }

    /// The handed hashes that continue a tree of `len` leaves, in order (those it already holds
    /// are dropped; a gap stops the run, and the log is read from there).
    fn take_handed(&self, len: u64) -> Vec<Hash> {
        let mut handed = self.handed.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut run = Vec::new();
        let mut next = len + 1;
        while let Some((first, hashes)) = handed.front() {
            let end = first + hashes.len() as u64;
            if end <= next {
                handed.pop_front();
                continue;
            }
            if *first > next {
                break;
            }
            run.extend_from_slice(&hashes[(next - first) as usize..]);
            next = end;
            handed.pop_front();
        }
        run
    }

    /// Brings the tree to the log's end: the hashes the console handed over, then the log's own
    /// for the rest; the tree's size after.
    pub async fn catch_up(&self) -> Result<u64> {
        let _one = self.catching_up.lock().await;
        loop {
            let len = self.tree.read().await.len();
            let handed = self.take_handed(len);
            let (hashes, done) = if handed.is_empty() {
                let hashes = self.store.hashes_after(len, PAGE).await?;
                let done = hashes.len() < PAGE as usize;
                (hashes, done)
            } else {
                (handed, false)
            };
            {
                let mut tree = self.tree.write().await;
                // Only this task pushes (under `catching_up`): the tree is still `len` long.
                for h in &hashes {
                    tree.push(h);
                }
            }
            if done {
                self.ready.store(true, std::sync::atomic::Ordering::Release);
                return Ok(len + hashes.len() as u64);
            }
        }
    }

    /// Signs the tree head of everything the tree holds now; `None` for an empty log.
    pub async fn sign(&self, now: DateTime<Utc>) -> Result<Option<Checkpoint>> {
        let (size, root) = {
            let tree = self.tree.read().await;
            if tree.is_empty() {
                return Ok(None);
            }
            (tree.len(), tree.root().map_err(|e| anyhow::anyhow!("{e}"))?)
        };
        let head_hash = self.store.hash_at(size).await?.context("the log is shorter than the checkpoint tree")?;
        // The event that records it carries `ts = now` to the millisecond: sign that time.
        let signed_at = now.trunc_subsecs(3);
        let text = Checkpoint::signed_text(ORIGIN, size, &root, &head_hash, signed_at);
        Ok(Some(Checkpoint {
            origin: ORIGIN.to_string(),
            tree_size: size,
            root: to_hex(&root),
            head_hash: to_hex(&head_hash),
            signed_at,
            public_key: self.public_key(),
            signature: hex::encode(self.key.sign(text.as_bytes()).to_bytes()),
        }))
    }

    /// The chain hashes of the blocks a proof about these leaf indices needs.
    async fn leaves(&self, tree: &Tree, points: &[u64]) -> Result<Leaves> {
        let mut out = Leaves::new();
        for b in tree.blocks_needed(points) {
            let hashes = self.store.hashes_after(b * BLOCK, BLOCK as u32).await?;
            out.extend(hashes.into_iter().enumerate().map(|(i, h)| (b * BLOCK + i as u64, h)));
        }
        Ok(out)
    }

    async fn ready_tree(&self) -> Result<tokio::sync::RwLockReadGuard<'_, Tree>, ProofRefusal> {
        if !self.is_ready() {
            return Err(ProofRefusal::NotReady);
        }
        self.catch_up().await?;
        Ok(self.tree.read().await)
    }

    /// The inclusion proof of the event `seq` in the tree of `tree_size` events (default: the
    /// newest checkpoint that covers it, else the whole tree).
    pub async fn inclusion(&self, seq: u64, tree_size: Option<u64>) -> Result<InclusionAnswer, ProofRefusal> {
        if seq == 0 {
            return Err(ProofRefusal::Bad("seq: events are numbered from 1".into()));
        }
        let checkpoint = match tree_size {
            Some(size) => self.published().await?.into_iter().find(|p| p.checkpoint.tree_size == size),
            None => self.published().await?.into_iter().find(|p| p.checkpoint.tree_size >= seq),
        };
        let tree = self.ready_tree().await?;
        let size = tree_size.or(checkpoint.as_ref().map(|p| p.checkpoint.tree_size)).unwrap_or(tree.len());
        if seq > size {
            return Err(ProofRefusal::Bad(format!("seq: event {seq} is not in a tree of {size} events")));
        }
        if size > tree.len() {
            return Err(ProofRefusal::Bad(format!("tree_size: the log holds {} events", tree.len())));
        }
        let index = seq - 1;
        let leaves = self.leaves(&tree, &[index, size - 1]).await?;
        let path = tree.prove_inclusion(index, size, &leaves).map_err(|e| ProofRefusal::Bad(e.to_string()))?;
        let root = tree.root_at(size, &leaves).map_err(|e| ProofRefusal::Bad(e.to_string()))?;
        drop(tree);
        let chain_hash = self.store.hash_at(seq).await?.ok_or_else(|| ProofRefusal::Bad(format!("seq: no event {seq}")))?;
        Ok(InclusionAnswer { seq, leaf_index: index, tree_size: size, chain_hash: to_hex(&chain_hash), path: path.iter().map(to_hex).collect(), root: to_hex(&root), checkpoint })
    }

    /// The consistency proof from the tree of `from` events to the tree of `to` events.
    pub async fn consistency(&self, from: u64, to: u64) -> Result<ConsistencyAnswer, ProofRefusal> {
        if from == 0 || from >= to {
            return Err(ProofRefusal::Bad("from: must be at least 1 and below to".into()));
        }
        let tree = self.ready_tree().await?;
        if to > tree.len() {
            return Err(ProofRefusal::Bad(format!("to: the log holds {} events", tree.len())));
        }
        let leaves = self.leaves(&tree, &[from - 1, to - 1]).await?;
        let path = tree.prove_consistency(from, to, &leaves).map_err(|e| ProofRefusal::Bad(e.to_string()))?;
        let from_root = tree.root_at(from, &leaves).map_err(|e| ProofRefusal::Bad(e.to_string()))?;
        let to_root = tree.root_at(to, &leaves).map_err(|e| ProofRefusal::Bad(e.to_string()))?;
        Ok(ConsistencyAnswer { from_size: from, to_size: to, from_root: to_hex(&from_root), to_root: to_hex(&to_root), path: path.iter().map(to_hex).collect() })
    }

    /// The published checkpoints, newest first (at most 500).
    pub async fn published(&self) -> Result<Vec<Published>> {
        published(&self.store, 500).await
    }
}

/// The checkpoints recorded in the log, newest first.
pub async fn published(store: &Store, limit: u32) -> Result<Vec<Published>> {
    let page = store.events(&EventQuery { kind: Some("checkpoint".into()), before_seq: Some(i64::MAX as u64), limit: Some(limit), ..Default::default() }).await?;
    Ok(page.rows.into_iter().filter_map(parse_published).collect())
}

/// The first checkpoint whose tree holds event `seq` (tree size >= seq), if one is signed yet.
/// Checkpoint events after `seq` are read oldest first; the first few suffice, as a tree that
/// lagged the log at signing catches up by the next.
pub async fn covering(store: &Store, seq: u64) -> Result<Option<Published>> {
    let page = store.events(&EventQuery { kind: Some("checkpoint".into()), after_seq: Some(seq), limit: Some(8), ..Default::default() }).await?;
    Ok(page.rows.into_iter().filter_map(parse_published).find(|p| p.checkpoint.tree_size >= seq))
}

fn parse_published(row: domain::view::EventRow) -> Option<Published> {
    let event = Event::parse_json(&row.payload, row.received_at).ok()?;
    let Body::Checkpoint(c) = event.body else { return None };
    Some(Published {
        seq: row.seq,
        checkpoint: Checkpoint {
            origin: c.origin.to_string(),
            tree_size: c.tree_size,
            root: c.root,
            head_hash: c.head_hash,
            signed_at: event.ts,
            public_key: c.public_key,
            signature: c.signature,
        },
    })
}

/// What `tradewatch verify --checkpoint` found.
#[derive(Debug, Clone, Serialize)]
pub struct OfflineCheck {
    pub ok: bool,
    pub tree_size: u64,
    pub log_events: u64,
    pub root: String,
    pub problem: Option<String>,
}

/// Checks a log against a saved checkpoint: its signature (with `expected_key`, when given), then
/// that the log's first `tree_size` events hash to its root and its head hash.
pub async fn verify_offline(store: &Store, checkpoint: &Checkpoint, expected_key: Option<&str>) -> Result<OfflineCheck> {
    let fail = |problem: String, log_events: u64| OfflineCheck { ok: false, tree_size: checkpoint.tree_size, log_events, root: checkpoint.root.clone(), problem: Some(problem) };
    if let Err(e) = checkpoint.verify(expected_key) {
        return Ok(fail(format!("the checkpoint itself does not verify: {e}"), 0));
    }
    let mut tree = Tree::new();
    let mut last = None;
    while tree.len() < checkpoint.tree_size {
        let want = (checkpoint.tree_size - tree.len()).min(u64::from(PAGE)) as u32;
        let hashes = store.hashes_after(tree.len(), want).await?;
        if hashes.is_empty() {
            break;
        }
        for h in &hashes {
            tree.push(h);
        }
        last = hashes.last().copied();
    }
    let log_events = store.head().await?.0;
    if tree.len() < checkpoint.tree_size {
        return Ok(fail(
            format!(
                "the log holds {} events but the checkpoint signed {}: events {}-{} were removed",
                tree.len(),
                checkpoint.tree_size,
                tree.len() + 1,
                checkpoint.tree_size
            ),
            log_events,
        ));
    }
    let root = tree.root().map_err(|e| anyhow::anyhow!("{e}"))?;
    let expected_root = checkpoint.root_hash()?;
    if root != expected_root {
        return Ok(fail(
            format!("the log's first {} events hash to root {}, not the signed {}: an event in that range was changed, removed or inserted", checkpoint.tree_size, to_hex(&root), checkpoint.root),
            log_events,
        ));
    }
    if last.map(|h| to_hex(&h)).as_deref() != Some(checkpoint.head_hash.as_str()) {
        return Ok(fail(format!("event {} has a different chain hash than the signed head hash", checkpoint.tree_size), log_events));
    }
    Ok(OfflineCheck { ok: true, tree_size: checkpoint.tree_size, log_events, root: to_hex(&root), problem: None })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Location;

    fn h(seq: u64) -> Hash {
        let mut h = [0u8; 32];
        h[..8].copy_from_slice(&seq.to_be_bytes());
        h
    }

    #[tokio::test]
    async fn handed_hashes_continue_the_tree_and_a_gap_stops_the_run() -> Result<()> {
        let dir = tempfile::tempdir()?;
        let c = Checkpoints::new(Store::connect(&Location::Sqlite(dir.path().to_path_buf())).await?, SigningKey::from_bytes(&[7; 32]));
        c.written(1, (1..=3).map(h).collect());
        c.written(4, (4..=5).map(h).collect());
        c.written(9, (9..=10).map(h).collect());
        // The tree holds 2: seq 3 on, up to the gap after 5.
        assert_eq!(c.take_handed(2), vec![h(3), h(4), h(5)]);
        // What is left starts after the gap: nothing continues a tree of 5 ...
        assert_eq!(c.take_handed(5), Vec::<Hash>::new());
        // ... until the tree has read 6..=8 from the log; what it holds already is dropped.
        c.written(11, vec![h(11)]);
        assert_eq!(c.take_handed(9), vec![h(10), h(11)]);
        assert_eq!(c.take_handed(11), Vec::<Hash>::new());
        // At most HANDED_KEPT batches wait; the oldest go first.
        for seq in 12..12 + HANDED_KEPT as u64 + 1 {
            c.written(seq, vec![h(seq)]);
        }
        assert_eq!(c.take_handed(11), Vec::<Hash>::new(), "seq 12 was dropped: the log is read for it");
        assert_eq!(c.take_handed(12).len(), HANDED_KEPT);
        Ok(())
    }
}
