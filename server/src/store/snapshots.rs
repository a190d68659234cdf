//! Fold snapshots ([`Artifacts`] for both backends): the newest one is kept (see
//! `migrations/0005_fold_snapshots.sql`).
use anyhow::Result;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::chain::Hash;
use sqlx::{Postgres, Row, Sqlite};

use super::Artifacts;
use super::dialect::Sql;

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

macro_rules! artifacts {
    ($DB:ty) => {
        #[async_trait]
        impl Artifacts for Sql<$DB> {
            async fn save_snapshot(&self, s: &Snapshot, now: DateTime<Utc>) -> Result<()> {
                let mut tx = self.pool.begin().await?;
                sqlx::query(
                    "INSERT INTO fold_snapshots (seq, head_hash, format, capital, data, written_at_ms) VALUES ($1, $2, $3, $4, $5, $6) \
                     ON CONFLICT (seq) DO UPDATE SET head_hash = excluded.head_hash, format = excluded.format, capital = excluded.capital, \
                     data = excluded.data, written_at_ms = excluded.written_at_ms",
                )
                .bind(s.seq as i64)
                .bind(&s.head_hash[..])
                .bind(i64::from(s.format))
                .bind(&s.capital)
                .bind(&s.data)
                .bind(now.timestamp_millis())
                .execute(&mut *tx)
                .await?;
                sqlx::query("DELETE FROM fold_snapshots WHERE seq <> $1").bind(s.seq as i64).execute(&mut *tx).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn latest_snapshot(&self) -> Result<Option<Snapshot>> {
                let row = sqlx::query("SELECT seq, head_hash, format, capital, data FROM fold_snapshots ORDER BY seq DESC LIMIT 1").fetch_optional(&self.pool).await?;
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

            async fn drop_snapshots(&self) -> Result<u64> {
                Ok(sqlx::query("DELETE FROM fold_snapshots").execute(&self.pool).await?.rows_affected())
            }
        }
    };
}

artifacts!(Sqlite);
artifacts!(Postgres);
