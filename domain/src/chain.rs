//! The audit hash chain.
//!
//! Each stored event is linked to its predecessor. Version 2 (every event stored since the
//! migration `0004_chain_v2`):
//! `hash(n) = SHA-256(hash(n-1) || seq(n) as 8 big-endian bytes || received_at_ms(n) as 8
//! big-endian bytes || flags length as 4 big-endian bytes || flags bytes || payload bytes(n))`;
//! version 1 (older rows) covered `hash(n-1) || seq || payload` only. 32 zero bytes precede the
//! first event. The other stored columns (kind, instrument, signal and order ids, source time,
//! drift) are derived from the payload and re-derived on verification ([`Verifier::push_row`]),
//! so changing any stored byte, reordering, inserting or removing an event breaks the chain from
//! that point on, and the verifier names the first row and, where one is to blame, the column.
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

/// Links one event to the chain, version 2: the stored receive time and flags are covered too.
pub fn link_v2(prev: &Hash, seq: u64, received_at_ms: i64, flags: Option<&str>, payload: &[u8]) -> Hash {
    let flags = flags.unwrap_or("").as_bytes();
    let mut h = Sha256::new();
    h.update(prev);
    h.update(seq.to_be_bytes());
    h.update(received_at_ms.to_be_bytes());
    h.update((flags.len() as u32).to_be_bytes());
    h.update(flags);
    h.update(payload);
    h.finalize().into()
}

/// One stored row as the verifier sees it: the link, the columns hashed with it, and the
/// columns derived from the payload, as stored.
#[derive(Debug, Clone)]
pub struct StoredRow<'a> {
    pub seq: u64,
    pub prev: Hash,
    pub hash: Hash,
    pub chain_version: i64,
    pub payload: &'a str,
    pub received_at_ms: i64,
    pub flags: Option<&'a str>,
    pub kind: &'a str,
    pub instrument: Option<&'a str>,
    pub signal_id: Option<&'a str>,
    pub order_id: Option<&'a str>,
    pub ts_ms: i64,
    pub drift_ms: i64,
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
    /// At the first break, the stored column that disagrees with the hashed bytes, where one is
    /// to blame (`kind`, `ts_ms`, ... or `hash` for the link itself).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub column: Option<String>,
}

/// Walks stored rows in seq order, checking each link. Feed rows with [`Verifier::push`].
#[derive(Debug, Clone)]
pub struct Verifier {
    prev: Hash,
    last_seq: u64,
    verified: u64,
    first_break: Option<u64>,
    column: Option<String>,
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
        Self { prev: GENESIS, last_seq: 0, verified: 0, first_break: None, column: None, head_seq: 0, head_hash: GENESIS }
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

    /// One stored row with all its columns: the link (by its version), then every column derived
    /// from the payload must equal the stored one.
    pub fn push_row(&mut self, row: &StoredRow<'_>) {
        self.head_seq = row.seq;
        self.head_hash = row.hash;
        if self.first_break.is_some() {
            return;
        }
        let expected = match row.chain_version {
            1 => link(&self.prev, row.seq, row.payload.as_bytes()),
            2 => link_v2(&self.prev, row.seq, row.received_at_ms, row.flags, row.payload.as_bytes()),
            _ => return self.break_at(row.seq, "chain_version"),
        };
        if row.seq != self.last_seq + 1 {
            return self.break_at(row.seq, "seq");
        }
        if row.prev != self.prev {
            return self.break_at(row.seq, "prev_hash");
        }
        if row.hash != expected {
            return self.break_at(row.seq, "hash");
        }
        if let Some(column) = derived_mismatch(row) {
            return self.break_at(row.seq, column);
        }
        self.prev = expected;
        self.last_seq = row.seq;
        self.verified += 1;
    }

    fn break_at(&mut self, seq: u64, column: &str) {
        self.first_break = Some(seq);
        self.column = Some(column.to_string());
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
            column: self.column,
        }
    }
}

/// The first stored column that is not what the (hashed) payload says.
fn derived_mismatch(row: &StoredRow<'_>) -> Option<&'static str> {
    let received = chrono::DateTime::from_timestamp_millis(row.received_at_ms).unwrap_or_default();
    let Ok(e) = crate::event::Event::parse_json(row.payload, received) else { return Some("payload") };
    let ts = e.ts.timestamp_millis();
    [
        ("kind", e.kind().as_str() == row.kind),
        ("instrument", e.instrument() == row.instrument),
        ("signal_id", e.signal_id() == row.signal_id),
        ("order_id", e.order_id() == row.order_id),
        ("ts_ms", ts == row.ts_ms),
        ("drift_ms", row.received_at_ms.checked_sub(ts) == Some(row.drift_ms)),
    ]
    .into_iter()
    .find(|(_, ok)| !ok)
    .map(|(column, _)| column)
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
