//! The two backends: [`Sql<Sqlite>`] and [`Sql<Postgres>`], and the few places their SQL differs.
//!
//! The store traits are implemented once, as `macro_rules!` bodies in `events.rs`,
//! `accounts.rs`, `tokens.rs`, `sessions.rs` and `snapshots.rs`, expanded for each backend's
//! concrete sqlx types: one text of every statement, type-checked against both drivers.
use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Database, Pool, Postgres, Sqlite, Transaction};

/// One backend: a pool of its database.
pub struct Sql<DB: Database> {
    pub(super) pool: Pool<DB>,
}

/// What differs between the backends' SQL.
pub trait Dialect: Database {
    const NAME: &'static str;
    /// `kind` in an id look-up. SQLite's planner otherwise picks the `(kind, seq)` index for a
    /// long `signal_id IN (...)` list and scans every stored signal for each batch (ingest slowed
    /// from 17,000 to 4,000 events/s between 100k and 600k events, measured); `+kind` keeps it
    /// on the id index. PostgreSQL has no such hint and needs none.
    const KIND_NOT_INDEXED: &'static str;
    /// The user id inside a session record's JSON.
    const SESSION_USER_ID: &'static str;
    /// The prefix that shows a query plan.
    const EXPLAIN: &'static str;
    /// The column of that plan's rows.
    const PLAN_COLUMN: &'static str;
    /// What opens an id look-up's SELECT list and what closes its `IN (...)` so that one row per
    /// id comes back.
    fn distinct_on(column: &str) -> String;
    fn one_row_per_id(column: &str) -> String;
    /// Starts an append's transaction holding the log's write lock.
    fn begin_append(pool: &Pool<Self>) -> impl std::future::Future<Output = sqlx::Result<Transaction<'static, Self>>> + Send;
}

impl Dialect for Sqlite {
    const NAME: &'static str = "sqlite";
    const KIND_NOT_INDEXED: &'static str = "+kind";
    const SESSION_USER_ID: &'static str = "json_extract(data, '$.user_id')";
    const EXPLAIN: &'static str = "EXPLAIN QUERY PLAN ";
    const PLAN_COLUMN: &'static str = "detail";
    fn distinct_on(_: &str) -> String {
        String::new()
    }
    /// SQLite returns any one row of each group for a bare column.
    fn one_row_per_id(column: &str) -> String {
        format!(") GROUP BY {column}")
    }
    /// IMMEDIATE: take the write lock up front. A deferred transaction reads first (the
    /// duplicate look-up), and if another connection (a session save, a login attempt) writes
    /// before our first INSERT, SQLite refuses the upgrade at once (SQLITE_BUSY_SNAPSHOT, no
    /// busy wait): the batch would fail with a 500. Seen in an end-to-end run.
    async fn begin_append(pool: &Pool<Self>) -> sqlx::Result<Transaction<'static, Self>> {
        pool.begin_with("BEGIN IMMEDIATE").await
    }
}

impl Dialect for Postgres {
    const NAME: &'static str = "postgres";
    const KIND_NOT_INDEXED: &'static str = "kind";
    const SESSION_USER_ID: &'static str = "(data::jsonb ->> 'user_id')::bigint";
    const EXPLAIN: &'static str = "EXPLAIN ";
    const PLAN_COLUMN: &'static str = "QUERY PLAN";
    fn distinct_on(column: &str) -> String {
        format!("DISTINCT ON ({column}) ")
    }
    fn one_row_per_id(column: &str) -> String {
        format!(") ORDER BY {column}, seq")
    }
    /// A transaction-scoped advisory lock serialises appends across connections and console
    /// instances on one database: the next append waits, then sees the new head.
    async fn begin_append(pool: &Pool<Self>) -> sqlx::Result<Transaction<'static, Self>> {
        let mut tx = pool.begin().await?;
        sqlx::query("SELECT pg_advisory_xact_lock($1)").bind(APPEND_LOCK).execute(&mut *tx).await?;
        Ok(tx)
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
        sqlx::migrate!("../migrations").run(&pool).await.context("applying migrations")?;
        Ok(Self { pool })
    }
}

impl Sql<Postgres> {
    /// Connects to `url` and applies `migrations/postgres/`. Commits are durable as PostgreSQL
    /// is configured (`synchronous_commit` on by default: an acknowledged batch is on disk).
    pub async fn open_postgres(url: &str) -> Result<Self> {
        // The URL may hold a password: errors name the backend, never the URL.
        let opts: PgConnectOptions = url.parse().map_err(|_| anyhow::anyhow!("database_url is not a PostgreSQL URL that can be read"))?;
        let pool = PgPoolOptions::new()
            .max_connections(8)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(opts)
            .await
            .context("connecting to PostgreSQL")?;
        sqlx::migrate!("../migrations/postgres").run(&pool).await.context("applying migrations (postgres)")?;
        Ok(Self { pool })
    }
}

/// The migrations each backend must have applied.
pub(super) fn migrations<DB: Dialect>() -> usize {
    match <DB as Dialect>::NAME {
        "sqlite" => sqlx::migrate!("../migrations").iter().count(),
        _ => sqlx::migrate!("../migrations/postgres").iter().count(),
    }
}
