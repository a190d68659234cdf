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

/// A week's report as archived.
#[derive(Debug, Clone)]
pub struct ReportFiles {
    pub week: String,
    pub html: Vec<u8>,
    pub pdf: Vec<u8>,
    pub html_sha256: String,
    pub pdf_sha256: String,
    pub published_seq: u64,
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

            async fn save_report(&self, r: &ReportFiles, now: DateTime<Utc>) -> Result<()> {
                sqlx::query(
                    "INSERT INTO reports (week, html, pdf, html_sha256, pdf_sha256, published_seq, generated_at_ms) VALUES ($1, $2, $3, $4, $5, $6, $7) \
                     ON CONFLICT (week) DO UPDATE SET html = excluded.html, pdf = excluded.pdf, html_sha256 = excluded.html_sha256, \
                     pdf_sha256 = excluded.pdf_sha256, published_seq = excluded.published_seq, generated_at_ms = excluded.generated_at_ms",
                )
                .bind(&r.week)
                .bind(&r.html)
                .bind(&r.pdf)
                .bind(&r.html_sha256)
                .bind(&r.pdf_sha256)
                .bind(i64::try_from(r.published_seq).unwrap_or(i64::MAX))
                .bind(now.timestamp_millis())
                .execute(&self.pool)
                .await?;
                Ok(())
            }

            async fn reports(&self) -> Result<Vec<domain::view::ReportMeta>> {
                let rows = sqlx::query("SELECT week, html_sha256, pdf_sha256, published_seq, generated_at_ms, length(html) AS html_bytes, length(pdf) AS pdf_bytes FROM reports ORDER BY week DESC")
                    .fetch_all(&self.pool)
                    .await?;
                rows.iter()
                    .map(|r| {
                        let seq: i64 = r.try_get("published_seq")?;
                        let at: i64 = r.try_get("generated_at_ms")?;
                        let html_bytes: i64 = r.try_get::<i64, _>("html_bytes").or_else(|_| r.try_get::<i32, _>("html_bytes").map(i64::from))?;
                        let pdf_bytes: i64 = r.try_get::<i64, _>("pdf_bytes").or_else(|_| r.try_get::<i32, _>("pdf_bytes").map(i64::from))?;
                        Ok(domain::view::ReportMeta {
                            week: r.try_get("week")?,
                            html_sha256: r.try_get("html_sha256")?,
                            pdf_sha256: r.try_get("pdf_sha256")?,
                            published_seq: u64::try_from(seq).unwrap_or(0),
                            generated_at: super::ms_to_dt(at),
                            html_bytes: u64::try_from(html_bytes).unwrap_or(0),
                            pdf_bytes: u64::try_from(pdf_bytes).unwrap_or(0),
                            covered_by: None,
                        })
                    })
                    .collect()
            }

            async fn report_file(&self, week: &str, format: &str) -> Result<Option<Vec<u8>>> {
                let sql = match format {
                    "html" => "SELECT html FROM reports WHERE week = $1",
                    "pdf" => "SELECT pdf FROM reports WHERE week = $1",
                    _ => return Ok(None),
                };
                Ok(sqlx::query_scalar(sql).bind(week).fetch_optional(&self.pool).await?)
            }
        }
    };
}

artifacts!(Sqlite);
artifacts!(Postgres);
