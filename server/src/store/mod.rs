//! Storage: the append-only, hash-chained event log and API tokens, on SQLite (WAL, one file).
//!
//! All SQL lives here. Appends are serialised by the caller (one writer); reads use the pool.
pub mod accounts;
pub mod sessions;
pub mod snapshots;
mod totp;

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use anyhow::{Context, Result};
use chrono::{DateTime, TimeZone, Utc};
use domain::chain::{self, Hash, Verifier};
use domain::event::Event;
use domain::view::{EventPage, EventQuery, EventRow};
use futures::TryStreamExt;
use sha2::{Digest, Sha256};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteRow, SqliteSynchronous};
use sqlx::{QueryBuilder, Row, Sqlite, SqlitePool};

/// The stored rows of signal or order ids. `+kind` keeps SQLite off the `(kind, seq)` index: with
/// a long IN list the planner otherwise scans every stored signal (or order) for each batch, and
/// ingest slows with the log (17,000 -> 4,000 events/s between 100k and 600k events, measured).
fn id_lookup_prefix(kind: &str, column: &str) -> String {
    format!("SELECT payload, received_at_ms FROM events WHERE +kind = '{kind}' AND {column} IN (")
}

/// Rows per multi-row INSERT (13 columns each; well under SQLite's variable limit).
const INSERT_CHUNK: usize = 500;
/// Ids per `IN (...)` duplicate look-up.
const LOOKUP_CHUNK: usize = 900;
/// The most rows one page of the log returns.
pub const MAX_PAGE: u32 = 1000;

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

#[derive(Debug, Clone, Default)]
pub struct AppendOutcome {
    pub stored: Vec<Stored>,
    pub duplicates: u64,
    pub head_seq: u64,
    pub head_hash: Hash,
}

/// What an API token may do: `ingest` posts events; `engine` reads decisions, config and
/// automation status; `read` is the read-only API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Ingest,
    Engine,
    Read,
}

impl Scope {
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Ingest => "ingest",
            Scope::Engine => "engine",
            Scope::Read => "read",
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
            _ => Err(format!("unknown scope '{s}': ingest, engine or read")),
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
            return Err("at least one scope: ingest, engine or read".into());
        }
        Ok(Scopes(v))
    }
}

#[derive(Clone)]
pub struct Store {
    pool: SqlitePool,
    /// Login checks under way, by `user:NAME` and `ip:ADDR`: counted with the stored failures
    /// before argon2 runs, so concurrent wrong passwords cannot all be checked (see
    /// [`Store::login`]).
    pub(crate) logins_in_flight: std::sync::Arc<std::sync::Mutex<std::collections::HashMap<String, i64>>>,
    /// Serialises "read the stored failures, then reserve" across concurrent logins.
    pub(crate) login_gate: std::sync::Arc<tokio::sync::Mutex<()>>,
}

fn ms_to_dt(ms: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(ms).single().unwrap_or_default()
}

fn token_hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

impl Store {
    /// Opens (creating if needed) `DIR/tradewatch.db` and applies migrations.
    pub async fn open(data_dir: &Path) -> Result<Self> {
        std::fs::create_dir_all(data_dir).with_context(|| format!("creating {}", data_dir.display()))?;
        let opts = SqliteConnectOptions::new()
            .filename(data_dir.join("tradewatch.db"))
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // FULL: an acknowledged batch survives a power cut, not only a crash.
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true)
            // Statement journals of the multi-row INSERTs stay in memory instead of spilling
            // to temp files past 64 KiB. 16 MiB of page cache per connection (4 connections):
            // the interior index pages stay hot and the OS page cache holds the rest; at 64 MiB
            // each, the caches alone could take 256 MiB of the console's memory.
            .pragma("temp_store", "memory")
            .pragma("cache_size", "-16384");
        let pool = SqlitePoolOptions::new().max_connections(4).connect_with(opts).await.context("opening the database")?;
        sqlx::migrate!("../migrations").run(&pool).await.context("applying migrations")?;
        Ok(Self { pool, logins_in_flight: Default::default(), login_gate: Default::default() })
    }

    /// The pool, for this module's children only: no SQL outside `store/`.
    fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// Whether the database answers and every migration is applied.
    pub async fn ready(&self) -> bool {
        let applied: Result<i64, _> = sqlx::query_scalar("SELECT COUNT(*) FROM _sqlx_migrations WHERE success = 1").fetch_one(&self.pool).await;
        matches!(applied, Ok(n) if n as usize >= sqlx::migrate!("../migrations").iter().count())
    }

    /// The last seq and hash of the chain (0 and the genesis hash when empty).
    pub async fn head(&self) -> Result<(u64, Hash)> {
        let row = sqlx::query("SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1").fetch_optional(&self.pool).await?;
        Ok(match row {
            None => (0, chain::GENESIS),
            Some(r) => {
                let seq: i64 = r.try_get("seq")?;
                let hash: Vec<u8> = r.try_get("hash")?;
                (seq as u64, hash.try_into().unwrap_or(chain::GENESIS))
            }
        })
    }

    /// Appends a batch in one transaction, linking each new event to the chain. Event ids already
    /// stored (or repeated within the batch) are counted as duplicates and not stored again.
    /// The caller must serialise appends and pass the current head.
    pub async fn append(&self, head: (u64, Hash), batch: Vec<Incoming>, received_at: DateTime<Utc>) -> Result<AppendOutcome, AppendError> {
        // IMMEDIATE: take the write lock up front. A deferred transaction reads first (the
        // duplicate look-up), and if another connection (a session save, a login attempt) writes
        // before our first INSERT, SQLite refuses the upgrade at once (SQLITE_BUSY_SNAPSHOT, no
        // busy wait): the batch would fail with a 500. Seen in an end-to-end run.
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await.context("begin")?;
        // event_id -> the payload it was first seen with (stored, or earlier in this batch).
        let mut seen: std::collections::HashMap<String, String> = std::collections::HashMap::new();
        for chunk in batch.chunks(LOOKUP_CHUNK) {
            let mut q = QueryBuilder::<Sqlite>::new("SELECT event_id, payload FROM events WHERE event_id IN (");
            let mut list = q.separated(", ");
            for inc in chunk {
                list.push_bind(inc.event.event_id.as_str().to_string());
            }
            q.push(")");
            let rows = q.build().fetch_all(&mut *tx).await.context("duplicate look-up")?;
            for r in rows {
                seen.insert(r.try_get::<String, _>("event_id").context("row")?, r.try_get::<String, _>("payload").context("row")?);
            }
        }
        let mut fresh = Vec::with_capacity(batch.len());
        let mut duplicates = 0;
        for inc in batch {
            match seen.get(inc.event.event_id.as_str()) {
                Some(prior) if *prior == inc.raw => duplicates += 1,
                Some(_) => {
                    let event_id = inc.event.event_id.to_string();
                    return Err(AppendError::Conflict { line: inc.line, id: event_id.clone(), event_id, field: "event_id", reason: "was already used for a different event" });
                }
                None => {
                    seen.insert(inc.event.event_id.to_string(), inc.raw.clone());
                    fresh.push(inc);
                }
            }
        }

        Self::refuse_reused_ids(&mut tx, &fresh).await?;

        let (mut seq, mut prev) = head;
        let received_ms = received_at.timestamp_millis();
        let mut links = Vec::with_capacity(fresh.len());
        for inc in &fresh {
            seq += 1;
            let hash = chain::link_v2(&prev, seq, received_ms, inc.flags, inc.raw.as_bytes());
            links.push((seq, prev, hash));
            prev = hash;
        }
        let rows: Vec<_> = links.iter().zip(&fresh).map(|((seq, prev, hash), inc)| (seq, prev, hash, inc)).collect();
        for chunk in rows.chunks(INSERT_CHUNK) {
            let mut q = QueryBuilder::<Sqlite>::new(
                "INSERT INTO events (seq, event_id, kind, instrument, signal_id, order_id, ts_ms, received_at_ms, drift_ms, flags, payload, prev_hash, hash, chain_version) ",
            );
            q.push_values(chunk, |mut b, (seq, prev, hash, inc)| {
                let e = &inc.event;
                let ts = e.ts.timestamp_millis();
                b.push_bind(**seq as i64)
                    .push_bind(e.event_id.as_str().to_string())
                    .push_bind(e.kind().as_str())
                    .push_bind(e.instrument().map(str::to_string))
                    .push_bind(e.signal_id().map(str::to_string))
                    .push_bind(e.order_id().map(str::to_string))
                    .push_bind(ts)
                    .push_bind(received_ms)
                    .push_bind(received_ms - ts)
                    .push_bind(inc.flags)
                    .push_bind(inc.raw.clone())
                    .push_bind(prev.to_vec())
                    .push_bind(hash.to_vec())
                    .push_bind(2_i64);
            });
            q.build().execute(&mut *tx).await.context("inserting events")?;
        }
        tx.commit().await.context("commit")?;
        Ok(AppendOutcome {
            stored: fresh.into_iter().zip(&links).map(|(inc, (seq, _, _))| Stored { seq: *seq, event: inc.event }).collect(),
            duplicates,
            head_seq: seq,
            head_hash: prev,
        })
    }

    /// A signal id names one signal, and an order id one order (its status may change, not its
    /// instrument, side, quantity, type, limit or signal). Refuses a batch that re-uses either
    /// with other content, against the log and within the batch itself.
    /// The query plan SQLite picks for `refuse_reused_ids`' look-up of `n` ids (for the test
    /// that keeps it on the id index).
    pub async fn id_lookup_plan(&self, kind: &str, column: &str, n: usize) -> Result<String> {
        let mut q = QueryBuilder::<Sqlite>::new(format!("EXPLAIN QUERY PLAN {}", id_lookup_prefix(kind, column)));
        let mut list = q.separated(", ");
        for i in 0..n {
            list.push_bind(format!("id-{i}"));
        }
        q.push(format!(") GROUP BY {column}"));
        let rows = q.build().fetch_all(&self.pool).await?;
        Ok(rows.iter().filter_map(|r| r.try_get::<String, _>("detail").ok()).collect::<Vec<_>>().join("; "))
    }

    async fn refuse_reused_ids(tx: &mut sqlx::Transaction<'_, Sqlite>, fresh: &[Incoming]) -> Result<(), AppendError> {
        use domain::event::{Body, OrderIdentity};
        #[derive(PartialEq)]
        enum Identity<'a> {
            Signal(std::borrow::Cow<'a, domain::event::Signal>),
            Order(OrderIdentity),
        }
        fn identity(e: &Event) -> Option<(&'static str, &str, Identity<'_>)> {
            match &e.body {
                Body::Signal(s) => Some(("signal", s.signal_id.as_str(), Identity::Signal(std::borrow::Cow::Borrowed(s)))),
                Body::Order(o) => Some(("order", o.order_id.as_str(), Identity::Order(o.identity()))),
                _ => None,
            }
        }
        let wanted: Vec<(&'static str, &str)> = fresh.iter().filter_map(|inc| identity(&inc.event).map(|(k, id, _)| (k, id))).collect();
        if wanted.is_empty() {
            return Ok(());
        }
        // (kind, id) -> the identity it was first seen with (stored, or earlier in this batch).
        let mut known: std::collections::HashMap<(&'static str, String), Identity<'static>> = std::collections::HashMap::new();
        for (kind, column) in [("signal", "signal_id"), ("order", "order_id")] {
            let ids: Vec<&str> = wanted.iter().filter(|(k, _)| *k == kind).map(|(_, id)| *id).collect();
            for chunk in ids.chunks(LOOKUP_CHUNK) {
                let mut q = QueryBuilder::<Sqlite>::new(id_lookup_prefix(kind, column));
                let mut list = q.separated(", ");
                for id in chunk {
                    list.push_bind(id.to_string());
                }
                q.push(format!(") GROUP BY {column}"));
                for r in q.build().fetch_all(&mut **tx).await.context("id look-up")? {
                    let payload: String = r.try_get("payload").context("row")?;
                    let received: i64 = r.try_get("received_at_ms").context("row")?;
                    let Ok(e) = Event::parse_json(&payload, ms_to_dt(received)) else { continue };
                    let owned = match e.body {
                        Body::Signal(s) => (s.signal_id.to_string(), Identity::Signal(std::borrow::Cow::Owned(s))),
                        Body::Order(o) => (o.order_id.to_string(), Identity::Order(o.identity())),
                        _ => continue,
                    };
                    known.insert((kind, owned.0), owned.1);
                }
            }
        }
        for inc in fresh {
            let Some((kind, id, this)) = identity(&inc.event) else { continue };
            let key = (kind, id.to_string());
            match known.get(&key) {
                Some(prior) if *prior != this => {
                    let (field, reason) = match kind {
                        "signal" => ("signal_id", "was already used for a different signal"),
                        _ => ("order_id", "was already used for a different order (instrument, side, quantity, type, limit or signal)"),
                    };
                    return Err(AppendError::Conflict { line: inc.line, event_id: inc.event.event_id.to_string(), field, id: id.to_string(), reason });
                }
                Some(_) => {}
                None => {
                    let owned = match this {
                        Identity::Signal(s) => Identity::Signal(std::borrow::Cow::Owned(s.into_owned())),
                        Identity::Order(o) => Identity::Order(o),
                    };
                    known.insert(key, owned);
                }
            }
        }
        Ok(())
    }

    /// Streams every stored event in seq order (to rebuild projections at start-up).
    pub async fn for_each_event(&self, f: impl FnMut(u64, Event, DateTime<Utc>)) -> Result<u64> {
        self.for_each_event_after(0, f).await
    }

    /// As [`Store::for_each_event`], for the events after `after` (a seq).
    pub async fn for_each_event_after(&self, after: u64, mut f: impl FnMut(u64, Event, DateTime<Utc>)) -> Result<u64> {
        let mut rows = sqlx::query("SELECT seq, payload, received_at_ms FROM events WHERE seq > ? ORDER BY seq").bind(after as i64).fetch(&self.pool);
        let mut n = 0;
        while let Some(r) = rows.try_next().await? {
            let seq: i64 = r.try_get("seq")?;
            let payload: String = r.try_get("payload")?;
            let received: i64 = r.try_get("received_at_ms")?;
            // Parsed against the clock it was accepted with, so the future-skew rule holds as then.
            match Event::parse_json(&payload, ms_to_dt(received)) {
                Ok(e) => f(seq as u64, e, ms_to_dt(received)),
                Err(e) => tracing::error!(seq, error = %e, "stored event no longer parses; skipped in projections"),
            }
            n += 1;
        }
        Ok(n)
    }

    /// Re-checks every link of the chain from the first event, and every stored column against
    /// the hashed bytes (see [`chain::Verifier::push_row`]).
    pub async fn verify(&self) -> Result<chain::Report> {
        let mut rows = sqlx::query(
            "SELECT seq, prev_hash, hash, payload, chain_version, received_at_ms, flags, kind, instrument, signal_id, order_id, ts_ms, drift_ms FROM events ORDER BY seq",
        )
        .fetch(&self.pool);
        let mut v = Verifier::new();
        while let Some(r) = rows.try_next().await? {
            let seq = r.try_get::<i64, _>("seq")? as u64;
            let prev: Vec<u8> = r.try_get("prev_hash")?;
            let hash: Vec<u8> = r.try_get("hash")?;
            let payload: String = r.try_get("payload")?;
            let flags: Option<String> = r.try_get("flags")?;
            let kind: String = r.try_get("kind")?;
            let (instrument, signal_id, order_id): (Option<String>, Option<String>, Option<String>) = (r.try_get("instrument")?, r.try_get("signal_id")?, r.try_get("order_id")?);
            match (<Hash>::try_from(prev.as_slice()), <Hash>::try_from(hash.as_slice())) {
                (Ok(prev), Ok(hash)) => v.push_row(&chain::StoredRow {
                    seq,
                    prev,
                    hash,
                    chain_version: r.try_get("chain_version")?,
                    payload: &payload,
                    received_at_ms: r.try_get("received_at_ms")?,
                    flags: flags.as_deref(),
                    kind: &kind,
                    instrument: instrument.as_deref(),
                    signal_id: signal_id.as_deref(),
                    order_id: order_id.as_deref(),
                    ts_ms: r.try_get("ts_ms")?,
                    drift_ms: r.try_get("drift_ms")?,
                }),
                _ => v.push_malformed(seq),
            }
        }
        Ok(v.finish())
    }

    fn row(r: &SqliteRow) -> Result<EventRow> {
        let hex = |name: &str| -> Result<String> { Ok(hex::encode(r.try_get::<Vec<u8>, _>(name)?)) };
        Ok(EventRow {
            seq: r.try_get::<i64, _>("seq")? as u64,
            event_id: r.try_get("event_id")?,
            kind: r.try_get("kind")?,
            instrument: r.try_get("instrument")?,
            signal_id: r.try_get("signal_id")?,
            order_id: r.try_get("order_id")?,
            ts: ms_to_dt(r.try_get("ts_ms")?),
            received_at: ms_to_dt(r.try_get("received_at_ms")?),
            drift_ms: r.try_get("drift_ms")?,
            hash: hex("hash")?,
            prev_hash: hex("prev_hash")?,
            flags: r.try_get("flags")?,
            payload: r.try_get("payload")?,
        })
    }

    /// A page of the log. With `before_seq` the page runs newest first; otherwise oldest first
    /// from `after_seq` (0 when absent).
    pub async fn events(&self, q: &EventQuery) -> Result<EventPage> {
        let limit = q.limit.unwrap_or(100).clamp(1, MAX_PAGE);
        let mut b = QueryBuilder::<Sqlite>::new("SELECT * FROM events WHERE 1 = 1");
        if let Some(k) = &q.kind {
            b.push(" AND kind = ").push_bind(k.clone());
        }
        if let Some(i) = &q.instrument {
            b.push(" AND instrument = ").push_bind(i.clone());
        }
        if let Some(id) = &q.id {
            b.push(" AND (event_id = ").push_bind(id.clone());
            b.push(" OR signal_id = ").push_bind(id.clone());
            b.push(" OR order_id = ").push_bind(id.clone()).push(")");
        }
        if let Some(f) = q.from {
            b.push(" AND ts_ms >= ").push_bind(f.timestamp_millis());
        }
        if let Some(t) = q.to {
            b.push(" AND ts_ms <= ").push_bind(t.timestamp_millis());
        }
        if let Some(before) = q.before_seq {
            b.push(" AND seq < ").push_bind(before.min(i64::MAX as u64) as i64);
            b.push(" ORDER BY seq DESC");
        } else {
            b.push(" AND seq > ").push_bind(q.after_seq.unwrap_or(0).min(i64::MAX as u64) as i64);
            b.push(" ORDER BY seq ASC");
        }
        b.push(" LIMIT ").push_bind(i64::from(limit) + 1);
        let rows = b.build().fetch_all(&self.pool).await.context("querying events")?;
        let more = rows.len() > limit as usize;
        let rows: Vec<EventRow> = rows.iter().take(limit as usize).map(Self::row).collect::<Result<_>>()?;
        let next = if more { rows.last().map(|r| r.seq) } else { None };
        Ok(EventPage { rows, next })
    }

    pub async fn event(&self, seq: u64) -> Result<Option<EventRow>> {
        let r = sqlx::query("SELECT * FROM events WHERE seq = ?").bind(seq.min(i64::MAX as u64) as i64).fetch_optional(&self.pool).await?;
        r.as_ref().map(Self::row).transpose()
    }

    /// Every event of a trade: those naming the signal, and those naming one of its orders.
    pub async fn trade_events(&self, signal_id: &str) -> Result<Vec<(u64, Event)>> {
        let rows = sqlx::query(
            "SELECT seq, payload, received_at_ms FROM events WHERE signal_id = ?1 \
             UNION SELECT seq, payload, received_at_ms FROM events WHERE order_id IN \
               (SELECT order_id FROM events WHERE signal_id = ?1 AND kind = 'order') \
             ORDER BY seq",
        )
        .bind(signal_id)
        .fetch_all(&self.pool)
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            let payload: String = r.try_get("payload")?;
            let received: i64 = r.try_get("received_at_ms")?;
            if let Ok(e) = Event::parse_json(&payload, ms_to_dt(received)) {
                out.push((r.try_get::<i64, _>("seq")? as u64, e));
            }
        }
        Ok(out)
    }

    /// The signal, risk-check and LLM-decision events of these signals, oldest first: the
    /// detail of the pending rows a page lists (the governance fold keeps them compact).
    pub async fn signal_details(&self, signal_ids: &[&str]) -> Result<Vec<Event>> {
        if signal_ids.is_empty() {
            return Ok(Vec::new());
        }
        // `+kind`: stay on the signal_id index (see `id_lookup_prefix`).
        let mut q = QueryBuilder::<Sqlite>::new("SELECT payload, received_at_ms FROM events WHERE +kind IN ('signal', 'risk_check', 'llm_decision') AND signal_id IN (");
        let mut list = q.separated(", ");
        for id in signal_ids.iter().take(LOOKUP_CHUNK) {
            list.push_bind(id.to_string());
        }
        q.push(") ORDER BY seq");
        let mut out = Vec::new();
        for r in q.build().fetch_all(&self.pool).await? {
            let payload: String = r.try_get("payload")?;
            let received: i64 = r.try_get("received_at_ms")?;
            if let Ok(e) = Event::parse_json(&payload, ms_to_dt(received)) {
                out.push(e);
            }
        }
        Ok(out)
    }

    /// Creates an API token and returns its secret (shown once; only its hash is stored).
    pub async fn create_token(&self, name: &str, scope: &Scopes, now: DateTime<Utc>) -> Result<String> {
        let mut bytes = [0u8; 32];
        rand::Rng::fill(&mut rand::rng(), &mut bytes);
        let token = format!("tw_{}", hex::encode(bytes));
        sqlx::query("INSERT INTO api_tokens (name, scope, token_hash, created_at_ms) VALUES (?, ?, ?, ?)")
            .bind(name)
            .bind(scope.as_string())
            .bind(token_hash(&token))
            .bind(now.timestamp_millis())
            .execute(&self.pool)
            .await
            .with_context(|| format!("creating token '{name}' (names are unique)"))?;
        Ok(token)
    }

    /// Every token, newest first (never the secret: only its hash is kept).
    pub async fn tokens(&self) -> Result<Vec<domain::view::TokenView>> {
        let rows = sqlx::query("SELECT id, name, scope, created_at_ms, revoked_at_ms FROM api_tokens ORDER BY id DESC").fetch_all(&self.pool).await?;
        rows.iter()
            .map(|r| {
                Ok(domain::view::TokenView {
                    id: r.try_get("id")?,
                    name: r.try_get("name")?,
                    scopes: r.try_get("scope")?,
                    created_at: ms_to_dt(r.try_get("created_at_ms")?),
                    revoked_at: r.try_get::<Option<i64>, _>("revoked_at_ms")?.map(ms_to_dt),
                })
            })
            .collect()
    }

    /// Revokes a token at once (the next request with it gets 401). Returns its name, or `None`
    /// when there is no live token with that id.
    pub async fn revoke_token(&self, id: i64, now: DateTime<Utc>) -> Result<Option<String>> {
        Ok(sqlx::query_scalar("UPDATE api_tokens SET revoked_at_ms = ? WHERE id = ? AND revoked_at_ms IS NULL RETURNING name")
            .bind(now.timestamp_millis())
            .bind(id)
            .fetch_optional(&self.pool)
            .await?)
    }

    /// The scope of a live (not revoked) token, if the secret matches one.
    pub async fn token_scope(&self, token: &str) -> Result<Option<Scopes>> {
        let scope: Option<String> = sqlx::query_scalar("SELECT scope FROM api_tokens WHERE token_hash = ? AND revoked_at_ms IS NULL")
            .bind(token_hash(token))
            .fetch_optional(&self.pool)
            .await?;
        Ok(scope.and_then(|s| s.parse().ok()))
    }
}
