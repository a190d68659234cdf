//! Storage: the append-only, hash-chained event log, accounts, sessions, API tokens and fold
//! snapshots, behind one set of traits ([`EventLog`], [`Accounts`], [`Tokens`],
//! [`SessionRecords`], [`Artifacts`]) with two implementations: SQLite (the default: one file,
//! WAL, `synchronous=FULL`) and PostgreSQL (`DATABASE_URL=postgres://...`).
//!
//! All SQL lives in this module. Both backends run the same statements (`$1` placeholders,
//! which SQLite reads as numbered parameters too); what differs is in [`dialect`]. Appends are
//! serialised by the caller (one writer); reads use the pool.
pub mod accounts;
pub mod copy;
pub mod dialect;
mod events;
pub mod sessions;
pub mod snapshots;
mod tokens;
mod traits;

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;

use anyhow::Result;
use chrono::{DateTime, TimeZone, Utc};
use domain::chain::{self, Hash};
use domain::event::Event;
use domain::view::EventRow;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};

pub use traits::{AccountCopy, Accounts, Artifacts, Backend, EventLog, SessionRecords, Tokens};

/// Ids per `IN (...)` duplicate look-up.
const LOOKUP_CHUNK: usize = 900;
/// The most rows one page of the log returns.
pub const MAX_PAGE: u32 = 1000;
/// Seqs a page filtered by instrument first reads for the fills of the instrument's orders, per
/// row of the page (`EventLog::events`): a page of 100 reads the 20,200 seqs where it starts,
/// enough for an instrument with one fill in 200 events of the log.
const FILL_WINDOW_PER_ROW: u64 = 200;

/// The order flow: most of every trading log, and not in the `(kind, seq)` index (migration 0007
/// on SQLite, 0003 on PostgreSQL). A kind filter on one of these walks the log by seq, where a
/// page is never far; indexing them cost 15-22% of the insert (issue 11 §3).
pub const ORDER_FLOW_KINDS: [&str; 5] = ["market_snapshot", "signal", "risk_check", "order", "fill"];
/// The partial index's predicate, word for word: a query on any other kind repeats it, since
/// SQLite uses a partial index only for terms the query states (it does not prove that
/// `kind = 'alert'` implies `kind <> 'fill'`).
pub const KIND_INDEX_PREDICATE: &str = "kind <> 'market_snapshot' AND kind <> 'signal' AND kind <> 'risk_check' AND kind <> 'order' AND kind <> 'fill'";

/// One event ready to append: parsed, with the exact bytes received.
#[derive(Debug, Clone)]
pub struct Incoming {
    /// 1-based line (NDJSON) or position (JSON array) in the request.
    pub line: usize,
    pub event: Event,
    pub raw: String,
    pub flags: Option<&'static str>,
}

/// Why an append was refused (nothing of the batch is stored).
#[derive(Debug, thiserror::Error)]
pub enum AppendError {
    /// An id already used for different content: an event id (idempotent retries must resend
    /// the same bytes), a signal id with another signal, or an order id with another order.
    #[error("line {line}: {field} '{id}' {reason}")]
    Conflict { line: usize, event_id: String, field: &'static str, id: String, reason: &'static str },
    #[error(transparent)]
    Storage(#[from] anyhow::Error),
}

/// An appended event with its place in the chain.
#[derive(Debug, Clone)]
pub struct Stored {
    pub seq: u64,
    pub event: Event,
}

/// A batch linked onto the chain whose commit may still be under way (the console's batch in
/// flight): the next batch is sorted against its events as against the stored ones.
#[derive(Debug, Clone, Copy, Default)]
pub struct Pending<'a> {
    pub events: &'a [Incoming],
    /// When they were received (the clock their payloads parse against).
    pub received_ms: i64,
}

/// What the console's filters say of one event of a batch (`domain::event_ids`): may its event
/// id, and may the signal or order id it claims, already be in the log? `false` is certain, so
/// the store looks up only the `true` ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MayBeStored {
    pub event_id: bool,
    pub identity: bool,
}

/// Why linked rows were not written.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// The log no longer ends where the rows were linked (another writer appended): nothing was
    /// written; sort and link the batch again.
    #[error("the log moved: the rows follow seq {expected}, the log ends at seq {found}")]
    Moved { expected: u64, found: u64 },
    #[error(transparent)]
    Storage(#[from] anyhow::Error),
}

#[derive(Debug, Clone, Default)]
pub struct AppendOutcome {
    pub stored: Vec<Stored>,
    pub duplicates: u64,
    pub head_seq: u64,
    pub head_hash: Hash,
}

/// One stored row of the log with every column as stored: what verification reads and what
/// `tradewatch store copy` moves between backends unchanged.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct RawRow {
    pub seq: i64,
    pub event_id: String,
    pub kind: String,
    pub instrument: Option<String>,
    pub signal_id: Option<String>,
    pub order_id: Option<String>,
    pub ts_ms: i64,
    pub received_at_ms: i64,
    pub drift_ms: i64,
    pub flags: Option<String>,
    pub payload: String,
    pub prev_hash: Vec<u8>,
    pub hash: Vec<u8>,
    pub chain_version: i64,
}

impl RawRow {
    fn view(self) -> EventRow {
        EventRow {
            seq: self.seq as u64,
            event_id: self.event_id,
            kind: self.kind,
            instrument: self.instrument,
            signal_id: self.signal_id,
            order_id: self.order_id,
            ts: ms_to_dt(self.ts_ms),
            received_at: ms_to_dt(self.received_at_ms),
            drift_ms: self.drift_ms,
            hash: hex::encode(&self.hash),
            prev_hash: hex::encode(&self.prev_hash),
            flags: self.flags,
            payload: self.payload,
        }
    }

    /// Feeds this row to a chain verifier (a hash that is not 32 bytes is a break).
    pub fn verify_into(&self, v: &mut chain::Verifier) {
        match (<Hash>::try_from(self.prev_hash.as_slice()), <Hash>::try_from(self.hash.as_slice())) {
            (Ok(prev), Ok(hash)) => v.push_row(&chain::StoredRow {
                seq: self.seq as u64,
                prev,
                hash,
                chain_version: self.chain_version,
                payload: &self.payload,
                received_at_ms: self.received_at_ms,
                flags: self.flags.as_deref(),
                kind: &self.kind,
                instrument: self.instrument.as_deref(),
                signal_id: self.signal_id.as_deref(),
                order_id: self.order_id.as_deref(),
                ts_ms: self.ts_ms,
                drift_ms: self.drift_ms,
            }),
            _ => v.push_malformed(self.seq as u64),
        }
    }
}

/// What an API token may do: `ingest` posts events; `engine` reads decisions, config and
/// automation status; `read` is the read-only API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Ingest,
    Engine,
    Read,
    /// `GET /metrics` only (a Prometheus scraper).
    Metrics,
}

impl Scope {
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Ingest => "ingest",
            Scope::Engine => "engine",
            Scope::Read => "read",
            Scope::Metrics => "metrics",
        }
    }
}

impl FromStr for Scope {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "ingest" => Ok(Scope::Ingest),
            "engine" => Ok(Scope::Engine),
            "read" => Ok(Scope::Read),
            "metrics" => Ok(Scope::Metrics),
            _ => Err(format!("unknown scope '{s}': ingest, engine, read or metrics")),
        }
    }
}

/// A token's scopes, written `ingest,engine` on the command line and in the database.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Scopes(pub Vec<Scope>);

impl Scopes {
    pub fn contains(&self, s: Scope) -> bool {
        self.0.contains(&s)
    }
    pub fn as_string(&self) -> String {
        self.0.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(",")
    }
}

impl FromStr for Scopes {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let mut v: Vec<Scope> = Vec::new();
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let scope: Scope = part.parse()?;
            if !v.contains(&scope) {
                v.push(scope);
            }
        }
        if v.is_empty() {
            return Err("at least one scope: ingest, engine, read or metrics".into());
        }
        Ok(Scopes(v))
    }
}

/// Where the console's data lives: the SQLite file `tradewatch.db` in a directory (the
/// default), or a PostgreSQL database.
#[derive(Debug, Clone)]
pub enum Location {
    Sqlite(PathBuf),
    Postgres(SecretString),
}

impl Location {
    /// `postgres://...` / `postgresql://...`; `sqlite://PATH` or `sqlite:PATH` (a `.db` file, or
    /// a directory holding `tradewatch.db`); anything else is a data directory.
    pub fn parse(url: &str) -> Self {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Location::Postgres(SecretString::from(url.to_string()));
        }
        let path = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")).unwrap_or(url);
        Location::Sqlite(PathBuf::from(path))
    }

    /// The data directory's SQLite store, unless `database_url` names another.
    pub fn of(data_dir: &Path, database_url: Option<&str>) -> Self {
        match database_url {
            Some(url) => Self::parse(url),
            None => Location::Sqlite(data_dir.to_path_buf()),
        }
    }

    /// For messages: the backend and, for SQLite, the path (a URL may hold a password).
    pub fn describe(&self) -> String {
        match self {
            Location::Sqlite(p) => format!("sqlite {}", p.display()),
            Location::Postgres(_) => "postgres".to_string(),
        }
    }
}

/// The console's storage: one backend (SQLite or PostgreSQL) behind the store traits, plus the
/// in-process sign-in accounting that the auth policy keeps beside it.
#[derive(Clone)]
pub struct Store {
    backend: Arc<dyn Backend>,
    /// Login checks under way, by `user:NAME` and `ip:ADDR`: counted with the stored failures
    /// before argon2 runs, so concurrent wrong passwords cannot all be checked (see
    /// [`Store::login`]).
    pub(crate) logins_in_flight: Arc<std::sync::Mutex<std::collections::HashMap<String, i64>>>,
    /// Serialises "read the stored failures, then reserve" across concurrent logins.
    pub(crate) login_gate: Arc<tokio::sync::Mutex<()>>,
}

impl std::ops::Deref for Store {
    type Target = dyn Backend;
    fn deref(&self) -> &Self::Target {
        &*self.backend
    }
}

impl Store {
    /// Opens (creating if needed) `DIR/tradewatch.db` and applies migrations.
    pub async fn open(data_dir: &Path) -> Result<Self> {
        Self::connect(&Location::Sqlite(data_dir.to_path_buf())).await
    }

    /// Opens the store at `location` (creating the SQLite file if needed) and applies that
    /// backend's migrations (`migrations/` or `migrations/postgres/`).
    pub async fn connect(location: &Location) -> Result<Self> {
        let backend: Arc<dyn Backend> = match location {
            Location::Sqlite(path) => Arc::new(dialect::Sql::<sqlx::Sqlite>::open_sqlite(path).await?),
            Location::Postgres(url) => Arc::new(dialect::Sql::<sqlx::Postgres>::open_postgres(url.expose_secret()).await?),
        };
        Ok(Self { backend, logins_in_flight: Default::default(), login_gate: Default::default() })
    }

    /// Streams every stored event in seq order (to rebuild projections at start-up).
    pub async fn for_each_event(&self, mut f: impl FnMut(u64, Event, DateTime<Utc>) + Send) -> Result<u64> {
        self.backend.for_each_event_after(0, &mut f).await
    }

    /// As [`Store::for_each_event`], for the events after `after` (a seq).
    pub async fn for_each_event_after(&self, after: u64, mut f: impl FnMut(u64, Event, DateTime<Utc>) + Send) -> Result<u64> {
        self.backend.for_each_event_after(after, &mut f).await
    }

    /// Re-checks every link of the chain from the first event, and every stored column against
    /// the hashed bytes (see [`chain::Verifier::push_row`]), a page of rows at a time.
    /// Sorts, links and writes a batch after `head` (the log's head): the three steps the console
    /// runs in two stages, in one call (the storage tests, `tradewatch` commands).
    pub async fn append(&self, head: (u64, Hash), batch: Vec<Incoming>, received_at: DateTime<Utc>) -> Result<AppendOutcome, AppendError> {
        let (fresh, duplicates) = self.sort(batch, Pending::default(), None).await?;
        let rows = link_rows(head, &fresh, received_at.timestamp_millis());
        let (head_seq, head_hash) = last_link(&rows).unwrap_or(head);
        self.write(head, rows).await.map_err(|e| AppendError::Storage(anyhow::Error::new(e)))?;
        Ok(AppendOutcome { stored: fresh.into_iter().zip(head.0 + 1..).map(|(inc, seq)| Stored { seq, event: inc.event }).collect(), duplicates, head_seq, head_hash })
    }

    pub async fn verify(&self) -> Result<chain::Report> {
        let mut v = chain::Verifier::new();
        let mut after = 0;
        loop {
            let rows = self.backend.rows_after(after, 5_000).await?;
            let Some(last) = rows.last() else { break };
            after = last.seq as u64;
            for r in &rows {
                r.verify_into(&mut v);
            }
        }
        Ok(v.finish())
    }

    /// Creates an API token and returns its secret (shown once; only its hash is stored).
    pub async fn create_token(&self, name: &str, scope: &Scopes, now: DateTime<Utc>) -> Result<String> {
        let mut bytes = [0u8; 32];
        rand::Rng::fill(&mut rand::rng(), &mut bytes);
        let token = format!("tw_{}", hex::encode(bytes));
        self.backend.insert_token(name, &scope.as_string(), &token_hash(&token), now).await?;
        Ok(token)
    }

    /// The scope of a live (not revoked) token, if the secret matches one.
    pub async fn token_scope(&self, token: &str) -> Result<Option<Scopes>> {
        Ok(self.backend.token_scope_by_hash(&token_hash(token)).await?.and_then(|s| s.parse().ok()))
    }
}

fn ms_to_dt(ms: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(ms).single().unwrap_or_default()
}

fn token_hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

/// Splits a batch into the events to store and the count of duplicates, given the payloads
/// already stored under its event ids. An event id seen again (stored, or earlier in the batch)
/// is a duplicate when the bytes are the same, and a conflict otherwise. Borrows the payloads
/// (no copy of a batch's bytes: a profile showed 4% of ingest in copying them here).
fn sort_duplicates(batch: Vec<Incoming>, stored: &std::collections::HashMap<String, String>) -> Result<(Vec<Incoming>, u64), AppendError> {
    let mut keep = Vec::with_capacity(batch.len());
    {
        let mut earlier: domain::hash::HashMap<&str, &str> = domain::hash::HashMap::with_capacity_and_hasher(batch.len(), Default::default());
        for inc in &batch {
            let id = inc.event.event_id.as_str();
            match stored.get(id).map(String::as_str).or_else(|| earlier.get(id).copied()) {
                Some(prior) if prior == inc.raw => keep.push(false),
                Some(_) => {
                    return Err(AppendError::Conflict { line: inc.line, id: id.to_string(), event_id: id.to_string(), field: "event_id", reason: "was already used for a different event" });
                }
                None => {
                    earlier.insert(id, &inc.raw);
                    keep.push(true);
                }
            }
        }
    }
    let duplicates = keep.iter().filter(|k| !**k).count() as u64;
    Ok((batch.into_iter().zip(keep).filter_map(|(inc, k)| k.then_some(inc)).collect(), duplicates))
}

/// `seen` (payloads stored under the event ids of `batch`) with those of the pending batch's
/// events that `batch` names.
fn with_pending_payloads(mut seen: std::collections::HashMap<String, String>, batch: &[Incoming], pending: Pending<'_>) -> std::collections::HashMap<String, String> {
    if pending.events.is_empty() {
        return seen;
    }
    let named: domain::hash::HashSet<&str> = batch.iter().map(|inc| inc.event.event_id.as_str()).collect();
    for inc in pending.events {
        let id = inc.event.event_id.as_str();
        if named.contains(id) {
            seen.entry(id.to_string()).or_insert_with(|| inc.raw.clone());
        }
    }
    seen
}

/// `stored` (payloads of stored signals and orders `fresh` names) with the pending batch's.
fn with_pending_identities(mut stored: Vec<(String, i64)>, fresh: &[Incoming], pending: Pending<'_>) -> Vec<(String, i64)> {
    if pending.events.is_empty() {
        return stored;
    }
    let [(_, _, signals), (_, _, orders)] = ids_to_check(fresh);
    for inc in pending.events {
        let named = domain::event_ids::identity(&inc.event).is_some_and(|(kind, id)| if kind == "signal" { &signals } else { &orders }.binary_search(&id).is_ok());
        if named {
            stored.push((inc.raw.clone(), pending.received_ms));
        }
    }
    stored
}

/// The signal and order ids of `fresh` that must be looked up, by (kind, id column).
fn ids_to_check(fresh: &[Incoming]) -> [(&'static str, &'static str, Vec<&str>); 2] {
    ids_by_kind(fresh.iter().filter_map(|inc| domain::event_ids::identity(&inc.event)))
}

/// `(kind, id)` pairs (`domain::event_ids::identity`) as the look-ups take them: by (kind, id
/// column), each id once.
fn ids_by_kind<'a>(identities: impl Iterator<Item = (&'static str, &'a str)>) -> [(&'static str, &'static str, Vec<&'a str>); 2] {
    let mut signals = Vec::new();
    let mut orders = Vec::new();
    for (kind, id) in identities {
        if kind == "signal" { signals.push(id) } else { orders.push(id) }
    }
    // An order's events (submitted, filled ...) name it more than once: look it up once.
    for ids in [&mut signals, &mut orders] {
        ids.sort_unstable();
        ids.dedup();
    }
    [("signal", "signal_id", signals), ("order", "order_id", orders)]
}

/// A signal id names one signal, and an order id one order (its status may change, not its
/// instrument, side, quantity, type, limit or signal). Refuses a batch that re-uses either with
/// other content, against the stored events (`stored`: one payload and its receive time per
/// looked-up id) and within the batch itself.
fn refuse_reused_ids(fresh: &[Incoming], stored: Vec<(String, i64)>) -> Result<(), AppendError> {
    use domain::event::{Body, OrderIdentity, Signal};
    #[derive(PartialEq)]
    enum Identity<'a> {
        Signal(&'a Signal),
        Order(OrderIdentity),
    }
    fn identity(e: &Event) -> Option<(&'static str, &str, Identity<'_>)> {
        match &e.body {
            Body::Signal(s) => Some(("signal", s.signal_id.as_str(), Identity::Signal(s))),
            Body::Order(o) => Some(("order", o.order_id.as_str(), Identity::Order(o.identity()))),
            _ => None,
        }
    }
    let stored: Vec<Event> = stored.iter().filter_map(|(payload, received)| Event::parse_json(payload, ms_to_dt(*received)).ok()).collect();
    // (kind, id) -> the identity it was first seen with (stored, or earlier in this batch),
    // borrowed from the events (no id copied per look-up).
    let mut known: domain::hash::HashMap<(&str, &str), Identity<'_>> = domain::hash::HashMap::default();
    for e in &stored {
        if let Some((kind, id, this)) = identity(e) {
            known.insert((kind, id), this);
        }
    }
    for inc in fresh {
        let Some((kind, id, this)) = identity(&inc.event) else { continue };
        match known.get(&(kind, id)) {
            Some(prior) if *prior != this => {
                let (field, reason) = match kind {
                    "signal" => ("signal_id", "was already used for a different signal"),
                    _ => ("order_id", "was already used for a different order (instrument, side, quantity, type, limit or signal)"),
                };
                return Err(AppendError::Conflict { line: inc.line, event_id: inc.event.event_id.to_string(), field, id: id.to_string(), reason });
            }
            Some(_) => {}
            None => {
                known.insert((kind, id), this);
            }
        }
    }
    Ok(())
}

/// The seq and hash of the last of `rows`.
pub fn last_link(rows: &[RawRow]) -> Option<(u64, Hash)> {
    let last = rows.last()?;
    Some((last.seq as u64, <Hash>::try_from(last.hash.as_slice()).ok()?))
}

/// Links `fresh` onto the chain after `head`: the rows [`EventLog::append`] inserts, oldest
/// first. Public for the raw-insert measurement (`examples/raw_insert.rs`).
pub fn link_rows(head: (u64, Hash), fresh: &[Incoming], received_ms: i64) -> Vec<RawRow> {
    let (mut seq, mut prev) = head;
    fresh
        .iter()
        .map(|inc| {
            seq += 1;
            let hash = chain::link_v2(&prev, seq, received_ms, inc.flags, inc.raw.as_bytes());
            let e = &inc.event;
            let ts = e.ts.timestamp_millis();
            let row = RawRow {
                seq: seq as i64,
                event_id: e.event_id.as_str().to_string(),
                kind: e.kind().as_str().to_string(),
                instrument: e.instrument().map(str::to_string),
                signal_id: e.signal_id().map(str::to_string),
                order_id: e.order_id().map(str::to_string),
                ts_ms: ts,
                received_at_ms: received_ms,
                drift_ms: received_ms - ts,
                flags: inc.flags.map(str::to_string),
                payload: inc.raw.clone(),
                prev_hash: prev.to_vec(),
                hash: hash.to_vec(),
                chain_version: 2,
            };
            prev = hash;
            row
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::{KIND_INDEX_PREDICATE, ORDER_FLOW_KINDS};

    /// The predicate the kind filter repeats is the one both migrations index, and leaves out
    /// exactly the order flow.
    #[test]
    fn the_kind_index_predicate_is_the_migrations_and_names_the_order_flow() {
        let from_list = ORDER_FLOW_KINDS.map(|k| format!("kind <> '{k}'")).join(" AND ");
        assert_eq!(KIND_INDEX_PREDICATE, from_list);
        for migration in [include_str!("../../../migrations/0007_kind_index_rare_kinds.sql"), include_str!("../../../migrations/postgres/0003_kind_index_rare_kinds.sql")] {
            assert!(migration.contains(&format!("WHERE {KIND_INDEX_PREDICATE};")), "{migration}");
        }
        for kind in ORDER_FLOW_KINDS {
            assert!(domain::event::Kind::parse(kind).is_some_and(|k| !k.console_only()), "{kind} is an engine's kind");
        }
    }
}
