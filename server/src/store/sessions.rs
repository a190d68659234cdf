//! tower-sessions' records in the console's database ([`SessionRecords`] for both backends), and
//! [`Sessions`], the `SessionStore` over them.
use anyhow::Result;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::{Postgres, Row, Sqlite};
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{self, SessionStore};

use super::dialect::{Dialect, Sql};
use super::{SessionRecords, Store};

/// The session key holding the signed-in user's id.
pub const SESSION_USER_ID: &str = "user_id";

macro_rules! session_records {
    ($DB:ty) => {
        #[async_trait]
        impl SessionRecords for Sql<$DB> {
            async fn session_insert(&self, id: &str, data: &str, expiry_ms: i64) -> Result<bool> {
                let done = sqlx::query("INSERT INTO sessions (id, data, expiry_ms) VALUES ($1, $2, $3) ON CONFLICT (id) DO NOTHING")
                    .bind(id)
                    .bind(data)
                    .bind(expiry_ms)
                    .execute(&self.pool)
                    .await?;
                Ok(done.rows_affected() == 1)
            }

            async fn session_upsert(&self, id: &str, data: &str, expiry_ms: i64) -> Result<()> {
                sqlx::query("INSERT INTO sessions (id, data, expiry_ms) VALUES ($1, $2, $3) ON CONFLICT (id) DO UPDATE SET data = excluded.data, expiry_ms = excluded.expiry_ms")
                    .bind(id)
                    .bind(data)
                    .bind(expiry_ms)
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn session_load(&self, id: &str, now_ms: i64) -> Result<Option<(String, i64)>> {
                let row = sqlx::query("SELECT data, expiry_ms FROM sessions WHERE id = $1 AND expiry_ms > $2").bind(id).bind(now_ms).fetch_optional(&self.pool).await?;
                row.map(|r| -> Result<(String, i64)> { Ok((r.try_get("data")?, r.try_get("expiry_ms")?)) }).transpose()
            }

            async fn session_delete(&self, id: &str) -> Result<()> {
                sqlx::query("DELETE FROM sessions WHERE id = $1").bind(id).execute(&self.pool).await?;
                Ok(())
            }

            async fn delete_expired_sessions(&self, now: DateTime<Utc>) -> Result<u64> {
                Ok(sqlx::query("DELETE FROM sessions WHERE expiry_ms < $1").bind(now.timestamp_millis()).execute(&self.pool).await?.rows_affected())
            }

            async fn end_sessions_of(&self, user_id: i64, keep: Option<&str>) -> Result<u64> {
                let sql = format!("DELETE FROM sessions WHERE {} = $1 AND id <> $2", <$DB as Dialect>::SESSION_USER_ID);
                Ok(sqlx::query(sqlx::AssertSqlSafe(sql)).bind(user_id).bind(keep.unwrap_or("")).execute(&self.pool).await?.rows_affected())
            }

            async fn user_enabled(&self, user_id: i64) -> bool {
                sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM users WHERE id = $1 AND disabled_at_ms IS NULL")
                    .bind(user_id)
                    .fetch_one(&self.pool)
                    .await
                    .is_ok_and(|n| n == 1)
            }
        }
    };
}

session_records!(Sqlite);
session_records!(Postgres);

/// tower-sessions' store over the console's database, whichever backend it is.
/// (tower-sessions-sqlx-store is built on sqlx 0.8, which cannot link beside the sqlx 0.9 this
/// workspace uses, so the calls are ours.)
#[derive(Clone)]
pub struct Sessions {
    store: Store,
}

impl std::fmt::Debug for Sessions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sessions").field("backend", &self.store.backend_name()).finish()
    }
}

impl Sessions {
    pub fn new(store: &Store) -> Self {
        Self { store: store.clone() }
    }

    /// Deletes the sessions that expired before `now`; returns how many.
    pub async fn delete_expired(&self, now: DateTime<Utc>) -> Result<u64> {
        self.store.delete_expired_sessions(now).await
    }

    /// Whether session `id` is still live (not signed out, not expired) for `user_id`, and that
    /// user still enabled: the live stream re-checks this while it runs.
    pub async fn still_signed_in(&self, id: &Id, user_id: i64) -> bool {
        match self.load(id).await {
            Ok(Some(r)) => r.data.get(SESSION_USER_ID).and_then(serde_json::Value::as_i64) == Some(user_id) && self.store.user_enabled(user_id).await,
            _ => false,
        }
    }
}

fn backend(e: impl std::fmt::Display) -> session_store::Error {
    session_store::Error::Backend(e.to_string())
}

#[async_trait]
impl SessionStore for Sessions {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        let data = serde_json::to_string(&record.data).map_err(|e| session_store::Error::Encode(e.to_string()))?;
        loop {
            if self.store.session_insert(&record.id.to_string(), &data, record.expiry_date.unix_timestamp() * 1000).await.map_err(backend)? {
                return Ok(());
            }
            record.id = Id::default(); // a collision of 128 random bits: draw again
        }
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        let data = serde_json::to_string(&record.data).map_err(|e| session_store::Error::Encode(e.to_string()))?;
        self.store.session_upsert(&record.id.to_string(), &data, record.expiry_date.unix_timestamp() * 1000).await.map_err(backend)
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        let Some((data, expiry)) = self.store.session_load(&id.to_string(), Utc::now().timestamp_millis()).await.map_err(backend)? else { return Ok(None) };
        Ok(Some(Record {
            id: *id,
            data: serde_json::from_str(&data).map_err(|e| session_store::Error::Decode(e.to_string()))?,
            expiry_date: time::OffsetDateTime::from_unix_timestamp(expiry / 1000).map_err(backend)?,
        }))
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        self.store.session_delete(&id.to_string()).await.map_err(backend)
    }
}
