//! The two backends: [`Sql<Sqlite>`] and [`Sql<Postgres>`], and the few places their SQL differs.
//!
//! The store traits are implemented once, as `macro_rules!` bodies in `events.rs`,
//! `accounts.rs`, `tokens.rs`, `sessions.rs` and `snapshots.rs`, expanded for each backend's
//! concrete sqlx types: one text of every statement, type-checked against both drivers.
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::{Context, Result};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::migrate::Migrator;
use sqlx::{Database, Pool, Postgres, QueryBuilder, Sqlite, Transaction};

use super::RawRow;

/// Rows per multi-row INSERT on SQLite (14 columns each; under its 32,766 bind parameters).
const INSERT_CHUNK: usize = 500;
/// The columns of `events`, in the order both inserts bind them.
const EVENT_COLUMNS: &str = "seq, event_id, kind, instrument, signal_id, order_id, ts_ms, received_at_ms, drift_ms, flags, payload, prev_hash, hash, chain_version";

/// Each backend's migrations, embedded once: applied at start-up and counted by `ready`.
static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("../migrations");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("../migrations/postgres");

/// One backend: a pool of its database.
pub struct Sql<DB: Database> {
    pub(super) pool: Pool<DB>,
    /// The head seq when the planner's statistics were last refreshed (PostgreSQL).
    pub(super) analyzed_at: Arc<AtomicU64>,
}

/// What differs between the backends' SQL.
pub trait Dialect: Database {
    const NAME: &'static str;
    /// This backend's migrations.
    const MIGRATIONS: &'static Migrator;
    /// The user id inside a session record's JSON.
    const SESSION_USER_ID: &'static str;
    /// The prefix that shows a query plan.
    const EXPLAIN: &'static str;
    /// The column of that plan's rows.
    const PLAN_COLUMN: &'static str;
    /// What opens an id look-up's SELECT list and what follows its id list so that one row per
    /// id comes back.
    fn distinct_on(column: &str) -> String;
    fn one_row_per_id(column: &str) -> String;
    /// `column` is one of `ids`: `IN (?, ?, ...)` on SQLite, `= ANY($n)` with one array on
    /// PostgreSQL (one parameter to plan instead of hundreds: the look-ups of a 1,000-event batch
    /// took 4.4 ms of the server's time with IN lists).
    fn push_in(q: &mut QueryBuilder<Self>, column: &str, ids: Vec<String>);
    /// Inserts rows into `events` within `tx`; the values move into the statement's arguments.
    fn insert_events(tx: &mut Transaction<'static, Self>, rows: Vec<RawRow>) -> impl std::future::Future<Output = sqlx::Result<()>> + Send;
    /// After rows were inserted with their ids: new rows get ids after them.
    fn ids_follow_copied_rows(tx: &mut Transaction<'static, Self>, table: &'static str) -> impl std::future::Future<Output = sqlx::Result<()>> + Send;
    /// Called after each committed append, with the new head.
    fn after_append(_pool: &Pool<Self>, _head_seq: u64, _analyzed_at: &Arc<AtomicU64>) {}
    /// Starts an append's transaction holding the log's write lock.
    fn begin_append(pool: &Pool<Self>) -> impl std::future::Future<Output = sqlx::Result<Transaction<'static, Self>>> + Send;
}

impl Dialect for Sqlite {
    const NAME: &'static str = "sqlite";
    const MIGRATIONS: &'static Migrator = &SQLITE_MIGRATIONS;
    const SESSION_USER_ID: &'static str = "json_extract(data, '$.user_id')";
    const EXPLAIN: &'static str = "EXPLAIN QUERY PLAN ";
    const PLAN_COLUMN: &'static str = "detail";
    fn distinct_on(_: &str) -> String {
        String::new()
    }
    /// SQLite returns any one row of each group for a bare column.
    fn one_row_per_id(column: &str) -> String {
        format!(" GROUP BY {column}")
    }
    fn push_in(q: &mut QueryBuilder<Self>, column: &str, ids: Vec<String>) {
        q.push(column).push(" IN (");
        let mut list = q.separated(", ");
        for id in ids {
            list.push_bind(id);
        }
        q.push(")");
    }
    /// IMMEDIATE: take the write lock up front. A deferred transaction reads first (the
    /// duplicate look-up), and if another connection (a session save, a login attempt) writes
    /// before our first INSERT, SQLite refuses the upgrade at once (SQLITE_BUSY_SNAPSHOT, no
    /// busy wait): the batch would fail with a 500. Seen in an end-to-end run.
    async fn begin_append(pool: &Pool<Self>) -> sqlx::Result<Transaction<'static, Self>> {
        pool.begin_with("BEGIN IMMEDIATE").await
    }
    /// `INTEGER PRIMARY KEY` takes the largest id plus one by itself.
    async fn ids_follow_copied_rows(_: &mut Transaction<'static, Self>, _: &'static str) -> sqlx::Result<()> {
        Ok(())
    }
    /// Multi-row INSERTs of [`INSERT_CHUNK`] rows.
    async fn insert_events(tx: &mut Transaction<'static, Self>, rows: Vec<RawRow>) -> sqlx::Result<()> {
        let mut rows = rows.into_iter().peekable();
        while rows.peek().is_some() {
            let mut q = QueryBuilder::<Sqlite>::new(format!("INSERT INTO events ({EVENT_COLUMNS}) "));
            q.push_values(rows.by_ref().take(INSERT_CHUNK), |mut b, r| {
                b.push_bind(r.seq)
                    .push_bind(r.event_id)
                    .push_bind(r.kind)
                    .push_bind(r.instrument)
                    .push_bind(r.signal_id)
                    .push_bind(r.order_id)
                    .push_bind(r.ts_ms)
                    .push_bind(r.received_at_ms)
                    .push_bind(r.drift_ms)
                    .push_bind(r.flags)
                    .push_bind(r.payload)
                    .push_bind(r.prev_hash)
                    .push_bind(r.hash)
                    .push_bind(r.chain_version);
            });
            q.build().execute(&mut **tx).await?;
        }
        Ok(())
    }
}

impl Dialect for Postgres {
    const NAME: &'static str = "postgres";
    const MIGRATIONS: &'static Migrator = &POSTGRES_MIGRATIONS;
    const SESSION_USER_ID: &'static str = "(data::jsonb ->> 'user_id')::bigint";
    const EXPLAIN: &'static str = "EXPLAIN ";
    const PLAN_COLUMN: &'static str = "QUERY PLAN";
    fn distinct_on(column: &str) -> String {
        format!("DISTINCT ON ({column}) ")
    }
    fn one_row_per_id(column: &str) -> String {
        format!(" ORDER BY {column}, seq")
    }
    fn push_in(q: &mut QueryBuilder<Self>, column: &str, ids: Vec<String>) {
        q.push(column).push(" = ANY(").push_bind(ids).push(")");
    }
    /// A transaction-scoped advisory lock serialises appends across connections and console
    /// instances on one database: the next append waits, then sees the new head.
    async fn begin_append(pool: &Pool<Self>) -> sqlx::Result<Transaction<'static, Self>> {
        let mut tx = pool.begin().await?;
        sqlx::query("SELECT pg_advisory_xact_lock($1)").bind(APPEND_LOCK).execute(&mut *tx).await?;
        Ok(tx)
    }
    /// Refreshes the planner's statistics of `events` in the background each time the log has
    /// grown by a tenth (at least 20,000 events) since the last time. Autovacuum analyzes at most
    /// once a minute; during a burst the planner took the 100,000-row log for an empty table and
    /// looked ids up through the `kind` index, every stored order for each batch (EXPLAIN
    /// ANALYZE: 14 ms for 286 ids at 100k events, growing with the log).
    fn after_append(pool: &Pool<Self>, head_seq: u64, analyzed_at: &Arc<AtomicU64>) {
        let last = analyzed_at.load(Ordering::Relaxed);
        if head_seq < last.saturating_add((last / 10).max(20_000)) {
            return;
        }
        if analyzed_at.compare_exchange(last, head_seq, Ordering::Relaxed, Ordering::Relaxed).is_err() {
            return; // another append started one
        }
        let pool = pool.clone();
        tokio::spawn(async move {
            if let Err(e) = sqlx::query("ANALYZE events").execute(&pool).await {
                tracing::warn!(error = %e, "refreshing the statistics of events");
            }
        });
    }
    /// An identity column's sequence does not move when ids are given: set it past them.
    async fn ids_follow_copied_rows(tx: &mut Transaction<'static, Self>, table: &'static str) -> sqlx::Result<()> {
        let sql = format!("SELECT setval(pg_get_serial_sequence('{table}', 'id'), COALESCE((SELECT MAX(id) FROM {table}), 0) + 1, false)");
        sqlx::query(sqlx::AssertSqlSafe(sql)).execute(&mut **tx).await?;
        Ok(())
    }
    /// One statement over one array per column (`UNNEST`): 14 parameters instead of 14 per row.
    /// Measured on 1,000-row batches: binding 7,000 parameters took 3 ms and executing the
    /// multi-row INSERT 7.8 ms of the server's time per batch.
    async fn insert_events(tx: &mut Transaction<'static, Self>, rows: Vec<RawRow>) -> sqlx::Result<()> {
        let n = rows.len();
        let (mut seq, mut event_id, mut kind, mut instrument, mut signal_id, mut order_id) =
            (Vec::with_capacity(n), Vec::with_capacity(n), Vec::with_capacity(n), Vec::with_capacity(n), Vec::with_capacity(n), Vec::with_capacity(n));
        let (mut ts_ms, mut received_at_ms, mut drift_ms, mut flags, mut payload, mut prev_hash, mut hash, mut chain_version) = (
            Vec::with_capacity(n),
            Vec::with_capacity(n),
            Vec::with_capacity(n),
            Vec::with_capacity(n),
            Vec::with_capacity(n),
            Vec::with_capacity(n),
            Vec::with_capacity(n),
            Vec::with_capacity(n),
        );
        for r in rows {
            seq.push(r.seq);
            event_id.push(r.event_id);
            kind.push(r.kind);
            instrument.push(r.instrument);
            signal_id.push(r.signal_id);
            order_id.push(r.order_id);
            ts_ms.push(r.ts_ms);
            received_at_ms.push(r.received_at_ms);
            drift_ms.push(r.drift_ms);
            flags.push(r.flags);
            payload.push(r.payload);
            prev_hash.push(r.prev_hash);
            hash.push(r.hash);
            chain_version.push(r.chain_version);
        }
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO events ({EVENT_COLUMNS}) SELECT * FROM UNNEST($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], \
             $7::bigint[], $8::bigint[], $9::bigint[], $10::text[], $11::text[], $12::bytea[], $13::bytea[], $14::bigint[])"
        )))
        .bind(seq)
        .bind(event_id)
        .bind(kind)
        .bind(instrument)
        .bind(signal_id)
        .bind(order_id)
        .bind(ts_ms)
        .bind(received_at_ms)
        .bind(drift_ms)
        .bind(flags)
        .bind(payload)
        .bind(prev_hash)
        .bind(hash)
        .bind(chain_version)
        .execute(&mut **tx)
        .await?;
        Ok(())
    }
}

/// The advisory lock key of appends (any fixed number; "TWLOG" in ASCII).
const APPEND_LOCK: i64 = 0x54_57_4c_4f_47;

impl Sql<Sqlite> {
    /// Opens (creating if needed) `PATH/tradewatch.db` (or `PATH` itself when it ends in `.db`)
    /// and applies `migrations/`.
    pub async fn open_sqlite(path: &Path) -> Result<Self> {
        let file = if path.extension().is_some_and(|e| e == "db") {
            path.to_path_buf()
        } else {
            std::fs::create_dir_all(path).with_context(|| format!("creating {}", path.display()))?;
            path.join("tradewatch.db")
        };
        let opts = SqliteConnectOptions::new()
            .filename(file)
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
        SQLITE_MIGRATIONS.run(&pool).await.context("applying migrations")?;
        Ok(Self { pool, analyzed_at: Arc::default() })
    }
}

impl Sql<Postgres> {
    /// Connects to `url` and applies `migrations/postgres/`. Commits are durable as PostgreSQL
    /// is configured (`synchronous_commit` on by default: an acknowledged batch is on disk).
    pub async fn open_postgres(url: &str) -> Result<Self> {
        // The URL may hold a password: errors name the backend, never the URL.
        let opts: PgConnectOptions = url.parse().map_err(|_| anyhow::anyhow!("database_url is not a PostgreSQL URL that can be read"))?;
        // Plan every look-up for its own ids. sqlx prepares statements, and after five runs
        // PostgreSQL may settle on a generic plan for `kind = 'signal' AND signal_id IN ($1 ..)`
        // that walks the kind index, every stored signal per batch: ingest fell from 23,900 to
        // 9,700 events/s between 50k and 150k events (measured, examples/ingest_profile).
        let opts = opts.options([("plan_cache_mode", "force_custom_plan")]);
        let pool = PgPoolOptions::new()
            .max_connections(8)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(opts)
            .await
            .context("connecting to PostgreSQL")?;
        POSTGRES_MIGRATIONS.run(&pool).await.context("applying migrations (postgres)")?;
        Ok(Self { pool, analyzed_at: Arc::default() })
    }
}

#[cfg(test)]
mod tests {
    use sqlx::{Connection, SqliteConnection};

    /// `.cargo/config.toml` builds the bundled SQLite without memory statistics (a global mutex
    /// per allocation): a build that missed it (cargo run from outside the workspace) shows here.
    #[tokio::test]
    async fn the_bundled_sqlite_is_built_without_memory_statistics() {
        let mut conn = SqliteConnection::connect("sqlite::memory:").await.expect("in-memory SQLite");
        let options: Vec<String> = sqlx::query_scalar("PRAGMA compile_options").fetch_all(&mut conn).await.expect("compile options");
        assert!(options.iter().any(|o| o == "DEFAULT_MEMSTATUS=0"), "{options:?}");
    }
}
