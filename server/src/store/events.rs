//! [`EventLog`] for both backends: one text, expanded for SQLite and for PostgreSQL.
use anyhow::{Context, Result};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::chain::{self, Hash};
use domain::event::Event;
use domain::view::{EventPage, EventQuery, EventRow};
use futures::TryStreamExt;
use sqlx::{Postgres, QueryBuilder, Row, Sqlite};

use super::dialect::{Dialect, Sql};
use super::{AppendError, AppendOutcome, EventLog, Incoming, LOOKUP_CHUNK, MAX_PAGE, RawRow, Stored, ms_to_dt};

/// One stored row of each of a list of signal or order ids (the identity is the same in every
/// stored row of an id); closed by [`Dialect::one_row_per_id`]. See [`Dialect::KIND_NOT_INDEXED`].
fn id_lookup_prefix<DB: Dialect>(kind: &str, column: &str) -> String {
    format!("SELECT {}payload, received_at_ms FROM events WHERE {} = '{kind}' AND ", <DB as Dialect>::distinct_on(column), <DB as Dialect>::KIND_NOT_INDEXED)
}

/// The seq and hash of the last of `rows`.
fn last_link(rows: &[RawRow]) -> Option<(u64, Hash)> {
    let last = rows.last()?;
    Some((last.seq as u64, <Hash>::try_from(last.hash.as_slice()).ok()?))
}


macro_rules! event_log {
    ($DB:ty) => {
        impl Sql<$DB> {
            /// The event in a row's `payload`, parsed against the clock it was accepted with (so
            /// the future-skew rule holds as then), and that clock.
            fn stored_event(r: &<$DB as sqlx::Database>::Row) -> Result<(Result<Event, domain::event::ParseError>, DateTime<Utc>)> {
                let payload: String = r.try_get("payload")?;
                let received = ms_to_dt(r.try_get("received_at_ms")?);
                Ok((Event::parse_json(&payload, received), received))
            }

            /// The payloads stored under the event ids of `batch`.
            async fn stored_payloads(tx: &mut sqlx::Transaction<'static, $DB>, batch: &[Incoming]) -> Result<std::collections::HashMap<String, String>> {
                let mut seen = std::collections::HashMap::new();
                for chunk in batch.chunks(LOOKUP_CHUNK) {
                    let mut q = QueryBuilder::<$DB>::new("SELECT event_id, payload FROM events WHERE ");
                    <$DB as Dialect>::push_in(&mut q, "event_id", chunk.iter().map(|inc| inc.event.event_id.as_str().to_string()).collect());
                    for r in q.build().fetch_all(&mut **tx).await.context("duplicate look-up")? {
                        seen.insert(r.try_get::<String, _>("event_id").context("row")?, r.try_get::<String, _>("payload").context("row")?);
                    }
                }
                Ok(seen)
            }

            /// Payloads and receive times of the stored signals / orders named by `fresh`.
            async fn stored_identities(tx: &mut sqlx::Transaction<'static, $DB>, fresh: &[Incoming]) -> Result<Vec<(String, i64)>> {
                let mut out = Vec::new();
                for (kind, column, ids) in super::ids_to_check(fresh) {
                    for chunk in ids.chunks(LOOKUP_CHUNK) {
                        let mut q = QueryBuilder::<$DB>::new(id_lookup_prefix::<$DB>(kind, column));
                        <$DB as Dialect>::push_in(&mut q, column, chunk.iter().map(|id| id.to_string()).collect());
                        q.push(<$DB as Dialect>::one_row_per_id(column));
                        for r in q.build().fetch_all(&mut **tx).await.context("id look-up")? {
                            out.push((r.try_get("payload").context("row")?, r.try_get("received_at_ms").context("row")?));
                        }
                    }
                }
                Ok(out)
            }
        }

        #[async_trait]
        impl EventLog for Sql<$DB> {
            fn backend_name(&self) -> &'static str {
                <$DB as Dialect>::NAME
            }

            fn pool_stats(&self) -> (u32, usize) {
                (self.pool.size(), self.pool.num_idle())
            }

            async fn ready(&self) -> bool {
                let applied: Result<i64, _> = sqlx::query_scalar("SELECT COUNT(*) FROM _sqlx_migrations WHERE success").fetch_one(&self.pool).await;
                matches!(applied, Ok(n) if n as usize >= <$DB as Dialect>::MIGRATIONS.iter().count())
            }

            async fn head(&self) -> Result<(u64, Hash)> {
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

            /// Most batches hold only new event ids, so they are not looked up first: the batch is
            /// inserted and the unique index on `event_id` refuses one already stored. Only then is
            /// the insert rolled back and the batch sorted against the stored payloads (a retry's
            /// duplicates skipped, an id re-used for other bytes refused). Measured: 1.5 ms of an
            /// 11 ms batch of 1,000 was the look-up.
            async fn append(&self, head: (u64, Hash), batch: Vec<Incoming>, received_at: DateTime<Utc>) -> Result<AppendOutcome, AppendError> {
                let received_ms = received_at.timestamp_millis();
                let mut tx = <$DB as Dialect>::begin_append(&self.pool).await.context("begin")?;
                // Repeats within the batch, in memory.
                let (mut fresh, mut duplicates) = super::sort_duplicates(batch, &std::collections::HashMap::new())?;
                let stored = Self::stored_identities(&mut tx, &fresh).await?;
                super::refuse_reused_ids(&fresh, stored)?;
                let rows = super::link_rows(head, &fresh, received_ms);
                let mut new_head = last_link(&rows).unwrap_or(head);
                if let Err(e) = <$DB as Dialect>::insert_events(&mut tx, rows).await {
                    if !e.as_database_error().is_some_and(|d| d.is_unique_violation()) {
                        return Err(anyhow::Error::new(e).context("inserting events").into());
                    }
                    // An event id already stored (a retry, or a conflict): sort the batch against
                    // the log and insert what is new.
                    tx.rollback().await.context("rollback")?;
                    tx = <$DB as Dialect>::begin_append(&self.pool).await.context("begin")?;
                    let seen = Self::stored_payloads(&mut tx, &fresh).await?;
                    let (rest, stored_duplicates) = super::sort_duplicates(fresh, &seen)?;
                    fresh = rest;
                    duplicates += stored_duplicates;
                    let rows = super::link_rows(head, &fresh, received_ms);
                    new_head = last_link(&rows).unwrap_or(head);
                    <$DB as Dialect>::insert_events(&mut tx, rows).await.context("inserting events")?;
                }
                tx.commit().await.context("commit")?;
                <$DB as Dialect>::after_append(&self.pool, new_head.0, &self.analyzed_at);
                Ok(AppendOutcome {
                    stored: fresh.into_iter().zip(head.0 + 1..).map(|(inc, seq)| Stored { seq, event: inc.event }).collect(),
                    duplicates,
                    head_seq: new_head.0,
                    head_hash: new_head.1,
                })
            }

            async fn for_each_event_after(&self, after: u64, f: &mut (dyn FnMut(u64, Event, DateTime<Utc>) + Send)) -> Result<u64> {
                let mut rows = sqlx::query("SELECT seq, payload, received_at_ms FROM events WHERE seq > $1 ORDER BY seq").bind(after.min(i64::MAX as u64) as i64).fetch(&self.pool);
                let mut n = 0;
                while let Some(r) = rows.try_next().await? {
                    let seq: i64 = r.try_get("seq")?;
                    match Self::stored_event(&r)? {
                        (Ok(e), received) => f(seq as u64, e, received),
                        (Err(e), _) => tracing::error!(seq, error = %e, "stored event no longer parses; skipped in projections"),
                    }
                    n += 1;
                }
                Ok(n)
            }

            async fn rows_after(&self, after: u64, limit: u32) -> Result<Vec<RawRow>> {
                Ok(sqlx::query_as::<_, RawRow>("SELECT * FROM events WHERE seq > $1 ORDER BY seq LIMIT $2")
                    .bind(after.min(i64::MAX as u64) as i64)
                    .bind(i64::from(limit))
                    .fetch_all(&self.pool)
                    .await?)
            }

            async fn insert_rows(&self, rows: Vec<RawRow>) -> Result<()> {
                let mut tx = <$DB as Dialect>::begin_append(&self.pool).await.context("begin")?;
                <$DB as Dialect>::insert_events(&mut tx, rows).await.context("inserting events")?;
                tx.commit().await.context("commit")?;
                Ok(())
            }

            async fn events(&self, q: &EventQuery) -> Result<EventPage> {
                let limit = q.limit.unwrap_or(100).clamp(1, MAX_PAGE);
                let mut b = QueryBuilder::<$DB>::new("SELECT * FROM events WHERE 1 = 1");
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
                let rows = b.build_query_as::<RawRow>().fetch_all(&self.pool).await.context("querying events")?;
                let more = rows.len() > limit as usize;
                let rows: Vec<EventRow> = rows.into_iter().take(limit as usize).map(RawRow::view).collect();
                let next = if more { rows.last().map(|r| r.seq) } else { None };
                Ok(EventPage { rows, next })
            }

            async fn event(&self, seq: u64) -> Result<Option<EventRow>> {
                let r = sqlx::query_as::<_, RawRow>("SELECT * FROM events WHERE seq = $1").bind(seq.min(i64::MAX as u64) as i64).fetch_optional(&self.pool).await?;
                Ok(r.map(RawRow::view))
            }

            async fn trade_events(&self, signal_id: &str) -> Result<Vec<(u64, Event)>> {
                let rows = sqlx::query(
                    "SELECT seq, payload, received_at_ms FROM events WHERE signal_id = $1 \
                     UNION SELECT seq, payload, received_at_ms FROM events WHERE order_id IN \
                       (SELECT order_id FROM events WHERE signal_id = $1 AND kind = 'order') \
                     ORDER BY seq",
                )
                .bind(signal_id)
                .fetch_all(&self.pool)
                .await?;
                let mut out = Vec::with_capacity(rows.len());
                for r in rows {
                    if let (Ok(e), _) = Self::stored_event(&r)? {
                        out.push((r.try_get::<i64, _>("seq")? as u64, e));
                    }
                }
                Ok(out)
            }

            async fn signal_details(&self, signal_ids: &[&str]) -> Result<Vec<Event>> {
                if signal_ids.is_empty() {
                    return Ok(Vec::new());
                }
                let mut q = QueryBuilder::<$DB>::new(format!(
                    "SELECT payload, received_at_ms FROM events WHERE {} IN ('signal', 'risk_check', 'llm_decision') AND ",
                    <$DB as Dialect>::KIND_NOT_INDEXED
                ));
                <$DB as Dialect>::push_in(&mut q, "signal_id", signal_ids.iter().take(LOOKUP_CHUNK).map(|id| id.to_string()).collect());
                q.push(" ORDER BY seq");
                let mut out = Vec::new();
                for r in q.build().fetch_all(&self.pool).await? {
                    if let (Ok(e), _) = Self::stored_event(&r)? {
                        out.push(e);
                    }
                }
                Ok(out)
            }

            async fn hash_at(&self, seq: u64) -> Result<Option<Hash>> {
                let Ok(seq) = i64::try_from(seq) else { return Ok(None) };
                let hash: Option<Vec<u8>> = sqlx::query_scalar("SELECT hash FROM events WHERE seq = $1").bind(seq).fetch_optional(&self.pool).await?;
                Ok(hash.and_then(|h| h.try_into().ok()))
            }

            async fn hashes_after(&self, after: u64, limit: u32) -> Result<Vec<Hash>> {
                let after = i64::try_from(after).unwrap_or(i64::MAX);
                let rows: Vec<Vec<u8>> = sqlx::query_scalar("SELECT hash FROM events WHERE seq > $1 ORDER BY seq LIMIT $2")
                    .bind(after)
                    .bind(i64::from(limit))
                    .fetch_all(&self.pool)
                    .await?;
                rows.into_iter().map(|h| Hash::try_from(h.as_slice()).map_err(|_| anyhow::anyhow!("a stored hash is not 32 bytes"))).collect()
            }

            async fn id_lookup_plan(&self, kind: &str, column: &str, n: usize) -> Result<String> {
                let mut q = QueryBuilder::<$DB>::new(format!("{}{}", <$DB as Dialect>::EXPLAIN, id_lookup_prefix::<$DB>(kind, column)));
                <$DB as Dialect>::push_in(&mut q, column, (0..n).map(|i| format!("id-{i}")).collect());
                q.push(<$DB as Dialect>::one_row_per_id(column));
                let rows = q.build().fetch_all(&self.pool).await?;
                Ok(rows.iter().filter_map(|r| r.try_get::<String, _>(<$DB as Dialect>::PLAN_COLUMN).ok()).collect::<Vec<_>>().join("; "))
            }
        }
    };
}

event_log!(Sqlite);
event_log!(Postgres);
