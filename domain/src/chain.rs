//! The audit hash chain.
//!
//! Each stored event is linked to its predecessor:
//! `hash(n) = SHA-256(hash(n-1) || seq(n) as 8 big-endian bytes || payload bytes(n))`,
//! with 32 zero bytes before the first event. Changing any stored byte, reordering, inserting or
//! removing an event breaks every link from that point on; [`Verifier`] names the first one.
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

pub type Hash = [u8; 32];

/// The hash that precedes the first event.
pub const GENESIS: Hash = [0u8; 32];

/// Links one event to the chain.
pub fn link(prev: &Hash, seq: u64, payload: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update(prev);
    h.update(seq.to_be_bytes());
    h.update(payload);
    h.finalize().into()
}

pub fn to_hex(h: &Hash) -> String {
    hex::encode(h)
}

pub fn from_hex(s: &str) -> Option<Hash> {
    let mut out = [0u8; 32];
    hex::decode_to_slice(s, &mut out).ok()?;
    Some(out)
}

/// What verification found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    pub ok: bool,
    /// Events whose link checked out before the first break (all of them when `ok`).
    pub verified: u64,
    pub head_seq: u64,
    pub head_hash: String,
    /// The seq of the first event whose link does not hold.
    pub first_break: Option<u64>,
}

/// Walks stored rows in seq order, checking each link. Feed rows with [`Verifier::push`].
#[derive(Debug, Clone)]
pub struct Verifier {
    prev: Hash,
    last_seq: u64,
    verified: u64,
    first_break: Option<u64>,
    head_seq: u64,
    head_hash: Hash,
}

impl Default for Verifier {
    fn default() -> Self {
        Self::new()
    }
}

impl Verifier {
    pub fn new() -> Self {
        Self { prev: GENESIS, last_seq: 0, verified: 0, first_break: None, head_seq: 0, head_hash: GENESIS }
    }

    /// One stored row: its seq, the previous hash and own hash as stored, and the stored payload.
    pub fn push(&mut self, seq: u64, stored_prev: &Hash, stored_hash: &Hash, payload: &[u8]) {
        self.head_seq = seq;
        self.head_hash = *stored_hash;
        if self.first_break.is_some() {
            return;
        }
        let expected = link(&self.prev, seq, payload);
        if seq != self.last_seq + 1 || stored_prev != &self.prev || stored_hash != &expected {
            self.first_break = Some(seq);
            return;
        }
        self.prev = expected;
        self.last_seq = seq;
        self.verified += 1;
    }

    /// A row whose stored hashes are not even well-formed hex counts as a break.
    pub fn push_malformed(&mut self, seq: u64) {
        self.head_seq = seq;
        if self.first_break.is_none() {
            self.first_break = Some(seq);
        }
    }

    pub fn finish(self) -> Report {
        Report {
            ok: self.first_break.is_none(),
            verified: self.verified,
            head_seq: self.head_seq,
            head_hash: to_hex(&self.head_hash),
            first_break: self.first_break,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn build(payloads: &[Vec<u8>]) -> Vec<(u64, Hash, Hash, Vec<u8>)> {
        let mut prev = GENESIS;
        payloads
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let seq = i as u64 + 1;
                let h = link(&prev, seq, p);
                let row = (seq, prev, h, p.clone());
                prev = h;
                row
            })
            .collect()
    }

    fn verify(rows: &[(u64, Hash, Hash, Vec<u8>)]) -> Report {
        let mut v = Verifier::new();
        for (seq, prev, hash, payload) in rows {
            v.push(*seq, prev, hash, payload);
        }
        v.finish()
    }

    #[test]
    fn empty_chain_verifies() {
        let r = verify(&[]);
        assert!(r.ok);
        assert_eq!(r.verified, 0);
    }

    #[test]
    fn hex_round_trips() {
        let h = link(&GENESIS, 1, b"x");
        assert_eq!(from_hex(&to_hex(&h)), Some(h));
        assert_eq!(from_hex("zz"), None);
    }

    proptest! {
        #[test]
        fn an_untouched_chain_verifies(payloads in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..64), 0..40)) {
            let rows = build(&payloads);
            let r = verify(&rows);
            prop_assert!(r.ok);
            prop_assert_eq!(r.verified, rows.len() as u64);
        }

        #[test]
        fn a_tampered_payload_never_verifies(
            payloads in prop::collection::vec(prop::collection::vec(any::<u8>(), 1..64), 1..40),
            which in any::<prop::sample::Index>(),
            byte in any::<prop::sample::Index>(),
            flip in 1u8..=255,
        ) {
            let mut rows = build(&payloads);
            let i = which.index(rows.len());
            let b = byte.index(rows[i].3.len());
            rows[i].3[b] ^= flip;
            let r = verify(&rows);
            prop_assert!(!r.ok);
            prop_assert_eq!(r.first_break, Some(i as u64 + 1));
            prop_assert_eq!(r.verified, i as u64);
        }

        #[test]
        fn a_removed_event_never_verifies(
            payloads in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..16), 2..40),
            which in any::<prop::sample::Index>(),
        ) {
            let mut rows = build(&payloads);
            let i = which.index(rows.len() - 1);
            rows.remove(i);
            prop_assert!(!verify(&rows).ok);
        }
    }
}
