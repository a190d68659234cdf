//! tower-sessions' records in the console's database.
use anyhow::Result;
use chrono::{DateTime, Utc};
use sqlx::{Row, SqlitePool};
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{self, SessionStore};

use super::Store;

/// The session key holding the signed-in user's id.
pub const SESSION_USER_ID: &str = "user_id";

/// tower-sessions' records in our SQLite file. (tower-sessions-sqlx-store is built on sqlx 0.8,
/// which cannot link beside the sqlx 0.9 this workspace uses, so the three calls are ours.)
#[derive(Debug, Clone)]
pub struct SqliteSessions {
    pool: SqlitePool,
}

impl SqliteSessions {
    pub fn new(store: &Store) -> Self {
        Self { pool: store.pool().clone() }
    }

    /// Deletes the sessions that expired before `now`; returns how many.
    pub async fn delete_expired(&self, now: DateTime<Utc>) -> Result<u64> {
        Ok(sqlx::query("DELETE FROM sessions WHERE expiry_ms < ?").bind(now.timestamp_millis()).execute(&self.pool).await?.rows_affected())
    }
}

fn backend(e: impl std::fmt::Display) -> session_store::Error {
    session_store::Error::Backend(e.to_string())
}

#[async_trait::async_trait]
impl SessionStore for SqliteSessions {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        loop {
            let data = serde_json::to_string(&record.data).map_err(|e| session_store::Error::Encode(e.to_string()))?;
            let done = sqlx::query("INSERT INTO sessions (id, data, expiry_ms) VALUES (?, ?, ?) ON CONFLICT (id) DO NOTHING")
                .bind(record.id.to_string())
                .bind(data)
                .bind(record.expiry_date.unix_timestamp() * 1000)
                .execute(&self.pool)
                .await
                .map_err(backend)?;
            if done.rows_affected() == 1 {
                return Ok(());
            }
            record.id = Id::default(); // a collision of 128 random bits: draw again
        }
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        let data = serde_json::to_string(&record.data).map_err(|e| session_store::Error::Encode(e.to_string()))?;
        sqlx::query("INSERT INTO sessions (id, data, expiry_ms) VALUES (?, ?, ?) ON CONFLICT (id) DO UPDATE SET data = excluded.data, expiry_ms = excluded.expiry_ms")
            .bind(record.id.to_string())
            .bind(data)
            .bind(record.expiry_date.unix_timestamp() * 1000)
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        Ok(())
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        let row = sqlx::query("SELECT data, expiry_ms FROM sessions WHERE id = ? AND expiry_ms > ?")
            .bind(id.to_string())
            .bind(Utc::now().timestamp_millis())
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?;
        let Some(r) = row else { return Ok(None) };
        let data: String = r.try_get("data").map_err(backend)?;
        let expiry: i64 = r.try_get("expiry_ms").map_err(backend)?;
        Ok(Some(Record {
            id: *id,
            data: serde_json::from_str(&data).map_err(|e| session_store::Error::Decode(e.to_string()))?,
            expiry_date: time::OffsetDateTime::from_unix_timestamp(expiry / 1000).map_err(backend)?,
        }))
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        self.delete_id(id).await
    }
}

impl SqliteSessions {
    /// Whether session `id` is still live (not signed out, not expired) for `user_id`, and that
    /// user still enabled: the live stream re-checks this while it runs.
    pub async fn still_signed_in(&self, id: &Id, user_id: i64) -> bool {
        match self.load(id).await {
            Ok(Some(r)) => r.data.get(SESSION_USER_ID).and_then(serde_json::Value::as_i64) == Some(user_id) && self.user_enabled(user_id).await,
            _ => false,
        }
    }

    async fn user_enabled(&self, user_id: i64) -> bool {
        sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM users WHERE id = ? AND disabled_at_ms IS NULL")
            .bind(user_id)
            .fetch_one(&self.pool)
            .await
            .is_ok_and(|n| n == 1)
    }

    async fn delete_id(&self, id: &Id) -> session_store::Result<()> {
        sqlx::query("DELETE FROM sessions WHERE id = ?").bind(id.to_string()).execute(&self.pool).await.map_err(backend)?;
        Ok(())
    }
}
