//! What the console needs of its storage, one trait per kind of record. Each is implemented for
//! SQLite and for PostgreSQL (`dialect::Sql<Sqlite>`, `dialect::Sql<Postgres>`) by the same
//! statements; the storage tests (`server/tests/store`) run every one against both.
use anyhow::Result;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::chain::Hash;
use domain::event::Event;
use domain::governance::Role;
use domain::view::{EventPage, EventQuery, EventRow, LoginAttemptView, TokenView, UserAdminView};

use super::accounts::User;
use super::snapshots::Snapshot;
use super::{AppendError, Incoming, MayBeStored, Pending, RawRow, WriteError};

/// The append-only, hash-chained event log.
#[async_trait]
pub trait EventLog: Send + Sync {
    /// `"sqlite"` or `"postgres"`.
    fn backend_name(&self) -> &'static str;
    /// Whether the database answers and every migration is applied.
    async fn ready(&self) -> bool;
    /// The connection pool now: (open connections, idle ones).
    fn pool_stats(&self) -> (u32, usize);
    /// The last seq and hash of the chain (0 and the genesis hash when empty).
    async fn head(&self) -> Result<(u64, Hash)>;
    /// Sorts a batch against the log before it is linked: event ids already stored (or in
    /// `pending`, or earlier in the batch) with the same bytes are duplicates (a retry's) and
    /// are left out; an event id, signal id or order id re-used with other content refuses the
    /// whole batch. Returns the events to store, in batch order, and the number of duplicates.
    /// `may_be_stored` (one per event of the batch; `None`: every one): the event ids, and the
    /// signal and order ids, to look up in the store; the others are known not to be there (the
    /// console's `event_ids` filters).
    async fn sort(&self, batch: Vec<Incoming>, pending: Pending<'_>, may_be_stored: Option<Vec<MayBeStored>>) -> Result<(Vec<Incoming>, u64), AppendError>;
    /// Inserts rows linked onto the chain after `after` in one transaction, committed only if the
    /// log still ends at `after` ([`WriteError::Moved`] otherwise: another writer appended).
    async fn write(&self, after: (u64, Hash), rows: Vec<RawRow>) -> Result<(), WriteError>;
    /// Every stored event after `after` (a seq) in seq order, parsed against the clock it was
    /// accepted with; returns how many rows were read.
    async fn for_each_event_after(&self, after: u64, f: &mut (dyn FnMut(u64, Event, DateTime<Utc>) + Send)) -> Result<u64>;
    /// Up to `limit` stored rows after `after`, every column as stored.
    async fn rows_after(&self, after: u64, limit: u32) -> Result<Vec<RawRow>>;
    /// Inserts rows exactly as given (seq, hashes and all): `tradewatch store copy` into an empty
    /// log, which it verifies afterwards.
    async fn insert_rows(&self, rows: Vec<RawRow>) -> Result<()>;
    /// A page of the log. With `before_seq` the page runs newest first; otherwise oldest first
    /// from `after_seq` (0 when absent).
    async fn events(&self, q: &EventQuery) -> Result<EventPage>;
    async fn event(&self, seq: u64) -> Result<Option<EventRow>>;
    /// Every event of a trade: those naming the signal, and those naming one of its orders.
    async fn trade_events(&self, signal_id: &str) -> Result<Vec<(u64, Event)>>;
    /// The signal, risk-check and LLM-decision events of these signals, oldest first.
    async fn signal_details(&self, signal_ids: &[&str]) -> Result<Vec<Event>>;
    /// The hash of the event at `seq`, if there is one.
    async fn hash_at(&self, seq: u64) -> Result<Option<Hash>>;
    /// The chain hashes of the events after `after`, in seq order, at most `limit` (the leaves of
    /// the checkpoints' Merkle tree).
    async fn hashes_after(&self, after: u64, limit: u32) -> Result<Vec<Hash>>;
    /// The plan the database picks for [`EventLog::events`] (a test keeps a rare kind on the
    /// kind index).
    async fn events_plan(&self, q: &EventQuery) -> Result<String>;
    /// The plans for the two ways [`EventLog::events`] finds the fills of `instrument`'s orders:
    /// in a window of seqs, and through every order of the instrument (a test keeps both on
    /// their indexes).
    async fn fills_plans(&self, q: &EventQuery, instrument: &str) -> Result<[String; 2]>;
    /// The plan the database picks for the append's look-up of `n` signal or order ids (a test
    /// keeps it on the id index).
    async fn id_lookup_plan(&self, kind: &str, column: &str, n: usize) -> Result<String>;
}

/// Accounts, their second factor, and sign-in attempts: the SQL behind the auth policy.
#[async_trait]
pub trait Accounts: Send + Sync {
    /// Adds an account with an already hashed password; returns its id.
    async fn insert_user(&self, username: &str, role: Role, password_hash: String, now: DateTime<Utc>) -> Result<i64>;
    async fn set_password_hash(&self, user_id: i64, hash: String) -> Result<()>;
    async fn user_count(&self) -> Result<i64>;
    /// An enabled account by id.
    async fn user(&self, id: i64) -> Result<Option<User>>;
    /// An enabled account by name.
    async fn user_named(&self, username: &str) -> Result<Option<User>>;
    async fn users(&self) -> Result<Vec<UserAdminView>>;
    /// Failed attempts since `since` by `ip` (column `"ip"`) or username, and the newest one's time.
    async fn failures_since(&self, column: &str, value: &str, since: DateTime<Utc>) -> Result<(i64, Option<i64>)>;
    async fn record_attempt(&self, username: &str, ip: &str, success: bool, now: DateTime<Utc>) -> Result<()>;
    async fn login_attempts(&self, limit: i64) -> Result<Vec<LoginAttemptView>>;
    /// Deletes login attempts before `before`.
    async fn prune_attempts_before(&self, before: DateTime<Utc>) -> Result<u64>;
    async fn totp_secret(&self, user_id: i64) -> Result<Option<String>>;
    /// `None` when there is no such user; `Some(None)` when it has no second factor.
    async fn totp_secret_of(&self, user_id: i64) -> Result<Option<Option<String>>>;
    /// Sets the secret and its first accepted step, replacing the recovery codes, in one transaction.
    async fn set_totp(&self, user_id: i64, secret: &str, step: u64, code_hashes: &[Vec<u8>]) -> Result<()>;
    /// Marks a time step used; false when it (or a later one) already was.
    async fn spend_step(&self, user_id: i64, step: u64) -> Result<bool>;
    /// Spends an unused recovery code; false when none matched.
    async fn spend_recovery_code(&self, user_id: i64, code_hash: &[u8], now: DateTime<Utc>) -> Result<bool>;
}

/// Accounts, recovery codes and API tokens moved as stored, by `tradewatch store copy`.
#[async_trait]
pub trait AccountCopy: Send + Sync {
    async fn export_accounts(&self) -> Result<super::accounts::AccountRecords>;
    /// Inserts them with their ids into a store that has no accounts or tokens yet.
    async fn import_accounts(&self, records: super::accounts::AccountRecords) -> Result<()>;
}

/// API tokens, kept as the SHA-256 of their secret.
#[async_trait]
pub trait Tokens: Send + Sync {
    async fn insert_token(&self, name: &str, scopes: &str, token_hash: &[u8], now: DateTime<Utc>) -> Result<()>;
    /// Every token, newest first (never the secret: only its hash is kept).
    async fn tokens(&self) -> Result<Vec<TokenView>>;
    /// Revokes a token at once; its name, or `None` when there is no live token with that id.
    async fn revoke_token(&self, id: i64, now: DateTime<Utc>) -> Result<Option<String>>;
    /// The scopes of the live token with this hash.
    async fn token_scope_by_hash(&self, token_hash: &[u8]) -> Result<Option<String>>;
}

/// Server-side session records (tower-sessions' JSON), for [`super::sessions::Sessions`].
#[async_trait]
pub trait SessionRecords: Send + Sync {
    /// Inserts a new record; false when the id is taken.
    async fn session_insert(&self, id: &str, data: &str, expiry_ms: i64) -> Result<bool>;
    async fn session_upsert(&self, id: &str, data: &str, expiry_ms: i64) -> Result<()>;
    /// The data and expiry of a session that has not expired at `now_ms`.
    async fn session_load(&self, id: &str, now_ms: i64) -> Result<Option<(String, i64)>>;
    async fn session_delete(&self, id: &str) -> Result<()>;
    /// Deletes the sessions that expired before `now`; returns how many.
    async fn delete_expired_sessions(&self, now: DateTime<Utc>) -> Result<u64>;
    /// Deletes the sessions of `user_id` (all, or all but `keep`); returns how many ended.
    async fn end_sessions_of(&self, user_id: i64, keep: Option<&str>) -> Result<u64>;
    /// Whether the account exists and is not disabled.
    async fn user_enabled(&self, user_id: i64) -> bool;
}

/// Derived artefacts kept beside the log: fold snapshots (a cache, checked against the chain).
#[async_trait]
pub trait Artifacts: Send + Sync {
    /// Stores `s` as the newest snapshot and drops the older ones, in one transaction.
    async fn save_snapshot(&self, s: &Snapshot, now: DateTime<Utc>) -> Result<()>;
    /// The newest snapshot, if any (a hash that is not 32 bytes reads as zeros: it matches no
    /// event, so the caller refuses it).
    async fn latest_snapshot(&self) -> Result<Option<Snapshot>>;
    /// Deletes every snapshot: the next start folds the whole log.
    async fn drop_snapshots(&self) -> Result<u64>;
    /// Archives a week's report files (replacing an older version of that week).
    async fn save_report(&self, r: &super::snapshots::ReportFiles, now: DateTime<Utc>) -> Result<()>;
    /// The archive, newest week first (without the files).
    async fn reports(&self) -> Result<Vec<domain::view::ReportMeta>>;
    /// One archived file: `format` is `html` or `pdf`.
    async fn report_file(&self, week: &str, format: &str) -> Result<Option<Vec<u8>>>;
}

/// A whole storage backend.
pub trait Backend: EventLog + Accounts + AccountCopy + Tokens + SessionRecords + Artifacts {}
impl<T: EventLog + Accounts + AccountCopy + Tokens + SessionRecords + Artifacts> Backend for T {}
