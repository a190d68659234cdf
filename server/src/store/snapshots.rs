//! Fold snapshots: the newest one is kept (see `migrations/0005_fold_snapshots.sql`).
use anyhow::Result;
use chrono::{DateTime, Utc};
use domain::chain::Hash;
use sqlx::Row;

use super::Store;

/// A stored snapshot of every fold as of `seq`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    pub seq: u64,
    /// The hash of the event at `seq` when the snapshot was taken.
    pub head_hash: Hash,
    /// `domain::folds::SNAPSHOT_FORMAT` of the build that wrote it.
    pub format: u32,
    /// The starting capital the book was folded with (a console started with another one
    /// re-folds the log).
    pub capital: String,
    pub data: Vec<u8>,
}

impl Store {
    /// Stores `s` as the newest snapshot and drops the older ones, in one transaction.
    pub async fn save_snapshot(&self, s: &Snapshot, now: DateTime<Utc>) -> Result<()> {
        let mut tx = self.pool().begin().await?;
        sqlx::query("INSERT OR REPLACE INTO fold_snapshots (seq, head_hash, format, capital, data, written_at_ms) VALUES (?, ?, ?, ?, ?, ?)")
            .bind(s.seq as i64)
            .bind(&s.head_hash[..])
            .bind(s.format as i64)
            .bind(&s.capital)
            .bind(&s.data)
            .bind(now.timestamp_millis())
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM fold_snapshots WHERE seq <> ?").bind(s.seq as i64).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The newest snapshot, if any (a hash that is not 32 bytes reads as zeros: it matches no
    /// event, so the caller refuses it).
    pub async fn latest_snapshot(&self) -> Result<Option<Snapshot>> {
        let row = sqlx::query("SELECT seq, head_hash, format, capital, data FROM fold_snapshots ORDER BY seq DESC LIMIT 1").fetch_optional(self.pool()).await?;
        let Some(r) = row else { return Ok(None) };
        let hash: Vec<u8> = r.try_get("head_hash")?;
        let seq: i64 = r.try_get("seq")?;
        let format: i64 = r.try_get("format")?;
        Ok(Some(Snapshot {
            seq: u64::try_from(seq).unwrap_or(0),
            head_hash: hash.try_into().unwrap_or([0; 32]),
            format: u32::try_from(format).unwrap_or(u32::MAX),
            capital: r.try_get("capital")?,
            data: r.try_get("data")?,
        }))
    }

    /// The hash of the event at `seq`, if there is one.
    pub async fn hash_at(&self, seq: u64) -> Result<Option<Hash>> {
        let Ok(seq) = i64::try_from(seq) else { return Ok(None) };
        let hash: Option<Vec<u8>> = sqlx::query_scalar("SELECT hash FROM events WHERE seq = ?").bind(seq).fetch_optional(self.pool()).await?;
        Ok(hash.and_then(|h| h.try_into().ok()))
    }

    /// Deletes every snapshot: the next start folds the whole log.
    pub async fn drop_snapshots(&self) -> Result<u64> {
        Ok(sqlx::query("DELETE FROM fold_snapshots").execute(self.pool()).await?.rows_affected())
    }
}
