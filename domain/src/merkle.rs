//! Signed checkpoints of the log, and the proofs that tie an event or an older checkpoint to one.
//!
//! The hash chain ([`crate::chain`]) proves that nothing inside the log was changed, but a log
//! whose tail was cut off (or rewritten from some event on, every later link recomputed) still
//! verifies: nothing outside remembers where it ended. A checkpoint is that memory:
//!
//! - a **Merkle tree** over the log with RFC 9162 §2.1 hashing, one leaf per event in seq order,
//!   the leaf's data being the event's chain hash: leaf = SHA-256(0x00 || chain hash), node =
//!   SHA-256(0x01 || left || right); the tree of the first `n` events has the Merkle Tree Hash
//!   `MTH(D[0:n])` of RFC 9162;
//! - its **tree head** (size, root, the chain hash of the last event covered, the time), signed
//!   with the console's ed25519 key (RFC 8032) over the text of [`Checkpoint::signed_text`].
//!
//! Whoever keeps a checkpoint (an investor, an auditor) can later ask for an **inclusion proof**
//! (this event is leaf `i` of the tree the checkpoint signed) or a **consistency proof** (the
//! tree of an older checkpoint is a prefix of a newer one), and `tradewatch verify --checkpoint`
//! recomputes the root of a log offline.
//!
//! Which nodes a proof holds, and the verification of proofs, are the `ct-merkle` crate's
//! (RFC 6962 proofs, the same as RFC 9162 §2.1.3-2.1.4). This module supplies the nodes' values
//! from a compact tree: the hashes of complete subtrees of [`BLOCK`] leaves and up are kept
//! (about 1 MiB per million events); the leaves below them are read back from the log's chain
//! hashes, at most three blocks per proof.
use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use ct_merkle::{ConsistencyProof, InclusionProof, RootHash};
use ed25519_dalek::{Signature, Verifier as _, VerifyingKey};
use serde::{Deserialize, Serialize};
use sha2_11::{Digest, Sha256};

use crate::chain::{Hash, from_hex, to_hex};

/// Leaves per block: subtrees of this many leaves and more are kept as hashes.
pub const BLOCK: u64 = 64;
const BLOCK_LEVEL: u32 = BLOCK.trailing_zeros();

/// The first line of a checkpoint's signed text; a new format gets a new line.
pub const FORMAT: &str = "tradewatch checkpoint v1";

pub type Digest32 = ct_merkle::digest::Output<Sha256>;

/// RFC 9162 leaf hash of an event's chain hash.
pub fn leaf_hash(chain_hash: &Hash) -> Hash {
    let mut h = Sha256::new_with_prefix([0u8]);
    h.update(chain_hash);
    h.finalize().into()
}

/// RFC 9162 interior node hash.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new_with_prefix([1u8]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// What a proof could not be made or checked for.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProofError {
    #[error("the tree is empty")]
    Empty,
    #[error("leaf {index} is not in a tree of {size} events")]
    OutOfRange { index: u64, size: u64 },
    #[error("a tree of {size} events is larger than the {len} events hashed so far")]
    TooLarge { size: u64, len: u64 },
    #[error("the chain hash of event {seq} was not supplied")]
    MissingLeaf { seq: u64 },
    #[error("the older tree ({old}) must be smaller than the newer one ({new}) and not empty")]
    BadSizes { old: u64, new: u64 },
    #[error("the proof does not verify: {0}")]
    Invalid(String),
}

/// The Merkle tree over the log, kept compact (see the module docs). Leaf `i` is the event of
/// seq `i + 1`.
#[derive(Debug, Clone, Default)]
pub struct Tree {
    len: u64,
    /// `levels[l][j]`: the hash of the complete subtree of `BLOCK << l` leaves starting at leaf
    /// `j * (BLOCK << l)`.
    levels: Vec<Vec<Hash>>,
    /// The leaf hashes of the last, incomplete block.
    tail: Vec<Hash>,
}

impl Tree {
    pub fn new() -> Self {
        Self::default()
    }

    /// Events hashed so far.
    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Appends the next event (by its chain hash).
    pub fn push(&mut self, chain_hash: &Hash) {
        self.tail.push(leaf_hash(chain_hash));
        self.len += 1;
        if self.tail.len() as u64 == BLOCK {
            let block = mth(&self.tail);
            self.tail.clear();
            self.add_complete(0, block);
        }
    }

    fn add_complete(&mut self, level: usize, hash: Hash) {
        if self.levels.len() <= level {
            self.levels.push(Vec::new());
        }
        self.levels[level].push(hash);
        let n = self.levels[level].len();
        if n.is_multiple_of(2) {
            let parent = node_hash(&self.levels[level][n - 2], &self.levels[level][n - 1]);
            self.add_complete(level + 1, parent);
        }
    }

    /// Leaves whose blocks are complete (their leaves are no longer kept).
    fn complete(&self) -> u64 {
        self.len - self.tail.len() as u64
    }

    /// The blocks (by index: leaves `b * BLOCK ..`) whose chain hashes a proof about leaf
    /// `index` in the tree of `size` needs, and a consistency proof from `old`: read them from
    /// the log and pass them to [`Tree::prove_inclusion`] / [`Tree::prove_consistency`].
    pub fn blocks_needed(&self, points: &[u64]) -> Vec<u64> {
        let mut out: Vec<u64> = points.iter().map(|p| p / BLOCK).filter(|b| (b + 1) * BLOCK <= self.complete()).collect();
        out.sort_unstable();
        out.dedup();
        out
    }

    /// `MTH(D[start:end])`, RFC 9162 §2.1.1.
    fn range(&self, start: u64, end: u64, leaves: &Leaves) -> Result<Hash, ProofError> {
        let n = end - start;
        if n == 1 {
            return self.leaf(start, leaves);
        }
        if n.is_power_of_two() && n >= BLOCK && start.is_multiple_of(n) && end <= self.complete() {
            let level = (n.trailing_zeros() - BLOCK_LEVEL) as usize;
            if let Some(h) = self.levels.get(level).and_then(|l| l.get((start / n) as usize)) {
                return Ok(*h);
            }
        }
        let k = 1u64 << (63 - (n - 1).leading_zeros());
        Ok(node_hash(&self.range(start, start + k, leaves)?, &self.range(start + k, end, leaves)?))
    }

    fn leaf(&self, index: u64, leaves: &Leaves) -> Result<Hash, ProofError> {
        let complete = self.complete();
        if index >= complete {
            return self.tail.get((index - complete) as usize).copied().ok_or(ProofError::TooLarge { size: index + 1, len: self.len });
        }
        leaves.get(&index).map(leaf_hash).ok_or(ProofError::MissingLeaf { seq: index + 1 })
    }

    /// The root of the tree of the first `size` events (`size <= len`).
    pub fn root_at(&self, size: u64, leaves: &Leaves) -> Result<Hash, ProofError> {
        if size == 0 {
            return Err(ProofError::Empty);
        }
        if size > self.len {
            return Err(ProofError::TooLarge { size, len: self.len });
        }
        self.range(0, size, leaves)
    }

    /// The root of the whole tree (needs no leaves from the log).
    pub fn root(&self) -> Result<Hash, ProofError> {
        self.root_at(self.len, &Leaves::new())
    }

    /// The value of ct-merkle's array-tree node `idx` in the tree of `size` leaves: the MTH of
    /// the leaves under it (a node on the right edge covers only the leaves that exist).
    fn node(&self, idx: u64, size: u64, leaves: &Leaves) -> Result<Hash, ProofError> {
        let level = idx.trailing_ones();
        let start = (idx >> (level + 1)) << level;
        let end = start.saturating_add(1u64 << level).min(size);
        self.range(start, end, leaves)
    }

    /// The audit path of leaf `index` in the tree of the first `size` events.
    pub fn prove_inclusion(&self, index: u64, size: u64, leaves: &Leaves) -> Result<Vec<Hash>, ProofError> {
        if size > self.len {
            return Err(ProofError::TooLarge { size, len: self.len });
        }
        if index >= size {
            return Err(ProofError::OutOfRange { index, size });
        }
        ct_merkle::indices_for_inclusion_proof(size, index).into_iter().map(|i| self.node(i, size, leaves)).collect()
    }

    /// The consistency proof from the tree of `old` events to the tree of `new` events.
    pub fn prove_consistency(&self, old: u64, new: u64, leaves: &Leaves) -> Result<Vec<Hash>, ProofError> {
        if new > self.len {
            return Err(ProofError::TooLarge { size: new, len: self.len });
        }
        if old == 0 || old >= new {
            return Err(ProofError::BadSizes { old, new });
        }
        ct_merkle::indices_for_consistency_proof(old, new - old).into_iter().map(|i| self.node(i, new, leaves)).collect()
    }
}

/// Chain hashes read back from the log, by leaf index (seq - 1).
pub type Leaves = BTreeMap<u64, Hash>;

fn mth(leaf_hashes: &[Hash]) -> Hash {
    match leaf_hashes.len() {
        0 => Sha256::digest([]).into(),
        1 => leaf_hashes[0],
        n => {
            let k = 1usize << (usize::BITS - 1 - (n - 1).leading_zeros());
            node_hash(&mth(&leaf_hashes[..k]), &mth(&leaf_hashes[k..]))
        }
    }
}

fn digests(path: &[Hash]) -> Vec<Digest32> {
    path.iter().map(|h| Digest32::from(*h)).collect()
}

/// Checks that `chain_hash` is leaf `index` of the tree of `size` events whose root is `root`.
pub fn verify_inclusion(root: &Hash, size: u64, index: u64, chain_hash: &Hash, path: &[Hash]) -> Result<(), ProofError> {
    let root = RootHash::<Sha256>::new(Digest32::from(*root), size);
    let proof = InclusionProof::<Sha256>::from_digests(digests(path).iter());
    root.verify_inclusion(chain_hash, index, &proof).map_err(|e| ProofError::Invalid(format!("{e:?}")))
}

/// Checks that the tree of `old_size` events with root `old_root` is a prefix of the tree of
/// `new_size` events with root `new_root`.
pub fn verify_consistency(old_root: &Hash, old_size: u64, new_root: &Hash, new_size: u64, path: &[Hash]) -> Result<(), ProofError> {
    if old_size == new_size {
        return if old_root == new_root && path.is_empty() { Ok(()) } else { Err(ProofError::Invalid("equal sizes, different roots".into())) };
    }
    let old = RootHash::<Sha256>::new(Digest32::from(*old_root), old_size);
    let new = RootHash::<Sha256>::new(Digest32::from(*new_root), new_size);
    let proof = ConsistencyProof::<Sha256>::from_digests(digests(path).iter());
    new.verify_consistency(&old, &proof).map_err(|e| ProofError::Invalid(format!("{e:?}")))
}

/// A signed tree head, as the console publishes it (`GET /api/v1/checkpoints`) and as a file
/// `tradewatch verify --checkpoint` reads. Hashes, keys and signatures are lowercase hex.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// Who signed: the console's name for its log.
    pub origin: String,
    /// Events covered: seqs `1..=tree_size`.
    pub tree_size: u64,
    /// `MTH(D[0:tree_size])`.
    pub root: String,
    /// The chain hash of event `tree_size` (the chain's head at that size).
    pub head_hash: String,
    pub signed_at: DateTime<Utc>,
    /// The ed25519 public key (32 bytes).
    pub public_key: String,
    /// The ed25519 signature (64 bytes) of [`Checkpoint::signed_text`].
    pub signature: String,
}

/// Why a checkpoint does not check out.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckpointError {
    #[error("field {0} is not well-formed hex of the right length")]
    Malformed(&'static str),
    #[error("the signature does not verify with the checkpoint's key")]
    BadSignature,
    #[error("the checkpoint is signed by key {found}, not the expected {expected}")]
    WrongKey { expected: String, found: String },
}

impl Checkpoint {
    /// The exact text that is signed: the format line, then origin, size, root, head hash and
    /// the signing time (RFC 3339, UTC, milliseconds), each on its own line.
    pub fn signed_text(origin: &str, tree_size: u64, root: &Hash, head_hash: &Hash, signed_at: DateTime<Utc>) -> String {
        format!(
            "{FORMAT}\n{origin}\n{tree_size}\n{}\n{}\n{}\n",
            to_hex(root),
            to_hex(head_hash),
            signed_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
        )
    }

    pub fn root_hash(&self) -> Result<Hash, CheckpointError> {
        from_hex(&self.root).ok_or(CheckpointError::Malformed("root"))
    }

    pub fn head(&self) -> Result<Hash, CheckpointError> {
        from_hex(&self.head_hash).ok_or(CheckpointError::Malformed("head_hash"))
    }

    /// Checks the signature with the key the checkpoint names, and, when given, that this key is
    /// the expected one (a key published elsewhere: a checkpoint re-signed with another key
    /// would otherwise verify).
    pub fn verify(&self, expected_key: Option<&str>) -> Result<(), CheckpointError> {
        if let Some(expected) = expected_key
            && !expected.eq_ignore_ascii_case(&self.public_key)
        {
            return Err(CheckpointError::WrongKey { expected: expected.to_string(), found: self.public_key.clone() });
        }
        let mut key = [0u8; 32];
        hex::decode_to_slice(&self.public_key, &mut key).map_err(|_| CheckpointError::Malformed("public_key"))?;
        let key = VerifyingKey::from_bytes(&key).map_err(|_| CheckpointError::Malformed("public_key"))?;
        let mut sig = [0u8; 64];
        hex::decode_to_slice(&self.signature, &mut sig).map_err(|_| CheckpointError::Malformed("signature"))?;
        let text = Self::signed_text(&self.origin, self.tree_size, &self.root_hash()?, &self.head()?, self.signed_at);
        key.verify(text.as_bytes(), &Signature::from_bytes(&sig)).map_err(|_| CheckpointError::BadSignature)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ct_merkle::mem_backed_tree::MemoryBackedTree;
    use proptest::prelude::*;

    fn chain(n: u64) -> Vec<Hash> {
        (0..n).map(|i| Sha256::digest(i.to_be_bytes()).into()).collect()
    }

    fn built(hashes: &[Hash]) -> Tree {
        let mut t = Tree::new();
        for h in hashes {
            t.push(h);
        }
        t
    }

    fn all_leaves(hashes: &[Hash]) -> Leaves {
        hashes.iter().enumerate().map(|(i, h)| (i as u64, *h)).collect()
    }

    /// Only the blocks `blocks_needed` names: a proof must not need any other leaf.
    fn needed(t: &Tree, hashes: &[Hash], points: &[u64]) -> Leaves {
        let mut out = Leaves::new();
        for b in t.blocks_needed(points) {
            for i in b * BLOCK..((b + 1) * BLOCK).min(hashes.len() as u64) {
                out.insert(i, hashes[i as usize]);
            }
        }
        out
    }

    fn reference(hashes: &[Hash]) -> MemoryBackedTree<Sha256, Hash> {
        let mut r = MemoryBackedTree::new();
        for h in hashes {
            r.push(*h);
        }
        r
    }

    #[test]
    fn rfc_9162_test_vectors_of_small_trees() {
        // The empty tree's hash is SHA-256 of nothing; one leaf's is the leaf hash.
        assert_eq!(to_hex(&mth(&[])), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
        let h = chain(3);
        let t = built(&h);
        let expected = node_hash(&node_hash(&leaf_hash(&h[0]), &leaf_hash(&h[1])), &leaf_hash(&h[2]));
        assert_eq!(t.root().unwrap(), expected);
    }

    #[test]
    fn roots_equal_ct_merkle_across_block_boundaries() {
        let h = chain(1_100);
        for size in [1u64, 2, 63, 64, 65, 127, 128, 129, 1_000, 1_024, 1_100] {
            let t = built(&h[..size as usize]);
            let r = reference(&h[..size as usize]);
            assert_eq!(t.root().unwrap().as_slice(), r.root().as_bytes().as_slice(), "size {size}");
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn inclusion_proofs_match_ct_merkle_and_verify(len in 1u64..700, size_seed in any::<u64>(), idx_seed in any::<u64>()) {
            let h = chain(len);
            let t = built(&h);
            let size = 1 + size_seed % len;
            let index = idx_seed % size;
            let leaves = needed(&t, &h, &[index, size - 1]);
            let path = t.prove_inclusion(index, size, &leaves).unwrap();
            let r = reference(&h[..size as usize]);
            let expected = r.prove_inclusion(index as usize);
            let flat: Vec<u8> = path.iter().flatten().copied().collect();
            prop_assert_eq!(flat.as_slice(), expected.as_bytes());
            let root = t.root_at(size, &needed(&t, &h, &[size - 1])).unwrap();
            prop_assert!(verify_inclusion(&root, size, index, &h[index as usize], &path).is_ok());
            // Another event's hash at that place does not verify.
            let other: Hash = Sha256::digest(b"forged").into();
            prop_assert!(verify_inclusion(&root, size, index, &other, &path).is_err());
        }

        #[test]
        fn consistency_proofs_match_ct_merkle_and_verify(len in 2u64..700, a in any::<u64>(), b in any::<u64>()) {
            let h = chain(len);
            let t = built(&h);
            let new = 2 + b % (len - 1);
            let old = 1 + a % (new - 1);
            let leaves = needed(&t, &h, &[old - 1, new - 1]);
            let path = t.prove_consistency(old, new, &leaves).unwrap();
            let r = reference(&h[..new as usize]);
            let expected = r.prove_consistency((new - old) as usize);
            let flat: Vec<u8> = path.iter().flatten().copied().collect();
            prop_assert_eq!(flat.as_slice(), expected.as_bytes());
            let old_root = t.root_at(old, &all_leaves(&h)).unwrap();
            let new_root = t.root_at(new, &all_leaves(&h)).unwrap();
            prop_assert!(verify_consistency(&old_root, old, &new_root, new, &path).is_ok());
            // A rewritten older tree is not a prefix.
            let mut forged = h.clone();
            forged[0] = Sha256::digest(b"rewritten").into();
            let forged_root = built(&forged[..old as usize]).root().unwrap();
            prop_assert!(verify_consistency(&forged_root, old, &new_root, new, &path).is_err());
        }
    }

    #[test]
    fn a_proof_without_its_leaves_names_the_missing_event() {
        let h = chain(300);
        let t = built(&h);
        assert_eq!(t.prove_inclusion(5, 300, &Leaves::new()), Err(ProofError::MissingLeaf { seq: 5 }));
        assert_eq!(t.prove_inclusion(300, 300, &Leaves::new()), Err(ProofError::OutOfRange { index: 300, size: 300 }));
        assert_eq!(t.prove_inclusion(1, 301, &Leaves::new()), Err(ProofError::TooLarge { size: 301, len: 300 }));
        assert_eq!(t.prove_consistency(0, 10, &Leaves::new()), Err(ProofError::BadSizes { old: 0, new: 10 }));
    }

    fn signed(key: &ed25519_dalek::SigningKey) -> Checkpoint {
        use ed25519_dalek::Signer;
        let h = chain(10);
        let root = built(&h).root().unwrap();
        let at = DateTime::parse_from_rfc3339("2026-12-03T12:00:00.250Z").unwrap().with_timezone(&Utc);
        let text = Checkpoint::signed_text("tradewatch", 10, &root, &h[9], at);
        Checkpoint {
            origin: "tradewatch".into(),
            tree_size: 10,
            root: to_hex(&root),
            head_hash: to_hex(&h[9]),
            signed_at: at,
            public_key: hex::encode(key.verifying_key().as_bytes()),
            signature: hex::encode(key.sign(text.as_bytes()).to_bytes()),
        }
    }

    #[test]
    fn a_checkpoint_verifies_and_any_change_breaks_it() {
        let key = ed25519_dalek::SigningKey::from_bytes(&[7u8; 32]);
        let cp = signed(&key);
        assert_eq!(cp.verify(None), Ok(()));
        assert_eq!(cp.verify(Some(&cp.public_key.to_uppercase())), Ok(()));
        let mut bigger = cp.clone();
        bigger.tree_size = 9;
        assert_eq!(bigger.verify(None), Err(CheckpointError::BadSignature));
        let mut tampered = cp.clone();
        let last = if tampered.signature.ends_with('0') { "1" } else { "0" };
        tampered.signature.replace_range(127..128, last);
        assert_eq!(tampered.verify(None), Err(CheckpointError::BadSignature));
        let other = signed(&ed25519_dalek::SigningKey::from_bytes(&[8u8; 32]));
        assert!(matches!(other.verify(Some(&cp.public_key)), Err(CheckpointError::WrongKey { .. })));
        let mut garbled = cp;
        garbled.root = "zz".into();
        assert_eq!(garbled.verify(None), Err(CheckpointError::Malformed("root")));
    }
}
